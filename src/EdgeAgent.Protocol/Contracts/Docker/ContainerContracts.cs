using MessagePack;

namespace EdgeAgent.Protocol.Contracts.Docker;

/// <summary>Which containers to list.</summary>
[MessagePackObject]
public sealed class ContainerListRequest
{
    /// <summary>True lists stopped containers too; false lists running ones only.</summary>
    [Key(0)] public bool All { get; set; }

    /// <summary>Label filters: each key must be present and, when the value is not empty, equal to it.</summary>
    [Key(1)] public IReadOnlyDictionary<string, string>? Labels { get; set; }

    /// <summary>A name filter (substring match, as the engine does).</summary>
    [Key(2)] public string? Name { get; set; }
}

/// <summary>One container as a list shows it.</summary>
[MessagePackObject]
public sealed class ContainerSummary
{
    /// <summary>The container id.</summary>
    [Key(0)] public string Id { get; set; } = "";

    /// <summary>The names, without the leading slash.</summary>
    [Key(1)] public IReadOnlyList<string> Names { get; set; } = [];

    /// <summary>The image the container was created from, as given.</summary>
    [Key(2)] public string Image { get; set; } = "";

    /// <summary>The image id.</summary>
    [Key(3)] public string ImageId { get; set; } = "";

    /// <summary>The command.</summary>
    [Key(4)] public string Command { get; set; } = "";

    /// <summary>When it was created.</summary>
    [Key(5)] public DateTimeOffset Created { get; set; }

    /// <summary>The state: <c>created</c>, <c>running</c>, <c>paused</c>, <c>restarting</c>, <c>exited</c>, <c>removing</c> or <c>dead</c>.</summary>
    [Key(6)] public string State { get; set; } = "";

    /// <summary>The engine's human-readable status, e.g. <c>Up 5 minutes</c>.</summary>
    [Key(7)] public string Status { get; set; } = "";

    /// <summary>The health: <c>healthy</c>, <c>unhealthy</c>, <c>starting</c>, or empty without a health check.</summary>
    [Key(8)] public string Health { get; set; } = "";

    /// <summary>The ports.</summary>
    [Key(9)] public IReadOnlyList<PortMapping> Ports { get; set; } = [];

    /// <summary>The labels.</summary>
    [Key(10)] public IReadOnlyDictionary<string, string> Labels { get; set; } = new Dictionary<string, string>();

    /// <summary>The compose project (stack) the container belongs to, or empty.</summary>
    [Key(11)] public string Stack { get; set; } = "";
}

/// <summary>A container port and where it is published.</summary>
[MessagePackObject]
public sealed class PortMapping
{
    /// <summary>The port inside the container.</summary>
    [Key(0)] public int PrivatePort { get; set; }

    /// <summary>The host port, or null when not published.</summary>
    [Key(1)] public int? PublicPort { get; set; }

    /// <summary><c>tcp</c>, <c>udp</c> or <c>sctp</c>.</summary>
    [Key(2)] public string Protocol { get; set; } = "";

    /// <summary>The host address the port is published on, or empty.</summary>
    [Key(3)] public string HostIp { get; set; } = "";
}

/// <summary>Names one container (by id or name).</summary>
[MessagePackObject]
public sealed class ContainerRef
{
    /// <summary>The container id or name.</summary>
    [Key(0)] public string Id { get; set; } = "";
}

/// <summary>The outcome of a lifecycle action.</summary>
[MessagePackObject]
public sealed class ContainerActionResult
{
    /// <summary>False when the container was already in the requested state (start of a running container, stop of a stopped one).</summary>
    [Key(0)] public bool Changed { get; set; }
}

/// <summary>Stops or restarts a container.</summary>
[MessagePackObject]
public sealed class ContainerStopRequest
{
    /// <summary>The container id or name.</summary>
    [Key(0)] public string Id { get; set; } = "";

    /// <summary>Seconds to wait after the stop signal before killing; null uses the container's setting.</summary>
    [Key(1)] public int? TimeoutSeconds { get; set; }
}

/// <summary>Sends a signal to a container.</summary>
[MessagePackObject]
public sealed class ContainerKillRequest
{
    /// <summary>The container id or name.</summary>
    [Key(0)] public string Id { get; set; } = "";

    /// <summary>The signal, e.g. <c>SIGKILL</c>, <c>SIGHUP</c> or <c>9</c>; empty sends SIGKILL.</summary>
    [Key(1)] public string Signal { get; set; } = "";
}

/// <summary>Removes a container.</summary>
[MessagePackObject]
public sealed class ContainerRemoveRequest
{
    /// <summary>The container id or name.</summary>
    [Key(0)] public string Id { get; set; } = "";

    /// <summary>Kill and remove a running container.</summary>
    [Key(1)] public bool Force { get; set; }

    /// <summary>Also remove the container's anonymous volumes.</summary>
    [Key(2)] public bool RemoveVolumes { get; set; }
}

/// <summary>Renames a container.</summary>
[MessagePackObject]
public sealed class ContainerRenameRequest
{
    /// <summary>The container id or name.</summary>
    [Key(0)] public string Id { get; set; } = "";

    /// <summary>The new name.</summary>
    [Key(1)] public string NewName { get; set; } = "";
}

/// <summary>One container in detail.</summary>
[MessagePackObject]
public sealed class ContainerDetails
{
    /// <summary>The container id.</summary>
    [Key(0)] public string Id { get; set; } = "";

    /// <summary>The name, without the leading slash.</summary>
    [Key(1)] public string Name { get; set; } = "";

    /// <summary>The image as configured.</summary>
    [Key(2)] public string Image { get; set; } = "";

    /// <summary>The image id.</summary>
    [Key(3)] public string ImageId { get; set; } = "";

    /// <summary>When it was created.</summary>
    [Key(4)] public DateTimeOffset Created { get; set; }

    /// <summary>The state.</summary>
    [Key(5)] public ContainerStateInfo State { get; set; } = new();

    /// <summary>The entrypoint and command the process runs.</summary>
    [Key(6)] public IReadOnlyList<string> Command { get; set; } = [];

    /// <summary>The environment (NAME=value).</summary>
    [Key(7)] public IReadOnlyList<string> Env { get; set; } = [];

    /// <summary>The labels.</summary>
    [Key(8)] public IReadOnlyDictionary<string, string> Labels { get; set; } = new Dictionary<string, string>();

    /// <summary>How often the engine restarted it.</summary>
    [Key(9)] public long RestartCount { get; set; }

    /// <summary>The restart policy name (<c>no</c>, <c>always</c>, <c>unless-stopped</c>, <c>on-failure</c>).</summary>
    [Key(10)] public string RestartPolicy { get; set; } = "";

    /// <summary>The ports.</summary>
    [Key(11)] public IReadOnlyList<PortMapping> Ports { get; set; } = [];

    /// <summary>The mounts.</summary>
    [Key(12)] public IReadOnlyList<ContainerMount> Mounts { get; set; } = [];

    /// <summary>The networks it is connected to.</summary>
    [Key(13)] public IReadOnlyList<ContainerNetwork> Networks { get; set; } = [];

    /// <summary>Whether it has a TTY.</summary>
    [Key(14)] public bool Tty { get; set; }

    /// <summary>The working directory.</summary>
    [Key(15)] public string WorkingDir { get; set; } = "";

    /// <summary>The user the process runs as.</summary>
    [Key(16)] public string User { get; set; } = "";

    /// <summary>The container's host name.</summary>
    [Key(17)] public string Hostname { get; set; } = "";

    /// <summary>The compose project (stack) it belongs to, or empty.</summary>
    [Key(18)] public string Stack { get; set; } = "";
}

/// <summary>A container's state.</summary>
[MessagePackObject]
public sealed class ContainerStateInfo
{
    /// <summary>The state name, as in <see cref="ContainerSummary.State"/>.</summary>
    [Key(0)] public string Status { get; set; } = "";

    /// <summary>Running (also true while paused).</summary>
    [Key(1)] public bool Running { get; set; }

    /// <summary>Paused.</summary>
    [Key(2)] public bool Paused { get; set; }

    /// <summary>Restarting.</summary>
    [Key(3)] public bool Restarting { get; set; }

    /// <summary>Killed for running out of memory.</summary>
    [Key(4)] public bool OomKilled { get; set; }

    /// <summary>The main process id, 0 when not running.</summary>
    [Key(5)] public long Pid { get; set; }

    /// <summary>The last exit code.</summary>
    [Key(6)] public long ExitCode { get; set; }

    /// <summary>The engine's error for the last start, or empty.</summary>
    [Key(7)] public string Error { get; set; } = "";

    /// <summary>When it last started, or null.</summary>
    [Key(8)] public DateTimeOffset? StartedAt { get; set; }

    /// <summary>When it last stopped, or null.</summary>
    [Key(9)] public DateTimeOffset? FinishedAt { get; set; }

    /// <summary>The health, or empty without a health check.</summary>
    [Key(10)] public string Health { get; set; } = "";
}

/// <summary>A mount of a container.</summary>
[MessagePackObject]
public sealed class ContainerMount
{
    /// <summary><c>volume</c>, <c>bind</c>, <c>tmpfs</c>, …</summary>
    [Key(0)] public string Type { get; set; } = "";

    /// <summary>The volume name, for volumes.</summary>
    [Key(1)] public string Name { get; set; } = "";

    /// <summary>The host path or volume mount point.</summary>
    [Key(2)] public string Source { get; set; } = "";

    /// <summary>The path inside the container.</summary>
    [Key(3)] public string Destination { get; set; } = "";

    /// <summary>Writable.</summary>
    [Key(4)] public bool ReadWrite { get; set; }
}

/// <summary>A container's attachment to a network.</summary>
[MessagePackObject]
public sealed class ContainerNetwork
{
    /// <summary>The network name.</summary>
    [Key(0)] public string Name { get; set; } = "";

    /// <summary>The network id.</summary>
    [Key(1)] public string NetworkId { get; set; } = "";

    /// <summary>The IPv4 address, or empty.</summary>
    [Key(2)] public string IpAddress { get; set; } = "";

    /// <summary>The gateway, or empty.</summary>
    [Key(3)] public string Gateway { get; set; } = "";

    /// <summary>The MAC address, or empty.</summary>
    [Key(4)] public string MacAddress { get; set; } = "";

    /// <summary>The aliases on this network.</summary>
    [Key(5)] public IReadOnlyList<string> Aliases { get; set; } = [];
}

/// <summary>Resource usage of one container at one moment.</summary>
[MessagePackObject]
public sealed class ContainerStats
{
    /// <summary>The container id.</summary>
    [Key(0)] public string Id { get; set; } = "";

    /// <summary>The container name, without the leading slash.</summary>
    [Key(1)] public string Name { get; set; } = "";

    /// <summary>When the engine read the numbers.</summary>
    [Key(2)] public DateTimeOffset ReadAt { get; set; }

    /// <summary>CPU use in percent of one CPU (200 = two CPUs busy), as <c>docker stats</c> shows it.</summary>
    [Key(3)] public double CpuPercent { get; set; }

    /// <summary>The CPUs available to the container.</summary>
    [Key(4)] public int OnlineCpus { get; set; }

    /// <summary>Memory in use, without the page cache.</summary>
    [Key(5)] public long MemoryUsedBytes { get; set; }

    /// <summary>The memory limit (the host's memory without a limit).</summary>
    [Key(6)] public long MemoryLimitBytes { get; set; }

    /// <summary>Bytes received over all networks.</summary>
    [Key(7)] public long NetworkRxBytes { get; set; }

    /// <summary>Bytes sent over all networks.</summary>
    [Key(8)] public long NetworkTxBytes { get; set; }

    /// <summary>Bytes read from block devices.</summary>
    [Key(9)] public long BlockReadBytes { get; set; }

    /// <summary>Bytes written to block devices.</summary>
    [Key(10)] public long BlockWriteBytes { get; set; }

    /// <summary>Processes (threads) in the container.</summary>
    [Key(11)] public long Pids { get; set; }
}
