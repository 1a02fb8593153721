using System.Buffers;
using EdgeAgent.Protocol.Frames;
using EdgeAgent.Testing.Buffers;
using EdgeAgent.Testing.ProtocolTestHelpers;

namespace EdgeAgent.Protocol.Tests.Frames;

/// <summary>The parser over input cut anywhere: split at every byte, in three pieces, and every incomplete prefix.</summary>
public sealed class FrameReaderSplitTests
{
    public static TheoryData<string> Samples => new(SampleFrames.All.Select(s => s.Name));

    private static byte[] Sample(string name) => SampleFrames.All.Single(s => s.Name == name).Bytes;

    private static ReceivedFrame Parse(ReadOnlySequence<byte> sequence, out ReadOnlySequence<byte> rest)
    {
        FrameReader.TryParse(ref sequence, 1024 * 1024, out var frame).Should().BeTrue();
        rest = sequence;
        return ReceivedFrame.From(frame);
    }

    [Theory]
    [MemberData(nameof(Samples))]
    public void Split_into_two_segments_at_every_byte_gives_the_same_frame(string name)
    {
        var bytes = Sample(name);
        var expected = Parse(new ReadOnlySequence<byte>(bytes), out _);

        foreach (var (splitAt, sequence) in SequenceFactory.AllSingleSplits(bytes))
        {
            var frame = Parse(sequence, out var rest);
            rest.IsEmpty.Should().BeTrue($"split at {splitAt}");
            frame.Should().BeEquivalentTo(expected, $"split at {splitAt}");
        }
    }

    [Theory]
    [MemberData(nameof(Samples))]
    public void Split_into_three_segments_at_every_pair_of_positions_gives_the_same_frame(string name)
    {
        var bytes = Sample(name);
        var expected = Parse(new ReadOnlySequence<byte>(bytes), out _);

        for (var i = 0; i <= bytes.Length; i++)
        {
            for (var j = i; j <= bytes.Length; j++)
            {
                var frame = Parse(SequenceFactory.Split(bytes, i, j), out var rest);
                rest.IsEmpty.Should().BeTrue();
                if (frame.Type != expected.Type || frame.Channel != expected.Channel || frame.Value != expected.Value ||
                    frame.Message != expected.Message || !frame.Payload.AsSpan().SequenceEqual(expected.Payload))
                {
                    frame.Should().BeEquivalentTo(expected, $"split at {i} and {j}");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Samples))]
    public void One_byte_per_segment_gives_the_same_frame(string name)
    {
        var bytes = Sample(name);
        var expected = Parse(new ReadOnlySequence<byte>(bytes), out _);

        Parse(SequenceFactory.OneBytePerSegment(bytes), out var rest).Should().BeEquivalentTo(expected);
        rest.IsEmpty.Should().BeTrue();
    }

    [Theory]
    [MemberData(nameof(Samples))]
    public void Every_incomplete_prefix_returns_false_and_leaves_the_buffer_alone(string name)
    {
        var bytes = Sample(name);
        for (var length = 0; length < bytes.Length; length++)
        {
            foreach (var original in new[] { new ReadOnlySequence<byte>(bytes, 0, length), SequenceFactory.Split(bytes.AsSpan(0, length), length / 2) })
            {
                var buffer = original;

                FrameReader.TryParse(ref buffer, 1024 * 1024, out _).Should().BeFalse($"only {length} of {bytes.Length} bytes are there");

                buffer.Start.Should().Be(original.Start);
                buffer.End.Should().Be(original.End);
            }
        }
    }

    [Fact]
    public void A_frame_followed_by_part_of_the_next_leaves_exactly_the_part()
    {
        var first = Sample("ping");
        var second = Sample("data-small");
        var bytes = first.Concat(second.AsSpan(0, 10).ToArray()).ToArray();
        var buffer = SequenceFactory.Split(bytes, first.Length - 1);

        FrameReader.TryParse(ref buffer, 1024 * 1024, out var frame).Should().BeTrue();
        frame.Type.Should().Be(FrameType.Ping);
        FrameReader.TryParse(ref buffer, 1024 * 1024, out _).Should().BeFalse();

        buffer.ToArray().Should().Equal(second.AsSpan(0, 10).ToArray());
    }

    [Fact]
    public void Multi_segment_data_payload_is_sliced_from_the_input_segments()
    {
        var payload = SampleFrames.Payload(1000);
        var bytes = SampleFrames.Encode(o => FrameWriter.WriteData(o, 3, payload));
        var sequence = SequenceFactory.Chunked(bytes, 100);

        FrameReader.TryParse(ref sequence, 1024 * 1024, out var frame).Should().BeTrue();

        frame.Payload.IsSingleSegment.Should().BeFalse("a payload that spans segments is sliced, not gathered into a copy");
        frame.Payload.ToArray().Should().Equal(payload);
    }
}
