using EdgeAgent.Protocol;
using EdgeAgent.Protocol.Rpc;
using EdgeAgent.Protocol.Session;

namespace EdgeAgent.Agent;

/// <summary>What a command handler knows about the command it is running.</summary>
public sealed class EdgeCommandContext
{
    private readonly CommandCall _call;

    internal EdgeCommandContext(CommandCall call, IServiceProvider services)
    {
        _call = call;
        Services = services;
    }

    /// <summary>The command name.</summary>
    public string CommandName => _call.Name;

    /// <summary>The caller's idempotency key (empty when none was sent).</summary>
    public string IdempotencyKey => _call.IdempotencyKey;

    /// <summary>When the caller stops waiting, if it said.</summary>
    public DateTimeOffset? Deadline => _call.Deadline;

    /// <summary>Cancelled when the caller cancels, the deadline passes, or (without an idempotency key) the connection is lost.</summary>
    public CancellationToken CancellationToken => _call.CancellationToken;

    /// <summary>The agent's services.</summary>
    public IServiceProvider Services { get; }

    /// <summary>
    /// For duplex commands: tells the caller the command started and returns the byte stream to
    /// the caller. Disposing the stream half-closes it.
    /// </summary>
    /// <exception cref="InvalidOperationException">The command is not a duplex command.</exception>
    public async ValueTask<Stream> AcceptStreamAsync()
    {
        if (!IsDuplex)
        {
            throw new InvalidOperationException("Only duplex commands have a stream.");
        }

        await _call.AcceptAsync();
        return new ChannelStream(_call.Channel);
    }

    internal bool IsDuplex { get; init; }

    internal TunnelChannel Channel => _call.Channel;

    internal CommandCall Call => _call;
}
