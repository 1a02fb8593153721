using System.Buffers;
using EdgeAgent.Protocol.Session;

namespace EdgeAgent.Protocol;

/// <summary>
/// A byte stream through the tunnel (a TCP forward, an exec session, a Docker API stream):
/// reads take what the other side sent and return flow-control credit to it; writes wait while
/// the other side's window is full, so neither side ever buffers more than a channel window.
/// </summary>
/// <remarks>
/// <see cref="CompleteWritesAsync"/> half-closes (the other side reads end-of-stream while this
/// side can still read); <see cref="Abort"/> resets both directions (for a TCP forward, the
/// target connection is closed with a reset). Disposing half-closes the output and stops reading.
/// </remarks>
public class EdgeTunnelStream : Stream
{
    private readonly TunnelChannel _channel;
    private int _disposed;

    private protected EdgeTunnelStream(TunnelChannel channel)
    {
        _channel = channel;
    }

    internal TunnelChannel Channel => _channel;

    /// <summary>True once the stream was reset by either side or the tunnel session ended.</summary>
    public bool IsAborted => _channel.Aborted.IsCancellationRequested;

    /// <inheritdoc />
    public override bool CanRead => true;

    /// <inheritdoc />
    public override bool CanWrite => true;

    /// <inheritdoc />
    public override bool CanSeek => false;

    /// <inheritdoc />
    public override long Length => throw new NotSupportedException();

    /// <inheritdoc />
    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <summary>
    /// Half-closes: the other side reads the end of the stream after everything written so far;
    /// reading here continues until the other side half-closes too.
    /// </summary>
    /// <param name="cancellationToken">Cancels the wait for the transport.</param>
    /// <returns>A task that completes when the end-of-stream was sent.</returns>
    /// <exception cref="IOException">The stream was reset or the tunnel session ended.</exception>
    public async ValueTask CompleteWritesAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await _channel.CompleteWritesAsync(cancellationToken);
        }
        catch (ProtocolException ex)
        {
            throw new IOException($"The tunnel channel was closed: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Resets both directions at once, discarding what is in flight; the other side sees a reset
    /// (a forwarded TCP connection is closed with RST). Idempotent.
    /// </summary>
    /// <param name="reason">Why, for the other side's diagnostics (never a secret).</param>
    public void Abort(string? reason = null) =>
        _channel.Reset(ProtocolErrorCode.Cancelled, reason ?? "The stream was aborted.");

    // RS0027: these overrides keep Stream's own optional token, so that callers of the derived type
    // can write stream.ReadAsync(buffer) as on any Stream.
#pragma warning disable RS0027

    /// <inheritdoc />
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var input = _channel.Input;
        while (true)
        {
            System.IO.Pipelines.ReadResult result;
            try
            {
                result = await input.ReadAsync(cancellationToken);
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
                input.AdvanceTo(data.GetPosition(count));
                return count;
            }

            input.AdvanceTo(data.End);
            if (result.IsCompleted || result.IsCanceled)
            {
                return 0;
            }
        }
    }

    /// <inheritdoc />
    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        try
        {
            await _channel.WriteAsync(buffer, complete: false, cancellationToken);
        }
        catch (ProtocolException ex)
        {
            throw new IOException($"The tunnel channel was closed: {ex.Message}", ex);
        }
    }
#pragma warning restore RS0027

    /// <inheritdoc />
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc />
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count).GetAwaiter().GetResult();

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count).GetAwaiter().GetResult();

    /// <inheritdoc />
    public override void Flush()
    {
    }

    /// <inheritdoc />
    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <inheritdoc />
    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        try
        {
            await _channel.CompleteWritesAsync();
        }
        catch (Exception ex) when (ex is ProtocolException or InvalidOperationException or OperationCanceledException)
        {
        }

        await _channel.Input.CompleteAsync();
        await base.DisposeAsync();
        GC.SuppressFinalize(this);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        base.Dispose(disposing);
    }
}
