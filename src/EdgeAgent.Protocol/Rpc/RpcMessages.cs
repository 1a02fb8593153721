using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using EdgeAgent.Protocol.Frames;
using MessagePack;

namespace EdgeAgent.Protocol.Rpc;

/// <summary>Channel kinds carried by the open frame.</summary>
internal static class ChannelKinds
{
    /// <summary>A command: the open payload is an <see cref="RpcRequestHeader"/>.</summary>
    public const uint Command = 1;
}

/// <summary>The request of a command, carried in the open frame: <c>[name, key, deadlineUnixMs, payload]</c>.</summary>
internal readonly record struct RpcRequestHeader(string Name, string IdempotencyKey, long DeadlineUnixMs, ReadOnlyMemory<byte> Payload)
{
    public const int MaxNameLength = 256;
    public const int MaxKeyLength = 256;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_scratch;

    /// <summary>Encodes the header into a new array of exactly its size (one allocation: the encoding goes through a per-thread scratch buffer).</summary>
    public byte[] Encode()
    {
        var size = 32 + Name.Length + IdempotencyKey.Length + Payload.Length;
        var buffer = size <= 16 * 1024 ? t_scratch ??= new ArrayBufferWriter<byte>(16 * 1024) : new ArrayBufferWriter<byte>(size);
        buffer.ResetWrittenCount();
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(4);
        writer.Write(Name);
        writer.Write(IdempotencyKey);
        writer.Write(DeadlineUnixMs);
        writer.Write(Payload.Span);
        writer.Flush();
        var bytes = buffer.WrittenSpan.ToArray();
        buffer.ResetWrittenCount();
        return bytes;
    }

    /// <exception cref="EdgeCommandException">The header is malformed (<c>invalid_argument</c>).</exception>
    public static RpcRequestHeader Decode(ReadOnlyMemory<byte> bytes)
    {
        try
        {
            var reader = new MessagePackReader(bytes);
            var count = reader.ReadArrayHeader();
            if (count < 4 || count > bytes.Length)
            {
                throw new EdgeCommandException(EdgeErrorCodes.InvalidArgument, "The command header has too few fields.");
            }

            var name = FrameReader.ReadString(ref reader) ?? "";
            var key = FrameReader.ReadString(ref reader) ?? "";
            var deadline = reader.ReadInt64();
            var payload = reader.TryReadNil() ? default : reader.ReadBytes() ?? default;
            FrameReader.SkipFields(ref reader, count - 4);
            if (name.Length is 0 or > MaxNameLength || key.Length > MaxKeyLength)
            {
                throw new EdgeCommandException(EdgeErrorCodes.InvalidArgument, "The command name or idempotency key has an invalid length.");
            }

            // The open payload was already copied out of the transport and is one segment: slice, don't copy.
            return new RpcRequestHeader(name, key, deadline, payload.First);
        }
        catch (EdgeCommandException)
        {
            throw;
        }
        catch (Exception ex) when (ex is MessagePackSerializationException or EndOfStreamException or ProtocolException or InvalidOperationException or OverflowException)
        {
            throw new EdgeCommandException(EdgeErrorCodes.InvalidArgument, "The command header is malformed.", ex);
        }
    }
}

/// <summary>Kinds of the messages a command's callee sends back on the channel.</summary>
internal enum RpcMessageKind : byte
{
    /// <summary><c>[0, payload]</c>: the final result (or, for a duplex command, "accepted").</summary>
    Result = 0,

    /// <summary><c>[1, code, message]</c>: the final error.</summary>
    Error = 1,

    /// <summary><c>[2, payload]</c>: one item of a streaming result.</summary>
    Item = 2,

    /// <summary><c>[3]</c>: the end of a streaming result.</summary>
    End = 3,
}

/// <summary>One decoded response message.</summary>
internal readonly record struct RpcMessage(RpcMessageKind Kind, ReadOnlyMemory<byte> Payload, string? Code, string? Message);

/// <summary>
/// Length-prefixed messages inside a channel's byte stream (4-byte big-endian length, then a
/// MessagePack array). A message may be larger than the channel window: it arrives in pieces.
/// </summary>
internal static class RpcMessages
{
    /// <summary>The default of the largest response message accepted (bounds what a peer can make us buffer).</summary>
    public const int DefaultMaxMessageSize = 64 * 1024 * 1024;

    /// <summary>The smallest limit a host may configure.</summary>
    public const int MinMaxMessageSize = 1024;

    /// <summary>The largest limit a host may configure (a message is assembled in one array).</summary>
    public const int MaxMaxMessageSize = 1024 * 1024 * 1024;

    /// <summary>The validation failure for a configured limit, naming <paramref name="setting"/>; null when it is usable.</summary>
    public static string? ValidateMaxMessageSize(string setting, int value) =>
        value is < MinMaxMessageSize or > MaxMaxMessageSize
            ? $"{setting} must be between {MinMaxMessageSize} and {MaxMaxMessageSize} bytes (it is {value})."
            : null;

    public static byte[] EncodeResult(ReadOnlySpan<byte> payload) => EncodePayload(RpcMessageKind.Result, payload);

    public static byte[] EncodeItem(ReadOnlySpan<byte> payload) => EncodePayload(RpcMessageKind.Item, payload);

    public static byte[] EncodeEnd()
    {
        var buffer = new ArrayBufferWriter<byte>(8);
        WriteMessage(buffer, 0, static (ref MessagePackWriter w, int _) =>
        {
            w.WriteArrayHeader(1);
            w.Write((byte)RpcMessageKind.End);
        });
        return buffer.WrittenSpan.ToArray();
    }

    public static byte[] EncodeError(string code, string message)
    {
        var buffer = new ArrayBufferWriter<byte>(16 + code.Length + (message.Length * 3));
        WriteMessage(buffer, (code, message), static (ref MessagePackWriter w, (string Code, string Message) state) =>
        {
            w.WriteArrayHeader(3);
            w.Write((byte)RpcMessageKind.Error);
            w.Write(state.Code);
            w.Write(state.Message);
        });
        return buffer.WrittenSpan.ToArray();
    }

    private static byte[] EncodePayload(RpcMessageKind kind, ReadOnlySpan<byte> payload)
    {
        var envelope = 1 + 1 + FrameWriter.BinHeaderSize(payload.Length) + payload.Length;
        var bytes = new byte[FrameReader.PrefixLength + envelope];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, (uint)envelope);
        var buffer = new FixedBufferWriter(bytes, FrameReader.PrefixLength);
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(2);
        writer.Write((byte)kind);
        writer.Write(payload);
        writer.Flush();
        return bytes;
    }

    private delegate void WriteBody<TState>(ref MessagePackWriter writer, TState state);

    private static void WriteMessage<TState>(ArrayBufferWriter<byte> buffer, TState state, WriteBody<TState> body)
    {
        var scratch = new ArrayBufferWriter<byte>(64);
        var writer = new MessagePackWriter(scratch);
        body(ref writer, state);
        writer.Flush();
        var prefix = buffer.GetSpan(FrameReader.PrefixLength);
        BinaryPrimitives.WriteUInt32BigEndian(prefix, (uint)scratch.WrittenCount);
        buffer.Advance(FrameReader.PrefixLength);
        buffer.Write(scratch.WrittenSpan);
    }

    /// <summary>
    /// Reads the next message, or returns null at the end of the stream.
    /// </summary>
    /// <remarks>
    /// A message may be larger than the channel's receive window. Its bytes are then never all
    /// buffered in the channel at once, and leaving them there unconsumed would withhold the credit
    /// the sender needs to send the rest (a deadlock). So an incomplete message is moved out of the
    /// channel as it arrives, returning its credit, and assembled here in a buffer that grows with
    /// what actually arrived (never beyond <paramref name="maxMessageSize"/>).
    /// When a message is returned, the bytes after it are left unexamined: marking them examined
    /// would make the next read wait for new data even though they may already hold the next
    /// message, and the sender may be waiting for the credit of exactly those bytes.
    /// </remarks>
    /// <exception cref="EdgeCommandException">The message is malformed, or code <see cref="EdgeErrorCodes.TooLarge"/> when its length prefix is over <paramref name="maxMessageSize"/> (checked before anything is buffered).</exception>
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    public static async ValueTask<RpcMessage?> ReadAsync(PipeReader input, int maxMessageSize, CancellationToken cancellationToken)
    {
        byte[]? partial = null;
        var partialLength = 0;
        var total = 0;
        while (true)
        {
            var result = await input.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            var examined = buffer.End;
            try
            {
                if (partial is null)
                {
                    if (TryParse(ref buffer, maxMessageSize, out var message))
                    {
                        examined = buffer.Start;
                        return message;
                    }

                    if (buffer.Length >= FrameReader.PrefixLength)
                    {
                        // TryParse has validated the length prefix against the limit.
                        total = FrameReader.PrefixLength + (int)ReadPrefix(buffer);
                        partial = new byte[Math.Min(total, Math.Max(4096, (int)Math.Min(buffer.Length * 2, int.MaxValue)))];
                    }
                }

                if (partial is not null)
                {
                    var take = (int)Math.Min(buffer.Length, total - partialLength);
                    if (partialLength + take > partial.Length)
                    {
                        Array.Resize(ref partial, (int)Math.Min(total, Math.Max(partialLength + take, 2L * partial.Length)));
                    }

                    buffer.Slice(0, take).CopyTo(partial.AsSpan(partialLength));
                    partialLength += take;
                    buffer = buffer.Slice(take);
                    if (partialLength == total)
                    {
                        examined = buffer.Start;
                        var whole = new ReadOnlySequence<byte>(partial, 0, total);
                        TryParse(ref whole, maxMessageSize, out var assembled);
                        return assembled;
                    }
                }

                if (result.IsCompleted)
                {
                    if (!buffer.IsEmpty || partial is not null)
                    {
                        throw new EdgeCommandException(EdgeErrorCodes.Unavailable, "The response ended in the middle of a message.");
                    }

                    return null;
                }
            }
            finally
            {
                input.AdvanceTo(buffer.Start, examined);
            }
        }
    }

    /// <summary>
    /// The first message of a whole input (a unary command's collected answer), or null when it is
    /// empty. The payload is a slice of <paramref name="input"/>, not a copy; bytes after the
    /// message are ignored, as <see cref="ReadAsync"/> leaves them unread.
    /// </summary>
    /// <exception cref="EdgeCommandException">The message is malformed, incomplete, or over <paramref name="maxMessageSize"/> (<see cref="EdgeErrorCodes.TooLarge"/>).</exception>
    public static RpcMessage? ParseFirst(ReadOnlyMemory<byte> input, int maxMessageSize)
    {
        if (input.IsEmpty)
        {
            return null;
        }

        var buffer = new ReadOnlySequence<byte>(input);
        return TryParse(ref buffer, maxMessageSize, out var message, copyPayload: false)
            ? message
            : throw new EdgeCommandException(EdgeErrorCodes.Unavailable, "The response ended in the middle of a message.");
    }

    private static uint ReadPrefix(in ReadOnlySequence<byte> buffer)
    {
        Span<byte> prefix = stackalloc byte[FrameReader.PrefixLength];
        buffer.Slice(0, FrameReader.PrefixLength).CopyTo(prefix);
        return BinaryPrimitives.ReadUInt32BigEndian(prefix);
    }

    private static bool TryParse(ref ReadOnlySequence<byte> buffer, int maxMessageSize, out RpcMessage message, bool copyPayload = true)
    {
        message = default;
        if (buffer.Length < FrameReader.PrefixLength)
        {
            return false;
        }

        Span<byte> prefix = stackalloc byte[FrameReader.PrefixLength];
        buffer.Slice(0, FrameReader.PrefixLength).CopyTo(prefix);
        var length = BinaryPrimitives.ReadUInt32BigEndian(prefix);
        if (length == 0)
        {
            throw new EdgeCommandException(EdgeErrorCodes.Internal, "A response message is empty.");
        }

        if (length > (uint)maxMessageSize)
        {
            throw new EdgeCommandException(EdgeErrorCodes.TooLarge, $"A response message of {length} bytes is over the limit of {maxMessageSize} bytes (MaxMessageSize).");
        }

        if (buffer.Length - FrameReader.PrefixLength < length)
        {
            return false;
        }

        var body = buffer.Slice(FrameReader.PrefixLength, length);
        try
        {
            var reader = new MessagePackReader(body);
            var count = reader.ReadArrayHeader();
            if (count < 1 || count > length)
            {
                throw new EdgeCommandException(EdgeErrorCodes.Internal, "A response message is malformed.");
            }

            var kind = (RpcMessageKind)reader.ReadByte();
            switch (kind)
            {
                case RpcMessageKind.Result:
                case RpcMessageKind.Item:
                    var bytes = count >= 2 && !reader.TryReadNil() ? reader.ReadBytes() ?? default : default;
                    ReadOnlyMemory<byte> payload = copyPayload || !bytes.IsSingleSegment ? bytes.ToArray() : bytes.First;
                    message = new RpcMessage(kind, payload, null, null);
                    break;
                case RpcMessageKind.Error:
                    var code = count >= 2 ? FrameReader.ReadString(ref reader) ?? EdgeErrorCodes.Internal : EdgeErrorCodes.Internal;
                    var text = count >= 3 ? FrameReader.ReadString(ref reader) ?? "" : "";
                    message = new RpcMessage(kind, default, code, text);
                    break;
                case RpcMessageKind.End:
                    message = new RpcMessage(kind, default, null, null);
                    break;
                default:
                    throw new EdgeCommandException(EdgeErrorCodes.Internal, $"Unknown response message kind {(int)kind}.");
            }
        }
        catch (Exception ex) when (ex is MessagePackSerializationException or EndOfStreamException or ProtocolException or InvalidOperationException or OverflowException)
        {
            throw new EdgeCommandException(EdgeErrorCodes.Internal, "A response message is malformed.", ex);
        }

        buffer = buffer.Slice(body.End);
        return true;
    }

    /// <summary>An <see cref="IBufferWriter{T}"/> over a pre-sized array.</summary>
    private sealed class FixedBufferWriter(byte[] array, int start) : IBufferWriter<byte>
    {
        private int _position = start;

        public void Advance(int count) => _position += count;

        public Memory<byte> GetMemory(int sizeHint = 0) => array.AsMemory(_position);

        public Span<byte> GetSpan(int sizeHint = 0) => array.AsSpan(_position);
    }
}
