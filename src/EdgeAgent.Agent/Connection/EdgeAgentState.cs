namespace EdgeAgent.Agent;

/// <summary>The agent's connection state.</summary>
public enum EdgeAgentState
{
    /// <summary>The first connection attempt is under way.</summary>
    Connecting,

    /// <summary>Connected and the handshake completed.</summary>
    Connected,

    /// <summary>The connection was lost or refused; the agent waits and tries again.</summary>
    Reconnecting,

    /// <summary>The agent stopped (host shutdown, or the retry policy gave up).</summary>
    Stopped,
}

/// <summary>A change of <see cref="EdgeAgentState"/>.</summary>
/// <param name="previous">The state before.</param>
/// <param name="current">The state now.</param>
/// <param name="reason">Why, when known (never contains the credential).</param>
public sealed class EdgeAgentStateChangedEventArgs(EdgeAgentState previous, EdgeAgentState current, string? reason) : EventArgs
{
    /// <summary>The state before.</summary>
    public EdgeAgentState Previous { get; } = previous;

    /// <summary>The state now.</summary>
    public EdgeAgentState Current { get; } = current;

    /// <summary>Why, when known.</summary>
    public string? Reason { get; } = reason;
}

/// <summary>Observes the agent's connection to the control plane. Resolve it from the host's services.</summary>
public interface IEdgeAgentConnection
{
    /// <summary>The current state.</summary>
    EdgeAgentState State { get; }

    /// <summary>When the current connection was established, if connected.</summary>
    DateTimeOffset? ConnectedSince { get; }

    /// <summary>True when the last refusal was of the agent's credential.</summary>
    bool CredentialRejected { get; }

    /// <summary>The last connection error, if any (never contains the credential).</summary>
    string? LastError { get; }

    /// <summary>
    /// Raised on every state change, on the agent's own thread: a handler should return quickly.
    /// A handler that throws is logged and does not stop the agent or the other handlers.
    /// </summary>
    event EventHandler<EdgeAgentStateChangedEventArgs>? StateChanged;

    /// <summary>Completes when the agent is connected (or at once if it is).</summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>A task that completes when connected.</returns>
    /// <exception cref="InvalidOperationException">The agent stopped (host shutdown, or the retry policy gave up) before it connected; the message says why.</exception>
    Task WaitUntilConnectedAsync(CancellationToken cancellationToken = default);
}
