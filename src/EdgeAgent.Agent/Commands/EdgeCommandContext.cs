using EdgeAgent.Protocol;
using EdgeAgent.Protocol.Rpc;
using EdgeAgent.Protocol.Session;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeAgent.Agent;

/// <summary>What a command handler knows about the command it is running.</summary>
public sealed class EdgeCommandContext
{
    private readonly CommandCall _call;
    private readonly IServiceProvider _root;
    private IServiceScope? _scope;

    internal EdgeCommandContext(CommandCall call, IServiceProvider services)
    {
        _call = call;
        _root = services;
    }

    /// <summary>The command name.</summary>
    public string CommandName => _call.Name;

    /// <summary>The caller's idempotency key (empty when none was sent).</summary>
    public string IdempotencyKey => _call.IdempotencyKey;

    /// <summary>When the caller stops waiting, if it said.</summary>
    public DateTimeOffset? Deadline => _call.Deadline;

    /// <summary>Cancelled when the caller cancels, the deadline passes, or (without an idempotency key) the connection is lost.</summary>
    public CancellationToken CancellationToken => _call.CancellationToken;

    /// <summary>
    /// The command's services: a scope of the agent's services, created for this command on first
    /// use and disposed when the command ends, so a scoped service (a <c>DbContext</c>, say) is one
    /// per command; singletons are the agent's own. A command that never asks creates no scope.
    /// </summary>
    public IServiceProvider Services
    {
        get
        {
            var scope = Volatile.Read(ref _scope);
            if (scope is null)
            {
                var created = _root.CreateScope();
                scope = Interlocked.CompareExchange(ref _scope, created, null) ?? created;
                if (!ReferenceEquals(scope, created))
                {
                    // Another thread of the same command created one first.
                    created.Dispose();
                }
            }

            return scope.ServiceProvider;
        }
    }

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

    /// <summary>Disposes the command's service scope, if it asked for one.</summary>
    internal ValueTask EndAsync() => Interlocked.Exchange(ref _scope, null) is { } scope ? new AsyncServiceScope(scope).DisposeAsync() : ValueTask.CompletedTask;
}
