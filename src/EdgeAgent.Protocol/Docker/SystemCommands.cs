using EdgeAgent.Protocol.Contracts.Docker;

namespace EdgeAgent.Protocol.Docker;

/// <summary>The agent's Docker engine itself.</summary>
/// <param name="invoker">Sends the commands to the agent.</param>
public sealed class SystemCommands(IEdgeCommandInvoker invoker)
{
    /// <summary>Checks that the engine answers.</summary>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>A task that completes when the engine answered.</returns>
    /// <exception cref="EdgeCommandException">Code <c>unavailable</c> when the engine does not answer.</exception>
    public Task PingAsync(CancellationToken cancellationToken = default) =>
        invoker.InvokeAsync<DockerEmpty, DockerEmpty>(DockerCommandNames.SystemPing, DockerEmpty.Instance, null, cancellationToken);

    /// <summary>Gets the engine's version.</summary>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>The version.</returns>
    public Task<EngineVersion> GetVersionAsync(CancellationToken cancellationToken = default) =>
        invoker.InvokeAsync<DockerEmpty, EngineVersion>(DockerCommandNames.SystemVersion, DockerEmpty.Instance, null, cancellationToken);

    /// <summary>Gets what the engine reports about its host and itself.</summary>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>The information.</returns>
    public Task<EngineInfo> GetInfoAsync(CancellationToken cancellationToken = default) =>
        invoker.InvokeAsync<DockerEmpty, EngineInfo>(DockerCommandNames.SystemInfo, DockerEmpty.Instance, null, cancellationToken);

    /// <summary>Gets the disk usage of images, containers, volumes and the build cache.</summary>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>The usage.</returns>
    public Task<DiskUsage> GetDiskUsageAsync(CancellationToken cancellationToken = default) =>
        invoker.InvokeAsync<DockerEmpty, DiskUsage>(DockerCommandNames.SystemDiskUsage, DockerEmpty.Instance, null, cancellationToken);
}
