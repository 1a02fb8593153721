using System.Buffers;
using EdgeAgent.Testing.Buffers;

namespace EdgeAgent.Protocol.Tests.Testing;

public sealed class SequenceFactoryTests
{
    private static readonly byte[] Data = [1, 2, 3, 4, 5, 6, 7];

    [Fact]
    public void Split_cuts_at_the_given_positions()
    {
        var sequence = SequenceFactory.Split(Data, 2, 5);

        Segments(sequence).Should().BeEquivalentTo(new[] { new byte[] { 1, 2 }, [3, 4, 5], [6, 7] }, o => o.WithStrictOrdering());
        sequence.ToArray().Should().Equal(Data);
    }

    [Fact]
    public void Split_at_the_ends_and_repeated_positions_makes_empty_segments()
    {
        var sequence = SequenceFactory.Split(Data, 0, 3, 3, 7);

        Segments(sequence).Select(s => s.Length).Should().Equal(0, 3, 0, 4, 0);
        sequence.ToArray().Should().Equal(Data);
    }

    [Fact]
    public void Split_rejects_positions_out_of_order_or_range()
    {
        FluentActions.Invoking(() => SequenceFactory.Split(Data, 4, 2)).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => SequenceFactory.Split(Data, 8)).Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void All_single_splits_covers_every_position_and_keeps_the_bytes()
    {
        var splits = SequenceFactory.AllSingleSplits(Data).ToList();

        splits.Select(s => s.SplitAt).Should().Equal(Enumerable.Range(0, Data.Length + 1));
        foreach (var (splitAt, sequence) in splits)
        {
            sequence.IsSingleSegment.Should().BeFalse();
            sequence.First.Length.Should().Be(splitAt);
            sequence.ToArray().Should().Equal(Data);
        }
    }

    [Fact]
    public void One_byte_per_segment_and_chunked_keep_the_bytes()
    {
        var single = SequenceFactory.OneBytePerSegment(Data);
        var chunked = SequenceFactory.Chunked(Data, 3);

        Segments(single).Should().HaveCount(Data.Length).And.OnlyContain(s => s.Length == 1);
        single.ToArray().Should().Equal(Data);
        Segments(chunked).Select(s => s.Length).Should().Equal(3, 3, 1);
        chunked.ToArray().Should().Equal(Data);
    }

    [Fact]
    public void Segments_do_not_share_memory_with_the_input()
    {
        var data = (byte[])Data.Clone();
        var sequence = SequenceFactory.Split(data, 3);

        data[0] = 99;

        sequence.FirstSpan[0].Should().Be(1);
    }

    [Fact]
    public void Slicing_across_segments_works()
    {
        var sequence = SequenceFactory.OneBytePerSegment(Data);

        sequence.Slice(2, 4).ToArray().Should().Equal(3, 4, 5, 6);
        sequence.Length.Should().Be(Data.Length);
    }

    private static List<byte[]> Segments(ReadOnlySequence<byte> sequence)
    {
        var segments = new List<byte[]>();
        foreach (var memory in sequence)
        {
            segments.Add(memory.ToArray());
        }

        return segments;
    }
}
