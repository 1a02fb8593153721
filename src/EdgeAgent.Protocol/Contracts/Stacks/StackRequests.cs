using MessagePack;

namespace EdgeAgent.Protocol.Contracts.Stacks;

/// <summary>Asks for the status of one stack.</summary>
[MessagePackObject]
public sealed record StackStatusRequest
{
    /// <summary>The compose project name.</summary>
    [Key(0)]
    public string ProjectName { get; init; } = "";
}

/// <summary>Asks for every stack the agent deployed or finds on its engine.</summary>
[MessagePackObject]
public sealed record StackListRequest;

/// <summary>The stacks of an agent.</summary>
[MessagePackObject]
public sealed record StackListResponse
{
    /// <summary>The stacks, ordered by project name.</summary>
    [Key(0)]
    public IReadOnlyList<StackStatus> Stacks { get; init; } = [];
}

/// <summary>Removes a stack: its containers and networks, and its volumes when asked.</summary>
[MessagePackObject]
public sealed record StackRemoveRequest
{
    /// <summary>The compose project name.</summary>
    [Key(0)]
    public string ProjectName { get; init; } = "";

    /// <summary>Also removes the stack's named and anonymous volumes (external volumes are never removed).</summary>
    [Key(1)]
    public bool RemoveVolumes { get; init; }
}

/// <summary>What removing a stack removed. Removing a stack that does not exist removes nothing and is not an error.</summary>
[MessagePackObject]
public sealed record StackRemoveResult
{
    /// <summary>The compose project name.</summary>
    [Key(0)]
    public string ProjectName { get; init; } = "";

    /// <summary>The names of the removed containers.</summary>
    [Key(1)]
    public IReadOnlyList<string> Containers { get; init; } = [];

    /// <summary>The names of the removed networks.</summary>
    [Key(2)]
    public IReadOnlyList<string> Networks { get; init; } = [];

    /// <summary>The names of the removed volumes.</summary>
    [Key(3)]
    public IReadOnlyList<string> Volumes { get; init; } = [];
}
