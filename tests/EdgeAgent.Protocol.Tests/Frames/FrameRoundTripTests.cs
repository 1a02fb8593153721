using System.Buffers;
using System.Runtime.InteropServices;
using EdgeAgent.Protocol.Frames;
using EdgeAgent.Testing.ProtocolTestHelpers;

namespace EdgeAgent.Protocol.Tests.Frames;

public sealed class FrameRoundTripTests
{
    private static Frame RoundTrip(Action<IBufferWriter<byte>> write, int maxFrameSize = 1024 * 1024) =>
        SampleFrames.ParseOne(SampleFrames.Encode(write), maxFrameSize);

    [Fact]
    public void Handshake_request_keeps_identity_info_labels_capabilities_and_limits()
    {
        var request = RawSessionHarness.AgentHello(major: 1, minor: 7, limits: new SessionLimits(2048, 4096, 17));

        var frame = RoundTrip(o => FrameWriter.WriteHandshakeRequest(o, request));

        frame.Type.Should().Be(FrameType.HandshakeRequest);
        frame.Channel.Should().Be(0);
        var read = frame.HandshakeRequest!;
        read.Major.Should().Be(1);
        read.Minor.Should().Be(7);
        read.AgentId.Should().Be("raw-agent");
        read.Info.Should().BeEquivalentTo(request.Info);
        read.Info.Labels.Should().BeEquivalentTo(new Dictionary<string, string> { ["site"] = "lab", ["role"] = "edge" });
        read.Capabilities.Should().Equal("logs", "exec");
        read.Limits.Should().Be(new SessionLimits(2048, 4096, 17));
    }

    [Fact]
    public void Handshake_request_without_labels_or_capabilities()
    {
        var request = RawSessionHarness.AgentHello() with { Capabilities = [], Info = new Contracts.AgentInfo { Hostname = "h" } };

        var read = RoundTrip(o => FrameWriter.WriteHandshakeRequest(o, request)).HandshakeRequest!;

        read.Info.Labels.Should().BeEmpty();
        read.Capabilities.Should().BeEmpty();
        read.Info.Hostname.Should().Be("h");
    }

    [Fact]
    public void Handshake_response_keeps_every_field()
    {
        var response = new HandshakeResponse(1, 3, ProtocolErrorCode.Revoked, "revoked", "cp-1", new SessionLimits(1 << 20, 1 << 19, 64), TimeSpan.FromMilliseconds(12345));

        var frame = RoundTrip(o => FrameWriter.WriteHandshakeResponse(o, response));

        frame.Type.Should().Be(FrameType.HandshakeResponse);
        frame.HandshakeResponse.Should().Be(response);
    }

    [Theory]
    [InlineData(0UL)]
    [InlineData(1UL)]
    [InlineData(0x7fUL)]
    [InlineData(0x80UL)]
    [InlineData(0xffffUL)]
    [InlineData(0x1_0000_0000UL)]
    [InlineData(ulong.MaxValue)]
    public void Ping_and_pong_keep_their_value(ulong value)
    {
        var ping = RoundTrip(o => FrameWriter.WritePing(o, value));
        var pong = RoundTrip(o => FrameWriter.WritePong(o, value));

        ping.Type.Should().Be(FrameType.Ping);
        ping.Value.Should().Be(value);
        pong.Type.Should().Be(FrameType.Pong);
        pong.Value.Should().Be(value);
    }

    [Theory]
    [InlineData(1u, 0)]
    [InlineData(127u, 100)]
    [InlineData(128u, 255)]
    [InlineData(65535u, 256)]
    [InlineData(uint.MaxValue, 70000)]
    public void Open_keeps_channel_kind_and_payload(uint channel, int payloadLength)
    {
        var payload = SampleFrames.Payload(payloadLength);

        var frame = RoundTrip(o => FrameWriter.WriteOpen(o, channel, 1, payload));

        frame.Type.Should().Be(FrameType.Open);
        frame.Channel.Should().Be(channel);
        frame.Value.Should().Be(1);
        frame.Payload.ToArray().Should().Equal(payload);
    }

    [Fact]
    public void Accept_and_close_keep_their_channel()
    {
        var accept = RoundTrip(o => FrameWriter.WriteAccept(o, 200));
        var close = RoundTrip(o => FrameWriter.WriteClose(o, 201));

        accept.Type.Should().Be(FrameType.Accept);
        accept.Channel.Should().Be(200);
        close.Type.Should().Be(FrameType.Close);
        close.Channel.Should().Be(201);
    }

    [Theory]
    [InlineData((byte)FrameType.Reject)]
    [InlineData((byte)FrameType.Reset)]
    [InlineData((byte)FrameType.GoAway)]
    public void Code_frames_keep_code_and_message(byte typeValue)
    {
        var type = (FrameType)typeValue;
        const string message = "refusé: 端口 closed";
        var frame = RoundTrip(o =>
        {
            switch (type)
            {
                case FrameType.Reject:
                    FrameWriter.WriteReject(o, 5, ProtocolErrorCode.Refused, message);
                    break;
                case FrameType.Reset:
                    FrameWriter.WriteReset(o, 5, ProtocolErrorCode.Refused, message);
                    break;
                default:
                    FrameWriter.WriteGoAway(o, ProtocolErrorCode.Refused, message);
                    break;
            }
        });

        frame.Type.Should().Be(type);
        frame.Channel.Should().Be(type == FrameType.GoAway ? 0u : 5u);
        ((ProtocolErrorCode)frame.Value).Should().Be(ProtocolErrorCode.Refused);
        frame.Message.Should().Be(message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(255)]
    [InlineData(256)]
    [InlineData(65535)]
    [InlineData(65536)]
    public void Data_keeps_its_bytes(int length)
    {
        var payload = SampleFrames.Payload(length, seed: length);

        var frame = RoundTrip(o => FrameWriter.WriteData(o, 9, payload));

        frame.Type.Should().Be(FrameType.Data);
        frame.Channel.Should().Be(9);
        frame.Payload.Length.Should().Be(length);
        frame.Payload.ToArray().Should().Equal(payload);
    }

    [Fact]
    public void Data_written_from_a_multi_segment_sequence_keeps_its_bytes()
    {
        var payload = SampleFrames.Payload(1000);

        var frame = RoundTrip(o => FrameWriter.WriteData(o, 9, EdgeAgent.Testing.Buffers.SequenceFactory.Chunked(payload, 77)));

        frame.Payload.ToArray().Should().Equal(payload);
    }

    [Fact]
    public void Data_frame_exactly_at_the_frame_limit_parses_and_one_byte_more_does_not()
    {
        const int limit = 1024 * 1024;

        // The limit bounds the envelope (everything after the 4-byte prefix): array header, type,
        // channel, bin32 header, payload.
        var overhead = 1 + 1 + FrameWriter.UIntSize(9) + FrameWriter.BinHeaderSize(limit);
        var fits = SampleFrames.Payload(limit - overhead);
        var bytes = SampleFrames.Encode(o => FrameWriter.WriteData(o, 9, fits));
        bytes.Length.Should().Be(FrameReader.PrefixLength + limit);

        SampleFrames.ParseOne(bytes, limit).Payload.Length.Should().Be(fits.Length);

        var tooBig = SampleFrames.Encode(o => FrameWriter.WriteData(o, 9, SampleFrames.Payload(fits.Length + 1)));
        FluentActions.Invoking(() => SampleFrames.ParseOne(tooBig, limit))
            .Should().Throw<ProtocolException>().Which.Code.Should().Be(ProtocolErrorCode.FrameTooLarge);
    }

    [Fact]
    public void Window_update_keeps_channel_and_increment()
    {
        var frame = RoundTrip(o => FrameWriter.WriteWindowUpdate(o, 70000, uint.MaxValue));

        frame.Type.Should().Be(FrameType.WindowUpdate);
        frame.Channel.Should().Be(70000);
        frame.Value.Should().Be(uint.MaxValue);
    }

    [Fact]
    public void Several_frames_in_one_buffer_parse_one_after_another()
    {
        var all = SampleFrames.All.SelectMany(f => f.Bytes).ToArray();
        var buffer = new ReadOnlySequence<byte>(all);
        var types = new List<FrameType>();

        while (FrameReader.TryParse(ref buffer, 1024 * 1024, out var frame))
        {
            types.Add(frame.Type);
        }

        buffer.IsEmpty.Should().BeTrue();
        types.Should().HaveCount(SampleFrames.All.Count);
    }

    [Fact]
    public void Decoded_data_payload_is_a_slice_of_the_input_not_a_copy()
    {
        var payload = SampleFrames.Payload(64 * 1024);
        var bytes = SampleFrames.Encode(o => FrameWriter.WriteData(o, 9, payload));

        var frame = SampleFrames.ParseOne(bytes);

        frame.Payload.IsSingleSegment.Should().BeTrue();
        MemoryMarshal.TryGetArray(frame.Payload.First, out var segment).Should().BeTrue();
        segment.Array.Should().BeSameAs(bytes);
        segment.Offset.Should().Be(bytes.Length - payload.Length);
    }

    [Fact]
    public void Decoded_open_payload_is_a_slice_of_the_input()
    {
        var bytes = SampleFrames.Encode(o => FrameWriter.WriteOpen(o, 3, 1, SampleFrames.Payload(100)));

        var frame = SampleFrames.ParseOne(bytes);

        MemoryMarshal.TryGetArray(frame.Payload.First, out var segment).Should().BeTrue();
        segment.Array.Should().BeSameAs(bytes);
    }

    [Fact]
    public void Written_size_matches_the_length_prefix_for_every_sample()
    {
        foreach (var (name, bytes) in SampleFrames.All)
        {
            var declared = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes);
            ((long)declared).Should().Be(bytes.Length - FrameReader.PrefixLength, name);
        }
    }
}
