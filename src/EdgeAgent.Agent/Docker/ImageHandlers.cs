using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Docker.DotNet;
using Docker.DotNet.Models;
using EdgeAgent.Protocol;
using EdgeAgent.Protocol.Contracts.Docker;
using EdgeAgent.Protocol.Docker;

namespace EdgeAgent.Agent.Docker;

internal sealed class ImageListHandler(DockerClientProvider docker) : DockerCommandHandler<ImageListRequest, IReadOnlyList<ImageSummary>>(docker)
{
    public override string Name => DockerCommandNames.ImagesList;

    public override string Group => EdgeCommandGroups.Images;

    public override bool IsReadOnly => true;

    protected override async Task<IReadOnlyList<ImageSummary>> ExecuteAsync(IDockerClient client, ImageListRequest request, CancellationToken cancellationToken)
    {
        var filters = DockerMapper.Filters(request.Labels, ("reference", request.Reference), ("dangling", request.Dangling is { } dangling ? (dangling ? "true" : "false") : null));
        var images = await client.Images.ListImagesAsync(new ImagesListParameters { All = request.All, Filters = filters }, cancellationToken);
        return images.Select(DockerMapper.ToSummary).ToArray();
    }
}

internal sealed class ImageInspectHandler(DockerClientProvider docker) : DockerCommandHandler<ImageRef, ImageDetails>(docker)
{
    public override string Name => DockerCommandNames.ImagesInspect;

    public override string Group => EdgeCommandGroups.Images;

    public override bool IsReadOnly => true;

    protected override async Task<ImageDetails> ExecuteAsync(IDockerClient client, ImageRef request, CancellationToken cancellationToken) =>
        DockerMapper.ToDetails(await client.Images.InspectImageAsync(DockerArguments.Required(request.Image), cancellationToken));
}

/// <summary>
/// Pulls an image and streams the engine's progress. Credentials go to the engine for this pull
/// only; they are never stored or logged.
/// </summary>
internal sealed class ImagePullHandler(DockerClientProvider docker) : DockerStreamingCommandHandler<ImagePullRequest, ImagePullProgress>(docker)
{
    /// <summary>Progress messages buffered while the caller is slow; older ones are dropped (later ones supersede them).</summary>
    private const int ProgressBuffer = 256;

    public override string Name => DockerCommandNames.ImagesPull;

    public override string Group => EdgeCommandGroups.Images;

    protected override async IAsyncEnumerable<ImagePullProgress> ExecuteAsync(IDockerClient client, ImagePullRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var image = DockerArguments.Required(request.Image);
        Policy.RegistryPolicy.EnsureAllowed(image, Docker.Options.AllowedRegistries);
        var progress = new ChannelProgress(Channel.CreateBounded<ImagePullProgress>(new BoundedChannelOptions(ProgressBuffer)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
            SingleWriter = true,
        }));

        var auth = request.Credentials is { } c
            ? new AuthConfig { Username = c.Username!, Password = c.Password!, ServerAddress = c.ServerAddress!, IdentityToken = c.IdentityToken! }
            : new AuthConfig();
        var parameters = new ImagesCreateParameters { FromImage = image, Tag = request.Tag!, Platform = request.Platform! };
        var pull = PullAsync(client, parameters, auth, progress, cancellationToken);

        await foreach (var item in progress.Channel.Reader.ReadAllAsync(cancellationToken))
        {
            yield return item;
        }

        await pull;
        if (progress.Error is { } error)
        {
            throw new EdgeCommandException(DockerErrors.FromMessage(error), error);
        }
    }

    private static async Task PullAsync(IDockerClient client, ImagesCreateParameters parameters, AuthConfig auth, ChannelProgress progress, CancellationToken cancellationToken)
    {
        try
        {
            await client.Images.CreateImageAsync(parameters, auth, progress, cancellationToken);
            progress.Channel.Writer.TryComplete();
        }
        catch (Exception ex)
        {
            progress.Channel.Writer.TryComplete(ex);
            throw;
        }
    }

    /// <summary>Writes progress into the channel in the order the engine sent it (unlike <see cref="Progress{T}"/>).</summary>
    private sealed class ChannelProgress(Channel<ImagePullProgress> channel) : IProgress<JSONMessage>
    {
        public Channel<ImagePullProgress> Channel => channel;

        public string? Error { get; private set; }

        public void Report(JSONMessage value)
        {
            if (value.Error is { } error && !string.IsNullOrEmpty(error.Message))
            {
                Error = error.Message;
                return;
            }

            channel.Writer.TryWrite(new ImagePullProgress
            {
                Id = value.ID ?? "",
                Status = value.Status ?? "",
                Current = value.Progress?.Current,
                Total = value.Progress?.Total,
            });
        }
    }
}

internal sealed class ImageTagHandler(DockerClientProvider docker) : DockerCommandHandler<ImageTagRequest, DockerEmpty>(docker)
{
    public override string Name => DockerCommandNames.ImagesTag;

    public override string Group => EdgeCommandGroups.Images;

    protected override async Task<DockerEmpty> ExecuteAsync(IDockerClient client, ImageTagRequest request, CancellationToken cancellationToken)
    {
        await client.Images.TagImageAsync(
            DockerArguments.Required(request.Image),
            new ImageTagParameters { RepositoryName = DockerArguments.Required(request.Repository), Tag = string.IsNullOrEmpty(request.Tag) ? "latest" : request.Tag },
            cancellationToken);
        return DockerEmpty.Instance;
    }
}

internal sealed class ImageRemoveHandler(DockerClientProvider docker) : DockerCommandHandler<ImageRemoveRequest, ImageRemoveResult>(docker)
{
    public override string Name => DockerCommandNames.ImagesRemove;

    public override string Group => EdgeCommandGroups.Images;

    protected override async Task<ImageRemoveResult> ExecuteAsync(IDockerClient client, ImageRemoveRequest request, CancellationToken cancellationToken)
    {
        var removed = await client.Images.DeleteImageAsync(
            DockerArguments.Required(request.Image),
            new ImageDeleteParameters { Force = request.Force, NoPrune = request.NoPrune },
            cancellationToken);
        return new ImageRemoveResult
        {
            Untagged = removed.SelectMany(r => r).Where(r => r.Key == "Untagged").Select(r => r.Value).ToArray(),
            Deleted = removed.SelectMany(r => r).Where(r => r.Key == "Deleted").Select(r => r.Value).ToArray(),
        };
    }
}

internal sealed class ImagePruneHandler(DockerClientProvider docker) : DockerCommandHandler<ImagePruneRequest, PruneResult>(docker)
{
    public override string Name => DockerCommandNames.ImagesPrune;

    public override string Group => EdgeCommandGroups.Images;

    protected override async Task<PruneResult> ExecuteAsync(IDockerClient client, ImagePruneRequest request, CancellationToken cancellationToken)
    {
        var pruned = await client.Images.PruneImagesAsync(
            new ImagesPruneParameters { Filters = DockerMapper.Filters(request.Labels, ("dangling", request.AllUnused ? "false" : "true")) },
            cancellationToken);
        return new PruneResult
        {
            Deleted = pruned.ImagesDeleted?.Select(d => d.Deleted ?? d.Untagged ?? "").Where(d => d.Length > 0).ToArray() ?? [],
            SpaceReclaimed = (long)pruned.SpaceReclaimed,
        };
    }
}
