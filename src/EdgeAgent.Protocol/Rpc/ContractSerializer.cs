using System.Buffers;
using MessagePack;
using MessagePack.Resolvers;

namespace EdgeAgent.Protocol.Rpc;

/// <summary>Serialises command payloads. Input is always treated as untrusted.</summary>
internal static class ContractSerializer
{
    /// <summary>The deepest object graph a payload may have.</summary>
    public const int MaxDepth = 64;

    public static readonly MessagePackSerializerOptions Options = MessagePackSerializerOptions.Standard
        .WithResolver(StandardResolver.Instance)
        .WithSecurity(MessagePackSecurity.UntrustedData.WithMaximumObjectGraphDepth(MaxDepth));

    public static byte[] Serialize<T>(T value) => MessagePackSerializer.Serialize(value, Options);

    /// <summary>Deserialises untrusted bytes.</summary>
    /// <exception cref="EdgeCommandException">The bytes are not a valid <typeparamref name="T"/> (code <c>invalid_argument</c>).</exception>
    public static T Deserialize<T>(ReadOnlyMemory<byte> bytes)
    {
        try
        {
            CheckDepth(new ReadOnlySequence<byte>(bytes));
            return MessagePackSerializer.Deserialize<T>(bytes, Options);
        }
        catch (Exception ex) when (ex is MessagePackSerializationException or InsufficientExecutionStackException or EndOfStreamException)
        {
            throw new EdgeCommandException(EdgeErrorCodes.InvalidArgument, $"The payload is not a valid {typeof(T).Name}.", ex);
        }
    }

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
            throw new EdgeCommandException(EdgeErrorCodes.Internal, $"Command '{command}' answered with data that is not a valid {typeof(T).Name}.", ex);
        }
    }

    public static T Deserialize<T>(ReadOnlySequence<byte> bytes)
    {
        try
        {
            CheckDepth(bytes);
            return MessagePackSerializer.Deserialize<T>(bytes, Options);
        }
        catch (Exception ex) when (ex is MessagePackSerializationException or InsufficientExecutionStackException or EndOfStreamException)
        {
            throw new EdgeCommandException(EdgeErrorCodes.InvalidArgument, $"The payload is not a valid {typeof(T).Name}.", ex);
        }
    }

    /// <summary>
    /// Refuses nesting deeper than <see cref="MaxDepth"/> anywhere in the payload, without recursion.
    /// The security options count depth only for values a formatter reads: members the target type
    /// does not know are skipped uncounted, so a request could otherwise carry arbitrarily deep
    /// data past the limit.
    /// </summary>
    /// <exception cref="MessagePackSerializationException">The payload is nested too deeply.</exception>
    private static void CheckDepth(ReadOnlySequence<byte> bytes)
    {
        var reader = new MessagePackReader(bytes);
        Span<long> pending = stackalloc long[MaxDepth + 1];
        var depth = 0;
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
            }
            else if (count > 0)
            {
                if (++depth > MaxDepth)
                {
                    throw new MessagePackSerializationException($"The payload is nested deeper than {MaxDepth} levels.");
                }

                pending[depth] = count;
            }
        }
    }
}
