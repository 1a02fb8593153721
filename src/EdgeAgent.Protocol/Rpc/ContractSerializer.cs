using System.Buffers;
using MessagePack;

namespace EdgeAgent.Protocol.Rpc;

/// <summary>Serialises command payloads. Input is always treated as untrusted.</summary>
/// <remarks>
/// Formatters come from <see cref="ContractResolver"/>, and values are written and read through them
/// directly rather than through <see cref="MessagePackSerializer"/>, whose fallback to
/// <see cref="MessagePackSerializerOptions.Standard"/> would pull MessagePack's Reflection.Emit resolvers
/// into a Native AOT build. The errors are the ones <see cref="MessagePackSerializer"/> raises.
/// </remarks>
internal static class ContractSerializer
{
    /// <summary>The deepest object graph a payload may have.</summary>
    public const int MaxDepth = 64;

    /// <summary>
    /// The most arrays and maps one payload may hold. Each becomes an object, and an empty one (one
    /// byte) can cost a few hundred bytes of heap (a contract's default members): without a bound,
    /// a message of 64 MiB of empty arrays would allocate over 10 GB. 2^20 keeps that to a few
    /// hundred MB at most, far above what real answers hold.
    /// </summary>
    public const int DefaultMaxContainers = 1 << 20;

    /// <summary>A serialisation buffer larger than this is not kept for the next call.</summary>
    private const int MaxRetainedBuffer = 64 * 1024;

    public static readonly MessagePackSerializerOptions Options = new MessagePackSerializerOptions(ContractResolver.Instance)
        .WithSecurity(MessagePackSecurity.UntrustedData.WithMaximumObjectGraphDepth(MaxDepth));

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    /// <exception cref="MessagePackSerializationException">The value cannot be serialised (e.g. no formatter for <typeparamref name="T"/>).</exception>
    public static byte[] Serialize<T>(T value)
    {
        var buffer = t_buffer ?? new ArrayBufferWriter<byte>(256);
        t_buffer = null;
        try
        {
            var writer = new MessagePackWriter(buffer);
            try
            {
                Options.Resolver.GetFormatterWithVerify<T>().Serialize(ref writer, value, Options);
                writer.Flush();
            }
            catch (Exception ex)
            {
                throw new MessagePackSerializationException($"Failed to serialize {typeof(T).FullName} value.", ex);
            }

            return buffer.WrittenSpan.ToArray();
        }
        finally
        {
            if (buffer.Capacity <= MaxRetainedBuffer)
            {
                buffer.ResetWrittenCount();
                t_buffer = buffer;
            }
        }
    }

    /// <summary>Deserialises untrusted bytes.</summary>
    /// <exception cref="EdgeCommandException">The bytes are not a valid <typeparamref name="T"/> (code <c>invalid_argument</c>).</exception>
    public static T Deserialize<T>(ReadOnlyMemory<byte> bytes) => Deserialize<T>(bytes, DefaultMaxContainers);

    /// <summary>Deserialises untrusted bytes holding at most <paramref name="maxContainers"/> arrays and maps.</summary>
    /// <exception cref="EdgeCommandException">The bytes are not a valid <typeparamref name="T"/>, or hold more arrays and maps (code <c>invalid_argument</c>).</exception>
    public static T Deserialize<T>(ReadOnlyMemory<byte> bytes, int maxContainers)
    {
        try
        {
            CheckShape(new ReadOnlySequence<byte>(bytes), maxContainers);
            var reader = new MessagePackReader(bytes);
            return Read<T>(ref reader);
        }
        catch (Exception ex) when (ex is MessagePackSerializationException or InsufficientExecutionStackException or EndOfStreamException)
        {
            throw Invalid<T>(ex);
        }
    }

    private static EdgeCommandException Invalid<T>(Exception ex) =>
        new(EdgeErrorCodes.InvalidArgument, ex is PayloadShapeException ? $"The payload is not a valid {typeof(T).Name}: {ex.Message}" : $"The payload is not a valid {typeof(T).Name}.", ex);

    /// <summary>
    /// Deserialises the answer the peer sent back. A malformed answer is the peer's fault, not the
    /// caller's: it fails with <c>internal</c>, never with <c>invalid_argument</c>.
    /// </summary>
    /// <exception cref="EdgeCommandException">The bytes are not a valid <typeparamref name="T"/> (code <c>internal</c>).</exception>
    public static T DeserializeResponse<T>(ReadOnlyMemory<byte> bytes, string command)
    {
        try
        {
            return Deserialize<T>(bytes);
        }
        catch (EdgeCommandException ex)
        {
            var detail = ex.InnerException is PayloadShapeException shape ? ": " + shape.Message : ".";
            throw new EdgeCommandException(EdgeErrorCodes.Internal, $"Command '{command}' answered with data that is not a valid {typeof(T).Name}{detail}", ex);
        }
    }

    public static T Deserialize<T>(ReadOnlySequence<byte> bytes)
    {
        try
        {
            CheckShape(bytes, DefaultMaxContainers);
            var reader = new MessagePackReader(bytes);
            return Read<T>(ref reader);
        }
        catch (Exception ex) when (ex is MessagePackSerializationException or InsufficientExecutionStackException or EndOfStreamException)
        {
            throw Invalid<T>(ex);
        }
    }

    /// <exception cref="MessagePackSerializationException">The bytes are not a valid <typeparamref name="T"/>.</exception>
    private static T Read<T>(ref MessagePackReader reader)
    {
        try
        {
            return Options.Resolver.GetFormatterWithVerify<T>().Deserialize(ref reader, Options);
        }
        catch (Exception ex)
        {
            throw new MessagePackSerializationException($"Failed to deserialize {typeof(T).FullName} value.", ex);
        }
    }

    /// <summary>
    /// Refuses nesting deeper than <see cref="MaxDepth"/> anywhere in the payload, without recursion.
    /// The security options count depth only for values a formatter reads: members the target type
    /// does not know are skipped uncounted, so a request could otherwise carry arbitrarily deep
    /// data past the limit. Also refuses more than <paramref name="maxContainers"/> arrays and maps
    /// (see <see cref="DefaultMaxContainers"/>) before any object is made.
    /// </summary>
    /// <exception cref="MessagePackSerializationException">The payload is nested too deeply or holds too many arrays and maps.</exception>
    private static void CheckShape(ReadOnlySequence<byte> bytes, int maxContainers)
    {
        var reader = new MessagePackReader(bytes);
        Span<long> pending = stackalloc long[MaxDepth + 1];
        var depth = 0;
        var containers = 0;
        pending[0] = 1;
        while (depth >= 0)
        {
            if (pending[depth] == 0)
            {
                depth--;
                continue;
            }

            pending[depth]--;
            long count = reader.NextMessagePackType switch
            {
                MessagePackType.Array => reader.ReadArrayHeader(),
                MessagePackType.Map => 2L * reader.ReadMapHeader(),
                _ => -1,
            };

            if (count < 0)
            {
                reader.Skip();
                continue;
            }

            if (++containers > maxContainers)
            {
                throw new PayloadShapeException($"it holds more than {maxContainers} arrays and maps.");
            }

            if (count > 0)
            {
                if (++depth > MaxDepth)
                {
                    throw new PayloadShapeException($"it is nested deeper than {MaxDepth} levels.");
                }

                pending[depth] = count;
            }
        }
    }

    /// <summary>A payload refused for its shape (depth, number of arrays and maps) before it is read.</summary>
    private sealed class PayloadShapeException(string message) : MessagePackSerializationException(message);
}
