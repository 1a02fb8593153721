using EdgeAgent.Protocol;
using EdgeAgent.Protocol.Rpc;

// The non-generic base is closed to other assemblies on purpose (private protected constructor);
// the three generic bases below are the supported extension points.
#pragma warning disable RS0022

namespace EdgeAgent.Agent;

/// <summary>
/// A command the agent can run. Derive from <see cref="EdgeCommandHandler{TRequest, TResponse}"/>,
/// <see cref="EdgeStreamingCommandHandler{TRequest, TItem}"/> or <see cref="EdgeDuplexCommandHandler{TRequest}"/>
/// and register it with <c>AddCommandHandler&lt;THandler&gt;()</c>. Request and response types are
/// MessagePack contracts (<c>[MessagePackObject]</c>).
/// </summary>
public abstract class EdgeCommandHandler
{
    private protected EdgeCommandHandler()
    {
    }

    /// <summary>The command name callers use, e.g. <c>myapp.reboot</c>. Names are case-sensitive.</summary>
    public abstract string Name { get; }

    /// <summary>The policy group; see <see cref="EdgeCommandGroups"/>.</summary>
    public virtual string Group => EdgeCommandGroups.Custom;

    /// <summary>True when the command only reads state (allowed in the agent's read-only mode).</summary>
    public virtual bool IsReadOnly => false;

    internal abstract CommandInvoker CreateInvoker(IServiceProvider services);

    /// <summary>Base of the adapters that bind a handler to the dispatcher.</summary>
    private protected abstract class InvokerBase(EdgeCommandHandler handler, CommandShape shape) : CommandInvoker, IReadOnlyAware
    {
        public override string Name => handler.Name;

        public override string Group => handler.Group;

        public override CommandShape Shape => shape;

        public bool IsReadOnly => handler.IsReadOnly;
    }
}

/// <summary>A command with one request and one response.</summary>
/// <typeparam name="TRequest">The request contract.</typeparam>
/// <typeparam name="TResponse">The response contract.</typeparam>
public abstract class EdgeCommandHandler<TRequest, TResponse> : EdgeCommandHandler
{
    /// <summary>Runs the command. Throw <see cref="EdgeCommandException"/> for an answer with a specific error code.</summary>
    /// <param name="request">The request.</param>
    /// <param name="context">The command's context and cancellation.</param>
    /// <returns>The response.</returns>
    public abstract ValueTask<TResponse> HandleAsync(TRequest request, EdgeCommandContext context);

    internal override CommandInvoker CreateInvoker(IServiceProvider services) => new Invoker(this, services);

    private sealed class Invoker(EdgeCommandHandler<TRequest, TResponse> handler, IServiceProvider services)
        : InvokerBase(handler, CommandShape.Unary)
    {
        public override async ValueTask<byte[]> InvokeUnaryAsync(CommandCall call)
        {
            var request = ContractSerializer.Deserialize<TRequest>(call.Payload);
            var context = new EdgeCommandContext(call, services);
            try
            {
                return ContractSerializer.Serialize(await handler.HandleAsync(request, context));
            }
            finally
            {
                await context.EndAsync();
            }
        }
    }
}

/// <summary>A command that answers with a stream of items (logs, events, progress).</summary>
/// <typeparam name="TRequest">The request contract.</typeparam>
/// <typeparam name="TItem">The item contract.</typeparam>
public abstract class EdgeStreamingCommandHandler<TRequest, TItem> : EdgeCommandHandler
{
    /// <summary>
    /// Produces the items. The sequence is pulled only as fast as the caller consumes it: a slow
    /// caller slows the producer, and memory stays within the channel window.
    /// </summary>
    /// <param name="request">The request.</param>
    /// <param name="context">The command's context and cancellation.</param>
    /// <returns>The items.</returns>
    public abstract IAsyncEnumerable<TItem> HandleAsync(TRequest request, EdgeCommandContext context);

    internal override CommandInvoker CreateInvoker(IServiceProvider services) => new Invoker(this, services);

    private sealed class Invoker(EdgeStreamingCommandHandler<TRequest, TItem> handler, IServiceProvider services)
        : InvokerBase(handler, CommandShape.Streaming)
    {
        public override async ValueTask InvokeStreamingAsync(CommandCall call)
        {
            var request = ContractSerializer.Deserialize<TRequest>(call.Payload);
            var context = new EdgeCommandContext(call, services);
            try
            {
                await foreach (var item in handler.HandleAsync(request, context).WithCancellation(call.CancellationToken))
                {
                    await call.WriteItemAsync(ContractSerializer.Serialize(item));
                }
            }
            finally
            {
                await context.EndAsync();
            }
        }
    }
}

/// <summary>
/// A command that, once accepted, exchanges raw bytes both ways (interactive exec, TCP
/// forwarding). Validate and set up first; then call <see cref="EdgeCommandContext.AcceptStreamAsync"/>.
/// </summary>
/// <typeparam name="TRequest">The request contract.</typeparam>
public abstract class EdgeDuplexCommandHandler<TRequest> : EdgeCommandHandler
{
    /// <summary>Runs the command; errors thrown before accepting reach the caller as typed errors.</summary>
    /// <param name="request">The request.</param>
    /// <param name="context">The command's context; <see cref="EdgeCommandContext.AcceptStreamAsync"/> gives the stream.</param>
    /// <returns>A task that completes when the exchange is over.</returns>
    public abstract ValueTask HandleAsync(TRequest request, EdgeCommandContext context);

    internal override CommandInvoker CreateInvoker(IServiceProvider services) => new Invoker(this, services);

    private sealed class Invoker(EdgeDuplexCommandHandler<TRequest> handler, IServiceProvider services)
        : InvokerBase(handler, CommandShape.Duplex)
    {
        public override async ValueTask InvokeDuplexAsync(CommandCall call)
        {
            var request = ContractSerializer.Deserialize<TRequest>(call.Payload);
            var context = new EdgeCommandContext(call, services) { IsDuplex = true };
            try
            {
                await handler.HandleAsync(request, context);
            }
            finally
            {
                await context.EndAsync();
            }
        }
    }
}
