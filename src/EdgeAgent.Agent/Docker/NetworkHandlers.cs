using Docker.DotNet;
using Docker.DotNet.Models;
using EdgeAgent.Protocol.Contracts.Docker;
using EdgeAgent.Protocol.Docker;

namespace EdgeAgent.Agent.Docker;

internal sealed class NetworkListHandler(DockerClientProvider docker) : DockerCommandHandler<NetworkListRequest, IReadOnlyList<NetworkSummary>>(docker)
{
    public override string Name => DockerCommandNames.NetworksList;

    public override string Group => EdgeCommandGroups.Networks;

    public override bool IsReadOnly => true;

    protected override async Task<IReadOnlyList<NetworkSummary>> ExecuteAsync(IDockerClient client, NetworkListRequest request, CancellationToken cancellationToken)
    {
        var networks = await client.Networks.ListNetworksAsync(
            new NetworksListParameters { Filters = DockerMapper.Filters(request.Labels, ("name", request.Name)) },
            cancellationToken);
        return networks.Select(DockerMapper.ToSummary).ToArray();
    }
}

internal sealed class NetworkInspectHandler(DockerClientProvider docker) : DockerCommandHandler<NetworkRef, NetworkSummary>(docker)
{
    public override string Name => DockerCommandNames.NetworksInspect;

    public override string Group => EdgeCommandGroups.Networks;

    public override bool IsReadOnly => true;

    protected override async Task<NetworkSummary> ExecuteAsync(IDockerClient client, NetworkRef request, CancellationToken cancellationToken) =>
        DockerMapper.ToSummary(await client.Networks.InspectNetworkAsync(DockerArguments.Required(request.Id), cancellationToken));
}

internal sealed class NetworkCreateHandler(DockerClientProvider docker) : DockerCommandHandler<NetworkCreateRequest, NetworkCreated>(docker)
{
    public override string Name => DockerCommandNames.NetworksCreate;

    public override string Group => EdgeCommandGroups.Networks;

    protected override async Task<NetworkCreated> ExecuteAsync(IDockerClient client, NetworkCreateRequest request, CancellationToken cancellationToken)
    {
        var name = DockerArguments.Required(request.Name);

        // Engines before API 1.44 allow duplicate names unless asked not to: refuse them here, as newer engines do.
        var existing = await client.Networks.ListNetworksAsync(new NetworksListParameters { Filters = DockerMapper.Filters(null, ("name", name)) }, cancellationToken);
        if (existing.Any(n => n.Name == name))
        {
            throw new EdgeAgent.Protocol.EdgeCommandException(EdgeAgent.Protocol.EdgeErrorCodes.Conflict, $"network with name {name} already exists");
        }

        var parameters = new NetworksCreateParameters
        {
            Name = name,
            Driver = request.Driver ?? "bridge",
            Internal = request.Internal,
            Attachable = request.Attachable,
            Labels = request.Labels?.ToDictionary(l => l.Key, l => l.Value)!,
        };
        if (!string.IsNullOrEmpty(request.Subnet))
        {
            parameters.IPAM = new IPAM { Config = [new IPAMConfig { Subnet = request.Subnet, Gateway = request.Gateway! }] };
        }

        var created = await client.Networks.CreateNetworkAsync(parameters, cancellationToken);
        return new NetworkCreated { Id = created.ID ?? "", Warning = created.Warning ?? "" };
    }
}

internal sealed class NetworkRemoveHandler(DockerClientProvider docker) : DockerCommandHandler<NetworkRef, DockerEmpty>(docker)
{
    public override string Name => DockerCommandNames.NetworksRemove;

    public override string Group => EdgeCommandGroups.Networks;

    protected override async Task<DockerEmpty> ExecuteAsync(IDockerClient client, NetworkRef request, CancellationToken cancellationToken)
    {
        await client.Networks.DeleteNetworkAsync(DockerArguments.Required(request.Id), cancellationToken);
        return DockerEmpty.Instance;
    }
}

internal sealed class NetworkConnectHandler(DockerClientProvider docker) : DockerCommandHandler<NetworkConnectRequest, DockerEmpty>(docker)
{
    public override string Name => DockerCommandNames.NetworksConnect;

    public override string Group => EdgeCommandGroups.Networks;

    protected override async Task<DockerEmpty> ExecuteAsync(IDockerClient client, NetworkConnectRequest request, CancellationToken cancellationToken)
    {
        await client.Networks.ConnectNetworkAsync(
            DockerArguments.Required(request.Network),
            new NetworkConnectParameters
            {
                Container = DockerArguments.Required(request.Container),
                EndpointConfig = request.Aliases is { Count: > 0 } aliases ? new EndpointSettings { Aliases = aliases.ToList() } : null!,
            },
            cancellationToken);
        return DockerEmpty.Instance;
    }
}

internal sealed class NetworkDisconnectHandler(DockerClientProvider docker) : DockerCommandHandler<NetworkDisconnectRequest, DockerEmpty>(docker)
{
    public override string Name => DockerCommandNames.NetworksDisconnect;

    public override string Group => EdgeCommandGroups.Networks;

    protected override async Task<DockerEmpty> ExecuteAsync(IDockerClient client, NetworkDisconnectRequest request, CancellationToken cancellationToken)
    {
        await client.Networks.DisconnectNetworkAsync(
            DockerArguments.Required(request.Network),
            new NetworkDisconnectParameters { Container = DockerArguments.Required(request.Container), Force = request.Force },
            cancellationToken);
        return DockerEmpty.Instance;
    }
}
