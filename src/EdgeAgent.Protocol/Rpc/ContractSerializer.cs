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
            return MessagePackSerializer.Deserialize<T>(bytes, Options);
        }
        catch (Exception ex) when (ex is MessagePackSerializationException or InsufficientExecutionStackException or EndOfStreamException)
        {
            throw new EdgeCommandException(EdgeErrorCodes.InvalidArgument, $"The payload is not a valid {typeof(T).Name}.", ex);
        }
    }
}
