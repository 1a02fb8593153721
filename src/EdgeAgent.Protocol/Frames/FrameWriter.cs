using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using MessagePack;

namespace EdgeAgent.Protocol.Frames;

/// <summary>
/// Writes frames to an <see cref="IBufferWriter{T}"/>. Hot frames (data, window update, ping,
/// pong, open, close) have their envelope size computed up front so the length prefix is written
/// first and nothing is buffered twice; data payload bytes are copied exactly once, into the
/// output. Rare frames that carry strings go through a small scratch buffer.
/// </summary>
internal static class FrameWriter
{
    /// <summary>Bytes a data frame needs beyond its payload, at most.</summary>
    public const int MaxDataFrameOverhead = FrameReader.PrefixLength + 1 + 1 + 5 + 5;

    public static void WriteData(IBufferWriter<byte> output, uint channel, ReadOnlySpan<byte> payload)
    {
        // One span for the whole frame: the frame lands contiguous in one buffer segment, so the
        // transport can send it without stitching segments together.
        var span = output.GetSpan(MaxDataFrameOverhead + payload.Length);
        var written = WriteDataHeader(span, channel, payload.Length);
        payload.CopyTo(span[written..]);
        output.Advance(written + payload.Length);
    }

    /// <summary>Writes a whole data frame into <paramref name="destination"/> (at least <see cref="MaxDataFrameOverhead"/> plus the payload long); returns its length.</summary>
    public static int WriteData(Span<byte> destination, uint channel, ReadOnlySpan<byte> payload)
    {
        var written = WriteDataHeader(destination, channel, payload.Length);
        payload.CopyTo(destination[written..]);
        return written + payload.Length;
    }

    public static void WriteData(IBufferWriter<byte> output, uint channel, in ReadOnlySequence<byte> payload)
    {
        WriteDataHeader(output, channel, checked((int)payload.Length));
        foreach (var segment in payload)
        {
            output.Write(segment.Span);
        }
    }

    /// <summary>Writes the prefix and envelope of a data frame whose <paramref name="payloadLength"/> bytes follow.</summary>
    public static void WriteDataHeader(IBufferWriter<byte> output, uint channel, int payloadLength) =>
        output.Advance(WriteDataHeader(output.GetSpan(MaxDataFrameOverhead), channel, payloadLength));

    private static int WriteDataHeader(Span<byte> span, uint channel, int payloadLength)
    {
        var envelope = 1 + 1 + UIntSize(channel) + BinHeaderSize(payloadLength) + payloadLength;
        BinaryPrimitives.WriteUInt32BigEndian(span, (uint)envelope);
        span[4] = FixArray3;
        span[5] = (byte)FrameType.Data;
        var written = 6 + WriteUInt(span[6..], channel);
        return written + WriteBinHeader(span[written..], payloadLength);
    }

    public static void WritePing(IBufferWriter<byte> output, ulong value) => WriteValueFrame(output, FrameType.Ping, 0, value);

    public static void WritePong(IBufferWriter<byte> output, ulong value) => WriteValueFrame(output, FrameType.Pong, 0, value);

    public static void WriteWindowUpdate(IBufferWriter<byte> output, uint channel, uint increment) => WriteValueFrame(output, FrameType.WindowUpdate, channel, increment);

    public static void WriteClose(IBufferWriter<byte> output, uint channel) => WriteBareFrame(output, FrameType.Close, channel);

    public static void WriteAccept(IBufferWriter<byte> output, uint channel) => WriteBareFrame(output, FrameType.Accept, channel);

    public static void WriteOpen(IBufferWriter<byte> output, uint channel, uint kind, ReadOnlySpan<byte> payload)
    {
        var envelope = 1 + 1 + UIntSize(channel) + UIntSize(kind) + BinHeaderSize(payload.Length) + payload.Length;
        var span = output.GetSpan(FrameReader.PrefixLength + 1 + 1 + 5 + 5 + 5);
        BinaryPrimitives.WriteUInt32BigEndian(span, (uint)envelope);
        span[4] = FixArray4;
        span[5] = (byte)FrameType.Open;
        var written = 6 + WriteUInt(span[6..], channel);
        written += WriteUInt(span[written..], kind);
        written += WriteBinHeader(span[written..], payload.Length);
        output.Advance(written);
        output.Write(payload);
    }

    public static void WriteReset(IBufferWriter<byte> output, uint channel, ProtocolErrorCode code, string message) => WriteCodeFrame(output, FrameType.Reset, channel, code, message);

    public static void WriteReject(IBufferWriter<byte> output, uint channel, ProtocolErrorCode code, string message) => WriteCodeFrame(output, FrameType.Reject, channel, code, message);

    public static void WriteGoAway(IBufferWriter<byte> output, ProtocolErrorCode code, string message) => WriteCodeFrame(output, FrameType.GoAway, 0, code, message);

    public static void WriteHandshakeRequest(IBufferWriter<byte> output, HandshakeRequest request)
    {
        var scratch = new ArrayBufferWriter<byte>(256);
        var writer = new MessagePackWriter(scratch);
        writer.WriteArrayHeader(11);
        writer.Write((byte)FrameType.HandshakeRequest);
        writer.Write(0u);
        writer.Write(request.Major);
        writer.Write(request.Minor);
        writer.Write(request.AgentId);
        writer.WriteArrayHeader(6);
        writer.Write(request.Info.Hostname);
        writer.Write(request.Info.OperatingSystem);
        writer.Write(request.Info.Architecture);
        writer.Write(request.Info.AgentVersion);
        writer.Write(request.Info.EngineVersion);
        writer.WriteMapHeader(request.Info.Labels.Count);
        foreach (var (key, value) in request.Info.Labels)
        {
            writer.Write(key);
            writer.Write(value);
        }

        writer.WriteArrayHeader(request.Capabilities.Count);
        foreach (var capability in request.Capabilities)
        {
            writer.Write(capability);
        }

        writer.Write(request.Limits.MaxFrameSize);
        writer.Write(request.Limits.InitialWindow);
        writer.Write(request.Limits.MaxChannels);
        writer.Write(request.Limits.ConnectionWindow);
        writer.Flush();
        WriteScratch(output, scratch);
    }

    public static void WriteHandshakeResponse(IBufferWriter<byte> output, HandshakeResponse response)
    {
        var scratch = new ArrayBufferWriter<byte>(128);
        var writer = new MessagePackWriter(scratch);
        writer.WriteArrayHeader(12);
        writer.Write((byte)FrameType.HandshakeResponse);
        writer.Write(0u);
        writer.Write(response.Major);
        writer.Write(response.Minor);
        writer.Write((int)response.Code);
        writer.Write(response.Message);
        writer.Write(response.ServerName);
        writer.Write(response.Limits.MaxFrameSize);
        writer.Write(response.Limits.InitialWindow);
        writer.Write(response.Limits.MaxChannels);
        writer.Write((long)response.KeepaliveInterval.TotalMilliseconds);
        writer.Write(response.Limits.ConnectionWindow);
        writer.Flush();
        WriteScratch(output, scratch);
    }

    private static void WriteValueFrame(IBufferWriter<byte> output, FrameType type, uint channel, ulong value)
    {
        // Hot frames are written byte by byte into one span: the same compact MessagePack encoding
        // MessagePackWriter produces (see FrameWriterEncodingTests), without its per-call overhead.
        var envelope = 1 + 1 + UIntSize(channel) + ULongSize(value);
        var span = output.GetSpan(FrameReader.PrefixLength + 1 + 1 + 5 + 9);
        BinaryPrimitives.WriteUInt32BigEndian(span, (uint)envelope);
        span[4] = FixArray3;
        span[5] = (byte)type;
        var written = 6 + WriteUInt(span[6..], channel);
        written += WriteULong(span[written..], value);
        output.Advance(written);
    }

    private static void WriteBareFrame(IBufferWriter<byte> output, FrameType type, uint channel)
    {
        var envelope = 1 + 1 + UIntSize(channel);
        var span = output.GetSpan(FrameReader.PrefixLength + 1 + 1 + 5);
        BinaryPrimitives.WriteUInt32BigEndian(span, (uint)envelope);
        span[4] = FixArray2;
        span[5] = (byte)type;
        output.Advance(6 + WriteUInt(span[6..], channel));
    }

    private const byte FixArray2 = 0x92;
    private const byte FixArray3 = 0x93;
    private const byte FixArray4 = 0x94;

    /// <summary>MessagePack's compact unsigned integer encoding (positive fixint, uint8/16/32).</summary>
    private static int WriteUInt(Span<byte> span, uint value)
    {
        switch (value)
        {
            case <= 0x7f:
                span[0] = (byte)value;
                return 1;
            case <= 0xff:
                span[0] = 0xcc;
                span[1] = (byte)value;
                return 2;
            case <= 0xffff:
                span[0] = 0xcd;
                BinaryPrimitives.WriteUInt16BigEndian(span[1..], (ushort)value);
                return 3;
            default:
                span[0] = 0xce;
                BinaryPrimitives.WriteUInt32BigEndian(span[1..], value);
                return 5;
        }
    }

    private static int WriteULong(Span<byte> span, ulong value)
    {
        if (value <= uint.MaxValue)
        {
            return WriteUInt(span, (uint)value);
        }

        span[0] = 0xcf;
        BinaryPrimitives.WriteUInt64BigEndian(span[1..], value);
        return 9;
    }

    /// <summary>MessagePack's bin header (bin8/16/32).</summary>
    private static int WriteBinHeader(Span<byte> span, int length)
    {
        switch (length)
        {
            case <= 0xff:
                span[0] = 0xc4;
                span[1] = (byte)length;
                return 2;
            case <= 0xffff:
                span[0] = 0xc5;
                BinaryPrimitives.WriteUInt16BigEndian(span[1..], (ushort)length);
                return 3;
            default:
                span[0] = 0xc6;
                BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)length);
                return 5;
        }
    }

    private static void WriteCodeFrame(IBufferWriter<byte> output, FrameType type, uint channel, ProtocolErrorCode code, string message)
    {
        var scratch = new ArrayBufferWriter<byte>(64 + message.Length * 3);
        var writer = new MessagePackWriter(scratch);
        writer.WriteArrayHeader(4);
        writer.Write((byte)type);
        writer.Write(channel);
        writer.Write((uint)code);
        writer.Write(message);
        writer.Flush();
        WriteScratch(output, scratch);
    }

    private static void WriteScratch(IBufferWriter<byte> output, ArrayBufferWriter<byte> scratch)
    {
        WritePrefix(output, scratch.WrittenCount);
        output.Write(scratch.WrittenSpan);
    }

    private static void WritePrefix(IBufferWriter<byte> output, int envelopeLength)
    {
        Debug.Assert(envelopeLength > 0);
        var span = output.GetSpan(FrameReader.PrefixLength);
        BinaryPrimitives.WriteUInt32BigEndian(span, (uint)envelopeLength);
        output.Advance(FrameReader.PrefixLength);
    }

    /// <summary>The size MessagePack's compact integer encoding gives <paramref name="value"/>.</summary>
    public static int UIntSize(uint value) => value switch
    {
        <= 0x7f => 1,
        <= 0xff => 2,
        <= 0xffff => 3,
        _ => 5,
    };

    public static int ULongSize(ulong value) => value <= uint.MaxValue ? UIntSize((uint)value) : 9;

    public static int BinHeaderSize(int length) => length switch
    {
        <= 0xff => 2,
        <= 0xffff => 3,
        _ => 5,
    };
}
