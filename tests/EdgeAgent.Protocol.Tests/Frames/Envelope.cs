using System.Buffers;
using System.Buffers.Binary;
using MessagePack;

namespace EdgeAgent.Protocol.Tests.Frames;

internal delegate void EnvelopeBody(ref MessagePackWriter writer);

/// <summary>Hand-built envelopes for hostile-input tests.</summary>
internal static class Envelope
{
    /// <summary>Writes an envelope with <paramref name="body"/> and prefixes its length.</summary>
    public static byte[] Frame(EnvelopeBody body)
    {
        var scratch = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(scratch);
        body(ref writer);
        writer.Flush();
        return WithPrefix(scratch.WrittenSpan);
    }

    /// <summary>Prefixes raw envelope bytes with their length.</summary>
    public static byte[] WithPrefix(ReadOnlySpan<byte> envelope)
    {
        var bytes = new byte[4 + envelope.Length];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, (uint)envelope.Length);
        envelope.CopyTo(bytes.AsSpan(4));
        return bytes;
    }

    /// <summary>Writes <paramref name="depth"/> nested one-element arrays around a nil.</summary>
    public static void WriteNestedArrays(ref MessagePackWriter writer, int depth)
    {
        for (var i = 0; i < depth; i++)
        {
            writer.WriteArrayHeader(1);
        }

        writer.WriteNil();
    }

    /// <summary>Writes a raw str header followed by <paramref name="utf8"/>, valid or not.</summary>
    public static void WriteRawString(ref MessagePackWriter writer, ReadOnlySpan<byte> utf8)
    {
        writer.WriteStringHeader(utf8.Length);
        writer.WriteRaw(utf8);
    }
}
