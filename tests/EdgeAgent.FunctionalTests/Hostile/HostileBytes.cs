using System.Buffers;
using System.Buffers.Binary;
using EdgeAgent.Protocol.Frames;
using EdgeAgent.Protocol.Rpc;
using MessagePack;

namespace EdgeAgent.FunctionalTests.Hostile;

/// <summary>Hand-made bytes for hostile tests: prefixes that lie, envelopes that are not, payloads nested deep.</summary>
internal static class HostileBytes
{
    /// <summary>A length prefix alone (the body is never sent).</summary>
    public static byte[] Prefix(uint length)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, length);
        return bytes;
    }

    /// <summary>A frame with a correct prefix around arbitrary body bytes.</summary>
    public static byte[] Framed(ReadOnlySpan<byte> body) => [.. Prefix((uint)body.Length), .. body];

    /// <summary>A frame whose envelope is written by <paramref name="write"/>.</summary>
    public static byte[] Envelope(WriteBody write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        write(ref writer);
        writer.Flush();
        return Framed(buffer.WrittenSpan);
    }

    /// <summary><paramref name="depth"/> nested one-element arrays around a nil.</summary>
    public static byte[] Nested(int depth)
    {
        var bytes = new byte[depth + 1];
        bytes.AsSpan(0, depth).Fill(0x91);
        bytes[depth] = 0xc0;
        return bytes;
    }

    /// <summary>
    /// A handshake request written field by field so a test can break one field: the hostname's
    /// raw UTF-8 bytes, the labels, extra trailing fields and the limits are the test's.
    /// </summary>
    public static byte[] Handshake(
        string agentId,
        int major = 1,
        byte[]? rawHostname = null,
        WriteBody? labels = null,
        byte[]? trailing = null,
        (int Frame, int Window, int Channels)? limits = null)
    {
        return Envelope((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(trailing is null ? 10 : 11);
            w.Write((byte)FrameType.HandshakeRequest);
            w.Write(0u);
            w.Write(major);
            w.Write(0);
            w.Write(agentId);
            w.WriteArrayHeader(6);
            if (rawHostname is null)
            {
                w.Write("hostile");
            }
            else
            {
                w.WriteStringHeader(rawHostname.Length);
                w.WriteRaw(rawHostname);
            }

            w.Write("test");
            w.Write("x64");
            w.Write("0");
            w.Write("");
            if (labels is null)
            {
                w.WriteMapHeader(0);
            }
            else
            {
                labels(ref w);
            }

            w.WriteArrayHeader(0);
            var (frame, window, channels) = limits ?? (64 * 1024, 64 * 1024, 64);
            w.Write(frame);
            w.Write(window);
            w.Write(channels);
            if (trailing is not null)
            {
                w.WriteRaw(trailing);
            }
        });
    }

    /// <summary>The open payload of a command: <c>[name, key, deadline, payload]</c>.</summary>
    public static byte[] CommandHeader(string name, byte[]? payload = null) =>
        new RpcRequestHeader(name, "", 0, payload ?? []).Encode();

    /// <summary>One response message inside a channel: 4-byte length and the raw MessagePack body.</summary>
    public static byte[] ResponseMessage(WriteBody write) => Envelope(write);

    /// <summary>Writes a MessagePack body.</summary>
    public delegate void WriteBody(ref MessagePackWriter writer);
}
