using System.IO.Pipelines;
using EdgeAgent.Protocol.Frames;
using EdgeAgent.Protocol.Session;
using EdgeAgent.Protocol.Tests.Frames;
using EdgeAgent.Testing.ProtocolTestHelpers;

namespace EdgeAgent.Protocol.Tests.Session;

/// <summary>
/// Mutated frame streams fed into live sessions: each session must either keep working (it answers
/// a probe ping) or close with a defined protocol code and say so with a go-away — never fault its
/// read loop or hang. The default is 200 streams; EDGEAGENT_FUZZ_ITERATIONS (divided by 500) and
/// EDGEAGENT_FUZZ_SEED scale it, like <see cref="FrameFuzzTests"/>.
/// </summary>
public sealed class SessionFuzzTests
{
    private static readonly byte[][] Script =
    [
        SampleFrames.Encode(o => FrameWriter.WriteOpen(o, 1, 1, SampleFrames.Payload(20))),
        SampleFrames.Encode(o => FrameWriter.WriteData(o, 1, SampleFrames.Payload(500))),
        SampleFrames.Encode(o => FrameWriter.WriteWindowUpdate(o, 1, 4096)),
        SampleFrames.Encode(o => FrameWriter.WriteClose(o, 1)),
        SampleFrames.Encode(o => FrameWriter.WriteOpen(o, 3, 1, default)),
        SampleFrames.Encode(o => FrameWriter.WriteData(o, 3, SampleFrames.Payload(5000))),
        SampleFrames.Encode(o => FrameWriter.WriteReset(o, 3, ProtocolErrorCode.Cancelled, "stop")),
        SampleFrames.Encode(o => FrameWriter.WritePing(o, 7)),
        SampleFrames.Encode(o => FrameWriter.WritePong(o, 1)),
        SampleFrames.Encode(o => FrameWriter.WriteAccept(o, 5)),
        SampleFrames.Encode(o => FrameWriter.WriteReject(o, 2, ProtocolErrorCode.Refused, "no")),
        SampleFrames.Encode(o => FrameWriter.WriteGoAway(o, ProtocolErrorCode.Shutdown, "later")),
        Envelope.WithPrefix([0x93, 0x40, 0x00, 0xa1, 0x41]), // unknown type 64
    ];

    /// <summary>Reads each channel to its end, then echoes what it read and half-closes.</summary>
    private static async Task EchoAsync(TunnelChannel channel)
    {
        var received = 0L;
        while (true)
        {
            var result = await channel.Input.ReadAsync();
            received += result.Buffer.Length;
            channel.Input.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted || result.IsCanceled)
            {
                break;
            }
        }

        await channel.WriteAsync(new byte[Math.Min(received, 100)], complete: true);
    }

    [Fact]
    public async Task Mutated_frame_streams_keep_a_session_working_or_close_it_with_a_protocol_code()
    {
        var iterations = Math.Max(200, Mutator.Iterations(100_000) / 500);
        var seed = Mutator.Seed(4_711);
        var random = new Random(seed);
        var options = new SessionOptions { MaxFrameSize = 16 * 1024, InitialWindow = 8 * 1024, MaxChannels = 4 };
        int alive = 0, closed = 0;

        for (var i = 0; i < iterations; i++)
        {
            var (session, peer) = await RawSessionHarness.AcceptingAsync(options, channel => EchoAsync(channel));
            var stream = new List<byte>();
            var frames = 1 + random.Next(10);
            for (var f = 0; f < frames; f++)
            {
                var frame = Script[random.Next(Script.Length)];
                stream.AddRange(random.Next(3) == 0 ? Mutator.Mutate(frame, random) : frame);
            }

            var bytes = stream.ToArray();
            var context = $"iteration {i} (EDGEAGENT_FUZZ_SEED={seed}), stream {Convert.ToHexString(bytes)}";
            try
            {
                // Delivered in a few pieces, cut anywhere.
                var at = 0;
                while (at < bytes.Length)
                {
                    var piece = Math.Min(bytes.Length - at, 1 + random.Next(bytes.Length));
                    await peer.SendAsync(bytes.AsMemory(at, piece));
                    at += piece;
                }

                // A probe ping, then the end of the stream: a frame the mutations left incomplete
                // swallows the probe and must then end as TruncatedFrame, not as a hang.
                var probe = 0xABCD_0000UL + (ulong)i;
                await peer.SendAsync(o => FrameWriter.WritePing(o, probe));
                await peer.CompleteAsync();
                var answers = await peer.ReceiveToEndAsync();
                var end = await Poll.Within(session.Completion);

                Enum.IsDefined(end.Code).Should().BeTrue();
                if (answers.Any(f => f.Type == FrameType.Pong && f.Value == probe))
                {
                    alive++;
                }
                else
                {
                    closed++;
                }

                if (answers.LastOrDefault(f => f.Type == FrameType.GoAway) is { } goAway)
                {
                    goAway.Code.Should().Be(end.Code, "the go-away carries the code the session closed with");
                    end.ClosedLocally.Should().BeTrue();
                }
                else
                {
                    end.ClosedLocally.Should().BeFalse("a session that closes itself says why");
                }

                // DisposeAsync awaits the read and keepalive loops: a loop that faulted throws here.
                await session.DisposeAsync().AsTask().WaitAsync(Poll.DefaultDeadline);
                await peer.Pipe.Input.CompleteAsync();
            }
            catch (Exception ex)
            {
                throw new InvalidOperationException($"Session fuzz failed at {context}", ex);
            }
        }

        alive.Should().BeGreaterThan(0);
        closed.Should().BeGreaterThan(0);
    }
}
