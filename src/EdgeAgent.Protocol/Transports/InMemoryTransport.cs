using System.IO.Pipelines;

namespace EdgeAgent.Protocol.Transports;

/// <summary>Two connected in-process <see cref="IDuplexPipe"/> ends, for tests and the integrated local agent.</summary>
internal static class InMemoryTransport
{
    /// <summary>Creates a connected pair: what one end writes, the other reads.</summary>
    public static (IDuplexPipe Left, IDuplexPipe Right) CreatePair(long pauseWriterThreshold = 1024 * 1024)
    {
        // 64 KiB segments: a full pipe is a few dozen pooled arrays instead of hundreds of 4 KiB
        // ones, which the shared array pool cannot keep (every miss allocated and dropped an array).
        var options = new PipeOptions(
            pauseWriterThreshold: pauseWriterThreshold,
            resumeWriterThreshold: pauseWriterThreshold / 2,
            minimumSegmentSize: 64 * 1024,
            useSynchronizationContext: false);
        var leftToRight = new Pipe(options);
        var rightToLeft = new Pipe(options);
        return (new DuplexPipe(rightToLeft.Reader, leftToRight.Writer), new DuplexPipe(leftToRight.Reader, rightToLeft.Writer));
    }
}

/// <summary>An <see cref="IDuplexPipe"/> made of a reader and a writer.</summary>
internal sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
{
    public PipeReader Input { get; } = input;

    public PipeWriter Output { get; } = output;
}
