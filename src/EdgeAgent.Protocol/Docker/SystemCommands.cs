using EdgeAgent.Protocol.Contracts.Docker;

namespace EdgeAgent.Protocol.Docker;

/// <summary>The agent's Docker engine itself.</summary>
/// <param name="invoker">Sends the commands to the agent.</param>
public sealed class SystemCommands(IEdgeCommandInvoker invoker)
{
    /// <summary>Checks that the engine answers.</summary>
    /// <param name="options">Timeout and idempotency key.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>A task that completes when the engine answered.</returns>
    /// <exception cref="EdgeCommandException">Code <c>unavailable</c> when the engine does not answer.</exception>
    public Task PingAsync(EdgeCommandOptions? options = null, CancellationToken cancellationToken = default) =>
        invoker.InvokeAsync<DockerEmpty, DockerEmpty>(DockerCommandNames.SystemPing, DockerEmpty.Instance, options, cancellationToken);

    /// <summary>Gets the engine's version.</summary>
    /// <param name="options">Timeout and idempotency key.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>The version.</returns>
    public Task<EngineVersion> GetVersionAsync(EdgeCommandOptions? options = null, CancellationToken cancellationToken = default) =>
        invoker.InvokeAsync<DockerEmpty, EngineVersion>(DockerCommandNames.SystemVersion, DockerEmpty.Instance, options, cancellationToken);

    /// <summary>Gets what the engine reports about its host and itself.</summary>
    /// <param name="options">Timeout and idempotency key.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>The information.</returns>
    public Task<EngineInfo> GetInfoAsync(EdgeCommandOptions? options = null, CancellationToken cancellationToken = default) =>
        invoker.InvokeAsync<DockerEmpty, EngineInfo>(DockerCommandNames.SystemInfo, DockerEmpty.Instance, options, cancellationToken);

    /// <summary>Gets the disk usage of images, containers, volumes and the build cache.</summary>
    /// <param name="options">Timeout and idempotency key.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>The usage.</returns>
    public Task<DiskUsage> GetDiskUsageAsync(EdgeCommandOptions? options = null, CancellationToken cancellationToken = default) =>
        invoker.InvokeAsync<DockerEmpty, DiskUsage>(DockerCommandNames.SystemDiskUsage, DockerEmpty.Instance, options, cancellationToken);
}
