namespace EdgeAgent.ControlPlane;

/// <summary>What the control plane stores about one agent. Heartbeats are never stored.</summary>
public sealed record EdgeAgentRecord
{
    /// <summary>The agent id: 1-64 letters, digits, '-' or '_'.</summary>
    public required string Id { get; init; }

    /// <summary>A display name.</summary>
    public string? Name { get; init; }

    /// <summary>Operator labels, used for grouping and authorization policies.</summary>
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    /// <summary>When the agent was enrolled.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>The hash of the current secret (never the secret).</summary>
    public required string SecretHash { get; init; }

    /// <summary>The hash of the previous secret during a rotation overlap.</summary>
    public string? PreviousSecretHash { get; init; }

    /// <summary>When the previous secret stops working.</summary>
    public DateTimeOffset? PreviousSecretExpiresAt { get; init; }

    /// <summary>When the agent was revoked; a revoked agent can never connect again.</summary>
    public DateTimeOffset? RevokedAt { get; init; }

    /// <summary>When the agent last completed a handshake (written on connect, not per heartbeat).</summary>
    public DateTimeOffset? LastConnectedAt { get; init; }
}

/// <summary>Stores agents and their credential hashes. Implementations must be safe for concurrent use.</summary>
public interface IEdgeAgentStore
{
    /// <summary>Finds one agent.</summary>
    /// <param name="agentId">The agent id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The record, or null.</returns>
    Task<EdgeAgentRecord?> GetAsync(string agentId, CancellationToken cancellationToken = default);

    /// <summary>Lists every agent.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>All records.</returns>
    Task<IReadOnlyList<EdgeAgentRecord>> ListAsync(CancellationToken cancellationToken = default);

    /// <summary>Adds a new agent; returns false when the id is taken.</summary>
    /// <param name="record">The record.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>True when added.</returns>
    Task<bool> TryAddAsync(EdgeAgentRecord record, CancellationToken cancellationToken = default);

    /// <summary>Replaces an agent's record.</summary>
    /// <param name="record">The new record.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the change is durable.</returns>
    Task UpdateAsync(EdgeAgentRecord record, CancellationToken cancellationToken = default);
}
