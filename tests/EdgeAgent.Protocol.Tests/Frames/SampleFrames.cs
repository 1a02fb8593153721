using System.Buffers;
using EdgeAgent.Protocol.Frames;
using EdgeAgent.Testing.ProtocolTestHelpers;

namespace EdgeAgent.Protocol.Tests.Frames;

/// <summary>One encoded sample of every frame type, and helpers to encode frames to bytes.</summary>
internal static class SampleFrames
{
    public static byte[] Encode(Action<IBufferWriter<byte>> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        write(buffer);
        return buffer.WrittenSpan.ToArray();
    }

    public static byte[] Payload(int length, int seed = 1)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>A valid frame of every type (the corpus of the parser split tests and of the fuzzer).</summary>
    public static IReadOnlyList<(string Name, byte[] Bytes)> All { get; } =
    [
        ("handshake-request", Encode(o => FrameWriter.WriteHandshakeRequest(o, RawSessionHarness.AgentHello()))),
        ("handshake-response", Encode(o => FrameWriter.WriteHandshakeResponse(o, RawSessionHarness.ServerHello()))),
        ("ping", Encode(o => FrameWriter.WritePing(o, 0x0102030405060708))),
        ("pong", Encode(o => FrameWriter.WritePong(o, 42))),
        ("open", Encode(o => FrameWriter.WriteOpen(o, 3, 1, Payload(100)))),
        ("accept", Encode(o => FrameWriter.WriteAccept(o, 4))),
        ("reject", Encode(o => FrameWriter.WriteReject(o, 5, ProtocolErrorCode.Refused, "no such port"))),
        ("data-empty", Encode(o => FrameWriter.WriteData(o, 7, ReadOnlySpan<byte>.Empty))),
        ("data-small", Encode(o => FrameWriter.WriteData(o, 7, Payload(300)))),
        ("window-update", Encode(o => FrameWriter.WriteWindowUpdate(o, 70000, 65536))),
        ("close", Encode(o => FrameWriter.WriteClose(o, 9))),
        ("reset", Encode(o => FrameWriter.WriteReset(o, 11, ProtocolErrorCode.Cancelled, "stop"))),
        ("go-away", Encode(o => FrameWriter.WriteGoAway(o, ProtocolErrorCode.Shutdown, "bye – ünïcödé"))),
    ];

    /// <summary>Parses exactly one frame from <paramref name="bytes"/> and requires the whole input to be consumed.</summary>
    public static Frame ParseOne(byte[] bytes, int maxFrameSize = 1024 * 1024)
    {
        var buffer = new ReadOnlySequence<byte>(bytes);
        if (!FrameReader.TryParse(ref buffer, maxFrameSize, out var frame))
        {
            throw new InvalidOperationException("The frame was incomplete.");
        }

        if (!buffer.IsEmpty)
        {
            throw new InvalidOperationException($"{buffer.Length} bytes left after the frame.");
        }

        return frame;
    }
}
