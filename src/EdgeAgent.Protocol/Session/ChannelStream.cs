using System.Buffers;
using System.IO.Pipelines;

namespace EdgeAgent.Protocol.Session;

/// <summary>
/// A <see cref="Stream"/> over a <see cref="TunnelChannel"/>: reads consume the channel's input
/// (returning credit to the peer), writes wait for the peer's credit. Disposing half-closes the
/// output and stops reading.
/// </summary>
internal sealed class ChannelStream(TunnelChannel channel) : Stream
{
    private int _disposed;

    public TunnelChannel Channel => channel;

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            ReadResult result;
            try
            {
                result = await channel.Input.ReadAsync(cancellationToken);
            }
            catch (ProtocolException ex)
            {
                throw new IOException($"The tunnel channel was closed: {ex.Message}", ex);
            }

            var data = result.Buffer;
            if (!data.IsEmpty)
            {
                var count = (int)Math.Min(data.Length, buffer.Length);
                data.Slice(0, count).CopyTo(buffer.Span);
                channel.Input.AdvanceTo(data.GetPosition(count));
                return count;
            }

            channel.Input.AdvanceTo(data.End);
            if (result.IsCompleted || result.IsCanceled)
            {
                return 0;
            }
        }
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        try
        {
            await channel.WriteAsync(buffer, complete: false, cancellationToken);
        }
        catch (ProtocolException ex)
        {
            throw new IOException($"The tunnel channel was closed: {ex.Message}", ex);
        }
    }

    /// <summary>Half-closes: the peer reads the end of the stream; reading here continues.</summary>
    public ValueTask CompleteWritesAsync(CancellationToken cancellationToken = default) => channel.CompleteWritesAsync(cancellationToken);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count).GetAwaiter().GetResult();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count).GetAwaiter().GetResult();

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        try
        {
            await channel.CompleteWritesAsync();
        }
        catch (Exception ex) when (ex is ProtocolException or InvalidOperationException or OperationCanceledException)
        {
        }

        await channel.Input.CompleteAsync();
        await base.DisposeAsync();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        base.Dispose(disposing);
    }
}
