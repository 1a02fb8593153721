using EdgeAgent.Protocol.Contracts.Stacks;
using EdgeAgent.Protocol.Docker;

namespace EdgeAgent.Agent.Stacks;

/// <summary><c>stacks.deploy</c>: reconciles a stack to the desired state and returns its status.</summary>
internal sealed class StackDeployHandler(StackManager stacks) : EdgeCommandHandler<StackDeployRequest, StackStatus>
{
    public override string Name => StackCommands.Deploy;

    public override string Group => EdgeCommandGroups.Stacks;

    public override async ValueTask<StackStatus> HandleAsync(StackDeployRequest request, EdgeCommandContext context) =>
        await stacks.DeployAsync(request, context.CancellationToken);
}

/// <summary><c>stacks.status</c>: the status of one stack.</summary>
internal sealed class StackStatusHandler(StackManager stacks) : EdgeCommandHandler<StackStatusRequest, StackStatus>
{
    public override string Name => StackCommands.Status;

    public override string Group => EdgeCommandGroups.Stacks;

    public override bool IsReadOnly => true;

    public override async ValueTask<StackStatus> HandleAsync(StackStatusRequest request, EdgeCommandContext context) =>
        await stacks.GetStatusAsync(request.ProjectName ?? "", context.CancellationToken);
}

/// <summary><c>stacks.list</c>: every stack deployed by the agent or found on the engine.</summary>
internal sealed class StackListHandler(StackManager stacks) : EdgeCommandHandler<StackListRequest, StackListResponse>
{
    public override string Name => StackCommands.List;

    public override string Group => EdgeCommandGroups.Stacks;

    public override bool IsReadOnly => true;

    public override async ValueTask<StackListResponse> HandleAsync(StackListRequest request, EdgeCommandContext context) =>
        new() { Stacks = await stacks.ListAsync(context.CancellationToken) };
}

/// <summary><c>stacks.remove</c>: removes a stack's containers and networks, and its volumes when asked.</summary>
internal sealed class StackRemoveHandler(StackManager stacks) : EdgeCommandHandler<StackRemoveRequest, StackRemoveResult>
{
    public override string Name => StackCommands.Remove;

    public override string Group => EdgeCommandGroups.Stacks;

    public override async ValueTask<StackRemoveResult> HandleAsync(StackRemoveRequest request, EdgeCommandContext context) =>
        await stacks.RemoveAsync(request, context.CancellationToken);

    /// <summary>All four handlers over one manager (tests and hosts that compose by hand).</summary>
    public static EdgeCommandHandler[] All(StackManager stacks) =>
        [new StackDeployHandler(stacks), new StackStatusHandler(stacks), new StackListHandler(stacks), new StackRemoveHandler(stacks)];
}
