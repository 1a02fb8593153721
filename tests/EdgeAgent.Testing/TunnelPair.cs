using EdgeAgent.Agent;
using EdgeAgent.Protocol;
using EdgeAgent.Protocol.Contracts;
using EdgeAgent.Protocol.Frames;
using EdgeAgent.Protocol.Rpc;
using EdgeAgent.Protocol.Session;
using EdgeAgent.Protocol.Transports;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeAgent.Testing;

/// <summary>
/// An agent-side and a control-plane-side tunnel session connected in memory. The agent side
/// runs the given command handlers through the real dispatcher; <see cref="Invoker"/> calls them
/// from the control-plane side through the real RPC client.
/// </summary>
public sealed class TunnelPair : IAsyncDisposable
{
    private TunnelPair(TunnelSession agent, TunnelSession controlPlane, CommandDispatcher dispatcher, TimeSpan timeout, TimeProvider time)
    {
        AgentSession = agent;
        ControlPlaneSession = controlPlane;
        Dispatcher = dispatcher;
        Invoker = new SessionCommandInvoker(controlPlane, timeout, time);
    }

    internal TunnelSession AgentSession { get; }

    internal TunnelSession ControlPlaneSession { get; }

    internal CommandDispatcher Dispatcher { get; }

    /// <summary>Calls commands on the agent side.</summary>
    public IEdgeCommandInvoker Invoker { get; }

    /// <summary>Starts a pair whose agent side runs <paramref name="handlers"/>.</summary>
    public static Task<TunnelPair> StartAsync(IEnumerable<EdgeCommandHandler> handlers, IServiceProvider? services = null, TimeSpan? timeout = null, ILoggerFactory? loggers = null) =>
        StartAsync(handlers, new SessionOptions(), services, timeout, TimeProvider.System, loggers);

    internal static async Task<TunnelPair> StartAsync(IEnumerable<EdgeCommandHandler> handlers, SessionOptions options, IServiceProvider? services, TimeSpan? timeout, TimeProvider time, ILoggerFactory? loggers = null)
    {
        loggers ??= NullLoggerFactory.Instance;
        services ??= new EmptyServices();
        var invokers = handlers.Select(h => h.CreateInvoker(services)).ToDictionary(i => i.Name, StringComparer.Ordinal);
        var dispatcher = new CommandDispatcher(name => invokers.GetValueOrDefault(name), new EdgeAgent.Testing.ProtocolTestHelpers.TestIdempotencyCache(), null, time, loggers.CreateLogger("dispatcher"));
        var (left, right) = InMemoryTransport.CreatePair();
        var accept = TunnelSession.AcceptAsync(right, options, "test-control-plane", _ => null, null, time, loggers.CreateLogger("control-plane"));
        var request = new HandshakeRequest(0, 0, "test-agent", new AgentInfo { Hostname = "test" }, [], default);
        var (agent, _) = await TunnelSession.ConnectAsync(left, request, options, dispatcher.HandleChannelAsync, time, loggers.CreateLogger("agent"));
        var (controlPlane, _) = await accept;
        return new TunnelPair(agent, controlPlane, dispatcher, timeout ?? TimeSpan.FromSeconds(30), time);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await ControlPlaneSession.DisposeAsync();
        await AgentSession.DisposeAsync();
    }

    private sealed class EmptyServices : IServiceProvider
    {
        public object? GetService(Type serviceType) => null;
    }
}
