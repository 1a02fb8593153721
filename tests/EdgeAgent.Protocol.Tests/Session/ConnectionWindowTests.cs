using System.Threading.Channels;
using EdgeAgent.Protocol.Frames;
using EdgeAgent.Protocol.Session;
using EdgeAgent.Protocol.Tests.Frames;
using EdgeAgent.Protocol.Transports;
using EdgeAgent.Testing.ProtocolTestHelpers;
using Microsoft.Extensions.Time.Testing;

namespace EdgeAgent.Protocol.Tests.Session;

/// <summary>
/// Connection-level flow control (protocol 1.1): bulk data in flight across all channels stays
/// within the receiver's connection window, so a command queues behind at most that much data.
/// </summary>
public sealed class ConnectionWindowTests
{
    private const int PeerWindow = 64 * 1024;
    private static readonly SessionLimits PeerWithConnectionWindow = RawSessionHarness.DefaultPeerLimits with { ConnectionWindow = PeerWindow };

    [Fact]
    public async Task Two_current_sessions_use_it_and_move_large_data_byte_exact()
    {
        var received = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        var options = new SessionOptions { ConnectionWindow = 64 * 1024 };
        await using var pair = await SessionPair.StartAsync(options, options, acceptorHandler: async ch => received.SetResult(await ch.ReadToEndAsync()));

        pair.Connector.ConnectionFlowControl.Should().BeTrue();
        pair.Acceptor.ConnectionFlowControl.Should().BeTrue();
        var payload = SampleFrames.Payload(8 * 1024 * 1024, seed: 3);
        var channel = await pair.Connector.OpenChannelAsync(1, default);
        await Poll.Within(channel.WriteAllAsync(payload, chunk: 100_000));

        (await Poll.Within(received.Task)).Should().Equal(payload, "8 MiB through a 64 KiB connection window, returned in quarters");
    }

    [Fact]
    public async Task Bulk_data_stops_at_the_peers_connection_window_while_small_messages_still_pass()
    {
        var (session, peer) = await RawSessionHarness.ConnectingAsync(peerLimits: PeerWithConnectionWindow);
        await using var _ = session;
        session.ConnectionFlowControl.Should().BeTrue();

        // The channel window (1 MiB) would allow far more: only the connection window holds it back.
        var bulk = await session.OpenChannelAsync(1, default);
        var write = bulk.WriteAsync(new byte[512 * 1024]).AsTask();
        (await ReceiveDataAsync(peer, bulk.Id, PeerWindow)).Should().Be(PeerWindow);
        write.IsCompleted.Should().BeFalse("the writer waits for connection credit");

        // A command-sized message on another channel is not held behind the exhausted window.
        var command = await session.OpenChannelAsync(1, default);
        var small = command.WriteAsync(new byte[200]).AsTask();
        var frame = await peer.ReceiveUntilAsync(f => f.Type == FrameType.Data && f.Channel == command.Id);
        frame!.Payload.Length.Should().Be(200);
        await Poll.Within(small);

        // Credit on channel 0 lets exactly that much more through, less what the small message overdrew.
        await peer.SendAsync(o => FrameWriter.WriteWindowUpdate(o, 0, PeerWindow));
        (await ReceiveDataAsync(peer, bulk.Id, PeerWindow - 200)).Should().Be(PeerWindow - 200);
        write.IsCompleted.Should().BeFalse();
        session.IsClosed.Should().BeFalse();
    }

    [Fact]
    public async Task Writers_waiting_for_connection_credit_are_served_in_order()
    {
        var (session, peer) = await RawSessionHarness.ConnectingAsync(peerLimits: PeerWithConnectionWindow);
        await using var _ = session;

        var first = await session.OpenChannelAsync(1, default);
        var second = await session.OpenChannelAsync(1, default);
        var firstWrite = first.WriteAsync(new byte[PeerWindow + 32 * 1024]).AsTask();
        await ReceiveDataAsync(peer, first.Id, PeerWindow);
        var secondWrite = second.WriteAsync(new byte[32 * 1024]).AsTask();
        await Task.Delay(50);

        // 32 KiB of credit: the first writer queued first, so it gets it.
        await peer.SendAsync(o => FrameWriter.WriteWindowUpdate(o, 0, 32 * 1024));
        var next = await peer.ReceiveUntilAsync(f => f.Type == FrameType.Data);
        next!.Channel.Should().Be(first.Id);
        await Poll.Within(firstWrite);
        secondWrite.IsCompleted.Should().BeFalse();

        await peer.SendAsync(o => FrameWriter.WriteWindowUpdate(o, 0, 32 * 1024));
        (await peer.ReceiveUntilAsync(f => f.Type == FrameType.Data))!.Channel.Should().Be(second.Id);
        await Poll.Within(secondWrite);
    }

    [Fact]
    public async Task A_writer_waiting_for_connection_credit_can_be_cancelled_and_fails_when_the_session_ends()
    {
        var (session, peer) = await RawSessionHarness.ConnectingAsync(peerLimits: PeerWithConnectionWindow);
        var channel = await session.OpenChannelAsync(1, default);
        await channel.WriteAsync(new byte[PeerWindow]);

        using var cancel = new CancellationTokenSource();
        var cancelled = channel.WriteAsync(new byte[32 * 1024], cancellationToken: cancel.Token).AsTask();
        await Task.Delay(50);
        cancelled.IsCompleted.Should().BeFalse();
        await cancel.CancelAsync();
        await FluentActions.Awaiting(() => Poll.Within(cancelled)).Should().ThrowAsync<OperationCanceledException>();

        var stranded = channel.WriteAsync(new byte[32 * 1024]).AsTask();
        await peer.CompleteAsync();
        (await FluentActions.Awaiting(() => Poll.Within(stranded)).Should().ThrowAsync<ProtocolException>())
            .Which.Code.Should().Be(ProtocolErrorCode.ConnectionLost);
        await session.DisposeAsync();
    }

    [Fact]
    public async Task The_receiver_returns_connection_credit_also_for_data_on_channels_already_gone()
    {
        var opened = Channel.CreateUnbounded<TunnelChannel>();
        var (session, peer) = await RawSessionHarness.AcceptingAsync(channelHandler: ch => opened.Writer.WriteAsync(ch).AsTask(), peerLimits: PeerWithConnectionWindow);
        await using var _ = session;
        var quarter = new SessionOptions().ConnectionWindow / 4;

        // The peer's channel is reset by the session, then data that was already in flight arrives.
        await peer.SendAsync(o => FrameWriter.WriteOpen(o, 1, 1, default));
        var channel = await Poll.Within(opened.Reader.ReadAsync().AsTask());
        channel.Reset(ProtocolErrorCode.Cancelled, "not wanted");
        await peer.ReceiveUntilAsync(f => f.Type == FrameType.Reset && f.Channel == 1);
        var chunk = new byte[32 * 1024];
        for (var sent = 0; sent < quarter; sent += chunk.Length)
        {
            await peer.SendAsync(o => FrameWriter.WriteData(o, 1, chunk));
        }

        var update = await peer.ReceiveUntilAsync(f => f.Type == FrameType.WindowUpdate && f.Channel == 0);
        update!.Value.Should().Be((ulong)quarter);
        session.IsClosed.Should().BeFalse();
    }

    [Fact]
    public async Task A_peer_without_a_connection_window_gets_no_channel_0_updates_and_no_limit()
    {
        var opened = Channel.CreateUnbounded<TunnelChannel>();
        var (session, peer) = await RawSessionHarness.AcceptingAsync(channelHandler: ch => opened.Writer.WriteAsync(ch).AsTask());
        await using var _ = session;
        session.ConnectionFlowControl.Should().BeFalse("a 1.0 peer leaves the field out");

        await peer.SendAsync(o => FrameWriter.WriteOpen(o, 1, 1, default));
        var channel = await Poll.Within(opened.Reader.ReadAsync().AsTask());
        var reading = channel.ReadToEndAsync();
        var chunk = new byte[64 * 1024];
        for (var i = 0; i < 16; i++)
        {
            await peer.SendAsync(o => FrameWriter.WriteData(o, 1, chunk));
        }

        await peer.SendAsync(o => FrameWriter.WriteClose(o, 1));
        (await Poll.Within(reading)).Length.Should().Be(16 * chunk.Length);

        // The session writes a whole MiB at once towards the old peer: no connection limit applies.
        var frames = peer.ReceiveToEndAsync();
        var outgoing = await session.OpenChannelAsync(1, default);
        await Poll.Within(outgoing.WriteAsync(new byte[1024 * 1024]).AsTask());
        outgoing.Reset(ProtocolErrorCode.Cancelled, "done");
        await session.AbortAsync(ProtocolErrorCode.Shutdown, "done");
        var received = await Poll.Within(frames);
        received.Should().NotContain(f => f.Type == FrameType.WindowUpdate && f.Channel == 0);
        received.Where(f => f.Type == FrameType.Data).Sum(f => f.Payload.Length).Should().Be(1024 * 1024);
    }

    [Fact]
    public async Task A_channel_0_window_update_from_a_peer_without_the_window_is_an_invalid_channel_id()
    {
        var (session, peer) = await RawSessionHarness.AcceptingAsync();
        await peer.SendAsync(o => FrameWriter.WriteWindowUpdate(o, 0, 1024));

        (await peer.ReceiveGoAwayAsync())!.Code.Should().Be(ProtocolErrorCode.InvalidChannelId);
        (await Poll.Within(session.Completion)).Code.Should().Be(ProtocolErrorCode.InvalidChannelId);
    }

    [Fact]
    public async Task Connection_credit_beyond_the_largest_window_is_a_flow_control_violation()
    {
        var (session, peer) = await RawSessionHarness.AcceptingAsync(peerLimits: PeerWithConnectionWindow);
        await peer.SendAsync(o =>
        {
            FrameWriter.WriteWindowUpdate(o, 0, int.MaxValue);
            FrameWriter.WriteWindowUpdate(o, 0, int.MaxValue);
        });

        (await peer.ReceiveGoAwayAsync())!.Code.Should().Be(ProtocolErrorCode.FlowControlViolation);
        (await Poll.Within(session.Completion)).Code.Should().Be(ProtocolErrorCode.FlowControlViolation);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(65535)]
    public async Task A_connection_window_too_small_to_carry_a_data_frame_is_refused_at_the_handshake(int window)
    {
        var limits = RawSessionHarness.DefaultPeerLimits with { ConnectionWindow = window };
        var (left, right) = InMemoryTransport.CreatePair();
        var peer = new RawPeer(left);
        var accept = TunnelSession.AcceptAsync(right, new SessionOptions(), "test-control-plane", _ => null, channelHandler: null);
        await peer.SendAsync(o => FrameWriter.WriteHandshakeRequest(o, RawSessionHarness.AgentHello(limits: limits)));

        (await peer.ReceiveGoAwayAsync())!.Code.Should().Be(ProtocolErrorCode.HandshakeFailed);
        (await FluentActions.Awaiting(() => Poll.Within(accept)).Should().ThrowAsync<ProtocolException>())
            .Which.Code.Should().Be(ProtocolErrorCode.HandshakeFailed);
    }

    [Fact]
    public void A_local_connection_window_below_64_KiB_other_than_zero_is_rejected()
    {
        new SessionOptions { ConnectionWindow = 0 }.Validate();
        FluentActions.Invoking(() => new SessionOptions { ConnectionWindow = 1000 }.Validate())
            .Should().Throw<ArgumentOutOfRangeException>().WithParameterName(nameof(SessionOptions.ConnectionWindow));
    }

    [Fact]
    public async Task While_commands_run_bulk_data_keeps_a_quarter_of_the_peers_window_plus_a_quantum_in_flight()
    {
        const int window = 256 * 1024;
        const int quantum = 16 * 1024;
        var time = new FakeTimeProvider();
        var (session, peer) = await RawSessionHarness.ConnectingAsync(time: time, peerLimits: RawSessionHarness.DefaultPeerLimits with { ConnectionWindow = window });
        await using var _ = session;
        session.CommandsActive.Should().BeFalse("no command has run yet");

        session.NoteCommandActivity();
        session.CommandsActive.Should().BeTrue();
        var bulk = await session.OpenChannelAsync(1, default);
        var write = bulk.WriteAsync(new byte[1024 * 1024]).AsTask();
        (await ReceiveDataAsync(peer, bulk.Id, (window / 4) + quantum)).Should().Be((window / 4) + quantum, "a command queues behind 80 KiB of bulk data, not 256 KiB");
        write.IsCompleted.Should().BeFalse();

        // Credit returned while commands run lets that much more through, not the rest of the window.
        await peer.SendAsync(o => FrameWriter.WriteWindowUpdate(o, 0, quantum));
        (await ReceiveDataAsync(peer, bulk.Id, quantum)).Should().Be(quantum);

        // Once no command has started or ended for the linger time, the next credit opens the whole window.
        time.Advance(TimeSpan.FromMilliseconds(TunnelSession.CommandLingerMilliseconds));
        session.CommandsActive.Should().BeFalse();
        await peer.SendAsync(o => FrameWriter.WriteWindowUpdate(o, 0, quantum));
        (await ReceiveDataAsync(peer, bulk.Id, window - (window / 4))).Should().Be(window - (window / 4), "all 256 KiB are in flight again (288 KiB sent, 32 KiB returned)");
        write.IsCompleted.Should().BeFalse();
        session.IsClosed.Should().BeFalse();
    }

    [Theory]
    [InlineData(100, 200)] // twice the round trip
    [InlineData(10, 50)] // a fast link: at least 50 ms
    [InlineData(3000, 2000)] // a slow one: at most 2 s
    public async Task The_yielding_lasts_twice_the_last_keepalive_round_trip_from_50_ms_to_2_s(int pongAfterMs, int lingerMs)
    {
        var time = new FakeTimeProvider();
        var (session, peer) = await RawSessionHarness.ConnectingAsync(new SessionOptions { KeepaliveInterval = TimeSpan.FromSeconds(10) }, time: time, peerLimits: PeerWithConnectionWindow);
        await using var _ = session;
        session.CommandLinger.Should().Be(TimeSpan.FromMilliseconds(TunnelSession.CommandLingerMilliseconds));

        time.Advance(TimeSpan.FromSeconds(10));
        var ping = await peer.ReceiveUntilAsync(f => f.Type == FrameType.Ping);
        time.Advance(TimeSpan.FromMilliseconds(pongAfterMs));
        await peer.SendAsync(o => FrameWriter.WritePong(o, ping!.Value));

        // The session answers the peer's own ping after it has read the pong before it.
        await peer.SendAsync(o => FrameWriter.WritePing(o, 77));
        await peer.ReceiveUntilAsync(f => f.Type == FrameType.Pong && f.Value == 77);
        session.CommandLinger.Should().BeCloseTo(TimeSpan.FromMilliseconds(lingerMs), TimeSpan.FromMilliseconds(1));

        session.NoteCommandActivity();
        time.Advance(TimeSpan.FromMilliseconds(lingerMs - 1));
        session.CommandsActive.Should().BeTrue();
        time.Advance(TimeSpan.FromMilliseconds(1));
        session.CommandsActive.Should().BeFalse();
        session.IsClosed.Should().BeFalse();
    }

    [Fact]
    public async Task While_commands_run_the_receiver_returns_connection_credit_in_sixteenths()
    {
        var time = new FakeTimeProvider();
        var opened = Channel.CreateUnbounded<TunnelChannel>();
        var (session, peer) = await RawSessionHarness.AcceptingAsync(channelHandler: ch => opened.Writer.WriteAsync(ch).AsTask(), time: time, peerLimits: PeerWithConnectionWindow);
        await using var _ = session;
        var sixteenth = new SessionOptions().ConnectionWindow / 16;
        await peer.SendAsync(o => FrameWriter.WriteOpen(o, 1, 1, default));
        await Poll.Within(opened.Reader.ReadAsync().AsTask());

        // No command running: a sixteenth is not enough for an update (a quarter is). The session
        // counts received bytes after it has handled them (and returned any credit).
        var before = session.BytesReceived;
        await peer.SendAsync(o => FrameWriter.WriteData(o, 1, new byte[sixteenth]));
        await Poll.UntilAsync(() => session.BytesReceived >= before + sixteenth, "the first sixteenth was handled");
        await FluentActions.Awaiting(() => peer.ReceiveUntilAsync(f => f.Type == FrameType.WindowUpdate && f.Channel == 0, TimeSpan.FromMilliseconds(200)))
            .Should().ThrowAsync<OperationCanceledException>();

        session.NoteCommandActivity();
        await peer.SendAsync(o => FrameWriter.WriteData(o, 1, new byte[sixteenth]));
        var update = await peer.ReceiveUntilAsync(f => f.Type == FrameType.WindowUpdate && f.Channel == 0);
        update!.Value.Should().Be((ulong)(2 * sixteenth), "everything handed to channels so far is returned");
    }

    [Fact]
    public async Task Bulk_data_does_not_stall_when_only_the_sender_sees_commands_running()
    {
        // The receiver returns credit in quarters of its window; the sender, holding back for
        // commands, keeps a quarter plus a quantum in flight: always enough for the next return.
        var received = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        var frozen = new FakeTimeProvider();
        var quiet = new SessionOptions { KeepaliveInterval = TimeSpan.FromHours(1) };
        await using var pair = await SessionPair.StartAsync(quiet, quiet, acceptorHandler: async ch => received.SetResult(await ch.ReadToEndAsync()), connectorTime: frozen);
        pair.Connector.NoteCommandActivity();
        pair.Connector.CommandsActive.Should().BeTrue("its clock does not move, so the commands' linger never ends");
        pair.Acceptor.CommandsActive.Should().BeFalse();

        var payload = SampleFrames.Payload(8 * 1024 * 1024, seed: 5);
        var channel = await pair.Connector.OpenChannelAsync(1, default);
        await Poll.Within(channel.WriteAllAsync(payload, chunk: 100_000));

        (await Poll.Within(received.Task)).Should().Equal(payload);
    }

    /// <summary>Reads data frames of <paramref name="channel"/> until <paramref name="expected"/> bytes arrived, then checks nothing more follows soon.</summary>
    private static async Task<int> ReceiveDataAsync(RawPeer peer, uint channel, int expected)
    {
        var total = 0;
        while (total < expected)
        {
            var frame = await peer.ReceiveUntilAsync(f => f.Type == FrameType.Data && f.Channel == channel);
            total += frame!.Payload.Length;
        }

        var extra = await TryReceiveDataAsync(peer, channel);
        return total + extra;
    }

    private static async Task<int> TryReceiveDataAsync(RawPeer peer, uint channel)
    {
        try
        {
            var frame = await peer.ReceiveUntilAsync(f => f.Type == FrameType.Data && f.Channel == channel, TimeSpan.FromMilliseconds(200));
            return frame?.Payload.Length ?? 0;
        }
        catch (OperationCanceledException)
        {
            return 0;
        }
    }
}
