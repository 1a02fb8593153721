using System.Buffers;
using System.IO.Pipelines;
using System.Net.WebSockets;
using EdgeAgent.Protocol.Session;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeAgent.Protocol.Transports;

/// <summary>
/// Adapts a <see cref="WebSocket"/> (server or client side) to an <see cref="IDuplexPipe"/>: the
/// byte stream ignores message boundaries, idle receives are zero-byte reads so an idle
/// connection holds no buffer, a full input pipe stops reading the socket (backpressure), and
/// shutdown waits for both directions with a timeout before aborting the socket.
/// </summary>
internal sealed class WebSocketTransport : IDuplexPipe, IDirectSendTransport
{
    private const int MinimumReceiveSize = 64 * 1024;
    private const int MaxCoalescedSend = 256 * 1024;
    private const int LargeSegment = 16 * 1024;

    private readonly WebSocket _socket;
    private readonly TimeSpan _closeTimeout;
    private readonly ILogger _logger;
    private readonly Pipe _incoming;
    private readonly Pipe _outgoing;
    private readonly CountingWriter _output;

    // Bytes the send loop has handed to the socket (compared with what was written to the output).
    private long _sent;

    // 1 while a direct send is in flight; the close waits on _closeWaiter for it to end. Both
    // are written with Interlocked (full fences), so either the close sees no send in flight or
    // the ending send sees the waiter and signals it.
    private int _directSending;
    private TaskCompletionSource? _closeWaiter;

    // Completed when the application completes the output (the session is over).
    private readonly TaskCompletionSource _outputCompleted = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public WebSocketTransport(WebSocket socket, TimeSpan closeTimeout, ILogger? logger = null, long pauseThreshold = 1024 * 1024)
    {
        _socket = socket;
        _closeTimeout = closeTimeout;
        _logger = logger ?? NullLogger.Instance;
        // Incoming: the session's read loop parses on the thread that received the bytes (one
        // thread hop less per chunk). Outgoing: the send loop runs on the thread pool, so frames
        // written by concurrent callers while a send is in progress go out together in the next
        // send; sending inline on each writer's thread cost half the command throughput at
        // concurrency 64 (one system call per command).
        _incoming = new Pipe(new PipeOptions(
            readerScheduler: PipeScheduler.Inline,
            writerScheduler: PipeScheduler.ThreadPool,
            pauseWriterThreshold: pauseThreshold,
            resumeWriterThreshold: pauseThreshold / 2,
            minimumSegmentSize: 16 * 1024,
            useSynchronizationContext: false));
        _outgoing = new Pipe(new PipeOptions(
            readerScheduler: PipeScheduler.ThreadPool,
            writerScheduler: PipeScheduler.ThreadPool,
            pauseWriterThreshold: pauseThreshold,
            resumeWriterThreshold: pauseThreshold / 2,
            minimumSegmentSize: 16 * 1024,
            useSynchronizationContext: false));
        _output = new CountingWriter(_outgoing.Writer, _outputCompleted);
    }

    /// <summary>Bytes received from the peer.</summary>
    public PipeReader Input => _incoming.Reader;

    /// <summary>Bytes to send; completing it closes the WebSocket gracefully.</summary>
    public PipeWriter Output => _output;

    /// <summary>Frames sent with <see cref="SendDirectAsync"/> so far (diagnostics and tests).</summary>
    internal long DirectSends { get; private set; }

    /// <inheritdoc />
    public bool IsOutputDrained => Interlocked.Read(ref _sent) == _output.Written;

    /// <inheritdoc />
    public async ValueTask SendDirectAsync(ReadOnlyMemory<byte> frame)
    {
        DirectSends++;
        Interlocked.Exchange(ref _directSending, 1);
        try
        {
            await _socket.SendAsync(frame, WebSocketMessageType.Binary, endOfMessage: true, CancellationToken.None);
        }
        finally
        {
            Interlocked.Exchange(ref _directSending, 0);
            Volatile.Read(ref _closeWaiter)?.TrySetResult();
        }
    }

    /// <summary>Pumps both directions until the connection is closed; never throws for a lost peer.</summary>
    public async Task RunAsync(CancellationToken cancellationToken = default)
    {
        var receiving = ReceiveLoopAsync(cancellationToken);
        var sending = SendLoopAsync(cancellationToken);
        var aborted = false;
        var first = await Task.WhenAny(receiving, sending, _outputCompleted.Task);
        if (first == _outputCompleted.Task && !sending.IsCompleted && !receiving.IsCompleted)
        {
            // The application is done: the send loop sends what is queued, then the close. A peer
            // that stopped reading (and sends nothing either) would keep that send blocked for
            // ever, and the connection with it: the send gets two close timeouts.
            if (!await CompletesWithinAsync(sending, 2))
            {
                aborted = Abort(2);
            }

            first = sending;
        }
        else if (first == _outputCompleted.Task)
        {
            first = receiving.IsCompleted ? receiving : sending;
        }

        if (first == receiving)
        {
            // The peer closed (or failed): give the application a moment to finish its writes.
            _outgoing.Reader.CancelPendingRead();
            if (!await CompletesWithinAsync(sending))
            {
                aborted = Abort(1);
            }
        }
        else if (!aborted && !await CompletesWithinAsync(receiving))
        {
            // We finished sending and sent the close frame, and the peer's close did not come.
            aborted = Abort(1);
        }

        if (aborted)
        {
            // A send or receive blocked in the stream below the WebSocket (Kestrel's, a socket's)
            // may outlive the abort until the connection's owner disposes it; returning lets the
            // owner do that. (The loops catch their own failures.)
            await CompletesWithinAsync(Task.WhenAll(receiving, sending));
            return;
        }

        await Task.WhenAll(receiving, sending);
    }

    private bool Abort(int closeTimeouts)
    {
        _socket.Abort();
        ProtocolLog.TransportCloseTimedOut(_logger, closeTimeouts * _closeTimeout.TotalSeconds);
        return true;
    }

    private async Task<bool> CompletesWithinAsync(Task task, int closeTimeouts = 1)
    {
        try
        {
            await task.WaitAsync(closeTimeouts * _closeTimeout);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    private async Task ReceiveLoopAsync(CancellationToken cancellationToken)
    {
        var writer = _incoming.Writer;
        Exception? error = null;
        try
        {
            var filled = false;
            while (true)
            {
                // Zero-byte read: wait for data without holding a buffer. Skipped while data streams
                // in (the last read filled its buffer), where it would only cost a call per read.
                if (!filled)
                {
                    var probe = await _socket.ReceiveAsync(Memory<byte>.Empty, cancellationToken);
                    if (probe.MessageType == WebSocketMessageType.Close)
                    {
                        break;
                    }
                }

                var memory = writer.GetMemory(MinimumReceiveSize);
                var received = await _socket.ReceiveAsync(memory, cancellationToken);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }

                filled = received.Count == memory.Length;
                writer.Advance(received.Count);
                var flush = await writer.FlushAsync(cancellationToken);
                if (flush.IsCompleted || flush.IsCanceled)
                {
                    break;
                }
            }
        }
        catch (WebSocketException ex) when (ex.WebSocketErrorCode is WebSocketError.ConnectionClosedPrematurely or WebSocketError.InvalidState)
        {
            error = new IOException("The WebSocket connection was lost.", ex);
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception ex) when (ex is WebSocketException or IOException or ObjectDisposedException)
        {
            error = new IOException("The WebSocket connection failed.", ex);
        }
        finally
        {
            await writer.CompleteAsync(error);
        }
    }

    private async Task SendLoopAsync(CancellationToken cancellationToken)
    {
        var reader = _outgoing.Reader;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(cancellationToken);
                var buffer = result.Buffer;
                try
                {
                    if (result.IsCanceled)
                    {
                        break;
                    }

                    if (!buffer.IsEmpty)
                    {
                        await SendAsync(buffer, cancellationToken);

                        // Only after the socket took them: until then a direct send would overtake these bytes.
                        Interlocked.Add(ref _sent, buffer.Length);
                    }

                    if (result.IsCompleted)
                    {
                        break;
                    }
                }
                finally
                {
                    reader.AdvanceTo(buffer.End);
                }
            }

            if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                using var timeout = new CancellationTokenSource(_closeTimeout);

                // A direct send may still be in flight when the session completes the output: the
                // WebSocket takes one send at a time, and the close frame goes last.
                var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                Interlocked.Exchange(ref _closeWaiter, waiter);
                if (Volatile.Read(ref _directSending) == 1)
                {
                    await waiter.Task.WaitAsync(timeout.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                }

                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            // The peer is gone; the receive side reports it. (InvalidOperationException: a direct
            // send that started as the session was ending overlapped the close.)
        }
        finally
        {
            await reader.CompleteAsync();
        }
    }

    private ValueTask SendAsync(ReadOnlySequence<byte> buffer, CancellationToken cancellationToken)
    {
        if (buffer.IsSingleSegment)
        {
            return _socket.SendAsync(buffer.First, WebSocketMessageType.Binary, endOfMessage: true, cancellationToken);
        }

        // Many small segments: one copy is cheaper than a WebSocket frame per segment. Large
        // segments (data frames are written contiguously) go out as fragments without a copy.
        if (buffer.Length <= MaxCoalescedSend && buffer.Length < SegmentCount(buffer) * LargeSegment)
        {
            return SendCoalescedAsync(buffer, cancellationToken);
        }

        return SendMultiSegmentAsync(buffer, cancellationToken);
    }

    private static int SegmentCount(in ReadOnlySequence<byte> buffer)
    {
        var count = 0;
        foreach (var _ in buffer)
        {
            count++;
        }

        return count;
    }

    /// <summary>
    /// Copies a multi-segment batch into one buffer and sends it as one WebSocket frame: a copy
    /// costs less than a frame (header, masking setup, system call) per pipe segment.
    /// </summary>
    private async ValueTask SendCoalescedAsync(ReadOnlySequence<byte> buffer, CancellationToken cancellationToken)
    {
        var length = (int)buffer.Length;
        var rented = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            buffer.CopyTo(rented);
            await _socket.SendAsync(rented.AsMemory(0, length), WebSocketMessageType.Binary, endOfMessage: true, cancellationToken);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private async ValueTask SendMultiSegmentAsync(ReadOnlySequence<byte> buffer, CancellationToken cancellationToken)
    {
        var position = buffer.Start;
        buffer.TryGet(ref position, out var previous);
        while (buffer.TryGet(ref position, out var segment))
        {
            await _socket.SendAsync(previous, WebSocketMessageType.Binary, endOfMessage: false, cancellationToken);
            previous = segment;
        }

        await _socket.SendAsync(previous, WebSocketMessageType.Binary, endOfMessage: true, cancellationToken);
    }

    /// <summary>The output pipe's writer, counting the bytes written (by the single writer) for <see cref="IsOutputDrained"/>.</summary>
    private sealed class CountingWriter(PipeWriter inner, TaskCompletionSource completed) : PipeWriter
    {
        private long _written;

        public long Written => Volatile.Read(ref _written);

        public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

        public override long UnflushedBytes => inner.UnflushedBytes;

        public override void Advance(int bytes)
        {
            inner.Advance(bytes);
            Volatile.Write(ref _written, _written + bytes);
        }

        public override Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => inner.FlushAsync(cancellationToken);

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override void Complete(Exception? exception = null)
        {
            inner.Complete(exception);
            completed.TrySetResult();
        }

        public override async ValueTask CompleteAsync(Exception? exception = null)
        {
            await inner.CompleteAsync(exception);
            completed.TrySetResult();
        }
    }
}
