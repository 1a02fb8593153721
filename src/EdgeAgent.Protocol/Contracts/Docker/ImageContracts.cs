using MessagePack;

namespace EdgeAgent.Protocol.Contracts.Docker;

/// <summary>Which images to list.</summary>
[MessagePackObject]
public sealed class ImageListRequest
{
    /// <summary>Include intermediate images.</summary>
    [Key(0)] public bool All { get; set; }

    /// <summary>Only images matching this reference pattern, e.g. <c>nginx</c> or <c>myrepo/*:1.*</c>.</summary>
    [Key(1)] public string? Reference { get; set; }

    /// <summary>True lists only dangling (untagged) images, false only tagged ones, null both.</summary>
    [Key(2)] public bool? Dangling { get; set; }

    /// <summary>Label filters, as in <see cref="ContainerListRequest.Labels"/>.</summary>
    [Key(3)] public IReadOnlyDictionary<string, string>? Labels { get; set; }
}

/// <summary>One image as a list shows it.</summary>
[MessagePackObject]
public sealed class ImageSummary
{
    /// <summary>The image id (<c>sha256:…</c>).</summary>
    [Key(0)] public string Id { get; set; } = "";

    /// <summary>The tags, e.g. <c>nginx:1.25</c>.</summary>
    [Key(1)] public IReadOnlyList<string> RepoTags { get; set; } = [];

    /// <summary>The repository digests.</summary>
    [Key(2)] public IReadOnlyList<string> RepoDigests { get; set; } = [];

    /// <summary>When it was created.</summary>
    [Key(3)] public DateTimeOffset Created { get; set; }

    /// <summary>Its size in bytes.</summary>
    [Key(4)] public long Size { get; set; }

    /// <summary>How many containers use it, or -1 when the engine did not count.</summary>
    [Key(5)] public long Containers { get; set; }

    /// <summary>The labels.</summary>
    [Key(6)] public IReadOnlyDictionary<string, string> Labels { get; set; } = new Dictionary<string, string>();
}

/// <summary>Names one image (id, tag or digest reference).</summary>
[MessagePackObject]
public sealed class ImageRef
{
    /// <summary>The image id or reference.</summary>
    [Key(0)] public string Image { get; set; } = "";
}

/// <summary>One image in detail.</summary>
[MessagePackObject]
public sealed class ImageDetails
{
    /// <summary>The image id.</summary>
    [Key(0)] public string Id { get; set; } = "";

    /// <summary>The tags.</summary>
    [Key(1)] public IReadOnlyList<string> RepoTags { get; set; } = [];

    /// <summary>The repository digests.</summary>
    [Key(2)] public IReadOnlyList<string> RepoDigests { get; set; } = [];

    /// <summary>When it was created, if known.</summary>
    [Key(3)] public DateTimeOffset? Created { get; set; }

    /// <summary>Its size in bytes.</summary>
    [Key(4)] public long Size { get; set; }

    /// <summary>The architecture.</summary>
    [Key(5)] public string Architecture { get; set; } = "";

    /// <summary>The operating system.</summary>
    [Key(6)] public string Os { get; set; } = "";

    /// <summary>The author.</summary>
    [Key(7)] public string Author { get; set; } = "";

    /// <summary>The labels.</summary>
    [Key(8)] public IReadOnlyDictionary<string, string> Labels { get; set; } = new Dictionary<string, string>();

    /// <summary>The default environment.</summary>
    [Key(9)] public IReadOnlyList<string> Env { get; set; } = [];

    /// <summary>The default entrypoint.</summary>
    [Key(10)] public IReadOnlyList<string> Entrypoint { get; set; } = [];

    /// <summary>The default command.</summary>
    [Key(11)] public IReadOnlyList<string> Cmd { get; set; } = [];

    /// <summary>The exposed ports, e.g. <c>80/tcp</c>.</summary>
    [Key(12)] public IReadOnlyList<string> ExposedPorts { get; set; } = [];

    /// <summary>The default working directory.</summary>
    [Key(13)] public string WorkingDir { get; set; } = "";

    /// <summary>The default user.</summary>
    [Key(14)] public string User { get; set; } = "";

    /// <summary>The number of layers.</summary>
    [Key(15)] public int Layers { get; set; }
}

/// <summary>Registry credentials for one call. The agent uses them for that call only and never stores or logs them.</summary>
[MessagePackObject]
public sealed class RegistryCredentials
{
    /// <summary>The user name.</summary>
    [Key(0)] public string? Username { get; set; }

    /// <summary>The password or access token.</summary>
    [Key(1)] public string? Password { get; set; }

    /// <summary>The registry, e.g. <c>ghcr.io</c>.</summary>
    [Key(2)] public string? ServerAddress { get; set; }

    /// <summary>An identity token instead of user name and password.</summary>
    [Key(3)] public string? IdentityToken { get; set; }

    /// <inheritdoc />
    public override string ToString() => $"RegistryCredentials {{ ServerAddress = {ServerAddress}, Username = {Username} }}";
}

/// <summary>Pulls an image.</summary>
[MessagePackObject]
public sealed class ImagePullRequest
{
    /// <summary>The image, e.g. <c>nginx</c> or <c>ghcr.io/org/app</c>; may include a tag or digest.</summary>
    [Key(0)] public string Image { get; set; } = "";

    /// <summary>The tag when <see cref="Image"/> has none; null pulls <c>latest</c>.</summary>
    [Key(1)] public string? Tag { get; set; }

    /// <summary>The platform, e.g. <c>linux/arm64</c>; null for the engine's.</summary>
    [Key(2)] public string? Platform { get; set; }

    /// <summary>Credentials for this pull only.</summary>
    [Key(3)] public RegistryCredentials? Credentials { get; set; }
}

/// <summary>A progress message of a pull.</summary>
[MessagePackObject]
public sealed class ImagePullProgress
{
    /// <summary>The layer id, or empty for messages about the whole image.</summary>
    [Key(0)] public string Id { get; set; } = "";

    /// <summary>The status, e.g. <c>Downloading</c>, <c>Pull complete</c>, <c>Status: Downloaded newer image for …</c>.</summary>
    [Key(1)] public string Status { get; set; } = "";

    /// <summary>Bytes done, when known.</summary>
    [Key(2)] public long? Current { get; set; }

    /// <summary>Bytes in all, when known.</summary>
    [Key(3)] public long? Total { get; set; }
}

/// <summary>Adds a tag to an image.</summary>
[MessagePackObject]
public sealed class ImageTagRequest
{
    /// <summary>The image id or reference to tag.</summary>
    [Key(0)] public string Image { get; set; } = "";

    /// <summary>The repository of the new tag, e.g. <c>registry.local/app</c>.</summary>
    [Key(1)] public string Repository { get; set; } = "";

    /// <summary>The tag; empty means <c>latest</c>.</summary>
    [Key(2)] public string Tag { get; set; } = "";
}

/// <summary>Removes an image (or one of its tags).</summary>
[MessagePackObject]
public sealed class ImageRemoveRequest
{
    /// <summary>The image id or reference.</summary>
    [Key(0)] public string Image { get; set; } = "";

    /// <summary>Remove even if stopped containers use it or it has several tags.</summary>
    [Key(1)] public bool Force { get; set; }

    /// <summary>Keep untagged parent images.</summary>
    [Key(2)] public bool NoPrune { get; set; }
}

/// <summary>What removing an image did.</summary>
[MessagePackObject]
public sealed class ImageRemoveResult
{
    /// <summary>The tags removed.</summary>
    [Key(0)] public IReadOnlyList<string> Untagged { get; set; } = [];

    /// <summary>The image ids deleted.</summary>
    [Key(1)] public IReadOnlyList<string> Deleted { get; set; } = [];
}

/// <summary>Removes unused images.</summary>
[MessagePackObject]
public sealed class ImagePruneRequest
{
    /// <summary>False removes dangling (untagged) images only; true every image no container uses.</summary>
    [Key(0)] public bool AllUnused { get; set; }

    /// <summary>Only images with these labels, as in <see cref="ContainerListRequest.Labels"/>.</summary>
    [Key(1)] public IReadOnlyDictionary<string, string>? Labels { get; set; }
}

/// <summary>What a prune removed.</summary>
[MessagePackObject]
public sealed class PruneResult
{
    /// <summary>The ids or names removed.</summary>
    [Key(0)] public IReadOnlyList<string> Deleted { get; set; } = [];

    /// <summary>The bytes freed.</summary>
    [Key(1)] public long SpaceReclaimed { get; set; }
}
