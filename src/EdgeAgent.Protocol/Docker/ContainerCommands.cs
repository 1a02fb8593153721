using EdgeAgent.Protocol.Contracts.Docker;

namespace EdgeAgent.Protocol.Docker;

/// <summary>The containers of the agent's engine.</summary>
/// <param name="invoker">Sends the commands to the agent.</param>
public sealed class ContainerCommands(IEdgeCommandInvoker invoker)
{
    /// <summary>Lists containers.</summary>
    /// <param name="request">Filters; null lists the running containers.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>The containers.</returns>
    public Task<IReadOnlyList<ContainerSummary>> ListAsync(ContainerListRequest? request = null, CancellationToken cancellationToken = default) =>
        invoker.InvokeAsync<ContainerListRequest, IReadOnlyList<ContainerSummary>>(DockerCommandNames.ContainersList, request ?? new(), null, cancellationToken);

    /// <summary>Inspects a container.</summary>
    /// <param name="id">The container id or name.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>The details.</returns>
    /// <exception cref="EdgeCommandException">Code <c>not_found</c> when there is no such container.</exception>
    public Task<ContainerDetails> InspectAsync(string id, CancellationToken cancellationToken = default) =>
        invoker.InvokeAsync<ContainerRef, ContainerDetails>(DockerCommandNames.ContainersInspect, new() { Id = id }, null, cancellationToken);

    /// <summary>Starts a container.</summary>
    /// <param name="id">The container id or name.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>Whether it was started (false when it was already running).</returns>
    public async Task<bool> StartAsync(string id, CancellationToken cancellationToken = default) =>
        (await invoker.InvokeAsync<ContainerRef, ContainerActionResult>(DockerCommandNames.ContainersStart, new() { Id = id }, null, cancellationToken)).Changed;

    /// <summary>Stops a container: the stop signal, then SIGKILL after the timeout.</summary>
    /// <param name="id">The container id or name.</param>
    /// <param name="timeout">How long to wait before killing; null uses the container's setting.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>Whether it was stopped (false when it was not running).</returns>
    public async Task<bool> StopAsync(string id, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        (await invoker.InvokeAsync<ContainerStopRequest, ContainerActionResult>(DockerCommandNames.ContainersStop, new() { Id = id, TimeoutSeconds = ToSeconds(timeout) }, null, cancellationToken)).Changed;

    /// <summary>Restarts a container.</summary>
    /// <param name="id">The container id or name.</param>
    /// <param name="timeout">How long to wait before killing; null uses the container's setting.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>A task that completes when the container was restarted.</returns>
    public Task RestartAsync(string id, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        invoker.InvokeAsync<ContainerStopRequest, ContainerActionResult>(DockerCommandNames.ContainersRestart, new() { Id = id, TimeoutSeconds = ToSeconds(timeout) }, null, cancellationToken);

    /// <summary>Sends a signal to a container.</summary>
    /// <param name="id">The container id or name.</param>
    /// <param name="signal">The signal, e.g. <c>SIGHUP</c>; null sends SIGKILL.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>A task that completes when the signal was sent.</returns>
    /// <exception cref="EdgeCommandException">Code <c>conflict</c> when the container is not running.</exception>
    public Task KillAsync(string id, string? signal = null, CancellationToken cancellationToken = default) =>
        invoker.InvokeAsync<ContainerKillRequest, ContainerActionResult>(DockerCommandNames.ContainersKill, new() { Id = id, Signal = signal ?? "" }, null, cancellationToken);

    /// <summary>Pauses a container.</summary>
    /// <param name="id">The container id or name.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>A task that completes when it is paused.</returns>
    public Task PauseAsync(string id, CancellationToken cancellationToken = default) =>
        invoker.InvokeAsync<ContainerRef, ContainerActionResult>(DockerCommandNames.ContainersPause, new() { Id = id }, null, cancellationToken);

    /// <summary>Unpauses a container.</summary>
    /// <param name="id">The container id or name.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>A task that completes when it runs again.</returns>
    public Task UnpauseAsync(string id, CancellationToken cancellationToken = default) =>
        invoker.InvokeAsync<ContainerRef, ContainerActionResult>(DockerCommandNames.ContainersUnpause, new() { Id = id }, null, cancellationToken);

    /// <summary>Removes a container.</summary>
    /// <param name="id">The container id or name.</param>
    /// <param name="force">Kill it first if it runs.</param>
    /// <param name="removeVolumes">Also remove its anonymous volumes.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>A task that completes when it is gone.</returns>
    /// <exception cref="EdgeCommandException">Code <c>conflict</c> when it runs and <paramref name="force"/> is false.</exception>
    public Task RemoveAsync(string id, bool force = false, bool removeVolumes = false, CancellationToken cancellationToken = default) =>
        invoker.InvokeAsync<ContainerRemoveRequest, ContainerActionResult>(DockerCommandNames.ContainersRemove, new() { Id = id, Force = force, RemoveVolumes = removeVolumes }, null, cancellationToken);

    /// <summary>Renames a container.</summary>
    /// <param name="id">The container id or name.</param>
    /// <param name="newName">The new name.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>A task that completes when it is renamed.</returns>
    /// <exception cref="EdgeCommandException">Code <c>conflict</c> when the name is taken.</exception>
    public Task RenameAsync(string id, string newName, CancellationToken cancellationToken = default) =>
        invoker.InvokeAsync<ContainerRenameRequest, ContainerActionResult>(DockerCommandNames.ContainersRename, new() { Id = id, NewName = newName }, null, cancellationToken);

    /// <summary>Reads a container's logs up to now.</summary>
    /// <param name="request">Which lines.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>The lines.</returns>
    public Task<ContainerLogs> GetLogsAsync(ContainerLogsRequest request, CancellationToken cancellationToken = default) =>
        invoker.InvokeAsync<ContainerLogsRequest, ContainerLogs>(DockerCommandNames.ContainersLogs, request, null, cancellationToken);

    /// <summary>
    /// Follows a container's logs: the existing lines that match, then new lines as they are
    /// written, until the container stops or the caller stops reading. The agent reads from the
    /// engine only as fast as the caller consumes. After a broken stream, call again with
    /// <see cref="ContainerLogsRequest.ResumeAfter"/> set to the last line's <see cref="LogLine.Cursor"/>.
    /// </summary>
    /// <param name="request">Which lines.</param>
    /// <param name="cancellationToken">Stops following.</param>
    /// <returns>The lines.</returns>
    public IAsyncEnumerable<LogLine> FollowLogsAsync(ContainerLogsRequest request, CancellationToken cancellationToken = default) =>
        invoker.StreamAsync<ContainerLogsRequest, LogLine>(DockerCommandNames.ContainersLogsFollow, request, null, cancellationToken);

    /// <summary>Samples a container's resource usage once.</summary>
    /// <param name="id">The container id or name.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>The usage.</returns>
    public Task<ContainerStats> GetStatsAsync(string id, CancellationToken cancellationToken = default) =>
        invoker.InvokeAsync<ContainerRef, ContainerStats>(DockerCommandNames.ContainersStats, new() { Id = id }, null, cancellationToken);

    /// <summary>Streams a container's resource usage, about once a second, until the container stops or the caller stops reading.</summary>
    /// <param name="id">The container id or name.</param>
    /// <param name="cancellationToken">Stops the stream.</param>
    /// <returns>The samples.</returns>
    public IAsyncEnumerable<ContainerStats> StreamStatsAsync(string id, CancellationToken cancellationToken = default) =>
        invoker.StreamAsync<ContainerRef, ContainerStats>(DockerCommandNames.ContainersStatsStream, new() { Id = id }, null, cancellationToken);

    private static int? ToSeconds(TimeSpan? timeout) => timeout is { } t ? (int)Math.Ceiling(Math.Max(0, t.TotalSeconds)) : null;
}
