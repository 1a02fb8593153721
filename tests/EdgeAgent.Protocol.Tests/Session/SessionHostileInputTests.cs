using System.Buffers.Binary;
using EdgeAgent.Protocol.Frames;
using EdgeAgent.Protocol.Session;
using EdgeAgent.Protocol.Tests.Frames;
using EdgeAgent.Protocol.Transports;
using EdgeAgent.Testing.ProtocolTestHelpers;
using MessagePack;
using Microsoft.Extensions.Time.Testing;

namespace EdgeAgent.Protocol.Tests.Session;

/// <summary>
/// Hostile bytes written by a raw peer into a real session: the session must close with the
/// specific code and tell the peer with a go-away carrying it, or tolerate what the protocol says
/// to tolerate and keep working.
/// </summary>
public sealed class SessionHostileInputTests
{
    private static readonly Func<TunnelChannel, Task> HoldChannel = _ => Task.CompletedTask;

    private static async Task ClosesWith(TunnelSession session, RawPeer peer, ProtocolErrorCode code)
    {
        var goAway = await peer.ReceiveGoAwayAsync();
        goAway.Should().NotBeNull("the session tells the peer why it closes");
        goAway!.Code.Should().Be(code);
        var info = await Poll.Within(session.Completion);
        info.Code.Should().Be(code);
        info.ClosedLocally.Should().BeTrue();
        (await peer.ReceiveToEndAsync()).Should().BeEmpty("nothing follows the go-away");
    }

    /// <summary>A ping answered proves the session still works.</summary>
    private static async Task StillWorks(TunnelSession session, RawPeer peer, ulong value = 4242)
    {
        await peer.SendAsync(o => FrameWriter.WritePing(o, value));
        var pong = await peer.ReceiveUntilAsync(f => f.Type == FrameType.Pong && f.Value == value);
        pong.Should().NotBeNull();
        session.IsClosed.Should().BeFalse();
    }

    [Fact]
    public async Task A_truncated_frame_at_the_end_of_the_stream_closes_with_TruncatedFrame()
    {
        var (session, peer) = await RawSessionHarness.AcceptingAsync();
        var ping = SampleFrames.Encode(o => FrameWriter.WritePing(o, 1));

        await peer.SendAsync(ping.AsMemory(0, ping.Length - 1));
        await peer.CompleteAsync();

        await ClosesWith(session, peer, ProtocolErrorCode.TruncatedFrame);
    }

    [Fact]
    public async Task A_truncated_length_prefix_at_the_end_of_the_stream_closes_with_TruncatedFrame()
    {
        var (session, peer) = await RawSessionHarness.AcceptingAsync();

        await peer.SendAsync(new byte[] { 0, 0 });
        await peer.CompleteAsync();

        await ClosesWith(session, peer, ProtocolErrorCode.TruncatedFrame);
    }

    [Fact]
    public async Task A_clean_end_of_stream_without_go_away_is_ConnectionLost()
    {
        var (session, peer) = await RawSessionHarness.AcceptingAsync();

        await peer.CompleteAsync();

        var info = await Poll.Within(session.Completion);
        info.Code.Should().Be(ProtocolErrorCode.ConnectionLost);
        info.ClosedLocally.Should().BeFalse();
    }

    [Fact]
    public async Task A_go_away_then_end_of_stream_closes_with_the_peers_code()
    {
        var (session, peer) = await RawSessionHarness.AcceptingAsync();

        await peer.SendAsync(o => FrameWriter.WriteGoAway(o, ProtocolErrorCode.Replaced, "newer session"));
        await peer.CompleteAsync();

        var info = await Poll.Within(session.Completion);
        info.Code.Should().Be(ProtocolErrorCode.Replaced);
        info.Reason.Should().Be("newer session");
    }

    [Fact]
    public async Task An_oversized_frame_closes_with_FrameTooLarge()
    {
        var (session, peer) = await RawSessionHarness.AcceptingAsync(new SessionOptions { MaxFrameSize = 1024 }, HoldChannel);
        await peer.SendAsync(o => FrameWriter.WriteOpen(o, 1, 1, default));

        await peer.SendAsync(o => FrameWriter.WriteData(o, 1, new byte[1024]));

        await ClosesWith(session, peer, ProtocolErrorCode.FrameTooLarge);
    }

    [Fact]
    public async Task A_length_prefix_over_the_limit_closes_before_the_body_arrives()
    {
        var (session, peer) = await RawSessionHarness.AcceptingAsync(new SessionOptions { MaxFrameSize = 64 * 1024 });
        var prefix = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(prefix, 64 * 1024 + 1);

        // Only the four prefix bytes: the session must not wait for (or buffer) the body.
        await peer.SendAsync(prefix);

        await ClosesWith(session, peer, ProtocolErrorCode.FrameTooLarge);
    }

    [Fact]
    public async Task A_zero_length_frame_closes_with_InvalidFrame()
    {
        var (session, peer) = await RawSessionHarness.AcceptingAsync();

        await peer.SendAsync(new byte[4]);

        await ClosesWith(session, peer, ProtocolErrorCode.InvalidFrame);
    }

    [Fact]
    public async Task Invalid_messagepack_closes_with_InvalidFrame()
    {
        var (session, peer) = await RawSessionHarness.AcceptingAsync();

        await peer.SendAsync(Envelope.WithPrefix([0x93, 0x03, 0x00, 0xc1]));

        await ClosesWith(session, peer, ProtocolErrorCode.InvalidFrame);
    }

    [Fact]
    public async Task Unknown_frame_types_are_ignored_and_the_session_keeps_working()
    {
        var (session, peer) = await RawSessionHarness.AcceptingAsync();

        await peer.SendAsync(Envelope.Frame((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(4);
            w.Write(77);
            w.Write(0);
            w.Write("from the future");
            w.WriteArrayHeader(1);
            w.Write(1);
        }));
        await peer.SendAsync(Envelope.Frame((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(2);
            w.Write(100_000);
            w.Write(12345);
        }));

        await StillWorks(session, peer);
    }

    [Fact]
    public async Task Extra_trailing_fields_are_tolerated_on_a_live_session()
    {
        var (session, peer) = await RawSessionHarness.AcceptingAsync();

        await peer.SendAsync(Envelope.Frame((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(5);
            w.Write((byte)FrameType.Ping);
            w.Write(0);
            w.Write(31UL);
            w.Write("newer field");
            w.WriteMapHeader(0);
        }));

        (await peer.ReceiveUntilAsync(f => f.Type == FrameType.Pong))!.Value.Should().Be(31);
        await StillWorks(session, peer);
    }

    [Fact]
    public async Task A_deeply_nested_trailing_field_does_not_overflow_the_stack()
    {
        var (session, peer) = await RawSessionHarness.AcceptingAsync();

        await peer.SendAsync(Envelope.Frame((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(4);
            w.Write((byte)FrameType.Ping);
            w.Write(0);
            w.Write(5UL);
            Envelope.WriteNestedArrays(ref w, 100_000);
        }));

        (await peer.ReceiveUntilAsync(f => f.Type == FrameType.Pong))!.Value.Should().Be(5);
        await StillWorks(session, peer);
    }

    [Fact]
    public async Task Data_on_a_channel_never_opened_closes_with_UnknownChannel()
    {
        var (session, peer) = await RawSessionHarness.AcceptingAsync(channelHandler: HoldChannel);

        await peer.SendAsync(o => FrameWriter.WriteData(o, 5, new byte[10]));

        await ClosesWith(session, peer, ProtocolErrorCode.UnknownChannel);
    }

    [Fact]
    public async Task Data_on_a_local_channel_id_never_allocated_closes_with_UnknownChannel()
    {
        var (session, peer) = await RawSessionHarness.AcceptingAsync(channelHandler: HoldChannel);

        // Even ids belong to the accepting session, which has opened none.
        await peer.SendAsync(o => FrameWriter.WriteWindowUpdate(o, 2, 100));

        await ClosesWith(session, peer, ProtocolErrorCode.UnknownChannel);
    }

    [Fact]
    public async Task Frames_on_channel_zero_close_with_InvalidChannelId()
    {
        var (session, peer) = await RawSessionHarness.AcceptingAsync(channelHandler: HoldChannel);

        await peer.SendAsync(o => FrameWriter.WriteData(o, 0, new byte[1]));

        await ClosesWith(session, peer, ProtocolErrorCode.InvalidChannelId);
    }

    [Theory]
    [InlineData(2u)] // the accepting side's parity
    [InlineData(0u)]
    public async Task Opening_a_channel_with_the_wrong_parity_closes_with_InvalidChannelId(uint id)
    {
        var (session, peer) = await RawSessionHarness.AcceptingAsync(channelHandler: HoldChannel);

        await peer.SendAsync(o => FrameWriter.WriteOpen(o, id, 1, default));

        await ClosesWith(session, peer, ProtocolErrorCode.InvalidChannelId);
    }

    [Fact]
    public async Task Reusing_a_channel_id_closes_with_InvalidChannelId()
    {
        var (session, peer) = await RawSessionHarness.AcceptingAsync(channelHandler: HoldChannel);

        await peer.SendAsync(o =>
        {
            FrameWriter.WriteOpen(o, 5, 1, default);
            FrameWriter.WriteOpen(o, 3, 1, default);
        });

        await ClosesWith(session, peer, ProtocolErrorCode.InvalidChannelId);
    }

    [Fact]
    public async Task Late_frames_for_a_channel_that_was_open_are_dropped()
    {
        var (session, peer) = await RawSessionHarness.AcceptingAsync(channelHandler: ch =>
        {
            ch.Reset(ProtocolErrorCode.Refused, "no");
            return Task.CompletedTask;
        });

        await peer.SendAsync(o => FrameWriter.WriteOpen(o, 1, 1, default));
        (await peer.ReceiveUntilAsync(f => f.Type == FrameType.Reset))!.Channel.Should().Be(1);
        await peer.SendAsync(o =>
        {
            FrameWriter.WriteData(o, 1, new byte[10]);
            FrameWriter.WriteWindowUpdate(o, 1, 10);
            FrameWriter.WriteClose(o, 1);
        });

        await StillWorks(session, peer);
    }

    [Fact]
    public async Task Data_after_the_peer_closed_its_side_closes_with_InvalidFrame()
    {
        var (session, peer) = await RawSessionHarness.AcceptingAsync(channelHandler: HoldChannel);

        await peer.SendAsync(o =>
        {
            FrameWriter.WriteOpen(o, 1, 1, default);
            FrameWriter.WriteClose(o, 1);
            FrameWriter.WriteData(o, 1, new byte[1]);
        });

        await ClosesWith(session, peer, ProtocolErrorCode.InvalidFrame);
    }

    [Fact]
    public async Task Sending_more_than_the_window_closes_with_FlowControlViolation()
    {
        var (session, peer) = await RawSessionHarness.AcceptingAsync(new SessionOptions { InitialWindow = 4096 }, HoldChannel);

        await peer.SendAsync(o =>
        {
            FrameWriter.WriteOpen(o, 1, 1, default);
            FrameWriter.WriteData(o, 1, new byte[3000]);
            FrameWriter.WriteData(o, 1, new byte[1096]);
        });
        await StillWorks(session, peer);

        await peer.SendAsync(o => FrameWriter.WriteData(o, 1, new byte[1]));

        await ClosesWith(session, peer, ProtocolErrorCode.FlowControlViolation);
    }

    [Fact]
    public async Task One_data_frame_larger_than_the_window_closes_with_FlowControlViolation()
    {
        var (session, peer) = await RawSessionHarness.AcceptingAsync(new SessionOptions { InitialWindow = 4096 }, HoldChannel);

        await peer.SendAsync(o =>
        {
            FrameWriter.WriteOpen(o, 1, 1, default);
            FrameWriter.WriteData(o, 1, new byte[4097]);
        });

        await ClosesWith(session, peer, ProtocolErrorCode.FlowControlViolation);
    }

    [Theory]
    [InlineData(0UL)]
    [InlineData((ulong)int.MaxValue + 1)]
    public async Task An_invalid_window_increment_closes_with_FlowControlViolation(ulong increment)
    {
        var (session, peer) = await RawSessionHarness.AcceptingAsync(channelHandler: HoldChannel);

        await peer.SendAsync(o =>
        {
            FrameWriter.WriteOpen(o, 1, 1, default);
            FrameWriter.WriteData(o, 1, new byte[1]);
        });
        await peer.SendAsync(Envelope.Frame((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(3);
            w.Write((byte)FrameType.WindowUpdate);
            w.Write(1);
            w.Write(increment);
        }));

        await ClosesWith(session, peer, ProtocolErrorCode.FlowControlViolation);
    }

    [Fact]
    public async Task Credit_beyond_int_range_closes_with_FlowControlViolation()
    {
        var (session, peer) = await RawSessionHarness.AcceptingAsync(channelHandler: HoldChannel);

        await peer.SendAsync(o =>
        {
            FrameWriter.WriteOpen(o, 1, 1, default);
            FrameWriter.WriteWindowUpdate(o, 1, int.MaxValue);
        });

        await ClosesWith(session, peer, ProtocolErrorCode.FlowControlViolation);
    }

    [Fact]
    public async Task Opening_more_channels_than_the_limit_closes_with_TooManyChannels()
    {
        var (session, peer) = await RawSessionHarness.AcceptingAsync(new SessionOptions { MaxChannels = 2 }, HoldChannel);

        await peer.SendAsync(o =>
        {
            FrameWriter.WriteOpen(o, 1, 1, default);
            FrameWriter.WriteOpen(o, 3, 1, default);
        });
        await StillWorks(session, peer);
        session.ChannelCount.Should().Be(2);

        await peer.SendAsync(o => FrameWriter.WriteOpen(o, 5, 1, default));

        await ClosesWith(session, peer, ProtocolErrorCode.TooManyChannels);
    }

    [Fact]
    public async Task Closed_channels_free_their_slot()
    {
        var (session, peer) = await RawSessionHarness.AcceptingAsync(new SessionOptions { MaxChannels = 1 }, ch => ch.CompleteWritesAsync().AsTask());

        for (var id = 1u; id < 20; id += 2)
        {
            await peer.SendAsync(o =>
            {
                FrameWriter.WriteOpen(o, id, 1, default);
                FrameWriter.WriteClose(o, id);
            });
            (await peer.ReceiveUntilAsync(f => f.Type == FrameType.Close && f.Channel == id)).Should().NotBeNull();
            await Poll.UntilAsync(() => session.ChannelCount == 0, "the channel is gone on both sides");
        }

        await StillWorks(session, peer);
    }

    [Fact]
    public async Task Invalid_utf8_in_a_reset_message_closes_with_InvalidUtf8()
    {
        var (session, peer) = await RawSessionHarness.AcceptingAsync(channelHandler: HoldChannel);

        await peer.SendAsync(o => FrameWriter.WriteOpen(o, 1, 1, default));
        await peer.SendAsync(Envelope.Frame((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(4);
            w.Write((byte)FrameType.Reset);
            w.Write(1);
            w.Write(17);
            Envelope.WriteRawString(ref w, [0x6f, 0x6b, 0xc3, 0x28]);
        }));

        await ClosesWith(session, peer, ProtocolErrorCode.InvalidUtf8);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_second_handshake_closes_with_DuplicateHandshake(bool request)
    {
        var (session, peer) = await RawSessionHarness.AcceptingAsync();

        await peer.SendAsync(o =>
        {
            if (request)
            {
                FrameWriter.WriteHandshakeRequest(o, RawSessionHarness.AgentHello());
            }
            else
            {
                FrameWriter.WriteHandshakeResponse(o, RawSessionHarness.ServerHello());
            }
        });

        await ClosesWith(session, peer, ProtocolErrorCode.DuplicateHandshake);
    }

    [Fact]
    public async Task A_second_handshake_on_the_connecting_side_closes_with_DuplicateHandshake()
    {
        var (session, peer) = await RawSessionHarness.ConnectingAsync();

        await peer.SendAsync(o => FrameWriter.WriteHandshakeResponse(o, RawSessionHarness.ServerHello()));

        await ClosesWith(session, peer, ProtocolErrorCode.DuplicateHandshake);
    }

    [Fact]
    public async Task A_frame_before_the_handshake_is_refused_with_HandshakeRequired()
    {
        var (left, right) = InMemoryTransport.CreatePair();
        var peer = new RawPeer(left);
        var accept = TunnelSession.AcceptAsync(right, new SessionOptions(), "cp", _ => null, null);

        await peer.SendAsync(o => FrameWriter.WritePing(o, 1));

        (await FluentActions.Awaiting(() => Poll.Within(accept)).Should().ThrowAsync<ProtocolException>()).Which.Code.Should().Be(ProtocolErrorCode.HandshakeRequired);
        (await peer.ReceiveGoAwayAsync())!.Code.Should().Be(ProtocolErrorCode.HandshakeRequired);
    }

    [Fact]
    public async Task A_frame_before_the_handshake_response_fails_the_connecting_side_with_HandshakeRequired()
    {
        var (left, right) = InMemoryTransport.CreatePair();
        var peer = new RawPeer(right);
        var connect = TunnelSession.ConnectAsync(left, RawSessionHarness.AgentHello(), new SessionOptions(), null);
        await peer.ReceiveAsync();

        await peer.SendAsync(o => FrameWriter.WriteData(o, 2, new byte[3]));

        (await FluentActions.Awaiting(() => Poll.Within(connect)).Should().ThrowAsync<ProtocolException>()).Which.Code.Should().Be(ProtocolErrorCode.HandshakeRequired);
        (await peer.ReceiveGoAwayAsync())!.Code.Should().Be(ProtocolErrorCode.HandshakeRequired);
    }

    [Fact]
    public async Task Hostile_bytes_during_the_handshake_are_refused_with_their_code()
    {
        var (left, right) = InMemoryTransport.CreatePair();
        var peer = new RawPeer(left);
        var accept = TunnelSession.AcceptAsync(right, new SessionOptions(), "cp", _ => null, null);

        await peer.SendAsync(new byte[] { 0x7f, 0xff, 0xff, 0xff });

        (await FluentActions.Awaiting(() => Poll.Within(accept)).Should().ThrowAsync<ProtocolException>()).Which.Code.Should().Be(ProtocolErrorCode.FrameTooLarge);
        (await peer.ReceiveGoAwayAsync())!.Code.Should().Be(ProtocolErrorCode.FrameTooLarge);
    }

    [Fact]
    public async Task A_major_version_mismatch_is_refused_with_a_clear_UnsupportedVersion()
    {
        var (left, right) = InMemoryTransport.CreatePair();
        var peer = new RawPeer(left);
        var accept = TunnelSession.AcceptAsync(right, new SessionOptions(), "cp", _ => null, null);

        await peer.SendAsync(o => FrameWriter.WriteHandshakeRequest(o, RawSessionHarness.AgentHello(major: 2, minor: 3)));

        var response = (await peer.ReceiveAsync())!.HandshakeResponse!;
        response.Code.Should().Be(ProtocolErrorCode.UnsupportedVersion);
        response.Message.Should().Contain("2.3").And.Contain($"{TunnelSession.ProtocolMajor}.{TunnelSession.ProtocolMinor}");
        (await FluentActions.Awaiting(() => Poll.Within(accept)).Should().ThrowAsync<ProtocolException>()).Which.Code.Should().Be(ProtocolErrorCode.UnsupportedVersion);
    }

    [Fact]
    public async Task The_connecting_side_reports_a_refused_major_version_clearly()
    {
        var (left, right) = InMemoryTransport.CreatePair();
        var peer = new RawPeer(right);
        var connect = TunnelSession.ConnectAsync(left, RawSessionHarness.AgentHello(), new SessionOptions(), null);
        await peer.ReceiveAsync();

        await peer.SendAsync(o => FrameWriter.WriteHandshakeResponse(o, RawSessionHarness.ServerHello(major: 2, code: ProtocolErrorCode.UnsupportedVersion, message: "Protocol 1.0 is not supported; this control plane speaks 2.0.")));

        var error = (await FluentActions.Awaiting(() => Poll.Within(connect)).Should().ThrowAsync<ProtocolException>()).Which;
        error.Code.Should().Be(ProtocolErrorCode.UnsupportedVersion);
        error.Message.Should().Contain("refused").And.Contain("2.0");
    }

    [Fact]
    public async Task The_connecting_side_refuses_a_server_of_another_major_version_clearly()
    {
        var (left, right) = InMemoryTransport.CreatePair();
        var peer = new RawPeer(right);
        var connect = TunnelSession.ConnectAsync(left, RawSessionHarness.AgentHello(), new SessionOptions(), null);
        await peer.ReceiveAsync();

        await peer.SendAsync(o => FrameWriter.WriteHandshakeResponse(o, RawSessionHarness.ServerHello(major: 3, minor: 1)));

        var error = (await FluentActions.Awaiting(() => Poll.Within(connect)).Should().ThrowAsync<ProtocolException>()).Which;
        error.Code.Should().Be(ProtocolErrorCode.UnsupportedVersion);
        error.Message.Should().Contain("3.1").And.Contain($"{TunnelSession.ProtocolMajor}.{TunnelSession.ProtocolMinor}");
        (await peer.ReceiveGoAwayAsync())?.Code.Should().Be(ProtocolErrorCode.UnsupportedVersion);
    }

    [Fact]
    public async Task A_different_minor_version_is_tolerated_on_both_sides()
    {
        var (left, right) = InMemoryTransport.CreatePair();
        var agent = new RawPeer(left);
        var accept = TunnelSession.AcceptAsync(right, new SessionOptions(), "cp", _ => null, null);
        await agent.SendAsync(o => FrameWriter.WriteHandshakeRequest(o, RawSessionHarness.AgentHello(minor: 99)));
        (await agent.ReceiveAsync())!.HandshakeResponse!.Code.Should().Be(ProtocolErrorCode.None);
        var (accepted, request) = await Poll.Within(accept);
        request.Minor.Should().Be(99);

        var (left2, right2) = InMemoryTransport.CreatePair();
        var server = new RawPeer(right2);
        var connect = TunnelSession.ConnectAsync(left2, RawSessionHarness.AgentHello(), new SessionOptions(), null);
        await server.ReceiveAsync();
        await server.SendAsync(o => FrameWriter.WriteHandshakeResponse(o, RawSessionHarness.ServerHello(minor: 42)));
        var (connected, response) = await Poll.Within(connect);
        response.Minor.Should().Be(42);

        await StillWorks(accepted, agent);
        await StillWorks(connected, server);
    }

    [Fact]
    public async Task The_handshake_timeout_runs_on_the_sessions_clock()
    {
        var time = new FakeTimeProvider();
        var (left, right) = InMemoryTransport.CreatePair();
        var peer = new RawPeer(left);
        var accept = TunnelSession.AcceptAsync(right, new SessionOptions { HandshakeTimeout = TimeSpan.FromMinutes(5) }, "cp", _ => null, null, time);

        time.Advance(TimeSpan.FromMinutes(5));

        (await FluentActions.Awaiting(() => Poll.Within(accept)).Should().ThrowAsync<ProtocolException>()).Which.Code.Should().Be(ProtocolErrorCode.HandshakeFailed);
        (await peer.ReceiveGoAwayAsync())!.Code.Should().Be(ProtocolErrorCode.HandshakeFailed);
    }
}
