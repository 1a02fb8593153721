using System.IO.Pipelines;

namespace EdgeAgent.Protocol.Transports;

/// <summary>Adapts a bidirectional <see cref="Stream"/> (a TCP or TLS stream) to an <see cref="IDuplexPipe"/>.</summary>
internal static class StreamTransport
{
    /// <summary>Wraps <paramref name="stream"/>; completing the output flushes and, with <paramref name="leaveOpen"/> false, disposes it.</summary>
    public static IDuplexPipe Create(Stream stream, bool leaveOpen = false) =>
        new DuplexPipe(
            PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 64 * 1024, minimumReadSize: 4096, leaveOpen: true)),
            PipeWriter.Create(stream, new StreamPipeWriterOptions(minimumBufferSize: 64 * 1024, leaveOpen: leaveOpen)));
}
