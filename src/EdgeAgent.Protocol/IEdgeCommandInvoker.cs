namespace EdgeAgent.Protocol;

/// <summary>
/// Sends commands to one agent. The control plane's agent handles implement it; the typed
/// command groups (containers, images, …) are thin wrappers over it.
/// </summary>
public interface IEdgeCommandInvoker
{
    /// <summary>Invokes a command that answers once.</summary>
    /// <typeparam name="TRequest">The request contract.</typeparam>
    /// <typeparam name="TResponse">The response contract.</typeparam>
    /// <param name="command">The command name.</param>
    /// <param name="request">The request.</param>
    /// <param name="options">Timeout and idempotency key; defaults apply when null.</param>
    /// <param name="cancellationToken">Cancels the command on the agent too.</param>
    /// <returns>The response.</returns>
    /// <exception cref="EdgeCommandException">The command failed; <see cref="EdgeCommandException.Code"/> says how.</exception>
    Task<TResponse> InvokeAsync<TRequest, TResponse>(string command, TRequest request, EdgeCommandOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>Invokes a command that answers with a stream of items, pulled with flow control.</summary>
    /// <typeparam name="TRequest">The request contract.</typeparam>
    /// <typeparam name="TItem">The item contract.</typeparam>
    /// <param name="command">The command name.</param>
    /// <param name="request">The request.</param>
    /// <param name="options">The timeout applies to the start of the stream.</param>
    /// <param name="cancellationToken">Stops the stream on the agent too.</param>
    /// <returns>The items.</returns>
    IAsyncEnumerable<TItem> StreamAsync<TRequest, TItem>(string command, TRequest request, EdgeCommandOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>Invokes a duplex command and returns its byte stream once the agent accepted it.</summary>
    /// <typeparam name="TRequest">The request contract.</typeparam>
    /// <param name="command">The command name.</param>
    /// <param name="request">The request.</param>
    /// <param name="options">The timeout applies to acceptance.</param>
    /// <param name="cancellationToken">Cancels the open.</param>
    /// <returns>A stream to the agent; disposing it half-closes the output.</returns>
    Task<Stream> OpenStreamAsync<TRequest>(string command, TRequest request, EdgeCommandOptions? options = null, CancellationToken cancellationToken = default);
}

/// <summary>Per-invocation settings.</summary>
public sealed record EdgeCommandOptions
{
    /// <summary>How long to wait for the answer; null uses the default of the invoker.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>
    /// The key the agent deduplicates on. For a unary command (<see cref="IEdgeCommandInvoker.InvokeAsync{TRequest, TResponse}"/>)
    /// null generates one per call; pass the same key when retrying so the command runs at most
    /// once. Streaming and duplex commands carry a key only when one is given here.
    /// </summary>
    public string? IdempotencyKey { get; init; }
}
