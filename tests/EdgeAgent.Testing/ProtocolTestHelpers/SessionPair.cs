using System.IO.Pipelines;
using EdgeAgent.Protocol.Contracts;
using EdgeAgent.Protocol.Frames;
using EdgeAgent.Protocol.Session;
using EdgeAgent.Protocol.Transports;

namespace EdgeAgent.Testing.ProtocolTestHelpers;

/// <summary>Two real sessions connected over an in-memory transport (or a given pair of ends), each with its own options and clock.</summary>
internal sealed class SessionPair : IAsyncDisposable
{
    private SessionPair(TunnelSession connector, TunnelSession acceptor)
    {
        Connector = connector;
        Acceptor = acceptor;
    }

    /// <summary>The connecting (agent) side; opens odd channel ids.</summary>
    public TunnelSession Connector { get; }

    /// <summary>The accepting (control-plane) side; opens even channel ids.</summary>
    public TunnelSession Acceptor { get; }

    public static async Task<SessionPair> StartAsync(
        SessionOptions? connectorOptions = null,
        SessionOptions? acceptorOptions = null,
        Func<TunnelChannel, Task>? connectorHandler = null,
        Func<TunnelChannel, Task>? acceptorHandler = null,
        TimeProvider? connectorTime = null,
        TimeProvider? acceptorTime = null,
        (IDuplexPipe Connector, IDuplexPipe Acceptor)? transport = null)
    {
        var (left, right) = transport ?? InMemoryTransport.CreatePair();
        var accept = TunnelSession.AcceptAsync(right, acceptorOptions ?? new SessionOptions(), "test-control-plane", _ => null, acceptorHandler, acceptorTime);
        var request = new HandshakeRequest(0, 0, "test-agent", new AgentInfo { Hostname = "test" }, [], default);
        var (connector, _) = await Poll.Within(TunnelSession.ConnectAsync(left, request, connectorOptions ?? new SessionOptions(), connectorHandler, connectorTime));
        var (acceptor, _) = await Poll.Within(accept);
        return new SessionPair(connector, acceptor);
    }

    public async ValueTask DisposeAsync()
    {
        await Acceptor.DisposeAsync();
        await Connector.DisposeAsync();
    }
}

/// <summary>Channel helpers for tests.</summary>
internal static class ChannelTestExtensions
{
    /// <summary>Reads the channel to its end and returns every byte.</summary>
    public static async Task<byte[]> ReadToEndAsync(this TunnelChannel channel, CancellationToken cancellationToken = default)
    {
        using var buffer = new MemoryStream();
        while (true)
        {
            var result = await channel.Input.ReadAsync(cancellationToken);
            foreach (var segment in result.Buffer)
            {
                buffer.Write(segment.Span);
            }

            channel.Input.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                return buffer.ToArray();
            }
        }
    }

    /// <summary>Writes <paramref name="data"/> in pieces of <paramref name="chunk"/> bytes, then half-closes.</summary>
    public static async Task WriteAllAsync(this TunnelChannel channel, ReadOnlyMemory<byte> data, int chunk = 64 * 1024, CancellationToken cancellationToken = default)
    {
        for (var at = 0; at < data.Length; at += chunk)
        {
            await channel.WriteAsync(data.Slice(at, Math.Min(chunk, data.Length - at)), complete: false, cancellationToken);
        }

        await channel.CompleteWritesAsync(cancellationToken);
    }
}
