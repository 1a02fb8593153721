using EdgeAgent.Protocol.Frames;
using EdgeAgent.Protocol.Session;
using EdgeAgent.Testing.ProtocolTestHelpers;

namespace EdgeAgent.Protocol.Tests.Session;

/// <summary>Keepalive on fake clocks: each session has its own, so the test knows when its keepalive timer is armed.</summary>
public sealed class KeepaliveTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    // The handshake timeout is the one timer each clock has before the keepalive timer starts.
    private const int HandshakeTimers = 1;

    /// <summary>
    /// The keepalive is one periodic timer: armed once when the session starts, it then fires on
    /// every interval the clock advances (synchronously, inside <c>Advance</c>), so every round
    /// only needs that first timer.
    /// </summary>
    private static Task ArmedAsync(ObservableTimeProvider time, int round) =>
        Poll.UntilAsync(() => time.TimersCreated >= HandshakeTimers + 1, $"the keepalive timer is armed (round {round})");

    [Fact]
    public async Task A_silent_peer_is_detected_within_two_intervals_on_both_sides()
    {
        var agentTime = new ObservableTimeProvider();
        var serverTime = new ObservableTimeProvider();
        var start = agentTime.GetUtcNow();
        await using var link = new SilenceableLink();
        var options = new SessionOptions { KeepaliveInterval = Interval };
        await using var pair = await SessionPair.StartAsync(options, options, connectorTime: agentTime, acceptorTime: serverTime, transport: (link.Left, link.Right));
        await ArmedAsync(agentTime, 1);
        await ArmedAsync(serverTime, 1);

        link.Silent = true;

        // First interval: each side pings into the void and waits for the next tick.
        agentTime.Advance(Interval);
        serverTime.Advance(Interval);
        await ArmedAsync(agentTime, 2);
        await ArmedAsync(serverTime, 2);
        pair.Connector.IsClosed.Should().BeFalse();
        pair.Acceptor.IsClosed.Should().BeFalse();

        // Second interval: no pong came back; both sides give up.
        agentTime.Advance(Interval);
        serverTime.Advance(Interval);

        var agentEnd = await Poll.Within(pair.Connector.Completion);
        var serverEnd = await Poll.Within(pair.Acceptor.Completion);
        agentEnd.Code.Should().Be(ProtocolErrorCode.KeepaliveTimeout);
        serverEnd.Code.Should().Be(ProtocolErrorCode.KeepaliveTimeout);
        agentEnd.ClosedLocally.Should().BeTrue();
        serverEnd.ClosedLocally.Should().BeTrue();
        (agentTime.GetUtcNow() - start).Should().BeLessThanOrEqualTo(2 * Interval);
    }

    [Fact]
    public async Task A_peer_that_answers_keeps_the_session_alive()
    {
        var agentTime = new ObservableTimeProvider();
        var serverTime = new ObservableTimeProvider();
        var options = new SessionOptions { KeepaliveInterval = Interval };
        await using var pair = await SessionPair.StartAsync(options, options, connectorTime: agentTime, acceptorTime: serverTime);

        for (var round = 1; round <= 5; round++)
        {
            await ArmedAsync(agentTime, round);
            await ArmedAsync(serverTime, round);
            var agentReceived = pair.Connector.BytesReceived;
            var serverReceived = pair.Acceptor.BytesReceived;

            agentTime.Advance(Interval);
            serverTime.Advance(Interval);

            // Each side gets the other's ping and the pong to its own (8 bytes each for small values).
            await Poll.UntilAsync(() => pair.Connector.BytesReceived >= agentReceived + 16 && pair.Acceptor.BytesReceived >= serverReceived + 16, "ping and pong crossed");
        }

        pair.Connector.IsClosed.Should().BeFalse();
        pair.Acceptor.IsClosed.Should().BeFalse();
        pair.Connector.LastReceived.Should().Be(agentTime.GetUtcNow());
    }

    [Fact]
    public async Task A_raw_peer_that_stops_answering_pings_is_detected_at_the_second_interval()
    {
        var time = new ObservableTimeProvider();
        var (session, peer) = await RawSessionHarness.AcceptingAsync(new SessionOptions { KeepaliveInterval = Interval }, time: time);
        await using var _ = session;

        // Three intervals answered by the peer.
        for (var round = 1; round <= 3; round++)
        {
            await ArmedAsync(time, round);
            time.Advance(Interval);
            var ping = await peer.ReceiveUntilAsync(f => f.Type == FrameType.Ping);
            ping.Should().NotBeNull($"the session is alive in round {round}");

            // The pong, then a ping of the peer's own: its answer proves the pong was handled
            // (frames are handled in order) before the clock moves on.
            await peer.SendAsync(o =>
            {
                FrameWriter.WritePong(o, ping!.Value);
                FrameWriter.WritePing(o, 1000UL + (ulong)round);
            });
            (await peer.ReceiveUntilAsync(f => f.Type == FrameType.Pong && f.Value == 1000UL + (ulong)round)).Should().NotBeNull();
        }

        await ArmedAsync(time, 4);
        time.Advance(Interval);
        (await peer.ReceiveUntilAsync(f => f.Type == FrameType.Ping)).Should().NotBeNull("the session is still alive and pings again");

        // Now the peer stays silent.
        await ArmedAsync(time, 5);
        session.IsClosed.Should().BeFalse();
        time.Advance(Interval);

        (await peer.ReceiveGoAwayAsync())!.Code.Should().Be(ProtocolErrorCode.KeepaliveTimeout);
        (await Poll.Within(session.Completion)).Code.Should().Be(ProtocolErrorCode.KeepaliveTimeout);
    }
}
