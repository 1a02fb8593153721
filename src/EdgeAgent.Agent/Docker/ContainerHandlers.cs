using Docker.DotNet;
using Docker.DotNet.Models;
using EdgeAgent.Protocol.Contracts.Docker;
using EdgeAgent.Protocol.Docker;

namespace EdgeAgent.Agent.Docker;

internal sealed class ContainerListHandler(DockerClientProvider docker) : DockerCommandHandler<ContainerListRequest, IReadOnlyList<ContainerSummary>>(docker)
{
    public override string Name => DockerCommandNames.ContainersList;

    public override string Group => EdgeCommandGroups.Containers;

    public override bool IsReadOnly => true;

    protected override async Task<IReadOnlyList<ContainerSummary>> ExecuteAsync(IDockerClient client, ContainerListRequest request, CancellationToken cancellationToken)
    {
        var containers = await client.Containers.ListContainersAsync(
            new ContainersListParameters { All = request.All, Filters = DockerMapper.Filters(request.Labels, ("name", request.Name)) },
            cancellationToken);
        return containers.Select(DockerMapper.ToSummary).ToArray();
    }
}

internal sealed class ContainerInspectHandler(DockerClientProvider docker) : DockerCommandHandler<ContainerRef, ContainerDetails>(docker)
{
    public override string Name => DockerCommandNames.ContainersInspect;

    public override string Group => EdgeCommandGroups.Containers;

    public override bool IsReadOnly => true;

    protected override async Task<ContainerDetails> ExecuteAsync(IDockerClient client, ContainerRef request, CancellationToken cancellationToken) =>
        DockerMapper.ToDetails(await client.Containers.InspectContainerAsync(DockerArguments.Required(request.Id), cancellationToken));
}

internal sealed class ContainerStartHandler(DockerClientProvider docker) : DockerCommandHandler<ContainerRef, ContainerActionResult>(docker)
{
    public override string Name => DockerCommandNames.ContainersStart;

    public override string Group => EdgeCommandGroups.Containers;

    protected override async Task<ContainerActionResult> ExecuteAsync(IDockerClient client, ContainerRef request, CancellationToken cancellationToken) =>
        new() { Changed = await client.Containers.StartContainerAsync(DockerArguments.Required(request.Id), new ContainerStartParameters(), cancellationToken) };
}

internal sealed class ContainerStopHandler(DockerClientProvider docker) : DockerCommandHandler<ContainerStopRequest, ContainerActionResult>(docker)
{
    public override string Name => DockerCommandNames.ContainersStop;

    public override string Group => EdgeCommandGroups.Containers;

    protected override async Task<ContainerActionResult> ExecuteAsync(IDockerClient client, ContainerStopRequest request, CancellationToken cancellationToken) =>
        new()
        {
            Changed = await client.Containers.StopContainerAsync(
                DockerArguments.Required(request.Id),
                new ContainerStopParameters { WaitBeforeKillSeconds = ContainerRestartHandler.Seconds(request.TimeoutSeconds) },
                cancellationToken),
        };
}

internal sealed class ContainerRestartHandler(DockerClientProvider docker) : DockerCommandHandler<ContainerStopRequest, ContainerActionResult>(docker)
{
    public override string Name => DockerCommandNames.ContainersRestart;

    public override string Group => EdgeCommandGroups.Containers;

    protected override async Task<ContainerActionResult> ExecuteAsync(IDockerClient client, ContainerStopRequest request, CancellationToken cancellationToken)
    {
        await client.Containers.RestartContainerAsync(
            DockerArguments.Required(request.Id),
            new ContainerRestartParameters { WaitBeforeKillSeconds = Seconds(request.TimeoutSeconds) },
            cancellationToken);
        return new ContainerActionResult { Changed = true };
    }

    internal static uint? Seconds(int? timeout) =>
        timeout switch
        {
            null => null,
            < 0 => throw new EdgeAgent.Protocol.EdgeCommandException(EdgeAgent.Protocol.EdgeErrorCodes.InvalidArgument, "The timeout cannot be negative."),
            _ => (uint)timeout.Value,
        };
}

internal sealed class ContainerKillHandler(DockerClientProvider docker) : DockerCommandHandler<ContainerKillRequest, ContainerActionResult>(docker)
{
    public override string Name => DockerCommandNames.ContainersKill;

    public override string Group => EdgeCommandGroups.Containers;

    protected override async Task<ContainerActionResult> ExecuteAsync(IDockerClient client, ContainerKillRequest request, CancellationToken cancellationToken)
    {
        await client.Containers.KillContainerAsync(
            DockerArguments.Required(request.Id),
            new ContainerKillParameters { Signal = string.IsNullOrEmpty(request.Signal) ? null : request.Signal },
            cancellationToken);
        return new ContainerActionResult { Changed = true };
    }
}

internal sealed class ContainerPauseHandler(DockerClientProvider docker) : DockerCommandHandler<ContainerRef, ContainerActionResult>(docker)
{
    public override string Name => DockerCommandNames.ContainersPause;

    public override string Group => EdgeCommandGroups.Containers;

    protected override async Task<ContainerActionResult> ExecuteAsync(IDockerClient client, ContainerRef request, CancellationToken cancellationToken)
    {
        await client.Containers.PauseContainerAsync(DockerArguments.Required(request.Id), cancellationToken);
        return new ContainerActionResult { Changed = true };
    }
}

internal sealed class ContainerUnpauseHandler(DockerClientProvider docker) : DockerCommandHandler<ContainerRef, ContainerActionResult>(docker)
{
    public override string Name => DockerCommandNames.ContainersUnpause;

    public override string Group => EdgeCommandGroups.Containers;

    protected override async Task<ContainerActionResult> ExecuteAsync(IDockerClient client, ContainerRef request, CancellationToken cancellationToken)
    {
        await client.Containers.UnpauseContainerAsync(DockerArguments.Required(request.Id), cancellationToken);
        return new ContainerActionResult { Changed = true };
    }
}

internal sealed class ContainerRemoveHandler(DockerClientProvider docker) : DockerCommandHandler<ContainerRemoveRequest, ContainerActionResult>(docker)
{
    public override string Name => DockerCommandNames.ContainersRemove;

    public override string Group => EdgeCommandGroups.Containers;

    protected override async Task<ContainerActionResult> ExecuteAsync(IDockerClient client, ContainerRemoveRequest request, CancellationToken cancellationToken)
    {
        await client.Containers.RemoveContainerAsync(
            DockerArguments.Required(request.Id),
            new ContainerRemoveParameters { Force = request.Force, RemoveVolumes = request.RemoveVolumes },
            cancellationToken);
        return new ContainerActionResult { Changed = true };
    }
}

internal sealed class ContainerRenameHandler(DockerClientProvider docker) : DockerCommandHandler<ContainerRenameRequest, ContainerActionResult>(docker)
{
    public override string Name => DockerCommandNames.ContainersRename;

    public override string Group => EdgeCommandGroups.Containers;

    protected override async Task<ContainerActionResult> ExecuteAsync(IDockerClient client, ContainerRenameRequest request, CancellationToken cancellationToken)
    {
        await client.Containers.RenameContainerAsync(
            DockerArguments.Required(request.Id),
            new ContainerRenameParameters { NewName = DockerArguments.Required(request.NewName) },
            cancellationToken);
        return new ContainerActionResult { Changed = true };
    }
}
