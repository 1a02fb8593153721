using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using EdgeAgent.Protocol.Frames;

namespace EdgeAgent.Protocol.Session;

/// <summary>
/// One multiplexed channel of a <see cref="TunnelSession"/>: a flow-controlled byte stream in
/// each direction. Inbound bytes are buffered only up to the receive window this side
/// advertised; outbound writes wait for the credit the peer returns.
/// </summary>
internal sealed class TunnelChannel
{
    private readonly TunnelSession _session;
    private readonly object _gate = new();

    // Created on first use: a unary command's callee never reads its input, and a caller that
    // never looks at Aborted needs no token source (both are most of a short channel's cost).
    private Pipe? _inbound;
    private ChannelInput? _input;
    private CancellationTokenSource? _aborted;
    private bool _inboundEnded;          // the writer's end, recorded before the pipe existed
    private Exception? _inboundError;

    // Collect mode (the caller of a unary command): the input, one length-prefixed message (a
    // 4-byte big-endian length, then the body), is gathered whole into one array of at most
    // _collectLimit bytes, with its credit returned on arrival; no pipe, no reader.
    private readonly int _collectLimit;
    private readonly TaskCompletionSource<ReadOnlyMemory<byte>>? _collectedDone;
    private byte[]? _collected;
    private int _collectedLength;
    private CancellationTokenRegistration _collectCancel;
    private readonly int _window;

    // Send side: credit granted by the peer.
    private long _sendCredit;
    private TaskCompletionSource? _creditWaiter;

    // Receive side: bytes the peer may still send, and consumed bytes not yet returned as credit.
    private long _receiveAvailable;
    private long _pendingCredit;

    private bool _localClosed;   // we sent Close or Reset
    private bool _remoteClosed;  // we received Close or Reset
    private volatile bool _inputCompleted;
    private int _removed;

    internal TunnelChannel(TunnelSession session, uint id, bool openedLocally, uint kind, ReadOnlyMemory<byte> openPayload, int receiveWindow, int sendWindow, int collectLimit = 0)
    {
        if (collectLimit > 0)
        {
            _collectLimit = collectLimit;
            // Completed only through CompleteCollected, which runs continuations on the pool.
            _collectedDone = new TaskCompletionSource<ReadOnlyMemory<byte>>();
        }

        _session = session;
        Id = id;
        OpenedLocally = openedLocally;
        Kind = kind;
        OpenPayload = openPayload;
        _window = receiveWindow;
        _receiveAvailable = receiveWindow;
        _sendCredit = sendWindow;
    }

    private static readonly PipeOptions LargeWindowPipeOptions = CreatePipeOptions(64 * 1024);

    /// <summary>
    /// The options of a channel's inbound pipe for a given receive window: shared by every
    /// channel of a session, and by all sessions whose window is 64 KiB or more.
    /// </summary>
    internal static PipeOptions PipeOptionsFor(int receiveWindow) =>
        receiveWindow >= 64 * 1024 ? LargeWindowPipeOptions : CreatePipeOptions(receiveWindow);

    private static PipeOptions CreatePipeOptions(int receiveWindow) => new(
        readerScheduler: PipeScheduler.ThreadPool,
        writerScheduler: PipeScheduler.Inline,
        pauseWriterThreshold: 0,
        resumeWriterThreshold: 0,
        minimumSegmentSize: Math.Min(receiveWindow, 64 * 1024),
        useSynchronizationContext: false);

    /// <summary>The session the channel belongs to.</summary>
    internal TunnelSession Session => _session;

    /// <summary>The channel id; odd ids are opened by the connecting side, even ids by the accepting side.</summary>
    public uint Id { get; }

    /// <summary>True when this side opened the channel.</summary>
    public bool OpenedLocally { get; }

    /// <summary>The kind the opener declared.</summary>
    public uint Kind { get; }

    /// <summary>The bytes carried by the open frame (copied out of the transport buffer).</summary>
    public ReadOnlyMemory<byte> OpenPayload { get; }

    /// <summary>The bytes the peer sent, flow-controlled: consuming them returns credit to the peer.</summary>
    public PipeReader Input
    {
        get
        {
            if (Volatile.Read(ref _input) is { } input)
            {
                return input;
            }

            if (_collectLimit > 0)
            {
                throw new InvalidOperationException("This channel's input is collected whole (ReadCollectedAsync), not read as a stream.");
            }

            lock (_gate)
            {
                return _input ??= new ChannelInput(this, InboundLocked().Reader);
            }
        }
    }

    /// <summary>Cancelled when the channel is reset by either side or the session ends.</summary>
    public CancellationToken Aborted
    {
        get
        {
            lock (_gate)
            {
                if (_aborted is null)
                {
                    if (AbortReason is not null)
                    {
                        return new CancellationToken(canceled: true);
                    }

                    _aborted = new CancellationTokenSource();
                }

                return _aborted.Token;
            }
        }
    }

    /// <summary>Why the channel was aborted, when it was.</summary>
    public ProtocolException? AbortReason { get; private set; }

    /// <summary>Bytes currently buffered on the receive side (at most the window).</summary>
    public long BufferedBytes => _window - Interlocked.Read(ref _receiveAvailable) - Interlocked.Read(ref _pendingCredit);

    /// <summary>Sends <paramref name="data"/>, waiting for credit as needed; optionally half-closes after it.</summary>
    public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, bool complete = false, CancellationToken cancellationToken = default)
    {
        var maxChunk = _session.MaxOutboundDataChunk;
        while (!data.IsEmpty)
        {
            var credit = await WaitForCreditAsync(cancellationToken);
            var chunk = (int)Math.Min(Math.Min(credit, maxChunk), data.Length);
            chunk = await _session.AcquireConnectionCreditAsync(chunk, cancellationToken);
            lock (_gate)
            {
                _sendCredit -= chunk;
            }

            var last = chunk == data.Length;
            await _session.SendDataAsync(this, data[..chunk], complete && last, cancellationToken);
            data = data[chunk..];
            if (complete && last)
            {
                MarkLocalClosed();
                return;
            }
        }

        if (complete)
        {
            await CompleteWritesAsync(cancellationToken);
        }
    }

    /// <summary>Half-closes: the peer sees the end of the stream after all data already sent.</summary>
    public async ValueTask CompleteWritesAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (_localClosed)
            {
                return;
            }
        }

        await _session.SendCloseAsync(this, cancellationToken);
        MarkLocalClosed();
    }

    /// <summary>Aborts both directions and tells the peer why.</summary>
    public void Reset(ProtocolErrorCode code, string message)
    {
        bool send;
        lock (_gate)
        {
            send = AbortReason is null && (!_localClosed || !_remoteClosed);
        }

        if (send && !_session.IsClosed)
        {
            _session.SendResetInBackground(this, code, message);
        }

        Abort(new ProtocolException(code, message));
    }

    /// <summary>
    /// In collect mode: the whole input, once the peer closed its side; or, as soon as it is clear
    /// the message does not fit the collect limit (its length prefix says so, or more bytes than the
    /// limit arrived), what arrived so far, up to the limit (the rest is dropped). Empty when the
    /// peer closed without sending anything, or the channel was ended with no error.
    /// </summary>
    /// <remarks>Call once; <see cref="EndCollecting"/> afterwards releases the registration on <paramref name="cancellationToken"/>.</remarks>
    /// <exception cref="ProtocolException">The channel was reset or the session was lost.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled first.</exception>
    public Task<ReadOnlyMemory<byte>> ReadCollectedAsync(CancellationToken cancellationToken)
    {
        var done = _collectedDone ?? throw new InvalidOperationException("The channel is not in collect mode.");
        if (!done.Task.IsCompleted && cancellationToken.CanBeCanceled)
        {
            // One registration that cancels the answer itself (no promise wrapping it).
            _collectCancel = cancellationToken.UnsafeRegister(
                static (state, token) => CompleteCollected((TaskCompletionSource<ReadOnlyMemory<byte>>)state!, default, null, token),
                done);
        }

        return done.Task;
    }

    /// <summary>In collect mode: nothing more is wanted; later input is dropped and its credit returned.</summary>
    public void EndCollecting()
    {
        lock (_gate)
        {
            _inputCompleted = true;
        }

        _collectCancel.Dispose();
    }

    private async ValueTask<long> WaitForCreditAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            Task wait;
            lock (_gate)
            {
                if (AbortReason is not null)
                {
                    throw new ProtocolException(AbortReason.Code, AbortReason.Message);
                }

                if (_localClosed)
                {
                    throw new InvalidOperationException("The channel's output is already closed.");
                }

                if (_sendCredit > 0)
                {
                    return _sendCredit;
                }

                _creditWaiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                wait = _creditWaiter.Task;
            }

            await wait.WaitAsync(cancellationToken);
        }
    }

    /// <summary>Records that this side sent Close (also used when the open frame carried it).</summary>
    internal void MarkLocalClosed()
    {
        bool done;
        lock (_gate)
        {
            _localClosed = true;
            done = _remoteClosed;
        }

        if (done)
        {
            _session.RemoveChannel(this);
        }
    }

    // ---- Called by the session's read loop (single thread). ----

    internal void OnData(in ReadOnlySequence<byte> payload)
    {
        ReadOnlyMemory<byte>? overLimit = null;
        var length = payload.Length;
        if (length > Interlocked.Read(ref _receiveAvailable))
        {
            throw new ProtocolException(ProtocolErrorCode.FlowControlViolation, $"Channel {Id} received more than its window.");
        }

        lock (_gate)
        {
            if (AbortReason is not null)
            {
                // Reset locally while these bytes were in flight: drop them.
                return;
            }

            if (_remoteClosed)
            {
                throw new ProtocolException(ProtocolErrorCode.InvalidFrame, $"Data on channel {Id} after it was closed.");
            }

            Interlocked.Add(ref _receiveAvailable, -length);
            if (_inputCompleted)
            {
                // Nobody reads any more: drop the bytes and give the credit straight back below.
            }
            else if (_collectLimit > 0)
            {
                // Gathered, not buffered in the window: the credit goes straight back below.
                if (Collect(payload))
                {
                    overLimit = CollectedLocked();
                }
            }
            else
            {
                var writer = InboundLocked().Writer;
                foreach (var segment in payload)
                {
                    writer.Write(segment.Span);
                }

                // pauseWriterThreshold is 0: this completes synchronously; the window bounds memory instead.
                var flush = writer.FlushAsync();
                if (!flush.IsCompleted)
                {
                    flush.AsTask().GetAwaiter().GetResult();
                }

                return;
            }
        }

        if (overLimit is { } collected)
        {
            CompleteCollected(_collectedDone!, collected, null, default);
        }

        OnConsumed(length);
    }

    /// <summary>Appends to the collected input (under the gate); true when the limit was reached and collecting ended.</summary>
    private bool Collect(in ReadOnlySequence<byte> payload)
    {
        var take = (int)Math.Min(payload.Length, _collectLimit - _collectedLength);
        var needed = _collectedLength + take;
        if (_collected is null)
        {
            _collected = new byte[needed];
        }
        else if (needed > _collected.Length)
        {
            Array.Resize(ref _collected, (int)Math.Min(_collectLimit, Math.Max(needed, 2L * _collected.Length)));
        }

        payload.Slice(0, take).CopyTo(_collected.AsSpan(_collectedLength));
        _collectedLength = needed;

        // A length prefix over the limit ends collecting at once: nothing more of that message is
        // buffered (the caller reads the prefix and reports the size).
        if (take < payload.Length
            || (_collectedLength >= FrameReader.PrefixLength && BinaryPrimitives.ReadUInt32BigEndian(_collected) > (uint)(_collectLimit - FrameReader.PrefixLength)))
        {
            _inputCompleted = true;
            return true;
        }

        return false;
    }

    private ReadOnlyMemory<byte> CollectedLocked() => _collected is null ? default : _collected.AsMemory(0, _collectedLength);

    internal void OnWindowUpdate(ulong increment)
    {
        lock (_gate)
        {
            _sendCredit += (long)increment;
            if (_sendCredit > int.MaxValue)
            {
                throw new ProtocolException(ProtocolErrorCode.FlowControlViolation, $"Channel {Id} credit overflow.");
            }

            var waiter = _creditWaiter;
            _creditWaiter = null;
            waiter?.TrySetResult();
        }
    }

    internal void OnRemoteClose()
    {
        bool done;
        lock (_gate)
        {
            if (_remoteClosed)
            {
                return;
            }

            _remoteClosed = true;
            done = _localClosed;
            EndInboundLocked(null);
        }

        FinishCollecting(null);

        if (done)
        {
            _session.RemoveChannel(this);
        }
    }

    internal void OnRemoteReset(ProtocolErrorCode code, string message)
    {
        // Abort marks both directions closed under the same lock that records the reason: a
        // concurrent writer must see the reset's code, never "closed" without a reason.
        Abort(new ProtocolException(code, message));
    }

    internal void OnAccepted()
    {
    }

    /// <summary>Ends the channel locally (reset, or the session ended); idempotent.</summary>
    internal void Abort(ProtocolException reason)
    {
        TaskCompletionSource? waiter;
        CancellationTokenSource? aborted;
        lock (_gate)
        {
            if (AbortReason is not null)
            {
                return;
            }

            AbortReason = reason;
            _localClosed = true;
            _remoteClosed = true;
            waiter = _creditWaiter;
            _creditWaiter = null;
            aborted = _aborted;
        }

        // Cancel first, then wake blocked writers and the reader: whoever observes the abort
        // through a failed read or write finds Aborted (and the tokens linked to it) already
        // cancelled. A token asked for from now on is cancelled from the start.
        try
        {
            aborted?.Cancel();
        }
        catch (AggregateException)
        {
            // A callback threw; the channel is gone either way.
        }

        waiter?.TrySetResult();
        lock (_gate)
        {
            EndInboundLocked(reason.Code == ProtocolErrorCode.None ? null : reason);
        }

        FinishCollecting(reason.Code == ProtocolErrorCode.None ? null : reason);

        _session.RemoveChannel(this);
    }

    internal bool TryMarkRemoved() => Interlocked.Exchange(ref _removed, 1) == 0;

    /// <summary>The inbound pipe, created on first use; one that starts after the end is ended at once.</summary>
    private Pipe InboundLocked()
    {
        if (_inbound is null)
        {
            _inbound = new Pipe(_session.ChannelPipeOptions);
            if (_inboundEnded)
            {
                _inbound.Writer.Complete(_inboundError);
            }
        }

        return _inbound;
    }

    /// <summary>In collect mode, completes the collected input at the end of the inbound side (once).</summary>
    private void FinishCollecting(ProtocolException? error)
    {
        if (_collectedDone is null)
        {
            return;
        }

        ReadOnlyMemory<byte> collected;
        lock (_gate)
        {
            if (_inputCompleted)
            {
                return;
            }

            _inputCompleted = true;
            collected = CollectedLocked();
        }

        CompleteCollected(_collectedDone, collected, error, default);
    }

    /// <summary>
    /// Completes the collected answer on a pool thread taken from the global queue: the caller's
    /// continuation never runs inline on the read loop (or inside a token's Cancel), nor waits in
    /// the read loop thread's local queue, which under load is served only once the global queue
    /// is empty (a task's asynchronous continuation would be queued there).
    /// </summary>
    private static void CompleteCollected(TaskCompletionSource<ReadOnlyMemory<byte>> done, ReadOnlyMemory<byte> collected, Exception? error, CancellationToken cancelled) =>
        ThreadPool.UnsafeQueueUserWorkItem(
            static state =>
            {
                if (state.Cancelled.IsCancellationRequested)
                {
                    state.Done.TrySetCanceled(state.Cancelled);
                }
                else if (state.Error is not null)
                {
                    state.Done.TrySetException(state.Error);
                }
                else
                {
                    state.Done.TrySetResult(state.Collected);
                }
            },
            (Done: done, Collected: collected, Error: error, Cancelled: cancelled),
            preferLocal: false);

    /// <summary>Ends the inbound side once (close or abort, whichever comes first).</summary>
    private void EndInboundLocked(Exception? error)
    {
        if (_inboundEnded)
        {
            return;
        }

        _inboundEnded = true;
        _inboundError = error;

        // The reader's continuation runs on the thread pool (readerScheduler), never inline here.
        _inbound?.Writer.Complete(error);
    }

    // ---- Called by the input reader. ----

    private void OnConsumed(long bytes)
    {
        var pending = Interlocked.Add(ref _pendingCredit, bytes);

        // Return credit in batches: at half the window, or at once when the window is small.
        // Loop on a lost race (the reader and the read loop both return credit once the input is
        // completed) so credit above the threshold is never left behind.
        while (pending >= _window / 2)
        {
            if (Interlocked.CompareExchange(ref _pendingCredit, 0, pending) != pending)
            {
                pending = Interlocked.Read(ref _pendingCredit);
                continue;
            }

            Interlocked.Add(ref _receiveAvailable, pending);
            lock (_gate)
            {
                if (_remoteClosed)
                {
                    return;
                }
            }

            _session.SendWindowUpdateInBackground(this, (uint)pending);
            return;
        }
    }

    private void OnInputCompleted()
    {
        long unread;
        lock (_gate)
        {
            if (_inputCompleted)
            {
                return;
            }

            // OnData holds the gate while it buffers, so this is exactly what was buffered and never consumed.
            _inputCompleted = true;
            unread = BufferedBytes;
        }

        // Nobody will read those bytes: return their credit, as OnData does for every later byte,
        // or a sender that had filled the window waits for credit forever.
        if (unread > 0)
        {
            OnConsumed(unread);
        }
    }

    /// <summary>A reader that counts what the application consumes and turns it into credit.</summary>
    private sealed class ChannelInput(TunnelChannel channel, PipeReader inner) : PipeReader
    {
        private ReadOnlySequence<byte> _last;

        public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

        public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
        {
            var bytes = _last.Slice(_last.Start, consumed).Length;
            _last = default;
            inner.AdvanceTo(consumed, examined);
            if (bytes > 0)
            {
                channel.OnConsumed(bytes);
            }
        }

        public override void CancelPendingRead() => inner.CancelPendingRead();

        public override void Complete(Exception? exception = null)
        {
            channel.OnInputCompleted();
            inner.Complete(exception);
        }

        public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
        {
            var pending = inner.ReadAsync(cancellationToken);
            if (pending.IsCompletedSuccessfully)
            {
                var result = pending.Result;
                _last = result.Buffer;
                return new ValueTask<ReadResult>(result);
            }

            return Awaited(pending);
        }

        public override bool TryRead(out ReadResult result)
        {
            if (inner.TryRead(out result))
            {
                _last = result.Buffer;
                return true;
            }

            return false;
        }

        [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
        private async ValueTask<ReadResult> Awaited(ValueTask<ReadResult> pending)
        {
            var result = await pending;
            _last = result.Buffer;
            return result;
        }
    }
}
