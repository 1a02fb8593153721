using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using EdgeAgent.Protocol.Frames;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeAgent.Protocol.Session;

/// <summary>
/// One tunnel connection: many flow-controlled channels multiplexed over an <see cref="IDuplexPipe"/>,
/// with keepalive from both sides and a graceful go-away. Channel ids are allocated per side
/// (the connecting side uses odd ids, the accepting side even ids), so they are never negotiated.
/// </summary>
internal sealed class TunnelSession : IAsyncDisposable
{
    /// <summary>The protocol's major version; peers with another major cannot talk.</summary>
    public const int ProtocolMajor = 1;

    /// <summary>The protocol's minor version; differences are tolerated.</summary>
    /// <remarks>1.1 added the connection window (a trailing limits field and window updates on channel 0).</remarks>
    public const int ProtocolMinor = 1;

    private readonly IDuplexPipe _transport;
    private readonly IDirectSendTransport? _directSend;
    private readonly SessionOptions _options;
    private readonly SessionLimits _remote;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly bool _isConnector;
    private readonly Dictionary<uint, TunnelChannel> _channels = [];
    private readonly WriteGate _writeLock = new();
    private readonly SemaphoreSlim _openSlots;
    private readonly CancellationTokenSource _closing = new();
    private readonly TaskCompletionSource<SessionCloseInfo> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private Func<TunnelChannel, Task>? _channelHandler;
    private uint _nextLocalId;
    private uint _highestRemoteId;
    private int _remoteOpenCount;
    private int _pendingOpens;
    private bool _localGoingAway;
    private (ProtocolErrorCode Code, string Reason)? _remoteGoAway;
    private ulong _pingValue;
    private bool _pingOutstanding;
    private long _lastReceivedTicks;
    private int _pongPending;
    private ulong _pongValue;
    private Task _readLoop = Task.CompletedTask;
    private ITimer? _keepaliveTimer;
    private long _bytesReceived;
    private long _bytesSent;

    // Connection-level flow control (both sides advertised a connection window).
    private readonly bool _connectionFlow;
    private readonly object _connectionGate = new();
    private long _connectionCredit;
    private readonly Queue<ConnectionCreditWaiter> _connectionWaiters = new();
    private long _connectionUnreturned; // read loop only
    private readonly long _commandReserve; // credit bulk data leaves unused while commands are active
    private readonly long _minCommandLinger; // in timestamp ticks
    private readonly long _maxCommandLinger;
    private long _commandLinger; // twice the last keepalive round trip, within the two above
    private long _pingSentAt; // timestamp of the outstanding ping; under the _channels lock
    private long _commandsActiveUntil; // timestamp

    private TunnelSession(IDuplexPipe transport, SessionOptions options, SessionLimits remote, bool isConnector, TimeProvider time, ILogger logger)
    {
        _transport = transport;
        _directSend = transport as IDirectSendTransport;
        _options = options;
        _remote = remote;
        _isConnector = isConnector;
        _time = time;
        _logger = logger;
        _nextLocalId = isConnector ? 1u : 2u;
        ChannelPipeOptions = TunnelChannel.PipeOptionsFor(options.InitialWindow);
        _openSlots = new SemaphoreSlim(Math.Max(1, remote.MaxChannels));
        _lastReceivedTicks = time.GetUtcNow().UtcTicks;
        MaxOutboundDataChunk = Math.Max(1, Math.Min(options.MaxDataChunk, remote.MaxFrameSize - FrameWriter.MaxDataFrameOverhead));
        _connectionFlow = options.ConnectionWindow > 0 && remote.ConnectionWindow > 0;
        _connectionCredit = remote.ConnectionWindow;
        _commandReserve = _connectionFlow ? Math.Max(0, remote.ConnectionWindow - (remote.ConnectionWindow / 4 + ConnectionQuantum)) : 0;
        _minCommandLinger = _commandLinger = time.TimestampFrequency * CommandLingerMilliseconds / 1000;
        _maxCommandLinger = time.TimestampFrequency * MaxCommandLingerMilliseconds / 1000;
        _commandsActiveUntil = time.GetTimestamp();
    }

    /// <summary>True when both sides take part in connection-level flow control.</summary>
    internal bool ConnectionFlowControl => _connectionFlow;

    /// <summary>Completes when the session has ended, with how it ended.</summary>
    public Task<SessionCloseInfo> Completion => _completion.Task;

    /// <summary>True once the session has ended or is closing.</summary>
    public bool IsClosed => _completion.Task.IsCompleted;

    /// <summary>Cancelled when the session starts closing or ends.</summary>
    public CancellationToken Closing => _closing.Token;

    /// <summary>When the last frame from the peer arrived (the heartbeat).</summary>
    public DateTimeOffset LastReceived => new(Interlocked.Read(ref _lastReceivedTicks), TimeSpan.Zero);

    /// <summary>The peer's limits.</summary>
    public SessionLimits RemoteLimits => _remote;

    /// <summary>Open channels right now.</summary>
    public int ChannelCount
    {
        get
        {
            lock (_channels)
            {
                return _channels.Count;
            }
        }
    }

    /// <summary>Bytes read from the transport.</summary>
    public long BytesReceived => Interlocked.Read(ref _bytesReceived);

    /// <summary>Bytes written to the transport.</summary>
    public long BytesSent => Interlocked.Read(ref _bytesSent);

    internal int MaxOutboundDataChunk { get; }

    /// <summary>
    /// Connecting side: sends the handshake, waits for the answer, and returns a started session.
    /// </summary>
    /// <exception cref="ProtocolException">The handshake was refused, failed or timed out.</exception>
    public static async Task<(TunnelSession Session, HandshakeResponse Response)> ConnectAsync(
        IDuplexPipe transport,
        HandshakeRequest request,
        SessionOptions options,
        Func<TunnelChannel, Task>? channelHandler,
        TimeProvider? time = null,
        ILogger? logger = null,
        CancellationToken cancellationToken = default)
    {
        options.Validate();
        time ??= TimeProvider.System;
        logger ??= NullLogger.Instance;
        request = request with { Major = ProtocolMajor, Minor = ProtocolMinor, Limits = options.ToLimits() };
        FrameWriter.WriteHandshakeRequest(transport.Output, request);
        await transport.Output.FlushAsync(cancellationToken);

        var frame = await ReadHandshakeFrameOrRefuseAsync(transport, options, time, cancellationToken);

        if (frame.Type != FrameType.HandshakeResponse || frame.HandshakeResponse is null)
        {
            var message = $"Expected a handshake response, got {frame.Type}.";
            await TryRefuseAsync(transport, ProtocolErrorCode.HandshakeRequired, message);
            throw new ProtocolException(ProtocolErrorCode.HandshakeRequired, message);
        }

        var response = frame.HandshakeResponse;
        if (response.Code != ProtocolErrorCode.None)
        {
            throw new ProtocolException(response.Code, $"The control plane refused the handshake: {response.Message}");
        }

        if (response.Major != ProtocolMajor)
        {
            var message = $"The control plane speaks protocol {response.Major}.{response.Minor}; this agent speaks {ProtocolMajor}.{ProtocolMinor}.";
            await TryRefuseAsync(transport, ProtocolErrorCode.UnsupportedVersion, message);
            throw new ProtocolException(ProtocolErrorCode.UnsupportedVersion, message);
        }

        if (!AreUsable(response.Limits))
        {
            throw new ProtocolException(ProtocolErrorCode.HandshakeFailed, "The control plane's handshake declared unusable limits.");
        }

        var session = new TunnelSession(transport, options, response.Limits, isConnector: true, time, logger);
        session._channelHandler = channelHandler;
        session.Start();
        return (session, response);
    }

    /// <summary>
    /// Accepting side: reads the handshake, lets <paramref name="validate"/> accept or refuse it
    /// (returning null to accept, or a code and message), answers, and returns a started session.
    /// <paramref name="accepted"/> runs after the handshake is accepted and before the answer is
    /// sent, holding the session's write lock: whatever it registers is in place before the peer
    /// can see the session as established, and frames written through the session from then on
    /// follow the answer on the wire.
    /// </summary>
    /// <exception cref="ProtocolException">The handshake failed, timed out, or was refused.</exception>
    public static async Task<(TunnelSession Session, HandshakeRequest Request)> AcceptAsync(
        IDuplexPipe transport,
        SessionOptions options,
        string serverName,
        Func<HandshakeRequest, (ProtocolErrorCode Code, string Message)?> validate,
        Func<TunnelChannel, Task>? channelHandler,
        TimeProvider? time = null,
        ILogger? logger = null,
        CancellationToken cancellationToken = default,
        Action<TunnelSession, HandshakeRequest>? accepted = null)
    {
        options.Validate();
        time ??= TimeProvider.System;
        logger ??= NullLogger.Instance;
        var frame = await ReadHandshakeFrameOrRefuseAsync(transport, options, time, cancellationToken);

        if (frame.Type != FrameType.HandshakeRequest || frame.HandshakeRequest is null)
        {
            const string message = "The first frame must be the handshake.";
            await TryRefuseAsync(transport, ProtocolErrorCode.HandshakeRequired, message);
            throw new ProtocolException(ProtocolErrorCode.HandshakeRequired, message);
        }

        var request = frame.HandshakeRequest;
        var refusal = request.Major != ProtocolMajor
            ? (ProtocolErrorCode.UnsupportedVersion, $"Protocol {request.Major}.{request.Minor} is not supported; this control plane speaks {ProtocolMajor}.{ProtocolMinor}.")
            : validate(request);
        if (refusal is { } refused)
        {
            FrameWriter.WriteHandshakeResponse(transport.Output, new HandshakeResponse(ProtocolMajor, ProtocolMinor, refused.Code, refused.Message, serverName, options.ToLimits(), options.KeepaliveInterval));
            await transport.Output.FlushAsync(cancellationToken);
            await transport.Output.CompleteAsync();
            throw new ProtocolException(refused.Code, refused.Message);
        }

        var limits = request.Limits;
        if (!AreUsable(limits))
        {
            const string message = "The handshake declared unusable limits.";
            await TryRefuseAsync(transport, ProtocolErrorCode.HandshakeFailed, message);
            throw new ProtocolException(ProtocolErrorCode.HandshakeFailed, message);
        }

        var session = new TunnelSession(transport, options, limits, isConnector: false, time, logger);
        session._channelHandler = channelHandler;
        Exception? failure = null;
        await session._writeLock.EnterAsync(bulk: false, CancellationToken.None); // uncontended: nobody has the session yet
        try
        {
            accepted?.Invoke(session, request);
            FrameWriter.WriteHandshakeResponse(transport.Output, new HandshakeResponse(ProtocolMajor, ProtocolMinor, ProtocolErrorCode.None, "", serverName, options.ToLimits(), options.KeepaliveInterval));
            await transport.Output.FlushAsync(cancellationToken);
        }
        catch (Exception ex)
        {
            failure = ex;
        }
        finally
        {
            session._writeLock.Release();
        }

        if (failure is not null)
        {
            // Whatever `accepted` registered sees the session end (Terminate completes the transport).
            session.Terminate(ProtocolErrorCode.ConnectionLost, "The handshake answer could not be sent.", closedLocally: true);
            if (failure is ProtocolException or OperationCanceledException)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
            }

            throw new ProtocolException(ProtocolErrorCode.ConnectionLost, "The handshake answer could not be sent.", failure);
        }

        session.Start();
        return (session, request);
    }

    /// <summary>Whether a peer's declared limits can carry a session (a connection window is off or at least 64 KiB).</summary>
    private static bool AreUsable(SessionLimits limits) =>
        limits.MaxFrameSize >= 1024 && limits.InitialWindow >= 1024 && limits.MaxChannels >= 1 &&
        (limits.ConnectionWindow == 0 || limits.ConnectionWindow >= SessionOptions.MinConnectionWindow);

    /// <summary>Reads the peer's first frame; a malformed or late one is answered with a go-away before the exception propagates.</summary>
    private static async Task<Frame> ReadHandshakeFrameOrRefuseAsync(IDuplexPipe transport, SessionOptions options, TimeProvider time, CancellationToken cancellationToken)
    {
        try
        {
            return await ReadHandshakeFrameAsync(transport.Input, options, time, cancellationToken);
        }
        catch (ProtocolException ex)
        {
            await TryRefuseAsync(transport, ex.Code, ex.Message);
            throw;
        }
    }

    private static async Task TryRefuseAsync(IDuplexPipe transport, ProtocolErrorCode code, string message)
    {
        try
        {
            FrameWriter.WriteGoAway(transport.Output, code, message);
            await transport.Output.FlushAsync();
            await transport.Output.CompleteAsync();
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or OperationCanceledException)
        {
            // The peer is already gone.
        }
    }

    private static async Task<Frame> ReadHandshakeFrameAsync(PipeReader input, SessionOptions options, TimeProvider time, CancellationToken cancellationToken)
    {
        // The timeout runs on the session's clock, like keepalive and close.
        using var timeout = new CancellationTokenSource(options.HandshakeTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            while (true)
            {
                var result = await input.ReadAsync(linked.Token);
                var buffer = result.Buffer;
                var parsed = false;
                try
                {
                    if (FrameReader.TryParse(ref buffer, options.MaxFrameSize, out var frame))
                    {
                        parsed = true;
                        if (frame.Type == FrameType.GoAway)
                        {
                            throw new ProtocolException((ProtocolErrorCode)frame.Value, $"The peer closed the session during the handshake: {frame.Message}");
                        }

                        return frame;
                    }

                    if (result.IsCompleted)
                    {
                        throw new ProtocolException(buffer.IsEmpty ? ProtocolErrorCode.ConnectionLost : ProtocolErrorCode.TruncatedFrame, "The connection ended before the handshake completed.");
                    }
                }
                finally
                {
                    // After the handshake frame, whatever followed it in the same read is not
                    // "examined": the session's read loop must see it at once, not only when
                    // more bytes arrive (a command sent right after the handshake would wait
                    // for the next ping otherwise).
                    input.AdvanceTo(buffer.Start, parsed ? buffer.Start : buffer.End);
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ProtocolException(ProtocolErrorCode.HandshakeFailed, $"The handshake did not complete within {options.HandshakeTimeout.TotalSeconds:0.#} s.");
        }
    }

    private void Start()
    {
        // One timer callback per interval instead of a loop awaiting Task.Delay: an idle session
        // keeps no delay promise, cancellation registration or async state machine alive. Created
        // before the read loop starts, so a session that ends at once still disposes it.
        _keepaliveTimer = _time.CreateTimer(static state => ((TunnelSession)state!).OnKeepaliveTick(), this, _options.KeepaliveInterval, _options.KeepaliveInterval);
        _readLoop = Task.Run(ReadLoopAsync);
    }

    // ------------------------------------------------------------------ channels

    /// <summary>The options of this session's channel inbound pipes.</summary>
    internal PipeOptions ChannelPipeOptions { get; }

    /// <summary>Opens a channel, sending <paramref name="payload"/> in the open frame.</summary>
    /// <exception cref="ProtocolException">The session is closing or closed, or too many opens are pending.</exception>
    public ValueTask<TunnelChannel> OpenChannelAsync(uint kind, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken = default) =>
        OpenChannelAsync(kind, payload, completeWrites: false, cancellationToken);

    /// <summary>
    /// Opens a channel, sending <paramref name="payload"/> in the open frame; with
    /// <paramref name="completeWrites"/> also half-closes it in the same write (a unary command
    /// has nothing more to send), saving a flush and a transport message.
    /// </summary>
    /// <exception cref="ProtocolException">The session is closing or closed, or too many opens are pending.</exception>
    public ValueTask<TunnelChannel> OpenChannelAsync(uint kind, ReadOnlyMemory<byte> payload, bool completeWrites, CancellationToken cancellationToken = default) =>
        OpenChannelAsync(kind, payload, completeWrites, collectInputLimit: 0, cancellationToken);

    /// <summary>
    /// Opens a channel as above; with a <paramref name="collectInputLimit"/> above 0 its input is
    /// not a stream but one length-prefixed message gathered whole, up to that many bytes with its
    /// prefix (<see cref="TunnelChannel.ReadCollectedAsync"/>): the answer of a unary command,
    /// without a pipe and a reader per call.
    /// </summary>
    public async ValueTask<TunnelChannel> OpenChannelAsync(uint kind, ReadOnlyMemory<byte> payload, bool completeWrites, int collectInputLimit, CancellationToken cancellationToken = default)
    {
        if (payload.Length + 32 > _remote.MaxFrameSize)
        {
            throw new ArgumentException($"The open payload of {payload.Length} bytes exceeds the peer's frame limit of {_remote.MaxFrameSize} bytes.", nameof(payload));
        }

        if (Interlocked.Increment(ref _pendingOpens) > _options.MaxPendingOpens)
        {
            Interlocked.Decrement(ref _pendingOpens);
            throw new ProtocolException(ProtocolErrorCode.TooManyChannels, "Too many channel opens are waiting for a free channel.");
        }

        try
        {
            await _openSlots.WaitAsync(cancellationToken);
        }
        finally
        {
            Interlocked.Decrement(ref _pendingOpens);
        }

        // The id is allocated under the write lock, so opens reach the wire in id order: the peer
        // rejects an open whose id is not above every id it has seen (concurrent opens used to
        // race between allocating the id and taking the write lock).
        var opened = new StrongBox<TunnelChannel?>();
        try
        {
            await WriteAsync(
                static (output, state) =>
                {
                    var channel = state.Session.AddLocalChannel(state.Kind, state.Payload, state.CollectInputLimit);
                    state.Opened.Value = channel;
                    FrameWriter.WriteOpen(output, channel.Id, state.Kind, state.Payload.Span);
                    if (state.CompleteWrites)
                    {
                        FrameWriter.WriteClose(output, channel.Id);
                    }
                },
                (Session: this, Opened: opened, Kind: kind, Payload: payload, CompleteWrites: completeWrites, CollectInputLimit: collectInputLimit),
                cancellationToken);
        }
        catch (Exception ex)
        {
            if (opened.Value is { } channel)
            {
                channel.Abort(new ProtocolException(ProtocolErrorCode.ConnectionLost, "The open frame could not be sent."));
            }
            else if (ex is not ProtocolException { Code: ProtocolErrorCode.Shutdown })
            {
                _openSlots.Release(); // AddLocalChannel releases it when it refuses
            }

            if (opened.Value is null && IsClosed)
            {
                // The session ended before this open reached the wire: the same answer whichever
                // check saw it first.
                throw new ProtocolException(ProtocolErrorCode.Shutdown, "The session is closing.", ex);
            }

            throw ex as ProtocolException ?? new ProtocolException(ProtocolErrorCode.ConnectionLost, "The open frame could not be sent.", ex);
        }

        if (completeWrites)
        {
            opened.Value!.MarkLocalClosed();
        }

        return opened.Value!;
    }

    /// <summary>Allocates the next local id and registers its channel; called under the write lock.</summary>
    private TunnelChannel AddLocalChannel(uint kind, ReadOnlyMemory<byte> payload, int collectInputLimit)
    {
        lock (_channels)
        {
            if (IsClosed || _localGoingAway || _remoteGoAway is not null)
            {
                _openSlots.Release();
                throw new ProtocolException(ProtocolErrorCode.Shutdown, "The session is closing.");
            }

            var id = _nextLocalId;
            _nextLocalId += 2;
            var channel = new TunnelChannel(this, id, openedLocally: true, kind, payload, _options.InitialWindow, _remote.InitialWindow, collectInputLimit);
            _channels.Add(id, channel);
            return channel;
        }
    }

    internal void RemoveChannel(TunnelChannel channel)
    {
        if (!channel.TryMarkRemoved())
        {
            return;
        }

        bool drained;
        lock (_channels)
        {
            _channels.Remove(channel.Id);
            if (!channel.OpenedLocally)
            {
                _remoteOpenCount--;
            }

            drained = _channels.Count == 0;
        }

        if (channel.OpenedLocally)
        {
            _openSlots.Release();
        }

        if (drained && _localGoingAway)
        {
            _drained.TrySetResult();
        }
    }

    // ------------------------------------------------------------------ writing

    internal ValueTask SendDataAsync(TunnelChannel channel, ReadOnlyMemory<byte> data, bool close, CancellationToken cancellationToken)
    {
        // Not while commands run: a direct send holds the write lock for the whole socket send,
        // and a command's message would wait for it.
        if (_directSend is not null && data.Length >= DirectSendThreshold && !close && !CommandsActive)
        {
            return SendDataDirectAsync(channel.Id, data, cancellationToken);
        }

        return WriteAsync(
            static (output, state) =>
            {
                FrameWriter.WriteData(output, state.Id, state.Data.Span);
                if (state.Close)
                {
                    FrameWriter.WriteClose(output, state.Id);
                }
            },
            (channel.Id, Data: data, Close: close),
            cancellationToken,
            bulk: data.Length > BulkThreshold);
    }

    /// <summary>Data frames larger than this wait behind control frames and small messages.</summary>
    internal const int BulkThreshold = 2048;

    /// <summary>Data frames at least this large go straight to a transport that can send them (when nothing is queued ahead).</summary>
    internal const int DirectSendThreshold = 16 * 1024;

    /// <summary>
    /// Sends a large data frame from this thread when the transport has nothing queued: no hop to
    /// the transport's send loop, which is most of a forwarded stream's cost per frame. Otherwise
    /// (bytes still queued) it goes through the output pipe like every other frame, behind them.
    /// </summary>
    private async ValueTask SendDataDirectAsync(uint channel, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        await EnterWriteAsync(bulk: true, cancellationToken);
        byte[]? frame = null;
        try
        {
            if (!_directSend!.IsOutputDrained)
            {
                await WriteLockedAsync(static (output, state) => FrameWriter.WriteData(output, state.channel, state.data.Span), (channel, data));
                return;
            }

            frame = ArrayPool<byte>.Shared.Rent(FrameWriter.MaxDataFrameOverhead + data.Length);
            var length = FrameWriter.WriteData(frame, channel, data.Span);
            Interlocked.Add(ref _bytesSent, length);
            await _directSend.SendDirectAsync(frame.AsMemory(0, length));
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or System.Net.WebSockets.WebSocketException or InvalidOperationException or OperationCanceledException)
        {
            // The caller's token only covers the wait for the lock: a failed or aborted send means the connection is gone.
            throw new ProtocolException(ProtocolErrorCode.ConnectionLost, "The peer is gone.", ex);
        }
        finally
        {
            _writeLock.Release();
            if (frame is not null)
            {
                ArrayPool<byte>.Shared.Return(frame);
            }
        }
    }

    internal ValueTask SendCloseAsync(TunnelChannel channel, CancellationToken cancellationToken) =>
        WriteAsync(static (output, id) => FrameWriter.WriteClose(output, id), channel.Id, cancellationToken);

    internal void SendResetInBackground(TunnelChannel channel, ProtocolErrorCode code, string message) =>
        Background(WriteAsync(static (output, state) => FrameWriter.WriteReset(output, state.Id, state.code, state.message), (channel.Id, code, message), CancellationToken.None));

    internal void SendWindowUpdateInBackground(TunnelChannel channel, uint increment) =>
        Background(WriteAsync(static (output, state) => FrameWriter.WriteWindowUpdate(output, state.Id, state.increment), (channel.Id, increment), CancellationToken.None));

    private void Background(ValueTask write)
    {
        if (write.IsCompletedSuccessfully)
        {
            return;
        }

        _ = ObserveAsync(write);

        static async Task ObserveAsync(ValueTask write)
        {
            try
            {
                await write;
            }
            catch (Exception ex) when (ex is ProtocolException or OperationCanceledException or InvalidOperationException or IOException)
            {
                // The session is ending; the failure is reported through Completion.
            }
        }
    }

    /// <summary>Serialises one batch of frames to the transport and flushes once.</summary>
    private async ValueTask WriteAsync<TState>(Action<IBufferWriter<byte>, TState> write, TState state, CancellationToken cancellationToken, bool bulk = false)
    {
        await EnterWriteAsync(bulk, cancellationToken);
        try
        {
            await WriteLockedAsync(write, state);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Takes the write lock for a session that has not ended; the caller releases it.</summary>
    /// <exception cref="ProtocolException">The session has ended (the lock is not held then).</exception>
    private async ValueTask EnterWriteAsync(bool bulk, CancellationToken cancellationToken)
    {
        await _writeLock.EnterAsync(bulk, cancellationToken);
        if (IsClosed)
        {
            _writeLock.Release();
            throw new ProtocolException(ProtocolErrorCode.ConnectionLost, "The session has ended.");
        }
    }

    /// <summary>Writes and flushes one batch of frames; the caller holds the write lock.</summary>
    private async ValueTask WriteLockedAsync<TState>(Action<IBufferWriter<byte>, TState> write, TState state)
    {
        try
        {
            var output = _transport.Output;
            var before = output.UnflushedBytes;
            write(output, state);
            Interlocked.Add(ref _bytesSent, output.UnflushedBytes - before);
            var flush = await output.FlushAsync(CancellationToken.None);
            if (flush.IsCompleted)
            {
                throw new ProtocolException(ProtocolErrorCode.ConnectionLost, "The peer is gone.");
            }
        }
        catch (InvalidOperationException ex)
        {
            // The transport's writer was completed under us.
            throw new ProtocolException(ProtocolErrorCode.ConnectionLost, "The session has ended.", ex);
        }
    }

    // ------------------------------------------------------------------ connection-level flow control

    /// <summary>Data chunks at most this large never wait for connection credit (they may overdraw it).</summary>
    private const int ConnectionQuantum = 16 * 1024;

    /// <summary>
    /// Takes connection credit for a data chunk of <paramref name="wanted"/> bytes and returns how
    /// many bytes may be sent now (at most <paramref name="wanted"/>). Small chunks (command
    /// messages) never wait; bulk chunks wait until at least a quantum of credit is free, so the
    /// bytes queued in the transports ahead of a command stay within the peer's connection window.
    /// </summary>
    internal ValueTask<int> AcquireConnectionCreditAsync(int wanted, CancellationToken cancellationToken)
    {
        if (!_connectionFlow)
        {
            return new ValueTask<int>(wanted);
        }

        ConnectionCreditWaiter waiter;
        lock (_connectionGate)
        {
            if (wanted <= BulkThreshold)
            {
                _connectionCredit -= wanted;
                return new ValueTask<int>(wanted);
            }

            // First come, first served: nobody overtakes a waiting writer, so streams share the
            // connection window fairly.
            if (_connectionWaiters.Count == 0 && TryGrantConnectionCredit(wanted) is int granted)
            {
                return new ValueTask<int>(granted);
            }

            if (IsClosed)
            {
                throw new ProtocolException(ProtocolErrorCode.ConnectionLost, "The session has ended.");
            }

            waiter = new ConnectionCreditWaiter(wanted);
            _connectionWaiters.Enqueue(waiter);
        }

        return cancellationToken.CanBeCanceled ? WaitForConnectionCreditAsync(waiter, cancellationToken) : new ValueTask<int>(waiter.Task);
    }

    private async ValueTask<int> WaitForConnectionCreditAsync(ConnectionCreditWaiter waiter, CancellationToken cancellationToken)
    {
        using (cancellationToken.Register(static state => ((ConnectionCreditWaiter)state!).TrySetCanceled(), waiter))
        {
            try
            {
                return await waiter.Task;
            }
            catch (TaskCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException(cancellationToken);
            }
        }
    }

    /// <summary>Debits up to <paramref name="wanted"/> bytes when at least a quantum (or all of it) is free; called under the gate.</summary>
    private int? TryGrantConnectionCredit(int wanted)
    {
        var available = _connectionCredit;
        if (_commandReserve > 0 && CommandsActive)
        {
            available -= _commandReserve;
        }

        if (available < Math.Min(wanted, ConnectionQuantum))
        {
            return null;
        }

        var granted = (int)Math.Min(wanted, available);
        _connectionCredit -= granted;
        return granted;
    }

    /// <summary>
    /// The shortest time a command's start or end keeps bulk data yielding to commands. When twice
    /// the last keepalive round trip is longer, that is used instead (up to
    /// <see cref="MaxCommandLingerMilliseconds"/>), so that on a slow link the agent still yields
    /// between one command's answer and the next command, which arrives a round trip later.
    /// </summary>
    internal const int CommandLingerMilliseconds = 50;

    /// <summary>The longest the yielding lasts after a command, however slow the link.</summary>
    internal const int MaxCommandLingerMilliseconds = 2000;

    /// <summary>How long bulk data now yields after a command starts or ends.</summary>
    internal TimeSpan CommandLinger => TimeSpan.FromSeconds((double)Volatile.Read(ref _commandLinger) / _time.TimestampFrequency);

    /// <summary>
    /// Notes that a unary command starts or ends on this session. For the next
    /// <see cref="CommandLinger"/>, bulk data keeps at most a quarter of the peer's
    /// connection window plus a quantum in flight (not the whole window), and this side returns
    /// connection credit in sixteenths of its window (not quarters), so a command's messages queue
    /// behind little bulk data while bulk data still flows; large data frames also go through the
    /// transport's queue rather than being sent straight from the writer's thread. A quarter plus a
    /// quantum is always more than the peer waits for before it returns credit, so bulk data never
    /// stalls for it.
    /// </summary>
    internal void NoteCommandActivity()
    {
        if (!_connectionFlow)
        {
            return;
        }

        // Written at most every sixteenth of the linger, not on every command, so that callers on
        // several cores do not keep taking the cache line from each other.
        var linger = Volatile.Read(ref _commandLinger);
        var until = _time.GetTimestamp() + linger;
        if (until - Volatile.Read(ref _commandsActiveUntil) > linger / 16)
        {
            Volatile.Write(ref _commandsActiveUntil, until);
        }
    }

    /// <summary>True while a unary command started or ended within the last <see cref="CommandLinger"/>.</summary>
    internal bool CommandsActive => _connectionFlow && _time.GetTimestamp() < Volatile.Read(ref _commandsActiveUntil);

    private void OnConnectionWindowUpdate(ulong increment)
    {
        List<(ConnectionCreditWaiter Waiter, int Granted)>? wake = null;
        lock (_connectionGate)
        {
            _connectionCredit += (long)increment;
            if (_connectionCredit > int.MaxValue)
            {
                throw new ProtocolException(ProtocolErrorCode.FlowControlViolation, "Connection credit overflow.");
            }

            while (_connectionWaiters.TryPeek(out var next))
            {
                if (next.Task.IsCompleted)
                {
                    _connectionWaiters.Dequeue(); // cancelled
                    continue;
                }

                if (TryGrantConnectionCredit(next.Wanted) is not int granted)
                {
                    break;
                }

                _connectionWaiters.Dequeue();
                (wake ??= []).Add((next, granted));
            }
        }

        if (wake is null)
        {
            return;
        }

        foreach (var (waiter, granted) in wake)
        {
            if (!waiter.TrySetResult(granted))
            {
                // Cancelled after it was granted: give the credit back.
                OnConnectionWindowUpdate((ulong)granted);
            }
        }
    }

    private void WakeConnectionWaiters()
    {
        ConnectionCreditWaiter[] waiters;
        lock (_connectionGate)
        {
            waiters = [.. _connectionWaiters];
            _connectionWaiters.Clear();
        }

        foreach (var waiter in waiters)
        {
            waiter.TrySetException(new ProtocolException(ProtocolErrorCode.ConnectionLost, "The session has ended."));
        }
    }

    private sealed class ConnectionCreditWaiter(int wanted) : TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public int Wanted { get; } = wanted;
    }

    /// <summary>
    /// Returns connection credit once a quarter of this side's window has been handed to channels
    /// (a sixteenth while commands are active: see <see cref="NoteCommandActivity"/>).
    /// </summary>
    private void ReturnConnectionCredit()
    {
        if (!_connectionFlow || _connectionUnreturned < _options.ConnectionWindow / (CommandsActive ? 16 : 4))
        {
            return;
        }

        var increment = (uint)_connectionUnreturned;
        _connectionUnreturned = 0;
        Background(WriteAsync(static (output, increment) => FrameWriter.WriteWindowUpdate(output, 0, increment), increment, CancellationToken.None));
    }

    // ------------------------------------------------------------------ reading

    private async Task ReadLoopAsync()
    {
        var input = _transport.Input;
        try
        {
            while (true)
            {
                var result = await input.ReadAsync(_closing.Token);
                var buffer = result.Buffer;
                try
                {
                    if (!buffer.IsEmpty)
                    {
                        Interlocked.Exchange(ref _lastReceivedTicks, _time.GetUtcNow().UtcTicks);
                    }

                    var before = buffer.Length;
                    while (FrameReader.TryParse(ref buffer, _options.MaxFrameSize, out var frame))
                    {
                        HandleFrame(frame);
                    }

                    ReturnConnectionCredit();

                    Interlocked.Add(ref _bytesReceived, before - buffer.Length);
                    if (result.IsCompleted)
                    {
                        if (!buffer.IsEmpty)
                        {
                            throw new ProtocolException(ProtocolErrorCode.TruncatedFrame, "The connection ended in the middle of a frame.");
                        }

                        var goAway = _remoteGoAway;
                        Terminate(goAway?.Code ?? ProtocolErrorCode.ConnectionLost, goAway?.Reason ?? "The connection closed without a go-away.", closedLocally: false);
                        return;
                    }
                }
                finally
                {
                    input.AdvanceTo(buffer.Start, buffer.End);
                }
            }
        }
        catch (ProtocolException ex)
        {
            ProtocolLog.ProtocolViolation(_logger, ex.Code, ex.Message);
            await AbortAsync(ex.Code, ex.Message);
        }
        catch (OperationCanceledException) when (_closing.IsCancellationRequested)
        {
            // Closed locally.
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or System.Net.WebSockets.WebSocketException)
        {
            Terminate(ProtocolErrorCode.ConnectionLost, "The transport failed.", closedLocally: false);
        }
    }

    private void HandleFrame(in Frame frame)
    {
        switch (frame.Type)
        {
            case FrameType.Data:
                // Counted whether or not the channel still exists: the sender spent the credit either way.
                _connectionUnreturned += frame.Payload.Length;
                GetChannel(frame.Channel)?.OnData(frame.Payload);
                break;

            case FrameType.WindowUpdate:
                if (frame.Value == 0 || frame.Value > int.MaxValue)
                {
                    throw new ProtocolException(ProtocolErrorCode.FlowControlViolation, "Invalid window increment.");
                }

                if (frame.Channel == 0 && _connectionFlow)
                {
                    OnConnectionWindowUpdate(frame.Value);
                    break;
                }

                GetChannel(frame.Channel)?.OnWindowUpdate(frame.Value);
                break;

            case FrameType.Open:
                HandleOpen(frame);
                break;

            case FrameType.Close:
                GetChannel(frame.Channel)?.OnRemoteClose();
                break;

            case FrameType.Reset:
            case FrameType.Reject:
                GetChannel(frame.Channel)?.OnRemoteReset(ToCode(frame.Value), frame.Message ?? "");
                break;

            case FrameType.Accept:
                GetChannel(frame.Channel)?.OnAccepted();
                break;

            case FrameType.Ping:
                QueuePong(frame.Value);
                break;

            case FrameType.Pong:
                lock (_channels)
                {
                    if (frame.Value == _pingValue && _pingOutstanding)
                    {
                        _pingOutstanding = false;
                        var roundTrip = _time.GetTimestamp() - _pingSentAt;
                        Volatile.Write(ref _commandLinger, Math.Clamp(2 * roundTrip, _minCommandLinger, _maxCommandLinger));
                    }
                }

                break;

            case FrameType.GoAway:
                _remoteGoAway = (ToCode(frame.Value), frame.Message ?? "");
                ProtocolLog.PeerGoingAway(_logger, ToCode(frame.Value), frame.Message ?? "");
                break;

            case FrameType.HandshakeRequest:
            case FrameType.HandshakeResponse:
                throw new ProtocolException(ProtocolErrorCode.DuplicateHandshake, "A handshake arrived on an established session.");

            default:
                // Unknown (newer) frame types are ignored for forward compatibility.
                ProtocolLog.UnknownFrameIgnored(_logger, (int)frame.Type);
                break;
        }
    }

    private static ProtocolErrorCode ToCode(ulong value) =>
        value <= (ulong)ProtocolErrorCode.ConnectionLost ? (ProtocolErrorCode)value : ProtocolErrorCode.InternalError;

    private bool IsRemoteId(uint id) => (id & 1) == (_isConnector ? 0u : 1u);

    /// <summary>Finds an open channel; null for one that was open once (late frames are dropped).</summary>
    private TunnelChannel? GetChannel(uint id)
    {
        if (id == 0)
        {
            throw new ProtocolException(ProtocolErrorCode.InvalidChannelId, "Channel frames cannot use channel 0.");
        }

        lock (_channels)
        {
            if (_channels.TryGetValue(id, out var channel))
            {
                return channel;
            }

            var known = IsRemoteId(id) ? id <= _highestRemoteId : id < _nextLocalId;
            if (!known)
            {
                throw new ProtocolException(ProtocolErrorCode.UnknownChannel, $"Frame for channel {id}, which was never opened.");
            }

            return null;
        }
    }

    private void HandleOpen(in Frame frame)
    {
        var id = frame.Channel;
        if (id == 0 || !IsRemoteId(id) || id <= _highestRemoteId)
        {
            throw new ProtocolException(ProtocolErrorCode.InvalidChannelId, $"Channel id {id} is not valid for the peer to open.");
        }

        if (frame.Value > uint.MaxValue)
        {
            throw new ProtocolException(ProtocolErrorCode.InvalidFrame, "Channel kind out of range.");
        }

        TunnelChannel channel;
        lock (_channels)
        {
            _highestRemoteId = id;
            if (_remoteOpenCount >= _options.MaxChannels)
            {
                throw new ProtocolException(ProtocolErrorCode.TooManyChannels, $"The peer opened more than {_options.MaxChannels} channels.");
            }

            if (IsClosed)
            {
                // Terminated on another thread while this frame was still in the read buffer.
                // Terminate completes the session before it takes this lock to abort the channels,
                // so a channel added after its snapshot would never be aborted: drop the open.
                return;
            }

            if (_localGoingAway || _channelHandler is null)
            {
                Background(WriteAsync(static (output, id) => FrameWriter.WriteReject(output, id, ProtocolErrorCode.Shutdown, "The session is closing."), id, CancellationToken.None));
                return;
            }

            channel = new TunnelChannel(this, id, openedLocally: false, (uint)frame.Value, frame.Payload.ToArray(), _options.InitialWindow, _remote.InitialWindow);
            _channels.Add(id, channel);
            _remoteOpenCount++;
        }

        // Off the read loop, with the session's execution context (as Task.Run would, without
        // its closure, delegate and unwrap promise per channel).
        ThreadPool.QueueUserWorkItem(static channel => _ = channel.Session.RunChannelHandlerAsync(channel), channel, preferLocal: false);
    }

    private async Task RunChannelHandlerAsync(TunnelChannel channel)
    {
        try
        {
            await _channelHandler!(channel);
        }
        catch (Exception ex)
        {
            ProtocolLog.ChannelHandlerFailed(_logger, channel.Id, ex);
            channel.Reset(ProtocolErrorCode.InternalError, "The channel handler failed.");
        }
    }

    private void QueuePong(ulong value)
    {
        // At most one pong is in flight; a ping flood cannot queue unbounded writes.
        Volatile.Write(ref _pongValue, value);
        if (Interlocked.Exchange(ref _pongPending, 1) == 1)
        {
            return;
        }

        Background(SendPongAsync());

        async ValueTask SendPongAsync()
        {
            Interlocked.Exchange(ref _pongPending, 0);
            var latest = Volatile.Read(ref _pongValue);
            await WriteAsync(static (output, v) => FrameWriter.WritePong(output, v), latest, CancellationToken.None);
        }
    }

    // ------------------------------------------------------------------ keepalive

    private void OnKeepaliveTick()
    {
        if (_closing.IsCancellationRequested)
        {
            _keepaliveTimer?.Dispose();
            return;
        }

        ulong value;
        lock (_channels)
        {
            if (_pingOutstanding)
            {
                value = 0;
            }
            else
            {
                _pingOutstanding = true;
                value = ++_pingValue;
                _pingSentAt = _time.GetTimestamp();
            }
        }

        if (value == 0)
        {
            // No pong since the previous tick: the peer (or the path to it) is dead.
            var message = $"No pong within {_options.KeepaliveInterval.TotalSeconds:0.#} s.";
            ProtocolLog.KeepaliveTimedOut(_logger, _options.KeepaliveInterval.TotalSeconds);
            _ = AbortAsync(ProtocolErrorCode.KeepaliveTimeout, message);
            return;
        }

        Background(WriteAsync(static (output, v) => FrameWriter.WritePing(output, v), value, _closing.Token));
    }

    // ------------------------------------------------------------------ closing

    /// <summary>
    /// Graceful close: sends go-away, refuses new channels, waits up to <paramref name="drainTimeout"/>
    /// for open channels to finish, then closes the transport.
    /// </summary>
    public async Task CloseAsync(ProtocolErrorCode code, string reason, TimeSpan? drainTimeout = null)
    {
        bool drained;
        lock (_channels)
        {
            if (_localGoingAway || IsClosed)
            {
                drained = true;
            }
            else
            {
                _localGoingAway = true;
                drained = _channels.Count == 0;
            }
        }

        if (IsClosed)
        {
            return;
        }

        try
        {
            await WriteAsync(static (output, s) => FrameWriter.WriteGoAway(output, s.code, s.reason), (code, reason), CancellationToken.None).AsTask().WaitAsync(_options.CloseTimeout, _time);
        }
        catch (Exception ex) when (ex is ProtocolException or TimeoutException or InvalidOperationException)
        {
        }

        if (!drained)
        {
            try
            {
                await _drained.Task.WaitAsync(drainTimeout ?? _options.CloseTimeout, _time);
            }
            catch (TimeoutException)
            {
                ProtocolLog.DrainTimedOut(_logger, ChannelCount);
            }
        }

        Terminate(code, reason, closedLocally: true);
    }

    /// <summary>Closes at once with <paramref name="code"/>, telling the peer why when possible.</summary>
    public async Task AbortAsync(ProtocolErrorCode code, string reason)
    {
        if (IsClosed)
        {
            return;
        }

        // Best effort: do not wait long behind a writer stuck on backpressure, but long enough that
        // a busy machine's thread pool still hands the lock on (200 ms was not always).
        if (await _writeLock.TryEnterAsync(TimeSpan.FromSeconds(1)))
        {
            try
            {
                FrameWriter.WriteGoAway(_transport.Output, code, reason);
                var flush = _transport.Output.FlushAsync();
                if (!flush.IsCompleted)
                {
                    await flush.AsTask().WaitAsync(TimeSpan.FromMilliseconds(500));
                }
            }
            catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or IOException or OperationCanceledException)
            {
            }
            finally
            {
                _writeLock.Release();
            }
        }

        Terminate(code, reason, closedLocally: true);
    }

    private void Terminate(ProtocolErrorCode code, string reason, bool closedLocally)
    {
        if (!_completion.TrySetResult(new SessionCloseInfo(code, reason, closedLocally)))
        {
            return;
        }

        ProtocolLog.SessionClosed(_logger, code, reason, closedLocally);
        _closing.Cancel();
        TunnelChannel[] channels;
        lock (_channels)
        {
            channels = [.. _channels.Values];
        }

        var abort = new ProtocolException(code == ProtocolErrorCode.None ? ProtocolErrorCode.ConnectionLost : code, $"The session ended: {reason}");
        foreach (var channel in channels)
        {
            channel.Abort(abort);
        }

        _keepaliveTimer?.Dispose();
        WakeConnectionWaiters();
        _drained.TrySetResult();
        _ = CompleteTransportAsync();
    }

    private async Task CompleteTransportAsync()
    {
        // Wait for an in-progress write (bounded) so the go-away is not cut off.
        var locked = await _writeLock.TryEnterAsync(TimeSpan.FromSeconds(1));
        try
        {
            await _transport.Output.CompleteAsync();
        }
        catch (InvalidOperationException)
        {
        }
        finally
        {
            if (locked)
            {
                _writeLock.Release();
            }
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (!IsClosed)
        {
            await AbortAsync(ProtocolErrorCode.Shutdown, "The session was disposed.");
        }

        try
        {
            await _readLoop.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (TimeoutException)
        {
        }

        await _transport.Input.CompleteAsync();
    }
}
