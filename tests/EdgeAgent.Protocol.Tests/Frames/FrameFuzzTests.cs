using System.Buffers;
using EdgeAgent.Protocol.Frames;
using EdgeAgent.Testing.Buffers;

namespace EdgeAgent.Protocol.Tests.Frames;

/// <summary>
/// Seeded mutation fuzzing of the frame parser. Every mutated input must either parse into frames
/// or fail with a <see cref="ProtocolException"/> carrying a defined code — no other exception, no
/// hang. The default is 100,000 mutated frames (a few seconds); set EDGEAGENT_FUZZ_ITERATIONS
/// (and optionally EDGEAGENT_FUZZ_SEED) to run far longer, e.g.
/// <c>EDGEAGENT_FUZZ_ITERATIONS=50000000 dotnet test tests/EdgeAgent.Protocol.Tests --filter FullyQualifiedName~Fuzz</c>.
/// </summary>
public sealed class FrameFuzzTests
{
    private static readonly byte[][] Corpus =
    [
        .. SampleFrames.All.Select(s => s.Bytes),
        SampleFrames.Encode(o => FrameWriter.WriteData(o, 1, SampleFrames.Payload(2000))),
        SampleFrames.Encode(o => FrameWriter.WriteOpen(o, 1, 1, SampleFrames.Payload(3))),
        Envelope.Frame((ref MessagePack.MessagePackWriter w) =>
        {
            w.WriteArrayHeader(5);
            w.Write(3);
            w.Write(0);
            w.Write(1UL);
            w.WriteMapHeader(1);
            w.Write("k");
            Envelope.WriteNestedArrays(ref w, 40);
        }),
    ];

    [Fact]
    public void Mutated_frames_parse_or_fail_with_a_protocol_exception()
    {
        var iterations = Mutator.Iterations(100_000);
        var seed = Mutator.Seed(20_240_601);
        var random = new Random(seed);
        var parsed = 0;
        var codes = new Dictionary<ProtocolErrorCode, int>();

        for (var i = 0; i < iterations; i++)
        {
            var input = Mutator.Mutate(Corpus[random.Next(Corpus.Length)], random);
            var buffer = (i % 3) switch
            {
                0 => new ReadOnlySequence<byte>(input),
                1 => SequenceFactory.Split(input, random.Next(input.Length + 1)),
                _ => SequenceFactory.Chunked(input, 1 + random.Next(16)),
            };

            try
            {
                var frames = 0;
                while (FrameReader.TryParse(ref buffer, 64 * 1024, out var frame))
                {
                    // Touch what the session would read.
                    _ = frame.Payload.Length + (frame.Message?.Length ?? 0) + (frame.HandshakeRequest?.Capabilities.Count ?? 0);
                    if (++frames > input.Length)
                    {
                        throw new InvalidOperationException("The parser made no progress.");
                    }
                }

                parsed++;
            }
            catch (ProtocolException ex)
            {
                Enum.IsDefined(ex.Code).Should().BeTrue();
                ex.Code.Should().NotBe(ProtocolErrorCode.None);
                codes[ex.Code] = codes.GetValueOrDefault(ex.Code) + 1;
            }
            catch (Exception ex)
            {
                throw new InvalidOperationException(
                    $"Iteration {i} (EDGEAGENT_FUZZ_SEED={seed}) threw {ex.GetType().Name} for input {Convert.ToHexString(input)}", ex);
            }
        }

        // The fuzzer exercises both outcomes and the interesting codes.
        parsed.Should().BeGreaterThan(iterations / 100);
        codes.Keys.Should().Contain([ProtocolErrorCode.InvalidFrame, ProtocolErrorCode.FrameTooLarge]);
        codes.Values.Sum().Should().BeGreaterThan(iterations / 10);
    }
}
