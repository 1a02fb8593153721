using MessagePack;

namespace EdgeAgent.Protocol.Contracts.Docker;

/// <summary>A request or response without content.</summary>
[MessagePackObject]
public sealed class DockerEmpty
{
    /// <summary>The shared instance.</summary>
    public static DockerEmpty Instance { get; } = new();
}

/// <summary>The engine's version.</summary>
[MessagePackObject]
public sealed class EngineVersion
{
    /// <summary>The engine version, e.g. <c>24.0.7</c>.</summary>
    [Key(0)] public string Version { get; set; } = "";

    /// <summary>The highest Engine API version the engine speaks.</summary>
    [Key(1)] public string ApiVersion { get; set; } = "";

    /// <summary>The lowest Engine API version the engine accepts.</summary>
    [Key(2)] public string MinApiVersion { get; set; } = "";

    /// <summary>The engine's operating system, e.g. <c>linux</c>.</summary>
    [Key(3)] public string Os { get; set; } = "";

    /// <summary>The engine's architecture, e.g. <c>amd64</c>.</summary>
    [Key(4)] public string Architecture { get; set; } = "";

    /// <summary>The host kernel version.</summary>
    [Key(5)] public string KernelVersion { get; set; } = "";

    /// <summary>The engine's Git commit.</summary>
    [Key(6)] public string GitCommit { get; set; } = "";

    /// <summary>The Go version the engine was built with.</summary>
    [Key(7)] public string GoVersion { get; set; } = "";
}

/// <summary>What the engine reports about its host and itself.</summary>
[MessagePackObject]
public sealed class EngineInfo
{
    /// <summary>The engine's unique id.</summary>
    [Key(0)] public string Id { get; set; } = "";

    /// <summary>The host name the engine reports.</summary>
    [Key(1)] public string Hostname { get; set; } = "";

    /// <summary>The operating system, e.g. <c>Debian GNU/Linux 12 (bookworm)</c>.</summary>
    [Key(2)] public string OperatingSystem { get; set; } = "";

    /// <summary>The operating system type, <c>linux</c> or <c>windows</c>.</summary>
    [Key(3)] public string OsType { get; set; } = "";

    /// <summary>The kernel version.</summary>
    [Key(4)] public string KernelVersion { get; set; } = "";

    /// <summary>The architecture, e.g. <c>x86_64</c>.</summary>
    [Key(5)] public string Architecture { get; set; } = "";

    /// <summary>The number of CPUs the engine sees.</summary>
    [Key(6)] public long Cpus { get; set; }

    /// <summary>The total memory in bytes.</summary>
    [Key(7)] public long MemoryBytes { get; set; }

    /// <summary>The storage driver, e.g. <c>overlay2</c>.</summary>
    [Key(8)] public string StorageDriver { get; set; } = "";

    /// <summary>The engine's data directory.</summary>
    [Key(9)] public string DockerRootDir { get; set; } = "";

    /// <summary>The engine version.</summary>
    [Key(10)] public string ServerVersion { get; set; } = "";

    /// <summary>All containers.</summary>
    [Key(11)] public long Containers { get; set; }

    /// <summary>Running containers.</summary>
    [Key(12)] public long ContainersRunning { get; set; }

    /// <summary>Paused containers.</summary>
    [Key(13)] public long ContainersPaused { get; set; }

    /// <summary>Stopped containers.</summary>
    [Key(14)] public long ContainersStopped { get; set; }

    /// <summary>Images.</summary>
    [Key(15)] public long Images { get; set; }

    /// <summary>The cgroup version, <c>1</c> or <c>2</c>.</summary>
    [Key(16)] public string CgroupVersion { get; set; } = "";

    /// <summary>The engine's warnings about its configuration.</summary>
    [Key(17)] public IReadOnlyList<string> Warnings { get; set; } = [];
}

/// <summary>How much disk the engine's objects use.</summary>
[MessagePackObject]
public sealed class DiskUsage
{
    /// <summary>Number of images.</summary>
    [Key(0)] public long ImageCount { get; set; }

    /// <summary>Bytes used by images (shared layers counted once when the engine says so).</summary>
    [Key(1)] public long ImagesBytes { get; set; }

    /// <summary>Number of containers.</summary>
    [Key(2)] public long ContainerCount { get; set; }

    /// <summary>Bytes written by containers to their writable layers.</summary>
    [Key(3)] public long ContainersBytes { get; set; }

    /// <summary>Number of volumes.</summary>
    [Key(4)] public long VolumeCount { get; set; }

    /// <summary>Bytes used by local volumes, or null when the engine does not report it.</summary>
    [Key(5)] public long? VolumesBytes { get; set; }

    /// <summary>Bytes used by the build cache, or null when the engine does not report it.</summary>
    [Key(6)] public long? BuildCacheBytes { get; set; }
}
