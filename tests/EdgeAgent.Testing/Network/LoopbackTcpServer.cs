using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

namespace EdgeAgent.Testing.Network;

/// <summary>
/// A TCP server on 127.0.0.1:0 for forwarding tests. In echo mode every connection is served by
/// an echo loop that passes a half-close on (client EOF → server shuts down its send side);
/// otherwise accepted sockets are handed to the test through <see cref="AcceptAsync"/>. Loopback only.
/// </summary>
public sealed class LoopbackTcpServer : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Channel<Socket> _accepted = Channel.CreateUnbounded<Socket>();
    private readonly List<Socket> _sockets = [];
    private readonly List<Task> _tasks = [];
    private readonly bool _echo;
    private readonly Task _acceptLoop;
    private long _connections;
    private long _resets;

    private LoopbackTcpServer(bool echo)
    {
        _echo = echo;
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(256);
        _acceptLoop = AcceptLoopAsync();
    }

    /// <summary>Echoes every byte back, passing half-close on.</summary>
    public static LoopbackTcpServer StartEcho() => new(echo: true);

    /// <summary>Hands every accepted socket to the test.</summary>
    public static LoopbackTcpServer Start() => new(echo: false);

    public int Port => ((IPEndPoint)_listener.LocalEndPoint!).Port;

    public long Connections => Interlocked.Read(ref _connections);

    /// <summary>Echo connections that ended with a reset from the client side.</summary>
    public long Resets => Interlocked.Read(ref _resets);

    /// <summary>Waits for the next accepted connection (not in echo mode).</summary>
    public async Task<Socket> AcceptAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        return await _accepted.Reader.ReadAsync(cts.Token);
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            Interlocked.Increment(ref _connections);
            lock (_sockets)
            {
                _sockets.Add(socket);
                if (_echo)
                {
                    _tasks.Add(Task.Run(() => EchoAsync(socket)));
                }
            }

            if (!_echo)
            {
                _accepted.Writer.TryWrite(socket);
            }
        }
    }

    private async Task EchoAsync(Socket socket)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var read = await socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (read == 0)
                {
                    socket.Shutdown(SocketShutdown.Send);
                    return;
                }

                var sent = 0;
                while (sent < read)
                {
                    sent += await socket.SendAsync(buffer.AsMemory(sent, read - sent), SocketFlags.None, _stop.Token);
                }
            }
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionReset or SocketError.Shutdown or SocketError.ConnectionAborted)
        {
            Interlocked.Increment(ref _resets);
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        await _acceptLoop;
        lock (_sockets)
        {
            foreach (var socket in _sockets)
            {
                socket.Dispose();
            }
        }

        Task[] tasks;
        lock (_sockets)
        {
            tasks = [.. _tasks];
        }

        await Task.WhenAll(tasks);
        _stop.Dispose();
    }
}
