using System.Buffers;
using EdgeAgent.Protocol.Frames;
using EdgeAgent.Testing.Buffers;
using MessagePack;

namespace EdgeAgent.Protocol.Tests.Frames;

/// <summary>Hostile envelopes at the parser: each must fail with its specific code, or be tolerated where the protocol says so.</summary>
public sealed class FrameReaderHostileTests
{
    private const int Limit = 64 * 1024;

    private static ProtocolErrorCode Fails(byte[] bytes, int maxFrameSize = Limit)
    {
        var buffer = new ReadOnlySequence<byte>(bytes);
        var act = () => FrameReader.TryParse(ref buffer, maxFrameSize, out _);
        return act.Should().Throw<ProtocolException>().Which.Code;
    }

    private static Frame Parses(byte[] bytes) => SampleFrames.ParseOne(bytes, Limit);

    /// <summary>
    /// A handshake request with the fields of protocol 1.0 only (limits 2048/4096/8, no labels or
    /// capabilities), then one trailing field written by <paramref name="trailing"/>, if any.
    /// </summary>
    private static byte[] MinimalHandshakeRequest(int minor, EnvelopeBody? trailing = null) =>
        Envelope.Frame((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(trailing is null ? 10 : 11);
            w.Write(1);
            w.Write(0);
            w.Write(1);
            w.Write(minor);
            w.Write("agent");
            w.WriteArrayHeader(6);
            for (var i = 0; i < 5; i++)
            {
                w.Write("x");
            }

            w.WriteNil();
            w.WriteArrayHeader(0);
            w.Write(2048);
            w.Write(4096);
            w.Write(8);
            trailing?.Invoke(ref w);
        });

    [Theory]
    [InlineData(Limit + 1u)]
    [InlineData(0x7fff_ffffu)]
    [InlineData(uint.MaxValue)]
    public void A_length_prefix_over_the_limit_fails_with_only_the_prefix_present(uint length)
    {
        var prefix = new byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(prefix, length);

        Fails(prefix).Should().Be(ProtocolErrorCode.FrameTooLarge);

        // And when the prefix itself arrives in pieces.
        var split = SequenceFactory.OneBytePerSegment(prefix);
        FluentActions.Invoking(() => FrameReader.TryParse(ref split, Limit, out _))
            .Should().Throw<ProtocolException>().Which.Code.Should().Be(ProtocolErrorCode.FrameTooLarge);
    }

    [Fact]
    public void A_length_prefix_at_the_limit_waits_for_the_body()
    {
        var prefix = new byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(prefix, Limit);
        var buffer = new ReadOnlySequence<byte>(prefix);

        FrameReader.TryParse(ref buffer, Limit, out _).Should().BeFalse();
    }

    [Fact]
    public void A_zero_length_frame_is_invalid() => Fails([0, 0, 0, 0]).Should().Be(ProtocolErrorCode.InvalidFrame);

    [Theory]
    [InlineData(new byte[] { 0xc1 })]                  // never-used code
    [InlineData(new byte[] { 0x05 })]                  // not an array
    [InlineData(new byte[] { 0x91, 0x03 })]            // one field
    [InlineData(new byte[] { 0x90 })]                  // no fields
    [InlineData(new byte[] { 0x92, 0xa1, 0x41, 0x00 })] // type is a string
    [InlineData(new byte[] { 0x92, 0xff, 0x00 })]      // negative type
    [InlineData(new byte[] { 0x92, 0x03, 0xc3 })]      // channel is a bool
    [InlineData(new byte[] { 0x93, 0x03, 0x00 })]      // ping without its value (count says 3)
    [InlineData(new byte[] { 0x92, 0x03, 0x00 })]      // ping with too few fields
    [InlineData(new byte[] { 0x93, 0x03, 0x00, 0x01, 0x00 })] // a byte after the envelope
    [InlineData(new byte[] { 0xdd, 0x7f, 0xff, 0xff, 0xff, 0x03, 0x00 })] // array32 count far beyond the bytes
    [InlineData(new byte[] { 0xdd, 0xff, 0xff, 0xff, 0xff, 0x03, 0x00 })] // array32 count that overflows int
    [InlineData(new byte[] { 0x93, 0x08, 0x01, 0xa3, 0x61, 0x62, 0x63 })] // data payload is a string
    [InlineData(new byte[] { 0x93, 0x08, 0x01, 0xc6, 0x7f, 0xff, 0xff, 0xff })] // bin32 longer than the frame
    [InlineData(new byte[] { 0x93, 0x03, 0x00, 0xcf, 0xff })] // truncated uint64 value
    [InlineData(new byte[] { 0x94, 0x03, 0x00, 0x01, 0xdf, 0x7f, 0xff, 0xff, 0xff })] // trailing map32 with a count lie
    [InlineData(new byte[] { 0x94, 0x03, 0x00, 0x01, 0xd9 })] // trailing str8 without its length
    [InlineData(new byte[] { 0x94, 0x03, 0x00, 0x01, 0xc7, 0x05, 0x01 })] // trailing ext8 shorter than declared
    [InlineData(new byte[] { 0x94, 0x03, 0x00, 0x01, 0xc1 })] // trailing never-used code
    [InlineData(new byte[] { 0x94, 0x0b, 0x01, 0x01, 0x01 })] // reset whose message is an integer
    public void Malformed_envelopes_are_invalid_frames(byte[] envelope)
    {
        Fails(Envelope.WithPrefix(envelope)).Should().Be(ProtocolErrorCode.InvalidFrame);
    }

    [Fact]
    public void A_handshake_with_too_few_fields_is_invalid() =>
        Fails(Envelope.Frame((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(5);
            w.Write(1);
            w.Write(0);
            w.Write(1);
            w.Write(0);
            w.Write("agent");
        })).Should().Be(ProtocolErrorCode.InvalidFrame);

    [Fact]
    public void Too_many_labels_or_capabilities_are_refused()
    {
        byte[] Hello(int labels, int capabilities) => Envelope.Frame((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(10);
            w.Write(1);
            w.Write(0);
            w.Write(1);
            w.Write(0);
            w.Write("agent");
            w.WriteArrayHeader(6);
            for (var i = 0; i < 5; i++)
            {
                w.Write("x");
            }

            w.WriteMapHeader(labels);
            for (var i = 0; i < labels; i++)
            {
                w.Write($"k{i}");
                w.Write("v");
            }

            w.WriteArrayHeader(capabilities);
            for (var i = 0; i < capabilities; i++)
            {
                w.Write("c");
            }

            w.Write(1 << 20);
            w.Write(1 << 20);
            w.Write(16);
        });

        Parses(Hello(FrameReader.MaxLabels, FrameReader.MaxCapabilities)).HandshakeRequest!.Info.Labels.Should().HaveCount(FrameReader.MaxLabels);
        Fails(Hello(FrameReader.MaxLabels + 1, 0)).Should().Be(ProtocolErrorCode.InvalidFrame);
        Fails(Hello(0, FrameReader.MaxCapabilities + 1)).Should().Be(ProtocolErrorCode.InvalidFrame);
    }

    public static TheoryData<byte[]> InvalidUtf8 => new(
        [0xff],                   // never valid
        [0xc0, 0x80],             // overlong NUL
        [0xe0, 0x80, 0xaf],       // overlong '/'
        [0xed, 0xa0, 0x80],       // UTF-16 surrogate
        [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
        [0x41, 0xe2, 0x82],       // truncated sequence
        [0x80, 0x41]);            // lone continuation byte

    [Theory]
    [MemberData(nameof(InvalidUtf8))]
    public void Invalid_utf8_in_a_message_is_refused(byte[] utf8)
    {
        var bytes = Envelope.Frame((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(4);
            w.Write((byte)FrameType.GoAway);
            w.Write(0);
            w.Write(1);
            Envelope.WriteRawString(ref w, utf8);
        });

        Fails(bytes).Should().Be(ProtocolErrorCode.InvalidUtf8);

        // Also when the string is split across segments (the multi-segment decode path).
        var split = SequenceFactory.Split(bytes, bytes.Length - 1);
        FluentActions.Invoking(() => FrameReader.TryParse(ref split, Limit, out _))
            .Should().Throw<ProtocolException>().Which.Code.Should().Be(ProtocolErrorCode.InvalidUtf8);
    }

    [Theory]
    [MemberData(nameof(InvalidUtf8))]
    public void Invalid_utf8_in_a_handshake_label_is_refused(byte[] utf8)
    {
        var bytes = Envelope.Frame((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(10);
            w.Write(1);
            w.Write(0);
            w.Write(1);
            w.Write(0);
            w.Write("agent");
            w.WriteArrayHeader(6);
            for (var i = 0; i < 5; i++)
            {
                w.Write("x");
            }

            w.WriteMapHeader(1);
            w.Write("site");
            Envelope.WriteRawString(ref w, utf8);
            w.WriteArrayHeader(0);
            w.Write(1 << 20);
            w.Write(1 << 20);
            w.Write(16);
        });

        Fails(bytes).Should().Be(ProtocolErrorCode.InvalidUtf8);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(13)]
    [InlineData(127)]
    [InlineData(255)]
    [InlineData(256)]
    [InlineData(100_000)]
    public void Unknown_frame_types_parse_as_unknown_with_their_fields_skipped(int type)
    {
        var bytes = Envelope.Frame((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(5);
            w.Write(type);
            w.Write(3);
            w.Write("future");
            w.WriteMapHeader(1);
            w.Write("k");
            w.WriteArrayHeader(2);
            w.Write(1.5);
            w.WriteNil();
            w.Write(new byte[] { 1, 2, 3 });
        });

        var frame = Parses(bytes);

        frame.IsUnknownType.Should().BeTrue();
        frame.Channel.Should().Be(3);
    }

    [Fact]
    public void Extra_trailing_fields_are_skipped()
    {
        var bytes = Envelope.Frame((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(7);
            w.Write((byte)FrameType.Ping);
            w.Write(0);
            w.Write(99UL);
            w.Write("a newer field");
            w.WriteMapHeader(2);
            w.Write(1);
            w.WriteArrayHeader(1);
            w.Write(true);
            w.Write("x");
            w.WriteExtensionFormat(new ExtensionResult(5, new byte[] { 9, 9 }));
            w.WriteNil();
            w.Write(-3);
        });

        var frame = Parses(bytes);

        frame.Type.Should().Be(FrameType.Ping);
        frame.Value.Should().Be(99);
    }

    [Fact]
    public void Extra_fields_in_the_handshake_info_and_response_are_skipped()
    {
        var request = Envelope.Frame((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(12);
            w.Write(1);
            w.Write(0);
            w.Write(1);
            w.Write(9);
            w.Write("agent");
            w.WriteArrayHeader(8);
            for (var i = 0; i < 5; i++)
            {
                w.Write("x");
            }

            w.WriteNil();                 // labels may be nil
            w.Write("a newer info field");
            w.WriteArrayHeader(0);
            w.WriteArrayHeader(1);
            w.Write("cap");
            w.Write(2048);
            w.Write(4096);
            w.Write(8);
            w.Write(65536);               // connection window (1.1)
            w.Write("a newer handshake field");
        });

        var read = Parses(request).HandshakeRequest!;
        read.Minor.Should().Be(9);
        read.Info.Labels.Should().BeEmpty();
        read.Capabilities.Should().Equal("cap");
        read.Limits.Should().Be(new SessionLimits(2048, 4096, 8, 65536));
    }

    [Fact]
    public void A_handshake_from_a_1_0_peer_without_the_connection_window_reads_as_zero()
    {
        var request = MinimalHandshakeRequest(minor: 0);

        Parses(request).HandshakeRequest!.Limits.Should().Be(new SessionLimits(2048, 4096, 8, ConnectionWindow: 0));
    }

    [Fact]
    public void A_trailing_field_of_another_type_where_the_connection_window_goes_is_skipped_as_unknown()
    {
        var request = MinimalHandshakeRequest(minor: 0, (ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(1);
            w.Write("a newer field");
        });

        Parses(request).HandshakeRequest!.Limits.ConnectionWindow.Should().Be(0);
    }

    [Fact]
    public void A_connection_window_that_is_a_negative_integer_is_an_invalid_frame()
    {
        var request = MinimalHandshakeRequest(minor: 1, (ref MessagePackWriter w) => w.Write(-1));

        Fails(request).Should().Be(ProtocolErrorCode.InvalidFrame);
    }

    [Theory]
    [InlineData(100_000)]
    [InlineData(1_000_000)]
    public void Deeply_nested_trailing_arrays_do_not_overflow_the_stack(int depth)
    {
        var bytes = Envelope.Frame((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(4);
            w.Write((byte)FrameType.Ping);
            w.Write(0);
            w.Write(7UL);
            Envelope.WriteNestedArrays(ref w, depth);
        });

        var buffer = new ReadOnlySequence<byte>(bytes);
        FrameReader.TryParse(ref buffer, 4 * 1024 * 1024, out var frame).Should().BeTrue();

        frame.Value.Should().Be(7);
    }

    [Fact]
    public void Deeply_nested_maps_and_unknown_types_do_not_overflow_the_stack()
    {
        var bytes = Envelope.Frame((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(3);
            w.Write(200);
            w.Write(0);
            for (var i = 0; i < 100_000; i++)
            {
                w.WriteMapHeader(1);
                w.Write(i % 100);
            }

            w.WriteNil();
        });

        var buffer = new ReadOnlySequence<byte>(bytes);
        FrameReader.TryParse(ref buffer, 4 * 1024 * 1024, out var frame).Should().BeTrue();

        frame.IsUnknownType.Should().BeTrue();
    }

    [Fact]
    public void Deeply_nested_arrays_cut_short_are_invalid_not_a_crash()
    {
        var bytes = Envelope.Frame((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(4);
            w.Write((byte)FrameType.Ping);
            w.Write(0);
            w.Write(7UL);
            for (var i = 0; i < 100_000; i++)
            {
                w.WriteArrayHeader(2);
                w.Write(1);
            }
        });

        Fails(bytes, 4 * 1024 * 1024).Should().Be(ProtocolErrorCode.InvalidFrame);
    }

    [Fact]
    public void A_nil_data_payload_is_empty()
    {
        var frame = Parses(Envelope.WithPrefix([0x93, 0x08, 0x01, 0xc0]));

        frame.Type.Should().Be(FrameType.Data);
        frame.Payload.IsEmpty.Should().BeTrue();
    }

    [Fact]
    public void A_handshake_value_out_of_int_range_is_invalid()
    {
        var bytes = Envelope.Frame((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(11);
            w.Write(2);
            w.Write(0);
            w.Write(1);
            w.Write(0);
            w.Write(0);
            w.Write("");
            w.Write("");
            w.Write(1 << 20);
            w.Write(1 << 20);
            w.Write(16);
            w.Write((ulong)int.MaxValue + 1);
        });

        Fails(bytes).Should().Be(ProtocolErrorCode.InvalidFrame);
    }
}
