using MessagePack;

namespace EdgeAgent.Protocol.Contracts.Docker;

/// <summary>
/// The state of an agent's host and engine. The agent sends it on connect and whenever it
/// changes; <see cref="Hash"/> identifies the content so unchanged state is not resent.
/// </summary>
[MessagePackObject]
public sealed class AgentSnapshot
{
    /// <summary>The host.</summary>
    [Key(0)] public HostSnapshot Host { get; set; } = new();

    /// <summary>Whether the engine answered when the snapshot was taken.</summary>
    [Key(1)] public bool EngineReachable { get; set; }

    /// <summary>The last engine error, or empty.</summary>
    [Key(2)] public string LastError { get; set; } = "";

    /// <summary>All containers, ordered by id.</summary>
    [Key(3)] public IReadOnlyList<ContainerSummary> Containers { get; set; } = [];

    /// <summary>All images, ordered by id.</summary>
    [Key(4)] public IReadOnlyList<ImageSummary> Images { get; set; } = [];

    /// <summary>All volumes, ordered by name.</summary>
    [Key(5)] public IReadOnlyList<VolumeSummary> Volumes { get; set; } = [];

    /// <summary>All networks, ordered by id.</summary>
    [Key(6)] public IReadOnlyList<NetworkSummary> Networks { get; set; } = [];

    /// <summary>When it was taken (not part of <see cref="Hash"/>).</summary>
    [Key(7)] public DateTimeOffset TakenAt { get; set; }

    /// <summary>The SHA-256 of the content (hex), equal for equal state.</summary>
    [Key(8)] public string Hash { get; set; } = "";
}

/// <summary>The host in a snapshot.</summary>
[MessagePackObject]
public sealed class HostSnapshot
{
    /// <summary>The host name.</summary>
    [Key(0)] public string Hostname { get; set; } = "";

    /// <summary>The operating system.</summary>
    [Key(1)] public string OperatingSystem { get; set; } = "";

    /// <summary>The kernel version.</summary>
    [Key(2)] public string KernelVersion { get; set; } = "";

    /// <summary>The architecture.</summary>
    [Key(3)] public string Architecture { get; set; } = "";

    /// <summary>The number of CPUs.</summary>
    [Key(4)] public long Cpus { get; set; }

    /// <summary>The total memory in bytes.</summary>
    [Key(5)] public long MemoryBytes { get; set; }

    /// <summary>The engine version, or empty when the engine did not answer.</summary>
    [Key(6)] public string EngineVersion { get; set; } = "";
}

/// <summary>Resource usage of the running containers, sampled periodically.</summary>
[MessagePackObject]
public sealed class ContainerUsageReport
{
    /// <summary>When the sample was taken.</summary>
    [Key(0)] public DateTimeOffset TakenAt { get; set; }

    /// <summary>One entry per running container.</summary>
    [Key(1)] public IReadOnlyList<ContainerStats> Containers { get; set; } = [];
}
