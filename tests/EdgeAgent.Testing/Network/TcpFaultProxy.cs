using System.Net;
using System.Net.Sockets;

namespace EdgeAgent.Testing.Network;

/// <summary>
/// A loopback TCP proxy between an agent and a control plane that can stall (stop forwarding
/// without closing: a silently dead peer), cut every connection, or cut after a random number of
/// bytes — for dead-peer and fault-injection tests. Loopback only.
/// </summary>
public sealed class TcpFaultProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly IPEndPoint _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<(TcpClient Client, TcpClient Upstream)> _connections = [];
    private readonly Task _accepting;
    private volatile bool _stalled;
    private long _connectionCount;

    public TcpFaultProxy(Uri target)
    {
        _target = new IPEndPoint(IPAddress.Loopback, target.Port);
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _accepting = AcceptLoopAsync();
    }

    /// <summary>http://127.0.0.1:port of the proxy.</summary>
    public Uri Url => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}");

    public long ConnectionCount => Interlocked.Read(ref _connectionCount);

    /// <summary>When set, each connection is cut after a random number of forwarded bytes in [min, max).</summary>
    public (int Min, int Max)? CutAfterBytes { get; set; }

    /// <summary>Seeds the random cuts.</summary>
    public Random Random { get; set; } = new(1);

    /// <summary>Stops forwarding in both directions; connections stay open (a dead peer that sends no FIN).</summary>
    public void Stall() => _stalled = true;

    public void Resume() => _stalled = false;

    /// <summary>Resets every open connection.</summary>
    public void CutAll()
    {
        lock (_connections)
        {
            foreach (var (client, upstream) in _connections)
            {
                Reset(client);
                Reset(upstream);
            }

            _connections.Clear();
        }
    }

    private static void Reset(TcpClient client)
    {
        try
        {
            // Client is null once the pump side has already closed this connection.
            if (client.Client is { } socket)
            {
                socket.LingerState = new LingerOption(true, 0);
            }

            client.Close();
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task AcceptLoopAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                _ = HandleAsync(client);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task HandleAsync(TcpClient client)
    {
        var upstream = new TcpClient();
        try
        {
            await upstream.ConnectAsync(_target, _stop.Token);
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            Reset(client);
            upstream.Dispose();
            return;
        }

        Interlocked.Increment(ref _connectionCount);
        lock (_connections)
        {
            _connections.Add((client, upstream));
        }

        long? budget = null;
        if (CutAfterBytes is { } range)
        {
            lock (Random)
            {
                budget = Random.Next(range.Min, range.Max);
            }
        }

        var shared = new StrongBox(budget);
        var up = PumpAsync(client.GetStream(), upstream.GetStream(), shared, client, upstream);
        var down = PumpAsync(upstream.GetStream(), client.GetStream(), shared, client, upstream);
        await Task.WhenAll(up, down);
        Reset(client);
        Reset(upstream);
        lock (_connections)
        {
            _connections.Remove((client, upstream));
        }
    }

    private sealed class StrongBox(long? value)
    {
        public long? Value = value;
    }

    private async Task PumpAsync(NetworkStream from, NetworkStream to, StrongBox budget, TcpClient a, TcpClient b)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReadAsync(buffer, _stop.Token);
                if (read == 0)
                {
                    b.Client.Shutdown(SocketShutdown.Send);
                    return;
                }

                while (_stalled)
                {
                    await Task.Delay(10, _stop.Token);
                }

                var allowed = read;
                lock (budget)
                {
                    if (budget.Value is { } remaining)
                    {
                        allowed = (int)Math.Min(read, remaining);
                        budget.Value = remaining - allowed;
                    }
                }

                await to.WriteAsync(buffer.AsMemory(0, allowed), _stop.Token);
                if (allowed < read || budget.Value == 0)
                {
                    Reset(a);
                    Reset(b);
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
        {
            Reset(a);
            Reset(b);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        CutAll();
        await _accepting;
    }
}
