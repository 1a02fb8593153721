using System.Formats.Tar;
using Docker.DotNet;
using Docker.DotNet.Models;
using EdgeAgent.Protocol;
using EdgeAgent.Protocol.Contracts.Docker;

namespace EdgeAgent.Agent.Docker;

/// <summary>
/// Lists directories and reads files inside a volume without host access: a helper container
/// that mounts the volume read-only is created (never started), the engine's archive API reads
/// from it, and the helper is removed afterwards. Every path is confined to the volume: absolute
/// paths and <c>..</c> are refused, and each component is checked so that a symbolic link can
/// only lead to another place inside the volume.
/// </summary>
internal sealed class VolumeBrowser(DockerClientProvider docker)
{
    /// <summary>Where the helper mounts the volume.</summary>
    public const string MountPoint = "/edgeagent-volume";

    /// <summary>The label that marks helper containers, so leftovers can be found.</summary>
    public const string HelperLabel = "edgeagent.helper";

    public const int MaxEntriesLimit = 100_000;

    public const int MaxBytesLimit = 16 * 1024 * 1024;

    // Go's os.FileMode type bits, as the engine reports them.
    private const uint ModeDir = 1u << 31;
    private const uint ModeSymlink = 1u << 27;

    public async Task<VolumeDirectory> ListAsync(IDockerClient client, VolumeBrowseRequest request, CancellationToken cancellationToken)
    {
        var name = DockerArguments.Required(request.Name);
        var segments = Normalize(request.Path);
        var maxEntries = request.MaxEntries switch
        {
            <= 0 => throw new EdgeCommandException(EdgeErrorCodes.InvalidArgument, "MaxEntries must be positive."),
            > MaxEntriesLimit => MaxEntriesLimit,
            _ => request.MaxEntries,
        };

        return await WithHelperAsync(client, name, async helper =>
        {
            var (path, stat) = await ResolveAsync(client, helper, segments, cancellationToken);
            if ((stat.Mode & ModeDir) == 0)
            {
                throw new EdgeCommandException(EdgeErrorCodes.InvalidArgument, $"'{string.Join('/', segments)}' is not a directory.");
            }

            var archive = await client.Containers.GetArchiveFromContainerAsync(helper, new ContainerPathStatParameters { Path = path }, false, cancellationToken);
            await using var stream = archive.Stream ?? throw new EdgeCommandException(EdgeErrorCodes.Internal, "The engine sent no archive.");
            var entries = new List<VolumeEntry>();
            var truncated = false;
            await using var tar = new TarReader(stream);
            while (await tar.GetNextEntryAsync(copyData: false, cancellationToken) is { } entry)
            {
                // Names are "<dir>/<child>[/…]": keep the direct children only.
                var parts = entry.Name.Split('/', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length != 2)
                {
                    continue;
                }

                if (entries.Count == maxEntries)
                {
                    truncated = true;
                    break;
                }

                entries.Add(new VolumeEntry
                {
                    Name = parts[1],
                    Kind = entry.EntryType switch
                    {
                        TarEntryType.Directory => VolumeEntryKind.Directory,
                        TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile => VolumeEntryKind.File,
                        TarEntryType.SymbolicLink => VolumeEntryKind.Symlink,
                        _ => VolumeEntryKind.Other,
                    },
                    Size = entry.EntryType == TarEntryType.Directory ? 0 : entry.Length,
                    Mode = (int)entry.Mode,
                    Modified = entry.ModificationTime,
                    LinkTarget = entry.EntryType == TarEntryType.SymbolicLink ? entry.LinkName : "",
                });
            }

            return new VolumeDirectory
            {
                Path = string.Join('/', segments),
                Entries = entries.OrderBy(e => e.Name, StringComparer.Ordinal).ToArray(),
                Truncated = truncated,
            };
        }, cancellationToken);
    }

    public async Task<VolumeFile> ReadAsync(IDockerClient client, VolumeReadFileRequest request, CancellationToken cancellationToken)
    {
        var name = DockerArguments.Required(request.Name);
        var segments = Normalize(request.Path);
        if (segments.Length == 0)
        {
            throw new EdgeCommandException(EdgeErrorCodes.InvalidArgument, "The volume's root is a directory, not a file.");
        }

        var maxBytes = request.MaxBytes switch
        {
            < 0 => throw new EdgeCommandException(EdgeErrorCodes.InvalidArgument, "MaxBytes cannot be negative."),
            > MaxBytesLimit => MaxBytesLimit,
            _ => request.MaxBytes,
        };

        return await WithHelperAsync(client, name, async helper =>
        {
            var (path, stat) = await ResolveAsync(client, helper, segments, cancellationToken);
            if ((stat.Mode & ModeDir) != 0)
            {
                throw new EdgeCommandException(EdgeErrorCodes.InvalidArgument, $"'{string.Join('/', segments)}' is a directory; browse it instead.");
            }

            var archive = await client.Containers.GetArchiveFromContainerAsync(helper, new ContainerPathStatParameters { Path = path }, false, cancellationToken);
            await using var stream = archive.Stream ?? throw new EdgeCommandException(EdgeErrorCodes.Internal, "The engine sent no archive.");
            await using var tar = new TarReader(stream);
            var entry = await tar.GetNextEntryAsync(copyData: false, cancellationToken);
            if (entry is null || entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile))
            {
                throw new EdgeCommandException(EdgeErrorCodes.InvalidArgument, $"'{string.Join('/', segments)}' is not a regular file.");
            }

            var content = new byte[(int)Math.Min(maxBytes, entry.Length)];
            if (entry.DataStream is { } data)
            {
                await data.ReadExactlyAsync(content, cancellationToken);
            }

            return new VolumeFile
            {
                Path = string.Join('/', segments),
                Size = entry.Length,
                Content = content,
                Truncated = entry.Length > content.Length,
            };
        }, cancellationToken);
    }

    /// <summary>Splits a volume-relative path into components, refusing what could leave the volume.</summary>
    internal static string[] Normalize(string? path)
    {
        path ??= "";
        if (path.Contains('\0', StringComparison.Ordinal))
        {
            throw new EdgeCommandException(EdgeErrorCodes.InvalidArgument, "The path contains a NUL character.");
        }

        if (path.StartsWith('/') || path.StartsWith('\\') || (path.Length >= 2 && path[1] == ':'))
        {
            throw new EdgeCommandException(EdgeErrorCodes.InvalidArgument, $"The path '{path}' is absolute; give it relative to the volume's root.");
        }

        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries).Where(s => s != ".").ToArray();
        if (segments.Any(s => s == ".."))
        {
            throw new EdgeCommandException(EdgeErrorCodes.InvalidArgument, $"The path '{path}' contains '..'; paths cannot leave the volume.");
        }

        return segments;
    }

    /// <summary>Walks the path one component at a time; a symbolic link may only lead inside the volume.</summary>
    private static async Task<(string Path, ContainerPathStatResponse Stat)> ResolveAsync(IDockerClient client, string helper, string[] segments, CancellationToken cancellationToken)
    {
        var current = MountPoint;
        var stat = await StatAsync(client, helper, current, cancellationToken);
        for (var i = 0; i < segments.Length; i++)
        {
            current = current + "/" + segments[i];
            stat = await StatAsync(client, helper, current, cancellationToken);
            if ((stat.Mode & ModeSymlink) == 0)
            {
                continue;
            }

            // The engine gives the link's target fully evaluated, as a path in the container.
            var target = stat.LinkTarget ?? "";
            if (target != MountPoint && !target.StartsWith(MountPoint + "/", StringComparison.Ordinal))
            {
                throw new EdgeCommandException(EdgeErrorCodes.Denied, $"'{string.Join('/', segments[..(i + 1)])}' is a symbolic link that leads outside the volume.");
            }

            current = target;
            stat = await StatAsync(client, helper, current, cancellationToken);
        }

        return (current, stat);
    }

    private static async Task<ContainerPathStatResponse> StatAsync(IDockerClient client, string helper, string path, CancellationToken cancellationToken)
    {
        var response = await client.Containers.GetArchiveFromContainerAsync(helper, new ContainerPathStatParameters { Path = path }, true, cancellationToken);
        if (response.Stream is { } stream)
        {
            await stream.DisposeAsync();
        }

        return response.Stat ?? throw new EdgeCommandException(EdgeErrorCodes.Internal, "The engine did not describe the path.");
    }

    private async Task<T> WithHelperAsync<T>(IDockerClient client, string volume, Func<string, Task<T>> action, CancellationToken cancellationToken)
    {
        // Inspect first: creating a container with an unknown named volume would create the volume.
        await client.Volumes.InspectAsync(volume, cancellationToken);
        var image = await PickImageAsync(client, cancellationToken);
        var created = await client.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Image = image,
            Entrypoint = ["/edgeagent-volume-browser-never-started"],
            Cmd = [],
            Labels = new Dictionary<string, string> { [HelperLabel] = "volume-browser" },
            NetworkDisabled = true,
            HostConfig = new HostConfig
            {
                NetworkMode = "none",
                Mounts = [new Mount { Type = "volume", Source = volume, Target = MountPoint, ReadOnly = true }],
            },
        }, cancellationToken);

        try
        {
            return await action(created.ID);
        }
        finally
        {
            using var cleanup = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await client.Containers.RemoveContainerAsync(created.ID, new ContainerRemoveParameters { Force = true }, cleanup.Token);
            }
            catch (Exception ex) when (ex is DockerApiException or HttpRequestException or OperationCanceledException or IOException)
            {
                // Best effort: a leftover helper is labelled and holds nothing but a read-only mount.
            }
        }
    }

    private async Task<string> PickImageAsync(IDockerClient client, CancellationToken cancellationToken)
    {
        if (!string.IsNullOrWhiteSpace(docker.Options.HelperImage))
        {
            return docker.Options.HelperImage;
        }

        var images = await client.Images.ListImagesAsync(new ImagesListParameters(), cancellationToken);
        var image = images
            .OrderByDescending(i => i.RepoTags?.Any(t => t != "<none>:<none>") == true)
            .ThenBy(i => i.Size)
            .FirstOrDefault();
        return image?.RepoTags?.FirstOrDefault(t => t != "<none>:<none>") ?? image?.ID
            ?? throw new EdgeCommandException(EdgeErrorCodes.Unavailable, "Browsing a volume needs an image for a helper container, and the engine has none; set DockerEngineOptions.HelperImage.");
    }
}
