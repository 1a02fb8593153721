using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using EdgeAgent.Protocol.Contracts;
using MessagePack;

namespace EdgeAgent.Protocol.Frames;

/// <summary>
/// Parses frames: a 4-byte big-endian length followed by a MessagePack array envelope
/// <c>[type, channel, ...]</c>. The length is checked against the limit before the body is
/// buffered; every count is checked against the bytes that remain; unknown trailing fields are
/// skipped without recursion; strings must be valid UTF-8.
/// </summary>
internal static class FrameReader
{
    /// <summary>Size of the length prefix.</summary>
    public const int PrefixLength = 4;

    /// <summary>Most labels an agent may declare in its handshake.</summary>
    public const int MaxLabels = 128;

    /// <summary>Most capabilities an agent may declare in its handshake.</summary>
    public const int MaxCapabilities = 128;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// Tries to parse one frame from <paramref name="buffer"/>. On success slices the buffer past
    /// the frame; when the frame is incomplete returns false and leaves the buffer alone.
    /// </summary>
    /// <exception cref="ProtocolException">The input violates the protocol.</exception>
    public static bool TryParse(ref ReadOnlySequence<byte> buffer, int maxFrameSize, out Frame frame)
    {
        frame = default;
        if (buffer.Length < PrefixLength)
        {
            return false;
        }

        uint length;
        var first = buffer.FirstSpan;
        if (first.Length >= PrefixLength)
        {
            length = BinaryPrimitives.ReadUInt32BigEndian(first);
        }
        else
        {
            Span<byte> prefix = stackalloc byte[PrefixLength];
            buffer.Slice(0, PrefixLength).CopyTo(prefix);
            length = BinaryPrimitives.ReadUInt32BigEndian(prefix);
        }

        // Limits before trust: refuse before a single byte of the body is buffered.
        if (length > (uint)maxFrameSize)
        {
            throw new ProtocolException(ProtocolErrorCode.FrameTooLarge, $"Frame of {length} bytes exceeds the limit of {maxFrameSize} bytes.");
        }

        if (length == 0)
        {
            throw new ProtocolException(ProtocolErrorCode.InvalidFrame, "Empty frame.");
        }

        if (buffer.Length - PrefixLength < length)
        {
            return false;
        }

        // Fast path: the whole frame in the first segment, parsed from the span without slicing the sequence first.
        if (first.Length >= PrefixLength + length && TryParseHotFrame(buffer, first.Slice(PrefixLength, (int)length), out frame))
        {
            buffer = buffer.Slice(PrefixLength + length);
            return true;
        }

        var body = buffer.Slice(PrefixLength, length);
        frame = ParseEnvelope(body);
        buffer = buffer.Slice(body.End);
        return true;
    }

    /// <summary>
    /// The fast path: the hot frames (ping, pong, window update, data, open, accept, close) in the
    /// canonical encoding <see cref="FrameWriter"/> produces, read straight from one span. Anything
    /// else — other integer encodings, trailing fields, other types, malformed bytes — returns
    /// false and goes to the general reader, which decides (and is what the split tests check
    /// this path against).
    /// </summary>
    /// <param name="buffer">The input, starting at the frame's length prefix: payloads are sliced from it.</param>
    /// <param name="span">The envelope (after the prefix), contiguous.</param>
    /// <param name="frame">The frame.</param>
    private static bool TryParseHotFrame(in ReadOnlySequence<byte> buffer, ReadOnlySpan<byte> span, out Frame frame)
    {
        frame = default;
        if (span.Length < 3 || span[0] is < 0x92 or > 0x94)
        {
            return false;
        }

        var count = span[0] & 0x0f;
        var type = (FrameType)span[1];
        var position = 2;
        if (!TryReadCompactUInt(span, ref position, out var channelValue))
        {
            return false;
        }

        var channel = (uint)Math.Min(channelValue, uint.MaxValue);
        switch (type)
        {
            case FrameType.Ping or FrameType.Pong or FrameType.WindowUpdate when count == 3:
                if (!TryReadCompactUInt(span, ref position, out var value))
                {
                    return false;
                }

                frame = new Frame { Type = type, Channel = channel, Value = value };
                break;

            case FrameType.Data when count == 3:
                if (!TryReadBinSlice(buffer, span, ref position, out var data))
                {
                    return false;
                }

                frame = new Frame { Type = type, Channel = channel, Payload = data };
                break;

            case FrameType.Open when count == 4:
                if (!TryReadCompactUInt(span, ref position, out var kind) || !TryReadBinSlice(buffer, span, ref position, out var payload))
                {
                    return false;
                }

                frame = new Frame { Type = type, Channel = channel, Value = kind, Payload = payload };
                break;

            case FrameType.Accept or FrameType.Close when count == 2:
                frame = new Frame { Type = type, Channel = channel };
                break;

            default:
                return false;
        }

        return position == span.Length;
    }

    /// <summary>Positive fixint, uint8, uint16, uint32 or uint64; false for any other code or too few bytes.</summary>
    private static bool TryReadCompactUInt(ReadOnlySpan<byte> span, ref int position, out ulong value)
    {
        value = 0;
        if (position >= span.Length)
        {
            return false;
        }

        var code = span[position];
        var rest = span[(position + 1)..];
        switch (code)
        {
            case <= 0x7f:
                value = code;
                position += 1;
                return true;
            case 0xcc when rest.Length >= 1:
                value = rest[0];
                position += 2;
                return true;
            case 0xcd when rest.Length >= 2:
                value = BinaryPrimitives.ReadUInt16BigEndian(rest);
                position += 3;
                return true;
            case 0xce when rest.Length >= 4:
                value = BinaryPrimitives.ReadUInt32BigEndian(rest);
                position += 5;
                return true;
            case 0xcf when rest.Length >= 8:
                value = BinaryPrimitives.ReadUInt64BigEndian(rest);
                position += 9;
                return true;
            default:
                return false;
        }
    }

    /// <summary>Nil or bin8/16/32 whose bytes are all present; the payload is a slice of <paramref name="buffer"/> (which starts at the length prefix), not a copy.</summary>
    private static bool TryReadBinSlice(in ReadOnlySequence<byte> buffer, ReadOnlySpan<byte> span, ref int position, out ReadOnlySequence<byte> payload)
    {
        payload = ReadOnlySequence<byte>.Empty;
        if (position >= span.Length)
        {
            return false;
        }

        var rest = span[(position + 1)..];
        int header;
        long length;
        switch (span[position])
        {
            case 0xc0:
                position += 1;
                return true;
            case 0xc4 when rest.Length >= 1:
                header = 2;
                length = rest[0];
                break;
            case 0xc5 when rest.Length >= 2:
                header = 3;
                length = BinaryPrimitives.ReadUInt16BigEndian(rest);
                break;
            case 0xc6 when rest.Length >= 4:
                header = 5;
                length = BinaryPrimitives.ReadUInt32BigEndian(rest);
                break;
            default:
                return false;
        }

        if (length > span.Length - position - header)
        {
            return false;
        }

        payload = buffer.Slice(PrefixLength + position + header, length);
        position += header + (int)length;
        return true;
    }

    /// <summary>Parses one envelope (without its length prefix).</summary>
    public static Frame ParseEnvelope(ReadOnlySequence<byte> body)
    {
        var reader = new MessagePackReader(body);
        try
        {
            var frame = ReadEnvelope(ref reader);
            if (!reader.End)
            {
                throw new ProtocolException(ProtocolErrorCode.InvalidFrame, "Bytes after the envelope.");
            }

            return frame;
        }
        catch (ProtocolException)
        {
            throw;
        }
        catch (Exception ex) when (ex is MessagePackSerializationException or EndOfStreamException or InvalidOperationException or OverflowException or ArgumentException)
        {
            throw new ProtocolException(ProtocolErrorCode.InvalidFrame, "Malformed frame envelope.", ex);
        }
    }

    private static Frame ReadEnvelope(ref MessagePackReader reader)
    {
        if (reader.NextMessagePackType != MessagePackType.Array)
        {
            throw new ProtocolException(ProtocolErrorCode.InvalidFrame, "The envelope is not an array.");
        }

        var count = ReadCount(ref reader, isMap: false);
        if (count < 2)
        {
            throw new ProtocolException(ProtocolErrorCode.InvalidFrame, "The envelope has fewer than two fields.");
        }

        var typeValue = ReadUInt(ref reader, "type");
        var channel = (uint)Math.Min(ReadUInt(ref reader, "channel"), uint.MaxValue);
        if (typeValue > byte.MaxValue)
        {
            // An unknown (future) frame type: skip its fields; the session ignores it.
            SkipFields(ref reader, count - 2);
            return new Frame { Type = (FrameType)0, Channel = channel };
        }

        var type = (FrameType)typeValue;
        var remaining = count - 2;
        Frame frame;
        switch (type)
        {
            case FrameType.Ping:
            case FrameType.Pong:
            case FrameType.WindowUpdate:
                Require(remaining, 1, type);
                frame = new Frame { Type = type, Channel = channel, Value = ReadUInt(ref reader, "value") };
                remaining -= 1;
                break;

            case FrameType.Data:
                Require(remaining, 1, type);
                frame = new Frame { Type = type, Channel = channel, Payload = ReadBin(ref reader) };
                remaining -= 1;
                break;

            case FrameType.Open:
                Require(remaining, 2, type);
                var kind = ReadUInt(ref reader, "kind");
                frame = new Frame { Type = type, Channel = channel, Value = kind, Payload = ReadBin(ref reader) };
                remaining -= 2;
                break;

            case FrameType.Accept:
            case FrameType.Close:
                frame = new Frame { Type = type, Channel = channel };
                break;

            case FrameType.Reject:
            case FrameType.Reset:
            case FrameType.GoAway:
                Require(remaining, 2, type);
                var code = ReadUInt(ref reader, "code");
                frame = new Frame { Type = type, Channel = channel, Value = code, Message = ReadString(ref reader) ?? "" };
                remaining -= 2;
                break;

            case FrameType.HandshakeRequest:
                Require(remaining, 8, type);
                var request = ReadHandshakeRequest(ref reader);
                remaining -= 8;
                if (remaining > 0 && reader.NextMessagePackType == MessagePackType.Integer)
                {
                    // 1.1's connection window; a trailing field of another type is a newer peer's
                    // unknown field and is skipped below like any other.
                    request = request with { Limits = request.Limits with { ConnectionWindow = ReadInt(ref reader, "connectionWindow") } };
                    remaining -= 1;
                }

                frame = new Frame { Type = type, Channel = channel, HandshakeRequest = request };
                break;

            case FrameType.HandshakeResponse:
                Require(remaining, 9, type);
                var response = ReadHandshakeResponse(ref reader);
                remaining -= 9;
                if (remaining > 0 && reader.NextMessagePackType == MessagePackType.Integer)
                {
                    response = response with { Limits = response.Limits with { ConnectionWindow = ReadInt(ref reader, "connectionWindow") } };
                    remaining -= 1;
                }

                frame = new Frame { Type = type, Channel = channel, HandshakeResponse = response };
                break;

            default:
                frame = new Frame { Type = type, Channel = channel };
                break;
        }

        SkipFields(ref reader, remaining);
        return frame;
    }

    private static HandshakeRequest ReadHandshakeRequest(ref MessagePackReader reader)
    {
        var major = ReadInt(ref reader, "major");
        var minor = ReadInt(ref reader, "minor");
        var agentId = ReadString(ref reader) ?? "";

        var infoCount = ReadCount(ref reader, isMap: false);
        Require(infoCount, 6, FrameType.HandshakeRequest);
        var info = new AgentInfo
        {
            Hostname = ReadString(ref reader) ?? "",
            OperatingSystem = ReadString(ref reader) ?? "",
            Architecture = ReadString(ref reader) ?? "",
            AgentVersion = ReadString(ref reader) ?? "",
            EngineVersion = ReadString(ref reader) ?? "",
            Labels = ReadStringMap(ref reader),
        };
        SkipFields(ref reader, infoCount - 6);

        var capabilityCount = ReadCount(ref reader, isMap: false);
        if (capabilityCount > MaxCapabilities)
        {
            throw new ProtocolException(ProtocolErrorCode.InvalidFrame, $"More than {MaxCapabilities} capabilities.");
        }

        var capabilities = new string[capabilityCount];
        for (var i = 0; i < capabilityCount; i++)
        {
            capabilities[i] = ReadString(ref reader) ?? "";
        }

        var limits = new SessionLimits(ReadInt(ref reader, "maxFrameSize"), ReadInt(ref reader, "initialWindow"), ReadInt(ref reader, "maxChannels"));
        return new HandshakeRequest(major, minor, agentId, info, capabilities, limits);
    }

    private static HandshakeResponse ReadHandshakeResponse(ref MessagePackReader reader)
    {
        var major = ReadInt(ref reader, "major");
        var minor = ReadInt(ref reader, "minor");
        var code = (ProtocolErrorCode)ReadInt(ref reader, "code");
        var message = ReadString(ref reader) ?? "";
        var serverName = ReadString(ref reader) ?? "";
        var limits = new SessionLimits(ReadInt(ref reader, "maxFrameSize"), ReadInt(ref reader, "initialWindow"), ReadInt(ref reader, "maxChannels"));
        var keepalive = TimeSpan.FromMilliseconds(ReadInt(ref reader, "keepaliveMs"));
        return new HandshakeResponse(major, minor, code, message, serverName, limits, keepalive);
    }

    private static Dictionary<string, string> ReadStringMap(ref MessagePackReader reader)
    {
        if (reader.TryReadNil())
        {
            return [];
        }

        var count = ReadCount(ref reader, isMap: true);
        if (count > MaxLabels)
        {
            throw new ProtocolException(ProtocolErrorCode.InvalidFrame, $"More than {MaxLabels} labels.");
        }

        var map = new Dictionary<string, string>(count, StringComparer.Ordinal);
        for (var i = 0; i < count; i++)
        {
            var key = ReadString(ref reader) ?? "";
            map[key] = ReadString(ref reader) ?? "";
        }

        return map;
    }

    private static void Require(int available, int required, FrameType type)
    {
        if (available < required)
        {
            throw new ProtocolException(ProtocolErrorCode.InvalidFrame, $"{type} frame has too few fields.");
        }
    }

    /// <summary>Reads an array or map header and checks it against the bytes that remain.</summary>
    private static int ReadCount(ref MessagePackReader reader, bool isMap)
    {
        var expected = isMap ? MessagePackType.Map : MessagePackType.Array;
        if (reader.NextMessagePackType != expected)
        {
            throw new ProtocolException(ProtocolErrorCode.InvalidFrame, $"Expected {(isMap ? "a map" : "an array")}.");
        }

        // Each element takes at least one byte (two for a map entry): a count larger than what
        // remains is a lie, and nothing is allocated for it.
        var count = isMap ? reader.ReadMapHeader() : reader.ReadArrayHeader();
        var remaining = reader.Sequence.Length - reader.Consumed;
        if (count < 0 || (long)count * (isMap ? 2 : 1) > remaining)
        {
            throw new ProtocolException(ProtocolErrorCode.InvalidFrame, "A count exceeds the bytes that remain.");
        }

        return count;
    }

    private static ulong ReadUInt(ref MessagePackReader reader, string field)
    {
        if (reader.NextMessagePackType != MessagePackType.Integer)
        {
            throw new ProtocolException(ProtocolErrorCode.InvalidFrame, $"Field '{field}' is not an integer.");
        }

        var code = reader.NextCode;
        if (code is >= MessagePackCode.MinNegativeFixInt or MessagePackCode.Int8 or MessagePackCode.Int16 or MessagePackCode.Int32 or MessagePackCode.Int64)
        {
            var signed = reader.ReadInt64();
            if (signed < 0)
            {
                throw new ProtocolException(ProtocolErrorCode.InvalidFrame, $"Field '{field}' is negative.");
            }

            return (ulong)signed;
        }

        return reader.ReadUInt64();
    }

    private static int ReadInt(ref MessagePackReader reader, string field)
    {
        var value = ReadUInt(ref reader, field);
        if (value > int.MaxValue)
        {
            throw new ProtocolException(ProtocolErrorCode.InvalidFrame, $"Field '{field}' is out of range.");
        }

        return (int)value;
    }

    private static ReadOnlySequence<byte> ReadBin(ref MessagePackReader reader)
    {
        if (reader.TryReadNil())
        {
            return ReadOnlySequence<byte>.Empty;
        }

        if (reader.NextMessagePackType != MessagePackType.Binary)
        {
            throw new ProtocolException(ProtocolErrorCode.InvalidFrame, "Expected binary data.");
        }

        // A slice of the input: the bytes are not copied here.
        return reader.ReadBytes() ?? ReadOnlySequence<byte>.Empty;
    }

    /// <summary>Reads a string (or nil) and requires valid UTF-8.</summary>
    public static string? ReadString(ref MessagePackReader reader)
    {
        if (reader.TryReadNil())
        {
            return null;
        }

        if (reader.NextMessagePackType != MessagePackType.String)
        {
            throw new ProtocolException(ProtocolErrorCode.InvalidFrame, "Expected a string.");
        }

        try
        {
            if (reader.TryReadStringSpan(out var span))
            {
                return StrictUtf8.GetString(span);
            }

            var sequence = reader.ReadStringSequence() ?? ReadOnlySequence<byte>.Empty;
            return StrictUtf8.GetString(sequence);
        }
        catch (DecoderFallbackException ex)
        {
            throw new ProtocolException(ProtocolErrorCode.InvalidUtf8, "A string is not valid UTF-8.", ex);
        }
    }

    /// <summary>
    /// Skips <paramref name="count"/> values without recursion, so a deeply nested trailing field
    /// cannot exhaust the stack.
    /// </summary>
    public static void SkipFields(ref MessagePackReader reader, long count)
    {
        while (count > 0)
        {
            count--;
            switch (reader.NextMessagePackType)
            {
                case MessagePackType.Array:
                    count += ReadCount(ref reader, isMap: false);
                    break;
                case MessagePackType.Map:
                    count += 2L * ReadCount(ref reader, isMap: true);
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }
    }
}
