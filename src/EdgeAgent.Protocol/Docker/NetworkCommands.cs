using EdgeAgent.Protocol.Contracts.Docker;

namespace EdgeAgent.Protocol.Docker;

/// <summary>The networks of the agent's engine.</summary>
/// <param name="invoker">Sends the commands to the agent.</param>
public sealed class NetworkCommands(IEdgeCommandInvoker invoker)
{
    /// <summary>Lists networks.</summary>
    /// <param name="request">Filters; null lists all.</param>
    /// <param name="options">Timeout and idempotency key.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>The networks.</returns>
    public Task<IReadOnlyList<NetworkSummary>> ListAsync(NetworkListRequest? request = null, EdgeCommandOptions? options = null, CancellationToken cancellationToken = default) =>
        invoker.InvokeAsync<NetworkListRequest, IReadOnlyList<NetworkSummary>>(DockerCommandNames.NetworksList, request ?? new(), options, cancellationToken);

    /// <summary>Inspects a network, with its attached containers.</summary>
    /// <param name="id">The network id or name.</param>
    /// <param name="options">Timeout and idempotency key.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>The network.</returns>
    /// <exception cref="EdgeCommandException">Code <c>not_found</c> when there is no such network.</exception>
    public Task<NetworkSummary> InspectAsync(string id, EdgeCommandOptions? options = null, CancellationToken cancellationToken = default) =>
        invoker.InvokeAsync<NetworkRef, NetworkSummary>(DockerCommandNames.NetworksInspect, new() { Id = id }, options, cancellationToken);

    /// <summary>Creates a network.</summary>
    /// <param name="request">The network.</param>
    /// <param name="options">Timeout and idempotency key.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>Its id.</returns>
    /// <exception cref="EdgeCommandException">Code <c>conflict</c> when the name is taken.</exception>
    public Task<NetworkCreated> CreateAsync(NetworkCreateRequest request, EdgeCommandOptions? options = null, CancellationToken cancellationToken = default) =>
        invoker.InvokeAsync<NetworkCreateRequest, NetworkCreated>(DockerCommandNames.NetworksCreate, request, options, cancellationToken);

    /// <summary>Removes a network.</summary>
    /// <param name="id">The network id or name.</param>
    /// <param name="options">Timeout and idempotency key.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>A task that completes when it is gone.</returns>
    public Task RemoveAsync(string id, EdgeCommandOptions? options = null, CancellationToken cancellationToken = default) =>
        invoker.InvokeAsync<NetworkRef, DockerEmpty>(DockerCommandNames.NetworksRemove, new() { Id = id }, options, cancellationToken);

    /// <summary>Connects a container to a network.</summary>
    /// <param name="network">The network id or name.</param>
    /// <param name="container">The container id or name.</param>
    /// <param name="aliases">Extra DNS aliases on this network.</param>
    /// <param name="options">Timeout and idempotency key.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>A task that completes when it is connected.</returns>
    public Task ConnectAsync(string network, string container, IReadOnlyList<string>? aliases = null, EdgeCommandOptions? options = null, CancellationToken cancellationToken = default) =>
        invoker.InvokeAsync<NetworkConnectRequest, DockerEmpty>(DockerCommandNames.NetworksConnect, new() { Network = network, Container = container, Aliases = aliases }, options, cancellationToken);

    /// <summary>Disconnects a container from a network.</summary>
    /// <param name="network">The network id or name.</param>
    /// <param name="container">The container id or name.</param>
    /// <param name="force">Disconnect even if the container is not running cleanly.</param>
    /// <param name="options">Timeout and idempotency key.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>A task that completes when it is disconnected.</returns>
    public Task DisconnectAsync(string network, string container, bool force = false, EdgeCommandOptions? options = null, CancellationToken cancellationToken = default) =>
        invoker.InvokeAsync<NetworkDisconnectRequest, DockerEmpty>(DockerCommandNames.NetworksDisconnect, new() { Network = network, Container = container, Force = force }, options, cancellationToken);
}
