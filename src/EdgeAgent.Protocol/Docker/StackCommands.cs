using EdgeAgent.Protocol.Contracts.Stacks;

namespace EdgeAgent.Protocol.Docker;

/// <summary>
/// Compose stacks on one agent: deploy a desired state, read its status, list, remove. A thin,
/// typed wrapper over <see cref="IEdgeCommandInvoker"/>.
/// </summary>
public sealed class StackCommands
{
    /// <summary>The command that deploys a stack (<see cref="StackDeployRequest"/> → <see cref="StackStatus"/>).</summary>
    public const string Deploy = "stacks.deploy";

    /// <summary>The command that reads a stack's status (<see cref="StackStatusRequest"/> → <see cref="StackStatus"/>).</summary>
    public const string Status = "stacks.status";

    /// <summary>The command that lists stacks (<see cref="StackListRequest"/> → <see cref="StackListResponse"/>).</summary>
    public const string List = "stacks.list";

    /// <summary>The command that removes a stack (<see cref="StackRemoveRequest"/> → <see cref="StackRemoveResult"/>).</summary>
    public const string Remove = "stacks.remove";

    private readonly IEdgeCommandInvoker _invoker;

    /// <summary>Creates the command group over an agent's invoker.</summary>
    /// <param name="invoker">Sends commands to one agent.</param>
    public StackCommands(IEdgeCommandInvoker invoker)
    {
        ArgumentNullException.ThrowIfNull(invoker);
        _invoker = invoker;
    }

    /// <summary>
    /// Makes the agent run the stack as described and returns its status once the agent reconciled.
    /// Deploying the same content again recreates nothing; a change recreates only the services
    /// whose configuration changed. An invalid compose file fails with <c>invalid_argument</c>
    /// before anything changes on the engine; a service the engine refuses is reported in the
    /// returned status (<see cref="StackServiceStatus.Error"/>) while the other services keep running.
    /// </summary>
    /// <param name="request">The desired state.</param>
    /// <param name="options">Timeout and idempotency key. Pulling images can take long: give a generous timeout.</param>
    /// <param name="cancellationToken">Cancels the deployment on the agent too.</param>
    /// <returns>The stack's status after reconciling.</returns>
    /// <exception cref="EdgeCommandException">The deployment was refused or failed; see <see cref="EdgeCommandException.Code"/>.</exception>
    public Task<StackStatus> DeployAsync(StackDeployRequest request, EdgeCommandOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return _invoker.InvokeAsync<StackDeployRequest, StackStatus>(Deploy, request, options, cancellationToken);
    }

    /// <summary>Reads a stack's status: desired and applied version, per-service replicas, health and errors.</summary>
    /// <param name="projectName">The compose project name.</param>
    /// <param name="options">Timeout and idempotency key.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>The status.</returns>
    /// <exception cref="EdgeCommandException">The stack does not exist (<c>not_found</c>) or the command failed.</exception>
    public Task<StackStatus> GetStatusAsync(string projectName, EdgeCommandOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(projectName);
        return _invoker.InvokeAsync<StackStatusRequest, StackStatus>(Status, new StackStatusRequest { ProjectName = projectName }, options, cancellationToken);
    }

    /// <summary>Lists the stacks the agent deployed and those it finds on its engine (started with <c>docker compose</c>).</summary>
    /// <param name="options">Timeout and idempotency key.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>The stacks, ordered by project name.</returns>
    /// <exception cref="EdgeCommandException">The command failed.</exception>
    public async Task<IReadOnlyList<StackStatus>> ListAsync(EdgeCommandOptions? options = null, CancellationToken cancellationToken = default)
    {
        var response = await _invoker.InvokeAsync<StackListRequest, StackListResponse>(List, new StackListRequest(), options, cancellationToken);
        return response.Stacks;
    }

    /// <summary>Removes a stack's containers and networks, and its volumes when <paramref name="removeVolumes"/> is true.</summary>
    /// <param name="projectName">The compose project name.</param>
    /// <param name="removeVolumes">Also removes the stack's volumes (never external ones).</param>
    /// <param name="options">Timeout and idempotency key.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>What was removed; removing a stack that does not exist removes nothing.</returns>
    /// <exception cref="EdgeCommandException">The command failed.</exception>
    public Task<StackRemoveResult> RemoveAsync(string projectName, bool removeVolumes = false, EdgeCommandOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(projectName);
        return _invoker.InvokeAsync<StackRemoveRequest, StackRemoveResult>(
            Remove, new StackRemoveRequest { ProjectName = projectName, RemoveVolumes = removeVolumes }, options, cancellationToken);
    }
}
