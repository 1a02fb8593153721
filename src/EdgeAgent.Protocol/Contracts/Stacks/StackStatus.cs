using MessagePack;

namespace EdgeAgent.Protocol.Contracts.Stacks;

/// <summary>What the agent knows about one compose stack: what should run and what runs.</summary>
[MessagePackObject]
public sealed record StackStatus
{
    /// <summary>The compose project name.</summary>
    [Key(0)]
    public string ProjectName { get; init; } = "";

    /// <summary>The version of the last deployment the agent accepted; empty for a stack the agent did not deploy.</summary>
    [Key(1)]
    public string DesiredVersion { get; init; } = "";

    /// <summary>The version of the last deployment that was applied without error; empty when none was.</summary>
    [Key(2)]
    public string AppliedVersion { get; init; } = "";

    /// <summary>True when the stack was deployed through the agent; false for one found on the engine only (e.g. started with <c>docker compose up</c>).</summary>
    [Key(3)]
    public bool IsManaged { get; init; }

    /// <summary>
    /// True when the applied version is the desired one, no service reports an error and every
    /// service runs its desired number of containers.
    /// </summary>
    [Key(4)]
    public bool IsConverged { get; init; }

    /// <summary>The services, by name.</summary>
    [Key(5)]
    public IReadOnlyList<StackServiceStatus> Services { get; init; } = [];

    /// <summary>The error of the last deployment, or empty when it succeeded.</summary>
    [Key(6)]
    public string LastError { get; init; } = "";

    /// <summary>When the last deployment finished, if the agent deployed this stack.</summary>
    [Key(7)]
    public DateTimeOffset? UpdatedAt { get; init; }
}

/// <summary>One service of a stack.</summary>
[MessagePackObject]
public sealed record StackServiceStatus
{
    /// <summary>The service name.</summary>
    [Key(0)]
    public string Name { get; init; } = "";

    /// <summary>How many containers should run (0 for a container that is left over and will be removed).</summary>
    [Key(1)]
    public int DesiredReplicas { get; init; }

    /// <summary>How many containers run.</summary>
    [Key(2)]
    public int RunningReplicas { get; init; }

    /// <summary>
    /// The health of the service's containers: <c>healthy</c>, <c>unhealthy</c>, <c>starting</c>, or
    /// empty when the service has no health check. The worst container wins.
    /// </summary>
    [Key(3)]
    public string Health { get; init; } = "";

    /// <summary>The engine's error from the last deployment of this service, or empty.</summary>
    [Key(4)]
    public string Error { get; init; } = "";

    /// <summary>The ids of the service's containers.</summary>
    [Key(5)]
    public IReadOnlyList<string> ContainerIds { get; init; } = [];
}
