using System.Buffers;

namespace EdgeAgent.Testing.Buffers;

/// <summary>
/// Builds multi-segment <see cref="ReadOnlySequence{T}"/> values for parser tests: every segment is
/// copied into its own array, so a parser that assumes contiguous memory fails.
/// </summary>
public static class SequenceFactory
{
    /// <summary>
    /// Splits <paramref name="data"/> into segments at the given ascending positions. A position of 0,
    /// of the length, or a repeated position yields an empty segment, which parsers must also accept.
    /// </summary>
    public static ReadOnlySequence<byte> Split(ReadOnlySpan<byte> data, params ReadOnlySpan<int> splitPoints)
    {
        var segments = new List<byte[]>(splitPoints.Length + 1);
        var start = 0;
        foreach (var point in splitPoints)
        {
            if (point < start || point > data.Length)
            {
                throw new ArgumentOutOfRangeException(
                    nameof(splitPoints), point, $"Split points must be ascending and within 0..{data.Length}.");
            }

            segments.Add(data[start..point].ToArray());
            start = point;
        }

        segments.Add(data[start..].ToArray());
        return FromSegments(segments);
    }

    /// <summary>Makes one segment per byte: the worst case for a parser.</summary>
    public static ReadOnlySequence<byte> OneBytePerSegment(ReadOnlySpan<byte> data)
    {
        var segments = new List<byte[]>(data.Length);
        foreach (var b in data)
        {
            segments.Add([b]);
        }

        return FromSegments(segments);
    }

    /// <summary>Splits <paramref name="data"/> into segments of <paramref name="segmentSize"/> bytes (the last may be shorter).</summary>
    public static ReadOnlySequence<byte> Chunked(ReadOnlySpan<byte> data, int segmentSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(segmentSize);
        var segments = new List<byte[]>();
        for (var start = 0; start < data.Length; start += segmentSize)
        {
            segments.Add(data[start..Math.Min(data.Length, start + segmentSize)].ToArray());
        }

        return FromSegments(segments);
    }

    /// <summary>
    /// Every way to cut <paramref name="data"/> once: for each position 0..length, a two-segment
    /// sequence split there (the first and last have an empty segment).
    /// </summary>
    public static IEnumerable<(int SplitAt, ReadOnlySequence<byte> Sequence)> AllSingleSplits(ReadOnlyMemory<byte> data)
    {
        for (var i = 0; i <= data.Length; i++)
        {
            yield return (i, Split(data.Span, i));
        }
    }

    /// <summary>Makes a sequence with exactly the given segments (empty ones included), each copied.</summary>
    public static ReadOnlySequence<byte> FromSegments(IReadOnlyList<byte[]> segments)
    {
        ArgumentNullException.ThrowIfNull(segments);
        if (segments.Count == 0)
        {
            return ReadOnlySequence<byte>.Empty;
        }

        var first = new Segment(segments[0].AsMemory().ToArray(), 0);
        var last = first;
        for (var i = 1; i < segments.Count; i++)
        {
            last = last.Append(segments[i].AsMemory().ToArray());
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    /// <summary>Makes a sequence with exactly the given segments.</summary>
    public static ReadOnlySequence<byte> FromSegments(params byte[][] segments) => FromSegments((IReadOnlyList<byte[]>)segments);

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
