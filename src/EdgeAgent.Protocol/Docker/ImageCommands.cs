using EdgeAgent.Protocol.Contracts.Docker;

namespace EdgeAgent.Protocol.Docker;

/// <summary>The images of the agent's engine.</summary>
/// <param name="invoker">Sends the commands to the agent.</param>
public sealed class ImageCommands(IEdgeCommandInvoker invoker)
{
    /// <summary>Lists images.</summary>
    /// <param name="request">Filters; null lists all tagged and dangling top-level images.</param>
    /// <param name="options">Timeout and idempotency key.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>The images.</returns>
    public Task<IReadOnlyList<ImageSummary>> ListAsync(ImageListRequest? request = null, EdgeCommandOptions? options = null, CancellationToken cancellationToken = default) =>
        invoker.InvokeAsync<ImageListRequest, IReadOnlyList<ImageSummary>>(DockerCommandNames.ImagesList, request ?? new(), options, cancellationToken);

    /// <summary>Inspects an image.</summary>
    /// <param name="image">The image id or reference.</param>
    /// <param name="options">Timeout and idempotency key.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>The details.</returns>
    /// <exception cref="EdgeCommandException">Code <c>not_found</c> when there is no such image.</exception>
    public Task<ImageDetails> InspectAsync(string image, EdgeCommandOptions? options = null, CancellationToken cancellationToken = default) =>
        invoker.InvokeAsync<ImageRef, ImageDetails>(DockerCommandNames.ImagesInspect, new() { Image = image }, options, cancellationToken);

    /// <summary>
    /// Pulls an image, streaming the engine's progress. The stream ends when the pull finished;
    /// a failed pull ends it with an <see cref="EdgeCommandException"/>.
    /// </summary>
    /// <param name="request">The image and, optionally, credentials for this pull only.</param>
    /// <param name="options">Timeout and idempotency key; the timeout applies to the start of the stream.</param>
    /// <param name="cancellationToken">Cancels the pull.</param>
    /// <returns>The progress messages.</returns>
    public IAsyncEnumerable<ImagePullProgress> PullAsync(ImagePullRequest request, EdgeCommandOptions? options = null, CancellationToken cancellationToken = default) =>
        invoker.StreamAsync<ImagePullRequest, ImagePullProgress>(DockerCommandNames.ImagesPull, request, options, cancellationToken);

    /// <summary>Adds a tag to an image.</summary>
    /// <param name="image">The image id or reference.</param>
    /// <param name="repository">The repository of the new tag.</param>
    /// <param name="tag">The tag; null means <c>latest</c>.</param>
    /// <param name="options">Timeout and idempotency key.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>A task that completes when the tag exists.</returns>
    public Task TagAsync(string image, string repository, string? tag = null, EdgeCommandOptions? options = null, CancellationToken cancellationToken = default) =>
        invoker.InvokeAsync<ImageTagRequest, DockerEmpty>(DockerCommandNames.ImagesTag, new() { Image = image, Repository = repository, Tag = tag ?? "" }, options, cancellationToken);

    /// <summary>Removes an image or one of its tags.</summary>
    /// <param name="request">The image.</param>
    /// <param name="options">Timeout and idempotency key.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>What was untagged and deleted.</returns>
    /// <exception cref="EdgeCommandException">Code <c>conflict</c> when a container uses it.</exception>
    public Task<ImageRemoveResult> RemoveAsync(ImageRemoveRequest request, EdgeCommandOptions? options = null, CancellationToken cancellationToken = default) =>
        invoker.InvokeAsync<ImageRemoveRequest, ImageRemoveResult>(DockerCommandNames.ImagesRemove, request, options, cancellationToken);

    /// <summary>Removes unused images.</summary>
    /// <param name="request">Dangling only or all unused, and label filters; null prunes dangling images.</param>
    /// <param name="options">Timeout and idempotency key.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>What was removed.</returns>
    public Task<PruneResult> PruneAsync(ImagePruneRequest? request = null, EdgeCommandOptions? options = null, CancellationToken cancellationToken = default) =>
        invoker.InvokeAsync<ImagePruneRequest, PruneResult>(DockerCommandNames.ImagesPrune, request ?? new(), options, cancellationToken);
}
