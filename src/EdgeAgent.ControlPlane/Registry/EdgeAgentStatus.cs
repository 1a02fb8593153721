using EdgeAgent.Protocol.Contracts;

namespace EdgeAgent.ControlPlane;

/// <summary>How an agent is connected, as the fleet view shows it.</summary>
public enum EdgeAgentConnectionState
{
    /// <summary>Enrolled, never connected.</summary>
    NeverConnected,

    /// <summary>A session is open and its last heartbeat is within the grace period.</summary>
    Connected,

    /// <summary>No live session, or its heartbeat is older than the grace period.</summary>
    Disconnected,

    /// <summary>The agent's credential was revoked.</summary>
    Revoked,
}

/// <summary>One agent as the registry sees it now.</summary>
public sealed record EdgeAgentStatus
{
    /// <summary>The agent id.</summary>
    public required string Id { get; init; }

    /// <summary>The display name given at enrollment.</summary>
    public string? Name { get; init; }

    /// <summary>Labels given at enrollment.</summary>
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    /// <summary>Connected, Disconnected, Revoked or never connected.</summary>
    public EdgeAgentConnectionState State { get; init; }

    /// <summary>When the last frame from the agent arrived (in memory only; null after a control-plane restart until it reconnects).</summary>
    public DateTimeOffset? LastHeartbeat { get; init; }

    /// <summary>When the current session started.</summary>
    public DateTimeOffset? ConnectedSince { get; init; }

    /// <summary>When the agent last completed a handshake (durable).</summary>
    public DateTimeOffset? LastConnectedAt { get; init; }

    /// <summary>The remote address of the current or last session.</summary>
    public string? RemoteAddress { get; init; }

    /// <summary>What the agent said about itself in its last handshake.</summary>
    public AgentInfo? Info { get; init; }

    /// <summary>
    /// The latest status snapshot the agent sent (agents with Docker operations send one on
    /// connect and on every change), if any; kept after a disconnect as the last one seen.
    /// </summary>
    public Protocol.Contracts.Docker.AgentSnapshot? Snapshot { get; init; }

    /// <summary>The latest container resource usage the agent sent, while it is connected.</summary>
    public Protocol.Contracts.Docker.ContainerUsageReport? Usage { get; init; }
}

/// <summary>An agent connected or disconnected.</summary>
/// <param name="agentId">The agent id.</param>
/// <param name="info">The agent's handshake info, when known.</param>
/// <param name="reason">Why it disconnected, when it did.</param>
public sealed class EdgeAgentEventArgs(string agentId, AgentInfo? info, string? reason) : EventArgs
{
    /// <summary>The agent id.</summary>
    public string AgentId { get; } = agentId;

    /// <summary>The agent's handshake info, when known.</summary>
    public AgentInfo? Info { get; } = info;

    /// <summary>Why it disconnected, when it did.</summary>
    public string? Reason { get; } = reason;
}

/// <summary>Every known agent with its state, heartbeat and latest status; connect and disconnect events.</summary>
public interface IEdgeAgentRegistry
{
    /// <summary>Lists every enrolled agent with its live state.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The agents, ordered by id.</returns>
    Task<IReadOnlyList<EdgeAgentStatus>> GetAgentsAsync(CancellationToken cancellationToken = default);

    /// <summary>One agent's status, or null when it is not enrolled.</summary>
    /// <param name="agentId">The agent id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The status, or null.</returns>
    Task<EdgeAgentStatus?> GetAgentAsync(string agentId, CancellationToken cancellationToken = default);

    /// <summary>True when the agent has a live session whose heartbeat is within the grace period.</summary>
    /// <param name="agentId">The agent id.</param>
    /// <returns>True when connected.</returns>
    bool IsConnected(string agentId);

    /// <summary>
    /// Raised when an agent has completed its handshake: after the agent has its answer and its
    /// connection time is stored, and only while that session is still the agent's current one.
    /// Handlers run on the connection's task; one that throws is logged and does not affect the agent.
    /// </summary>
    event EventHandler<EdgeAgentEventArgs>? AgentConnected;

    /// <summary>Raised when an agent's session ends. A handler that throws is logged.</summary>
    event EventHandler<EdgeAgentEventArgs>? AgentDisconnected;

    /// <summary>Raised when an agent sends a status snapshot: on connect and whenever something on its engine changed (an agent does not send an unchanged one). A handler that throws is logged.</summary>
    event EventHandler<EdgeAgentEventArgs>? SnapshotChanged;
}
