using MessagePack;

namespace EdgeAgent.Protocol.Contracts.Docker;

/// <summary>Which volumes to list.</summary>
[MessagePackObject]
public sealed class VolumeListRequest
{
    /// <summary>Label filters, as in <see cref="ContainerListRequest.Labels"/>.</summary>
    [Key(0)] public IReadOnlyDictionary<string, string>? Labels { get; set; }

    /// <summary>True lists only volumes no container uses, false only used ones, null both.</summary>
    [Key(1)] public bool? Dangling { get; set; }
}

/// <summary>One volume.</summary>
[MessagePackObject]
public sealed class VolumeSummary
{
    /// <summary>The name.</summary>
    [Key(0)] public string Name { get; set; } = "";

    /// <summary>The driver, e.g. <c>local</c>.</summary>
    [Key(1)] public string Driver { get; set; } = "";

    /// <summary>Where the engine keeps it on the host.</summary>
    [Key(2)] public string Mountpoint { get; set; } = "";

    /// <summary>When it was created, as the engine reports it.</summary>
    [Key(3)] public string CreatedAt { get; set; } = "";

    /// <summary>The labels.</summary>
    [Key(4)] public IReadOnlyDictionary<string, string> Labels { get; set; } = new Dictionary<string, string>();

    /// <summary><c>local</c> or <c>global</c>.</summary>
    [Key(5)] public string Scope { get; set; } = "";

    /// <summary>The driver options.</summary>
    [Key(6)] public IReadOnlyDictionary<string, string> Options { get; set; } = new Dictionary<string, string>();

    /// <summary>The compose project (stack) it belongs to, or empty.</summary>
    [Key(7)] public string Stack { get; set; } = "";
}

/// <summary>Names one volume.</summary>
[MessagePackObject]
public sealed class VolumeRef
{
    /// <summary>The volume name.</summary>
    [Key(0)] public string Name { get; set; } = "";
}

/// <summary>Creates a volume.</summary>
[MessagePackObject]
public sealed class VolumeCreateRequest
{
    /// <summary>The name; empty lets the engine choose one.</summary>
    [Key(0)] public string Name { get; set; } = "";

    /// <summary>The driver; null for <c>local</c>.</summary>
    [Key(1)] public string? Driver { get; set; }

    /// <summary>The labels.</summary>
    [Key(2)] public IReadOnlyDictionary<string, string>? Labels { get; set; }

    /// <summary>The driver options.</summary>
    [Key(3)] public IReadOnlyDictionary<string, string>? DriverOptions { get; set; }
}

/// <summary>Removes a volume.</summary>
[MessagePackObject]
public sealed class VolumeRemoveRequest
{
    /// <summary>The volume name.</summary>
    [Key(0)] public string Name { get; set; } = "";

    /// <summary>Remove it even when the driver reports an error.</summary>
    [Key(1)] public bool Force { get; set; }
}

/// <summary>Removes volumes no container uses.</summary>
[MessagePackObject]
public sealed class VolumePruneRequest
{
    /// <summary>Only volumes with these labels, as in <see cref="ContainerListRequest.Labels"/>.</summary>
    [Key(0)] public IReadOnlyDictionary<string, string>? Labels { get; set; }
}

/// <summary>Lists a directory inside a volume.</summary>
[MessagePackObject]
public sealed class VolumeBrowseRequest
{
    /// <summary>The volume name.</summary>
    [Key(0)] public string Name { get; set; } = "";

    /// <summary>
    /// The directory, relative to the volume's root (<c>""</c> or <c>"."</c> is the root). Absolute
    /// paths, <c>..</c> and symbolic links that lead outside the volume are refused.
    /// </summary>
    [Key(1)] public string Path { get; set; } = "";

    /// <summary>The most entries returned.</summary>
    [Key(2)] public int MaxEntries { get; set; } = 5000;
}

/// <summary>The kind of an entry in a volume.</summary>
public enum VolumeEntryKind
{
    /// <summary>A regular file.</summary>
    File = 0,

    /// <summary>A directory.</summary>
    Directory = 1,

    /// <summary>A symbolic link.</summary>
    Symlink = 2,

    /// <summary>A device, pipe, socket or hard link.</summary>
    Other = 3,
}

/// <summary>One entry of a directory listing.</summary>
[MessagePackObject]
public sealed class VolumeEntry
{
    /// <summary>The name within its directory.</summary>
    [Key(0)] public string Name { get; set; } = "";

    /// <summary>What it is.</summary>
    [Key(1)] public VolumeEntryKind Kind { get; set; }

    /// <summary>The size in bytes (files).</summary>
    [Key(2)] public long Size { get; set; }

    /// <summary>The Unix permission bits, e.g. 0644.</summary>
    [Key(3)] public int Mode { get; set; }

    /// <summary>When it was last modified.</summary>
    [Key(4)] public DateTimeOffset Modified { get; set; }

    /// <summary>Where a symbolic link points, else empty.</summary>
    [Key(5)] public string LinkTarget { get; set; } = "";
}

/// <summary>A directory listing inside a volume.</summary>
[MessagePackObject]
public sealed class VolumeDirectory
{
    /// <summary>The directory, relative to the volume's root, normalised (<c>""</c> for the root).</summary>
    [Key(0)] public string Path { get; set; } = "";

    /// <summary>The entries, ordered by name.</summary>
    [Key(1)] public IReadOnlyList<VolumeEntry> Entries { get; set; } = [];

    /// <summary>True when there were more than <see cref="VolumeBrowseRequest.MaxEntries"/>.</summary>
    [Key(2)] public bool Truncated { get; set; }
}

/// <summary>Reads a file inside a volume.</summary>
[MessagePackObject]
public sealed class VolumeReadFileRequest
{
    /// <summary>The volume name.</summary>
    [Key(0)] public string Name { get; set; } = "";

    /// <summary>The file, relative to the volume's root; confined as in <see cref="VolumeBrowseRequest.Path"/>.</summary>
    [Key(1)] public string Path { get; set; } = "";

    /// <summary>The most bytes returned.</summary>
    [Key(2)] public int MaxBytes { get; set; } = 1024 * 1024;
}

/// <summary>A file read from a volume.</summary>
[MessagePackObject]
public sealed class VolumeFile
{
    /// <summary>The file, relative to the volume's root, normalised.</summary>
    [Key(0)] public string Path { get; set; } = "";

    /// <summary>The file's full size.</summary>
    [Key(1)] public long Size { get; set; }

    /// <summary>The content, at most <see cref="VolumeReadFileRequest.MaxBytes"/>.</summary>
    [Key(2)] public byte[] Content { get; set; } = [];

    /// <summary>True when the file is larger than what was returned.</summary>
    [Key(3)] public bool Truncated { get; set; }
}
