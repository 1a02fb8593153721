using System.Collections.Concurrent;
using EdgeAgent.Protocol.Contracts;
using EdgeAgent.Protocol.Frames;
using EdgeAgent.Protocol.Rpc;
using EdgeAgent.Protocol.Session;
using EdgeAgent.Protocol.Transports;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeAgent.Testing.ProtocolTestHelpers;

/// <summary>A command defined by delegates over raw payload bytes (no contracts), for protocol tests.</summary>
internal sealed class DelegateCommand : CommandInvoker
{
    private readonly Func<CommandCall, ValueTask<byte[]>>? _unary;
    private readonly Func<CommandCall, ValueTask>? _other;

    private DelegateCommand(string name, CommandShape shape, Func<CommandCall, ValueTask<byte[]>>? unary, Func<CommandCall, ValueTask>? other)
    {
        Name = name;
        Shape = shape;
        _unary = unary;
        _other = other;
    }

    public override string Name { get; }

    public override string Group => "test";

    public override CommandShape Shape { get; }

    public static DelegateCommand Unary(string name, Func<CommandCall, ValueTask<byte[]>> run) => new(name, CommandShape.Unary, run, null);

    public static DelegateCommand Streaming(string name, Func<CommandCall, ValueTask> run) => new(name, CommandShape.Streaming, null, run);

    public static DelegateCommand Duplex(string name, Func<CommandCall, ValueTask> run) => new(name, CommandShape.Duplex, null, run);

    public override ValueTask<byte[]> InvokeUnaryAsync(CommandCall call) => _unary!(call);

    public override ValueTask InvokeStreamingAsync(CommandCall call) => _other!(call);

    public override ValueTask InvokeDuplexAsync(CommandCall call) => _other!(call);
}

/// <summary>An unbounded in-memory idempotency cache.</summary>
internal sealed class TestIdempotencyCache : IIdempotencyCache
{
    private readonly ConcurrentDictionary<string, (string Name, byte[] Response)> _entries = new(StringComparer.Ordinal);

    public bool TryGet(string key, out string commandName, out byte[] response)
    {
        if (_entries.TryGetValue(key, out var entry))
        {
            (commandName, response) = entry;
            return true;
        }

        commandName = "";
        response = [];
        return false;
    }

    public ValueTask SetAsync(string key, string commandName, byte[] response)
    {
        _entries[key] = (commandName, response);
        return default;
    }
}

/// <summary>
/// A connected session pair over the in-memory transport: the callee (connecting, agent side) runs
/// the given commands through the real <see cref="CommandDispatcher"/>; the caller (accepting,
/// control-plane side) calls them through <see cref="RpcClient"/>.
/// </summary>
internal sealed class RpcHarness : IAsyncDisposable
{
    private RpcHarness(TunnelSession callee, TunnelSession caller, CommandDispatcher dispatcher, TimeProvider time)
    {
        Callee = callee;
        Caller = caller;
        Dispatcher = dispatcher;
        Time = time;
    }

    public TunnelSession Callee { get; }

    public TunnelSession Caller { get; }

    public CommandDispatcher Dispatcher { get; }

    public TimeProvider Time { get; }

    public static async Task<RpcHarness> StartAsync(IEnumerable<CommandInvoker> commands, SessionOptions? options = null, TimeProvider? time = null, IIdempotencyCache? cache = null, SessionOptions? callerOptions = null)
    {
        time ??= TimeProvider.System;
        options ??= new SessionOptions();
        var map = commands.ToDictionary(c => c.Name, StringComparer.Ordinal);
        var dispatcher = new CommandDispatcher(name => map.GetValueOrDefault(name), cache ?? new TestIdempotencyCache(), null, time, NullLogger.Instance);
        var (left, right) = InMemoryTransport.CreatePair();
        var accept = TunnelSession.AcceptAsync(right, callerOptions ?? options, "test-control-plane", _ => null, null, time);
        var request = new HandshakeRequest(0, 0, "test-agent", new AgentInfo { Hostname = "test" }, [], default);
        var (callee, _) = await Poll.Within(TunnelSession.ConnectAsync(left, request, options, dispatcher.HandleChannelAsync, time));
        var (caller, _) = await Poll.Within(accept);
        return new RpcHarness(callee, caller, dispatcher, time);
    }

    public Task<ReadOnlyMemory<byte>> InvokeAsync(string name, ReadOnlyMemory<byte> payload, string key = "", TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        RpcClient.InvokeAsync(Caller, new RpcCallOptions(name, key, timeout ?? TimeSpan.FromSeconds(30)), payload, Time, cancellationToken);

    public IAsyncEnumerable<ReadOnlyMemory<byte>> StreamAsync(string name, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken = default) =>
        RpcClient.StreamAsync(Caller, new RpcCallOptions(name, "", TimeSpan.FromSeconds(30)), payload, Time, cancellationToken);

    public Task<TunnelChannel> OpenDuplexAsync(string name, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken = default) =>
        RpcClient.OpenDuplexAsync(Caller, new RpcCallOptions(name, "", TimeSpan.FromSeconds(30)), payload, Time, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await Caller.DisposeAsync();
        await Callee.DisposeAsync();
    }
}
