using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using EdgeAgent.Protocol.Session;
using EdgeAgent.Protocol.Tests.Frames;
using EdgeAgent.Protocol.Transports;
using EdgeAgent.Testing.ProtocolTestHelpers;
using Microsoft.Extensions.Time.Testing;

namespace EdgeAgent.Protocol.Tests.Transports;

/// <summary>
/// The WebSocket transport over a real loopback TCP connection: large data frames may go straight
/// to the socket (no copy into the output pipe, no hop to the send loop), but only when nothing
/// written earlier is still queued, so bytes never overtake each other.
/// </summary>
public sealed class WebSocketTransportTests
{
    [Fact]
    public async Task A_direct_send_waits_until_everything_written_before_has_gone_out_and_arrives_after_it()
    {
        await using var link = await WebSocketLink.StartAsync();
        var client = link.Client;
        client.IsOutputDrained.Should().BeTrue("nothing was written yet");

        var first = SampleFrames.Payload(300_000, seed: 5);
        first.CopyTo(client.Output.GetSpan(first.Length));
        client.Output.Advance(first.Length);
        client.IsOutputDrained.Should().BeFalse("written bytes are not sent before the flush");
        await client.Output.FlushAsync();
        await Poll.UntilAsync(() => client.IsOutputDrained, "the send loop has sent the flushed bytes");

        var second = SampleFrames.Payload(70_000, seed: 6);
        await client.SendDirectAsync(second);
        client.DirectSends.Should().Be(1);

        var received = await link.ReadServerAsync(first.Length + second.Length);
        received.Should().Equal(first.Concat(second), "the direct frame follows the queued bytes");
    }

    [Fact]
    public async Task Completing_the_output_while_a_direct_send_is_in_flight_sends_the_close_after_that_frame()
    {
        await using var link = await WebSocketLink.StartAsync();
        var client = link.Client;

        // More than the socket buffers and the server's paused input hold: the send stays in
        // flight until the server reads.
        var frame = SampleFrames.Payload(32 * 1024 * 1024, seed: 7);
        var direct = client.SendDirectAsync(frame).AsTask();
        await Task.Delay(100);
        direct.IsCompleted.Should().BeFalse("the server is not reading");
        await client.Output.CompleteAsync();

        (await link.ReadServerAsync(frame.Length)).Should().Equal(frame);
        await Poll.Within(direct);
        var end = await Poll.Within(link.Server.Input.ReadAsync().AsTask());
        end.IsCompleted.Should().BeTrue("the close frame followed the direct frame");
        end.Buffer.Length.Should().Be(0);
    }

    [Fact]
    public async Task A_peer_that_stops_reading_cannot_keep_a_closing_transport_alive()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var accept = listener.AcceptSocketAsync();
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await peer.ConnectAsync((IPEndPoint)listener.LocalEndpoint);
        using var accepted = await accept;

        // The peer neither reads nor writes: queued frames fill the socket buffers and the send
        // loop's send blocks.
        using var socket = WebSocket.CreateFromStream(new NetworkStream(accepted, ownsSocket: false), new WebSocketCreationOptions { IsServer = true });
        var transport = new WebSocketTransport(socket, TimeSpan.FromMilliseconds(500));
        var run = transport.RunAsync();
        var chunk = new byte[1024 * 1024];
        while (true)
        {
            var flush = transport.Output.WriteAsync(chunk).AsTask();
            if (await Task.WhenAny(flush, Task.Delay(500)) != flush)
            {
                // Backpressure: the send loop is stuck on the silent peer.
                transport.Output.CancelPendingFlush();
                await Poll.Within(flush);
                break;
            }
        }

        // The session ends. Before, the transport waited for that send for ever.
        await transport.Output.CompleteAsync();
        await Poll.Within(run);
        socket.State.Should().Be(WebSocketState.Aborted);
        transport.IsOutputDrained.Should().BeFalse("what the peer never read was not sent");
    }

    [Fact]
    public async Task Sessions_over_it_move_interleaved_bulk_and_small_messages_byte_exact_and_send_bulk_frames_directly()
    {
        await using var link = await WebSocketLink.StartAsync();
        var bulkReceived = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        var smallReceived = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        var opened = 0;
        await using var pair = await SessionPair.StartAsync(
            acceptorHandler: async ch =>
            {
                var target = Interlocked.Increment(ref opened) == 1 ? bulkReceived : smallReceived;
                target.SetResult(await ch.ReadToEndAsync());
            },
            transport: (link.Client, link.Server));

        // Chunk sizes vary around the direct-send threshold so both paths alternate on one channel
        // while another channel writes small messages through the output pipe at the same time.
        var bulk = SampleFrames.Payload(12 * 1024 * 1024, seed: 7);
        var small = SampleFrames.Payload(200_000, seed: 8);
        var bulkChannel = await pair.Connector.OpenChannelAsync(1, default);
        await Poll.UntilAsync(() => Volatile.Read(ref opened) == 1, "the bulk channel is accepted");
        var smallChannel = await pair.Connector.OpenChannelAsync(1, default);
        var writeBulk = Task.Run(async () =>
        {
            var random = new Random(9);
            for (var at = 0; at < bulk.Length;)
            {
                var chunk = Math.Min(bulk.Length - at, random.Next(1, 100_000));
                await bulkChannel.WriteAsync(bulk.AsMemory(at, chunk));
                at += chunk;
            }

            await bulkChannel.CompleteWritesAsync();
        });
        var writeSmall = Task.Run(async () =>
        {
            for (var at = 0; at < small.Length; at += 100)
            {
                await smallChannel.WriteAsync(small.AsMemory(at, 100));
            }

            await smallChannel.CompleteWritesAsync();
        });
        await Poll.Within(Task.WhenAll(writeBulk, writeSmall), TimeSpan.FromSeconds(60));

        (await Poll.Within(bulkReceived.Task)).Should().Equal(bulk);
        (await Poll.Within(smallReceived.Task)).Should().Equal(small);
        link.Client.DirectSends.Should().BeGreaterThan(0, "large frames found the output drained at least sometimes");
    }

    [Fact]
    public async Task While_commands_run_bulk_frames_go_through_the_output_queue_not_directly()
    {
        // A direct send holds the session's write lock for the whole socket send; while commands
        // run, their messages must not wait for it. The connector's clock does not move, so the
        // commands' linger never ends.
        await using var link = await WebSocketLink.StartAsync();
        var received = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var pair = await SessionPair.StartAsync(
            acceptorHandler: async ch => received.SetResult(await ch.ReadToEndAsync()),
            connectorTime: new FakeTimeProvider(),
            transport: (link.Client, link.Server));
        pair.Connector.NoteCommandActivity();

        var bulk = SampleFrames.Payload(4 * 1024 * 1024, seed: 8);
        var channel = await pair.Connector.OpenChannelAsync(1, default);
        await Poll.Within(channel.WriteAllAsync(bulk, chunk: 64 * 1024), TimeSpan.FromSeconds(60));
        await channel.CompleteWritesAsync();

        (await Poll.Within(received.Task)).Should().Equal(bulk);
        link.Client.DirectSends.Should().Be(0);
    }

    /// <summary>Two WebSocket transports joined by a real loopback TCP connection.</summary>
    private sealed class WebSocketLink : IAsyncDisposable
    {
        private readonly Task _clientRun;
        private readonly Task _serverRun;
        private readonly WebSocket _clientSocket;
        private readonly WebSocket _serverSocket;

        private WebSocketLink(WebSocket clientSocket, WebSocket serverSocket)
        {
            _clientSocket = clientSocket;
            _serverSocket = serverSocket;
            Client = new WebSocketTransport(clientSocket, TimeSpan.FromSeconds(5));
            Server = new WebSocketTransport(serverSocket, TimeSpan.FromSeconds(5));
            _clientRun = Client.RunAsync();
            _serverRun = Server.RunAsync();
        }

        public WebSocketTransport Client { get; }

        public WebSocketTransport Server { get; }

        public static async Task<WebSocketLink> StartAsync()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var accept = listener.AcceptSocketAsync();
            var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await client.ConnectAsync((IPEndPoint)listener.LocalEndpoint);
            var server = await accept;
            server.NoDelay = true;
            return new WebSocketLink(
                WebSocket.CreateFromStream(new NetworkStream(client, ownsSocket: true), new WebSocketCreationOptions { IsServer = false }),
                WebSocket.CreateFromStream(new NetworkStream(server, ownsSocket: true), new WebSocketCreationOptions { IsServer = true }));
        }

        /// <summary>Reads exactly <paramref name="length"/> bytes from the server transport's input.</summary>
        public async Task<byte[]> ReadServerAsync(int length)
        {
            var input = Server.Input;
            while (true)
            {
                var result = await Poll.Within(input.ReadAsync().AsTask());
                if (result.Buffer.Length >= length || result.IsCompleted)
                {
                    var bytes = result.Buffer.Slice(0, Math.Min(length, result.Buffer.Length)).ToArray();
                    input.AdvanceTo(result.Buffer.GetPosition(bytes.Length));
                    return bytes;
                }

                input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
            }
        }

        public async ValueTask DisposeAsync()
        {
            await Client.Output.CompleteAsync();
            await Server.Output.CompleteAsync();
            await Task.WhenAll(_clientRun, _serverRun).WaitAsync(TimeSpan.FromSeconds(15));
            _clientSocket.Dispose();
            _serverSocket.Dispose();
        }
    }
}
