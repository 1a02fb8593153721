using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace EdgeAgent.Benchmarks.Forwarding;

/// <summary>
/// The TCP targets of the forwarding benchmark, all on 127.0.0.1: a sink (reads to end-of-stream,
/// then answers the byte count as 8 bytes), a source (reads an 8-byte count, sends that many
/// bytes, half-closes) and a holder (keeps connections open and idle).
/// </summary>
internal sealed class BenchServers : IDisposable
{
    private readonly Socket _sink = Listen();
    private readonly Socket _source = Listen();
    private readonly Socket _hold = Listen();
    private readonly List<Socket> _held = [];

    public BenchServers()
    {
        _ = AcceptLoopAsync(_sink, SinkAsync);
        _ = AcceptLoopAsync(_source, SourceAsync);
        _ = AcceptLoopAsync(_hold, HoldAsync);
    }

    public int SinkPort => Port(_sink);

    public int SourcePort => Port(_source);

    public int HoldPort => Port(_hold);

    public int Held
    {
        get
        {
            lock (_held)
            {
                return _held.Count;
            }
        }
    }

    private static int Port(Socket socket) => ((IPEndPoint)socket.LocalEndPoint!).Port;

    private static Socket Listen()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        socket.Listen(4096);
        return socket;
    }

    private static async Task AcceptLoopAsync(Socket listener, Func<Socket, Task> serve)
    {
        while (true)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync();
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                return;
            }

            socket.NoDelay = true;
            _ = Task.Run(() => serve(socket));
        }
    }

    private static async Task SinkAsync(Socket socket)
    {
        using (socket)
        {
            var buffer = GC.AllocateUninitializedArray<byte>(256 * 1024);
            long total = 0;
            try
            {
                while (true)
                {
                    var read = await socket.ReceiveAsync(buffer, SocketFlags.None);
                    if (read == 0)
                    {
                        break;
                    }

                    total += read;
                }

                var answer = new byte[8];
                BinaryPrimitives.WriteInt64BigEndian(answer, total);
                await socket.SendAsync(answer, SocketFlags.None);
                socket.Shutdown(SocketShutdown.Send);
            }
            catch (SocketException)
            {
            }
        }
    }

    private static async Task SourceAsync(Socket socket)
    {
        using (socket)
        {
            try
            {
                var request = new byte[8];
                var got = 0;
                while (got < 8)
                {
                    var read = await socket.ReceiveAsync(request.AsMemory(got), SocketFlags.None);
                    if (read == 0)
                    {
                        return;
                    }

                    got += read;
                }

                var remaining = BinaryPrimitives.ReadInt64BigEndian(request);
                var buffer = new byte[256 * 1024];
                Random.Shared.NextBytes(buffer);
                while (remaining > 0)
                {
                    var count = (int)Math.Min(buffer.Length, remaining);
                    remaining -= await socket.SendAsync(buffer.AsMemory(0, count), SocketFlags.None);
                }

                socket.Shutdown(SocketShutdown.Send);
                await socket.ReceiveAsync(request, SocketFlags.None);
            }
            catch (SocketException)
            {
            }
        }
    }

    private async Task HoldAsync(Socket socket)
    {
        lock (_held)
        {
            _held.Add(socket);
        }

        try
        {
            await socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None);
        }
        catch (SocketException)
        {
        }
    }

    public void Dispose()
    {
        _sink.Dispose();
        _source.Dispose();
        _hold.Dispose();
        lock (_held)
        {
            foreach (var socket in _held)
            {
                socket.Dispose();
            }
        }
    }
}
