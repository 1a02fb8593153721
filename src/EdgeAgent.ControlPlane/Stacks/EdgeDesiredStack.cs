using System.Security.Claims;
using EdgeAgent.Protocol.Contracts.Stacks;

namespace EdgeAgent.ControlPlane;

/// <summary>
/// What the control plane wants running on one agent for one stack: a deployment to apply, or a
/// removal. Stored durably so an offline agent gets it when it reconnects. The stored request
/// includes the deployment's variables: protect the store accordingly.
/// </summary>
public sealed record EdgeDesiredStack
{
    /// <summary>The agent id.</summary>
    public required string AgentId { get; init; }

    /// <summary>The compose project name.</summary>
    public required string ProjectName { get; init; }

    /// <summary>The deployment to apply (unused when <see cref="Remove"/> is set).</summary>
    public required StackDeployRequest Request { get; init; }

    /// <summary>True when the stack is to be removed.</summary>
    public bool Remove { get; init; }

    /// <summary>With <see cref="Remove"/>: also remove the stack's named volumes.</summary>
    public bool RemoveVolumes { get; init; }

    /// <summary>When the desired state was last changed.</summary>
    public DateTimeOffset UpdatedAt { get; init; }
}

/// <summary>Stores desired stacks per agent. Implementations must be safe for concurrent use and durable when a call returns.</summary>
public interface IEdgeStackStore
{
    /// <summary>Creates or replaces the desired state of one stack.</summary>
    /// <param name="stack">The desired state.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the change is durable.</returns>
    Task SetAsync(EdgeDesiredStack stack, CancellationToken cancellationToken = default);

    /// <summary>Reads the desired state of one stack.</summary>
    /// <param name="agentId">The agent id.</param>
    /// <param name="projectName">The project name.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The desired state, or null.</returns>
    Task<EdgeDesiredStack?> GetAsync(string agentId, string projectName, CancellationToken cancellationToken = default);

    /// <summary>Lists one agent's desired stacks.</summary>
    /// <param name="agentId">The agent id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The desired stacks, by project name.</returns>
    Task<IReadOnlyList<EdgeDesiredStack>> ListAsync(string agentId, CancellationToken cancellationToken = default);

    /// <summary>Forgets a stack (after its removal was applied).</summary>
    /// <param name="agentId">The agent id.</param>
    /// <param name="projectName">The project name.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the change is durable.</returns>
    Task DeleteAsync(string agentId, string projectName, CancellationToken cancellationToken = default);
}

/// <summary>A stack's desired and last reported state on one agent.</summary>
public sealed record EdgeStackState
{
    /// <summary>The agent id.</summary>
    public required string AgentId { get; init; }

    /// <summary>The compose project name.</summary>
    public required string ProjectName { get; init; }

    /// <summary>The version the control plane wants.</summary>
    public string DesiredVersion { get; init; } = "";

    /// <summary>True while the desired state has not been applied (agent offline, or the last attempt failed).</summary>
    public bool Pending { get; init; }

    /// <summary>True when the desired state is a removal that has not been applied yet.</summary>
    public bool Removing { get; init; }

    /// <summary>What the agent last reported for the stack (applied version, services, health, errors).</summary>
    public StackStatus? Status { get; init; }

    /// <summary>The last error applying the desired state, if any.</summary>
    public string? LastError { get; init; }
}

/// <summary>
/// Deploys compose stacks to agents as desired state: recorded durably per agent, applied now
/// when the agent is connected, and applied when it reconnects otherwise. A deployment or removal
/// is authorized (<see cref="EdgeControlPlaneOptions.CommandAuthorizationPolicy"/>, as the
/// command <c>stacks.deploy</c> or <c>stacks.remove</c>) before it is recorded, so a denied change
/// is never applied, and the immediate apply is audited as the caller. Through
/// <see cref="As(ClaimsPrincipal)"/> the caller is a user; otherwise it is the control plane itself,
/// as with <see cref="IEdgeAgents"/>. A reconciliation after a reconnect re-applies what was
/// authorized when it was recorded, audited as <c>system</c>.
/// </summary>
public interface IEdgeStacks
{
    /// <summary>
    /// A view whose deployments and removals are authorized and audited as
    /// <paramref name="caller"/> (for example <c>HttpContext.User</c>).
    /// </summary>
    /// <param name="caller">The caller's principal.</param>
    /// <returns>A view for that caller.</returns>
    IEdgeStacks As(ClaimsPrincipal caller);

    /// <summary>
    /// Records <paramref name="request"/> as the agent's desired state for the stack and applies it
    /// if the agent is connected. The returned state says whether it was applied or is pending.
    /// Validation errors of the compose file come back as <see cref="Protocol.EdgeCommandException"/> (<c>invalid_argument</c>).
    /// </summary>
    /// <param name="agentId">The agent id.</param>
    /// <param name="request">The deployment; <see cref="StackDeployRequest.ProjectName"/> and <see cref="StackDeployRequest.Version"/> are required.</param>
    /// <param name="cancellationToken">Cancels waiting (the desired state stays recorded).</param>
    /// <returns>The stack's state after the attempt.</returns>
    Task<EdgeStackState> DeployAsync(string agentId, StackDeployRequest request, CancellationToken cancellationToken = default);

    /// <summary>Records the stack's removal and applies it now or when the agent reconnects.</summary>
    /// <param name="agentId">The agent id.</param>
    /// <param name="projectName">The project name.</param>
    /// <param name="removeVolumes">Also remove the stack's named volumes.</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <returns>The state after the attempt (Removing while pending).</returns>
    Task<EdgeStackState> RemoveAsync(string agentId, string projectName, bool removeVolumes = false, CancellationToken cancellationToken = default);

    /// <summary>The stack's desired and last reported state, without a round trip.</summary>
    /// <param name="agentId">The agent id.</param>
    /// <param name="projectName">The project name.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The state, or null when no desired state is recorded.</returns>
    Task<EdgeStackState?> GetStateAsync(string agentId, string projectName, CancellationToken cancellationToken = default);

    /// <summary>Every stack recorded for the agent.</summary>
    /// <param name="agentId">The agent id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The states.</returns>
    Task<IReadOnlyList<EdgeStackState>> ListAsync(string agentId, CancellationToken cancellationToken = default);

    /// <summary>Completes when the agent has applied the stack's desired version (or its removal).</summary>
    /// <param name="agentId">The agent id.</param>
    /// <param name="projectName">The project name.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The applied state.</returns>
    Task<EdgeStackState> WaitUntilAppliedAsync(string agentId, string projectName, CancellationToken cancellationToken = default);

    /// <summary>
    /// Raised whenever a stack's state changes (applied, failed, pending), in the order of the
    /// changes: a handler runs while that stack's changes are held back, so it must not block
    /// waiting for another change of the same stack (start it, do not wait for it). A handler that
    /// throws is logged; the change, the other handlers and the waiters go on as if it had not.
    /// </summary>
    event EventHandler<EdgeStackState>? StateChanged;
}
