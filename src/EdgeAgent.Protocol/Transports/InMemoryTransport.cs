using System.IO.Pipelines;

namespace EdgeAgent.Protocol.Transports;

/// <summary>Two connected in-process <see cref="IDuplexPipe"/> ends, for tests and the integrated local agent.</summary>
internal static class InMemoryTransport
{
    /// <summary>Creates a connected pair: what one end writes, the other reads.</summary>
    public static (IDuplexPipe Left, IDuplexPipe Right) CreatePair(long pauseWriterThreshold = 1024 * 1024)
    {
        var options = new PipeOptions(
            pauseWriterThreshold: pauseWriterThreshold,
            resumeWriterThreshold: pauseWriterThreshold / 2,
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
