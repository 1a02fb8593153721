using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using EdgeAgent.Protocol;
using EdgeAgent.Protocol.Forwarding;

namespace EdgeAgent.ControlPlane;

/// <summary>
/// A local TCP listener whose every accepted connection is forwarded through an agent's tunnel,
/// with half-close and reset passed on both ways. Start one with
/// <see cref="EdgeForwardingExtensions.StartTcpListenerAsync"/> or
/// <see cref="EdgeForwardingExtensions.StartDockerApiListenerAsync"/>; disposing it stops accepting
/// and closes (resets) the connections still open.
/// </summary>
public sealed class EdgeTcpListener : IAsyncDisposable
{
    private const int MaxDrainBytes = 64 * 1024;

    private readonly Socket _listener;
    private readonly Func<CancellationToken, Task<EdgeTunnelStream>> _open;
    private readonly Func<Exception, byte[]>? _failureResponse;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<Connection, byte> _connections = new();
    private readonly Task _acceptLoop;
    private int _active;
    private long _accepted;
    private long _failed;
    private Exception? _lastError;
    private int _disposed;

    private EdgeTcpListener(Socket listener, Func<CancellationToken, Task<EdgeTunnelStream>> open, Func<Exception, byte[]>? failureResponse)
    {
        _listener = listener;
        _open = open;
        _failureResponse = failureResponse;
        LocalEndPoint = (IPEndPoint)listener.LocalEndPoint!;
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    /// <summary>Where the listener accepts connections (the actual port when 0 was asked for).</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>Connections open right now (opening or forwarding).</summary>
    public int ActiveConnections => Volatile.Read(ref _active);

    /// <summary>Connections accepted since the start.</summary>
    public long AcceptedConnections => Interlocked.Read(ref _accepted);

    /// <summary>Connections whose forward could not be opened (refused by policy, target down, agent not connected).</summary>
    public long FailedConnections => Interlocked.Read(ref _failed);

    /// <summary>Why the last connection could not be forwarded, if one could not.</summary>
    public Exception? LastError => Volatile.Read(ref _lastError);

    internal static EdgeTcpListener Start(Func<CancellationToken, Task<EdgeTunnelStream>> open, IPEndPoint? localEndPoint, Func<Exception, byte[]>? failureResponse)
    {
        var endPoint = localEndPoint ?? new IPEndPoint(IPAddress.Loopback, 0);
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(endPoint);
            socket.Listen(512);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return new EdgeTcpListener(socket, open, failureResponse);
    }

    private async Task AcceptLoopAsync()
    {
        var token = _stopping.Token;
        while (!token.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException || (ex is SocketException && token.IsCancellationRequested))
            {
                return;
            }
            catch (SocketException)
            {
                // A connection that failed while being accepted (e.g. reset by the client): keep accepting.
                continue;
            }

            Interlocked.Increment(ref _accepted);
            Interlocked.Increment(ref _active);
            var connection = new Connection(client);
            _connections.TryAdd(connection, 0);
            connection.Task = Task.Run(() => ForwardAsync(connection));
        }
    }

    private async Task ForwardAsync(Connection connection)
    {
        var client = connection.Socket;
        try
        {
            client.NoDelay = true;
            EdgeTunnelStream stream;
            try
            {
                stream = await _open(_stopping.Token);
            }
            catch (Exception ex)
            {
                // The error first: whoever sees the count go up can read it.
                Volatile.Write(ref _lastError, ex);
                Interlocked.Increment(ref _failed);
                await RefuseAsync(client, ex);
                return;
            }

            await using (stream)
            {
                // Published, then a full fence, then the check: DisposeAsync cancels (a full fence)
                // and then reads the streams, so one of the two sees the other.
                connection.Stream = stream;
                Interlocked.MemoryBarrier();
                if (_stopping.IsCancellationRequested)
                {
                    stream.Abort("The local listener stopped.");
                }

                await SocketChannelPump.RunAsync(stream.Channel, client, ProtocolErrorCode.Cancelled, "The local client");
            }
        }
        finally
        {
            client.Dispose();
            _connections.TryRemove(connection, out _);
            Interlocked.Decrement(ref _active);
        }
    }

    /// <summary>Tells the client the forward failed: an error response when there is one (then a graceful close), else a reset.</summary>
    private async Task RefuseAsync(Socket client, Exception failure)
    {
        try
        {
            if (_failureResponse is null || _stopping.IsCancellationRequested)
            {
                client.LingerState = new LingerOption(true, 0);
                return;
            }

            var response = _failureResponse(failure);
            await client.SendAsync(response, SocketFlags.None, _stopping.Token);
            client.Shutdown(SocketShutdown.Send);

            // Read what the client still sends until it closes, so that closing does not reset the response away.
            var buffer = new byte[4096];
            var drained = 0;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            while (drained < MaxDrainBytes)
            {
                var read = await client.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                if (read == 0)
                {
                    break;
                }

                drained += read;
            }
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    /// <summary>Stops accepting, resets the open connections and waits for their forwarding to end.</summary>
    /// <returns>A task that completes when everything is closed.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stopping.CancelAsync();
        _listener.Dispose();
        await _acceptLoop;
        var tasks = new List<Task>();
        foreach (var connection in _connections.Keys)
        {
            connection.Stream?.Abort("The local listener stopped.");
            if (connection.Task is { } task)
            {
                tasks.Add(task);
            }
        }

        await Task.WhenAll(tasks);
        _stopping.Dispose();
    }

    private sealed class Connection(Socket socket)
    {
        public Socket Socket => socket;

        public Task? Task { get; set; }

        public EdgeTunnelStream? Stream { get; set; }
    }
}
