using EdgeAgent.Protocol.Contracts.Docker;

namespace EdgeAgent.Protocol.Docker;

/// <summary>The containers of the agent's engine.</summary>
/// <param name="invoker">Sends the commands to the agent.</param>
public sealed class ContainerCommands(IEdgeCommandInvoker invoker)
{
    /// <summary>Lists containers.</summary>
    /// <param name="request">Filters; null lists the running containers.</param>
    /// <param name="options">Timeout and idempotency key.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>The containers.</returns>
    public Task<IReadOnlyList<ContainerSummary>> ListAsync(ContainerListRequest? request = null, EdgeCommandOptions? options = null, CancellationToken cancellationToken = default) =>
        invoker.InvokeAsync<ContainerListRequest, IReadOnlyList<ContainerSummary>>(DockerCommandNames.ContainersList, request ?? new(), options, cancellationToken);

    /// <summary>Inspects a container.</summary>
    /// <param name="id">The container id or name.</param>
    /// <param name="options">Timeout and idempotency key.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>The details.</returns>
    /// <exception cref="EdgeCommandException">Code <c>not_found</c> when there is no such container.</exception>
    public Task<ContainerDetails> InspectAsync(string id, EdgeCommandOptions? options = null, CancellationToken cancellationToken = default) =>
        invoker.InvokeAsync<ContainerRef, ContainerDetails>(DockerCommandNames.ContainersInspect, new() { Id = id }, options, cancellationToken);

    /// <summary>Starts a container.</summary>
    /// <param name="id">The container id or name.</param>
    /// <param name="options">Timeout and idempotency key.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>Whether it was started (false when it was already running).</returns>
    public async Task<bool> StartAsync(string id, EdgeCommandOptions? options = null, CancellationToken cancellationToken = default) =>
        (await invoker.InvokeAsync<ContainerRef, ContainerActionResult>(DockerCommandNames.ContainersStart, new() { Id = id }, options, cancellationToken)).Changed;

    /// <summary>Stops a container: the stop signal, then SIGKILL after the grace period.</summary>
    /// <param name="id">The container id or name.</param>
    /// <param name="stopTimeout">
    /// The grace period between the stop signal and SIGKILL (Docker's stop timeout, not the
    /// command's); null uses the container's setting.
    /// </param>
    /// <param name="options">
    /// Timeout and idempotency key. When <paramref name="stopTimeout"/> is given and the options
    /// state no timeout, the command waits <paramref name="stopTimeout"/> plus 30 s for the answer
    /// instead of the invoker's default timeout (also when that default is longer), so a long grace
    /// period is not cut off with <c>timeout</c>. With a null
    /// <paramref name="stopTimeout"/> the default applies: for a container whose own stop timeout
    /// is long, state a timeout here.
    /// </param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>Whether it was stopped (false when it was not running).</returns>
    public async Task<bool> StopAsync(string id, TimeSpan? stopTimeout = null, EdgeCommandOptions? options = null, CancellationToken cancellationToken = default) =>
        (await invoker.InvokeAsync<ContainerStopRequest, ContainerActionResult>(
            DockerCommandNames.ContainersStop, new() { Id = id, TimeoutSeconds = ToSeconds(stopTimeout) }, WaitForStop(options, stopTimeout), cancellationToken)).Changed;

    /// <summary>Restarts a container: stops it as <see cref="StopAsync"/> does, then starts it.</summary>
    /// <param name="id">The container id or name.</param>
    /// <param name="stopTimeout">
    /// The grace period between the stop signal and SIGKILL (Docker's stop timeout, not the
    /// command's); null uses the container's setting.
    /// </param>
    /// <param name="options">
    /// Timeout and idempotency key. When <paramref name="stopTimeout"/> is given and the options
    /// state no timeout, the command waits <paramref name="stopTimeout"/> plus 30 s for the answer,
    /// as <see cref="StopAsync"/> does.
    /// </param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>A task that completes when the container was restarted.</returns>
    public Task RestartAsync(string id, TimeSpan? stopTimeout = null, EdgeCommandOptions? options = null, CancellationToken cancellationToken = default) =>
        invoker.InvokeAsync<ContainerStopRequest, ContainerActionResult>(
            DockerCommandNames.ContainersRestart, new() { Id = id, TimeoutSeconds = ToSeconds(stopTimeout) }, WaitForStop(options, stopTimeout), cancellationToken);

    /// <summary>Sends a signal to a container.</summary>
    /// <param name="id">The container id or name.</param>
    /// <param name="signal">The signal, e.g. <c>SIGHUP</c>; null sends SIGKILL.</param>
    /// <param name="options">Timeout and idempotency key.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>A task that completes when the signal was sent.</returns>
    /// <exception cref="EdgeCommandException">Code <c>conflict</c> when the container is not running.</exception>
    public Task KillAsync(string id, string? signal = null, EdgeCommandOptions? options = null, CancellationToken cancellationToken = default) =>
        invoker.InvokeAsync<ContainerKillRequest, ContainerActionResult>(DockerCommandNames.ContainersKill, new() { Id = id, Signal = signal ?? "" }, options, cancellationToken);

    /// <summary>Pauses a container.</summary>
    /// <param name="id">The container id or name.</param>
    /// <param name="options">Timeout and idempotency key.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>A task that completes when it is paused.</returns>
    public Task PauseAsync(string id, EdgeCommandOptions? options = null, CancellationToken cancellationToken = default) =>
        invoker.InvokeAsync<ContainerRef, ContainerActionResult>(DockerCommandNames.ContainersPause, new() { Id = id }, options, cancellationToken);

    /// <summary>Unpauses a container.</summary>
    /// <param name="id">The container id or name.</param>
    /// <param name="options">Timeout and idempotency key.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>A task that completes when it runs again.</returns>
    public Task UnpauseAsync(string id, EdgeCommandOptions? options = null, CancellationToken cancellationToken = default) =>
        invoker.InvokeAsync<ContainerRef, ContainerActionResult>(DockerCommandNames.ContainersUnpause, new() { Id = id }, options, cancellationToken);

    /// <summary>Removes a container.</summary>
    /// <param name="id">The container id or name.</param>
    /// <param name="force">Kill it first if it runs.</param>
    /// <param name="removeVolumes">Also remove its anonymous volumes.</param>
    /// <param name="options">Timeout and idempotency key.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>A task that completes when it is gone.</returns>
    /// <exception cref="EdgeCommandException">Code <c>conflict</c> when it runs and <paramref name="force"/> is false.</exception>
    public Task RemoveAsync(string id, bool force = false, bool removeVolumes = false, EdgeCommandOptions? options = null, CancellationToken cancellationToken = default) =>
        invoker.InvokeAsync<ContainerRemoveRequest, ContainerActionResult>(DockerCommandNames.ContainersRemove, new() { Id = id, Force = force, RemoveVolumes = removeVolumes }, options, cancellationToken);

    /// <summary>Renames a container.</summary>
    /// <param name="id">The container id or name.</param>
    /// <param name="newName">The new name.</param>
    /// <param name="options">Timeout and idempotency key.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>A task that completes when it is renamed.</returns>
    /// <exception cref="EdgeCommandException">Code <c>conflict</c> when the name is taken.</exception>
    public Task RenameAsync(string id, string newName, EdgeCommandOptions? options = null, CancellationToken cancellationToken = default) =>
        invoker.InvokeAsync<ContainerRenameRequest, ContainerActionResult>(DockerCommandNames.ContainersRename, new() { Id = id, NewName = newName }, options, cancellationToken);

    /// <summary>Reads a container's logs up to now.</summary>
    /// <param name="request">Which lines.</param>
    /// <param name="options">Timeout and idempotency key.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>The lines.</returns>
    public Task<ContainerLogs> GetLogsAsync(ContainerLogsRequest request, EdgeCommandOptions? options = null, CancellationToken cancellationToken = default) =>
        invoker.InvokeAsync<ContainerLogsRequest, ContainerLogs>(DockerCommandNames.ContainersLogs, request, options, cancellationToken);

    /// <summary>
    /// Follows a container's logs: the existing lines that match, then new lines as they are
    /// written, until the container stops or the caller stops reading. The agent reads from the
    /// engine only as fast as the caller consumes. After a broken stream, call again with
    /// <see cref="ContainerLogsRequest.ResumeAfter"/> set to the last line's <see cref="LogLine.Cursor"/>.
    /// </summary>
    /// <param name="request">Which lines.</param>
    /// <param name="options">Timeout and idempotency key; the timeout applies to the start of the stream.</param>
    /// <param name="cancellationToken">Stops following.</param>
    /// <returns>The lines.</returns>
    public IAsyncEnumerable<LogLine> FollowLogsAsync(ContainerLogsRequest request, EdgeCommandOptions? options = null, CancellationToken cancellationToken = default) =>
        invoker.StreamAsync<ContainerLogsRequest, LogLine>(DockerCommandNames.ContainersLogsFollow, request, options, cancellationToken);

    /// <summary>Samples a container's resource usage once.</summary>
    /// <param name="id">The container id or name.</param>
    /// <param name="options">Timeout and idempotency key.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>The usage.</returns>
    public Task<ContainerStats> GetStatsAsync(string id, EdgeCommandOptions? options = null, CancellationToken cancellationToken = default) =>
        invoker.InvokeAsync<ContainerRef, ContainerStats>(DockerCommandNames.ContainersStats, new() { Id = id }, options, cancellationToken);

    /// <summary>Streams a container's resource usage, about once a second, until the container stops or the caller stops reading.</summary>
    /// <param name="id">The container id or name.</param>
    /// <param name="options">Timeout and idempotency key; the timeout applies to the start of the stream.</param>
    /// <param name="cancellationToken">Stops the stream.</param>
    /// <returns>The samples.</returns>
    public IAsyncEnumerable<ContainerStats> StreamStatsAsync(string id, EdgeCommandOptions? options = null, CancellationToken cancellationToken = default) =>
        invoker.StreamAsync<ContainerRef, ContainerStats>(DockerCommandNames.ContainersStatsStream, new() { Id = id }, options, cancellationToken);

    /// <summary>How much longer than a stop's grace period the command waits for its answer (the kill and the engine's own work).</summary>
    internal static readonly TimeSpan StopAnswerMargin = TimeSpan.FromSeconds(30);

    private static int? ToSeconds(TimeSpan? timeout) => timeout is { } t ? (int)Math.Ceiling(Math.Max(0, t.TotalSeconds)) : null;

    /// <summary>
    /// The options of a stop or restart: the caller's, with a timeout of the grace period plus
    /// <see cref="StopAnswerMargin"/> when the caller gave a grace period but no timeout. A copy;
    /// the caller's instance is not changed.
    /// </summary>
    internal static EdgeCommandOptions? WaitForStop(EdgeCommandOptions? options, TimeSpan? stopTimeout)
    {
        if (stopTimeout is not { } grace || options?.Timeout is not null)
        {
            return options;
        }

        // The longest timeout a deadline timer takes (int.MaxValue ms); beyond it, wait without one.
        var longest = TimeSpan.FromMilliseconds(int.MaxValue) - StopAnswerMargin;
        var timeout = grace <= TimeSpan.Zero ? StopAnswerMargin : grace < longest ? grace + StopAnswerMargin : Timeout.InfiniteTimeSpan;
        return (options ?? new EdgeCommandOptions()) with { Timeout = timeout };
    }
}
