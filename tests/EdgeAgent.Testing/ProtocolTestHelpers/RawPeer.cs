using System.Buffers;
using System.IO.Pipelines;
using EdgeAgent.Protocol;
using EdgeAgent.Protocol.Frames;

namespace EdgeAgent.Testing.ProtocolTestHelpers;

/// <summary>A frame as a <see cref="RawPeer"/> received it, with its payload copied out of the transport buffer.</summary>
internal sealed record ReceivedFrame(
    FrameType Type,
    uint Channel,
    ulong Value,
    string? Message,
    byte[] Payload,
    HandshakeRequest? HandshakeRequest,
    HandshakeResponse? HandshakeResponse)
{
    public ProtocolErrorCode Code => (ProtocolErrorCode)Value;

    public static ReceivedFrame From(in Frame frame) =>
        new(frame.Type, frame.Channel, frame.Value, frame.Message, frame.Payload.ToArray(), frame.HandshakeRequest, frame.HandshakeResponse);
}

/// <summary>
/// A hand-driven tunnel peer: writes raw bytes or frames to a session under test and reads back
/// what the session sends, so hostile input can be fed to a real <c>TunnelSession</c>.
/// </summary>
internal sealed class RawPeer(IDuplexPipe pipe, int maxFrameSize = 64 * 1024 * 1024)
{
    public IDuplexPipe Pipe => pipe;

    /// <summary>Writes raw bytes and flushes.</summary>
    public async Task SendAsync(ReadOnlyMemory<byte> bytes)
    {
        await pipe.Output.WriteAsync(bytes);
    }

    /// <summary>Writes frames through <paramref name="write"/> and flushes once.</summary>
    public async Task SendAsync(Action<IBufferWriter<byte>> write)
    {
        write(pipe.Output);
        await pipe.Output.FlushAsync();
    }

    /// <summary>Ends this peer's output (the session sees the end of the stream).</summary>
    public ValueTask CompleteAsync() => pipe.Output.CompleteAsync();

    /// <summary>Reads the next frame; null when the session's output ended.</summary>
    /// <exception cref="OperationCanceledException">Nothing arrived before the deadline.</exception>
    public async Task<ReceivedFrame?> ReceiveAsync(TimeSpan? deadline = null)
    {
        using var timeout = new CancellationTokenSource(deadline ?? Poll.DefaultDeadline);
        while (true)
        {
            var result = await pipe.Input.ReadAsync(timeout.Token);
            var buffer = result.Buffer;
            var parsed = false;
            try
            {
                if (FrameReader.TryParse(ref buffer, maxFrameSize, out var frame))
                {
                    parsed = true;
                    return ReceivedFrame.From(frame);
                }

                if (result.IsCompleted)
                {
                    return null;
                }
            }
            finally
            {
                // After a frame, the rest is unexamined: the next call must parse what already
                // arrived instead of waiting for more bytes.
                if (parsed)
                {
                    pipe.Input.AdvanceTo(buffer.Start);
                }
                else
                {
                    pipe.Input.AdvanceTo(buffer.Start, buffer.End);
                }
            }
        }
    }

    /// <summary>Reads frames until one matches; null when the stream ended first.</summary>
    public async Task<ReceivedFrame?> ReceiveUntilAsync(Func<ReceivedFrame, bool> match, TimeSpan? deadline = null)
    {
        while (await ReceiveAsync(deadline) is { } frame)
        {
            if (match(frame))
            {
                return frame;
            }
        }

        return null;
    }

    /// <summary>Reads frames until the go-away; null when the stream ended without one.</summary>
    public Task<ReceivedFrame?> ReceiveGoAwayAsync(TimeSpan? deadline = null) => ReceiveUntilAsync(f => f.Type == FrameType.GoAway, deadline);

    /// <summary>Reads everything until the session's output ends.</summary>
    public async Task<List<ReceivedFrame>> ReceiveToEndAsync(TimeSpan? deadline = null)
    {
        var frames = new List<ReceivedFrame>();
        while (await ReceiveAsync(deadline) is { } frame)
        {
            frames.Add(frame);
        }

        return frames;
    }
}
