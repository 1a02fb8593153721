namespace EdgeAgent.ControlPlane;

/// <summary>Creates agent identities and manages their credentials.</summary>
public interface IEdgeAgentEnrollment
{
    /// <summary>Enrolls a new agent with a fresh secret and returns what an operator needs to run it.</summary>
    /// <param name="request">The agent's id (optional), name and labels.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The run settings, including the token. The secret is shown only here.</returns>
    /// <exception cref="ArgumentException">The id is malformed.</exception>
    /// <exception cref="InvalidOperationException">An agent with that id exists.</exception>
    Task<EdgeAgentEnrollment> EnrollAsync(EnrollAgentRequest request, CancellationToken cancellationToken = default);

    /// <summary>
    /// Issues a new secret. The new one works at once; the previous one keeps working for
    /// <see cref="EdgeControlPlaneOptions.RotationOverlap"/>, then is refused.
    /// </summary>
    /// <param name="agentId">The agent id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The new run settings.</returns>
    /// <exception cref="KeyNotFoundException">No such agent.</exception>
    /// <exception cref="InvalidOperationException">The agent is revoked.</exception>
    Task<EdgeAgentEnrollment> RotateSecretAsync(string agentId, CancellationToken cancellationToken = default);

    /// <summary>Revokes the agent: its live session closes at once and every later handshake gets HTTP 401.</summary>
    /// <param name="agentId">The agent id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the revocation is durable and the session closed.</returns>
    /// <exception cref="KeyNotFoundException">No such agent.</exception>
    Task RevokeAsync(string agentId, CancellationToken cancellationToken = default);
}

/// <summary>What to enroll.</summary>
public sealed record EnrollAgentRequest
{
    /// <summary>The agent id (1-64 letters, digits, '-' or '_'); null generates one.</summary>
    public string? Id { get; init; }

    /// <summary>A display name.</summary>
    public string? Name { get; init; }

    /// <summary>Labels for grouping and authorization.</summary>
    public IReadOnlyDictionary<string, string>? Labels { get; init; }
}

/// <summary>The run settings of an agent, returned by enrollment and rotation.</summary>
public sealed record EdgeAgentEnrollment
{
    /// <summary>The agent id.</summary>
    public required string AgentId { get; init; }

    /// <summary>The agent's token (<c>&lt;agent-id&gt;.&lt;secret&gt;</c>). Shown only once: store it safely.</summary>
    public required string Token { get; init; }

    /// <summary>The settings as environment variables (<c>CONTROL_PLANE_URL</c>, <c>AGENT_TOKEN</c>).</summary>
    public required IReadOnlyDictionary<string, string> Environment { get; init; }

    /// <summary>A ready-to-paste <c>docker run</c> line for the sample agent image.</summary>
    public required string DockerRunCommand { get; init; }

    /// <summary>Hides the token: an enrollment printed by mistake reveals no secret.</summary>
    /// <returns>A description without the token.</returns>
    public override string ToString() => $"EdgeAgentEnrollment {{ AgentId = {AgentId} }}";
}
