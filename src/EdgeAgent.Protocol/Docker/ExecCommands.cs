using EdgeAgent.Protocol.Contracts.Docker;

namespace EdgeAgent.Protocol.Docker;

/// <summary>Commands run inside containers.</summary>
/// <param name="invoker">Sends the commands to the agent.</param>
public sealed class ExecCommands(IEdgeCommandInvoker invoker)
{
    /// <summary>Runs a command in a container and waits for it to finish.</summary>
    /// <param name="request">The command.</param>
    /// <param name="options">
    /// Timeout and idempotency key. The timeout covers the whole command: give one longer than it
    /// runs, or it fails with <c>timeout</c> at the invoker's default (the control plane's
    /// <c>DefaultCommandTimeout</c>) while the process may keep running in the container.
    /// </param>
    /// <param name="cancellationToken">Cancels the command (the process may keep running in the container).</param>
    /// <returns>The exit code and output.</returns>
    /// <exception cref="EdgeCommandException">Code <c>conflict</c> when the container is not running.</exception>
    public Task<ExecResult> RunAsync(ExecRequest request, EdgeCommandOptions? options = null, CancellationToken cancellationToken = default) =>
        invoker.InvokeAsync<ExecRequest, ExecResult>(DockerCommandNames.ExecRun, request, options, cancellationToken);

    /// <summary>
    /// Starts an interactive command: a byte stream to its standard input and from its output
    /// (with a TTY, one stream as a terminal shows it), and its exec id for resizing.
    /// </summary>
    /// <param name="request">The command.</param>
    /// <param name="columns">The initial terminal width; 0 leaves the default.</param>
    /// <param name="rows">The initial terminal height; 0 leaves the default.</param>
    /// <param name="options">
    /// Timeout and idempotency key, for creating the exec instance and for attaching to it (the
    /// timeout applies to each; the key deduplicates the creation).
    /// </param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>The session; dispose it to close the command's input.</returns>
    public async Task<ExecSession> StartInteractiveAsync(ExecCreateRequest request, int columns = 0, int rows = 0, EdgeCommandOptions? options = null, CancellationToken cancellationToken = default)
    {
        var created = await CreateAsync(request, options, cancellationToken);
        var stream = await AttachAsync(created.ExecId, columns, rows, options, cancellationToken);
        return new ExecSession(this, created.ExecId, stream);
    }

    /// <summary>Creates an exec instance without starting it (see <see cref="AttachAsync"/>).</summary>
    /// <param name="request">The command.</param>
    /// <param name="options">Timeout and idempotency key.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>The exec id.</returns>
    public Task<ExecCreated> CreateAsync(ExecCreateRequest request, EdgeCommandOptions? options = null, CancellationToken cancellationToken = default) =>
        invoker.InvokeAsync<ExecCreateRequest, ExecCreated>(DockerCommandNames.ExecCreate, request, options, cancellationToken);

    /// <summary>Starts a created exec instance and returns the byte stream to it.</summary>
    /// <param name="execId">The exec id.</param>
    /// <param name="columns">The initial terminal width; 0 leaves the default.</param>
    /// <param name="rows">The initial terminal height; 0 leaves the default.</param>
    /// <param name="options">Timeout and idempotency key; the timeout applies to the start of the command.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>The stream; it ends when the command's output ends.</returns>
    public Task<Stream> AttachAsync(string execId, int columns = 0, int rows = 0, EdgeCommandOptions? options = null, CancellationToken cancellationToken = default) =>
        invoker.OpenStreamAsync(DockerCommandNames.ExecAttach, new ExecAttachRequest { ExecId = execId, Columns = columns, Rows = rows }, options, cancellationToken);

    /// <summary>Resizes the terminal of a running exec instance.</summary>
    /// <param name="execId">The exec id.</param>
    /// <param name="columns">The width.</param>
    /// <param name="rows">The height.</param>
    /// <param name="options">Timeout and idempotency key.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>A task that completes when the terminal was resized.</returns>
    public Task ResizeAsync(string execId, int columns, int rows, EdgeCommandOptions? options = null, CancellationToken cancellationToken = default) =>
        invoker.InvokeAsync<ExecResizeRequest, DockerEmpty>(DockerCommandNames.ExecResize, new() { ExecId = execId, Columns = columns, Rows = rows }, options, cancellationToken);

    /// <summary>Gets the state of an exec instance, including its exit code once it finished.</summary>
    /// <param name="execId">The exec id.</param>
    /// <param name="options">Timeout and idempotency key.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>The state.</returns>
    public Task<ExecStatus> InspectAsync(string execId, EdgeCommandOptions? options = null, CancellationToken cancellationToken = default) =>
        invoker.InvokeAsync<ExecRef, ExecStatus>(DockerCommandNames.ExecInspect, new() { ExecId = execId }, options, cancellationToken);
}

/// <summary>An interactive command in a container.</summary>
public sealed class ExecSession : IAsyncDisposable
{
    private readonly ExecCommands _commands;

    internal ExecSession(ExecCommands commands, string execId, Stream stream)
    {
        _commands = commands;
        ExecId = execId;
        Stream = stream;
    }

    /// <summary>The exec id.</summary>
    public string ExecId { get; }

    /// <summary>Write to send input; read to receive output. It ends when the command's output ends.</summary>
    public Stream Stream { get; }

    /// <summary>
    /// Ends the command's input (its stdin reads end-of-file, as after Ctrl-D or a closed pipe)
    /// while its output can still be read to the end.
    /// </summary>
    /// <param name="cancellationToken">Stops waiting for the end to be sent.</param>
    /// <returns>A task that completes when the end of input was sent.</returns>
    /// <exception cref="NotSupportedException">The session's stream is not a tunnel stream (a test double's invoker returned another kind).</exception>
    public ValueTask CompleteInputAsync(CancellationToken cancellationToken = default) =>
        Stream is EdgeTunnelStream tunnel
            ? tunnel.CompleteWritesAsync(cancellationToken)
            : throw new NotSupportedException("Only a stream through the tunnel can end its input and still be read; dispose the session instead.");

    /// <summary>Resizes the terminal.</summary>
    /// <param name="columns">The width.</param>
    /// <param name="rows">The height.</param>
    /// <param name="options">Timeout and idempotency key.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>A task that completes when the terminal was resized.</returns>
    public Task ResizeAsync(int columns, int rows, EdgeCommandOptions? options = null, CancellationToken cancellationToken = default) =>
        _commands.ResizeAsync(ExecId, columns, rows, options, cancellationToken);

    /// <summary>Gets the command's state and, once finished, its exit code.</summary>
    /// <param name="options">Timeout and idempotency key.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>The state.</returns>
    public Task<ExecStatus> GetStatusAsync(EdgeCommandOptions? options = null, CancellationToken cancellationToken = default) =>
        _commands.InspectAsync(ExecId, options, cancellationToken);

    /// <summary>Closes the stream (the command's input ends).</summary>
    /// <returns>A task that completes when the stream is closed.</returns>
    public ValueTask DisposeAsync() => Stream.DisposeAsync();
}
