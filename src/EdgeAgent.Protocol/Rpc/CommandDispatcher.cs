using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using EdgeAgent.Protocol.Session;
using Microsoft.Extensions.Logging;

namespace EdgeAgent.Protocol.Rpc;

/// <summary>How a command answers.</summary>
internal enum CommandShape
{
    /// <summary>One result.</summary>
    Unary,

    /// <summary>A stream of items.</summary>
    Streaming,

    /// <summary>A raw byte stream in both directions after acceptance.</summary>
    Duplex,
}

/// <summary>One incoming command as the handler sees it.</summary>
/// <remarks>
/// Owns the command's one cancellation source: the deadline's timer cancels it, and so does the
/// channel's abort (the caller cancelled, or — for commands without an idempotency key — the
/// session ended). One source and one registration per command, no linked sources.
/// </remarks>
internal sealed class CommandCall : IDisposable
{
    private readonly TunnelChannel _channel;
    private readonly CancellationTokenSource _cancel;
    private readonly bool _keyed;
    private CancellationTokenRegistration _abortRegistration;
    private int _accepted;
    private volatile bool _abandoned;

    /// <summary>
    /// A call whose token the deadline (<paramref name="remaining"/> from now, if any) and the
    /// channel's abort cancel. With <paramref name="keyed"/> (a keyed unary command) a lost session
    /// does not cancel it: its result waits for the retry; only the caller's cancel stops it.
    /// </summary>
    internal CommandCall(TunnelChannel channel, RpcRequestHeader header, DateTimeOffset? deadline, TimeSpan? remaining, TimeProvider time, bool keyed)
    {
        _channel = channel;
        _cancel = remaining is { } delay ? new CancellationTokenSource(delay > TimeSpan.Zero ? delay : TimeSpan.Zero, time) : new CancellationTokenSource();
        _keyed = keyed;
        Name = header.Name;
        IdempotencyKey = header.IdempotencyKey;
        Payload = header.Payload;
        Deadline = deadline;
        CancellationToken = _cancel.Token;
        _abortRegistration = channel.Aborted.UnsafeRegister(static state => ((CommandCall)state!).OnAborted(), this);
    }

    public string Name { get; }

    public string IdempotencyKey { get; }

    public ReadOnlyMemory<byte> Payload { get; }

    public DateTimeOffset? Deadline { get; }

    /// <summary>Cancelled when the caller cancels, the deadline passes, or the session ends.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>The channel, for duplex commands after <see cref="AcceptAsync"/>.</summary>
    public TunnelChannel Channel => _channel;

    /// <summary>Tells the caller the command started (streaming and duplex commands).</summary>
    public async ValueTask AcceptAsync()
    {
        if (Interlocked.Exchange(ref _accepted, 1) == 0)
        {
            await _channel.WriteAsync(RpcMessages.EncodeResult([]), complete: false, CancellationToken);
        }
    }

    /// <summary>Sends one item of a streaming result; waits while the caller's window is full.</summary>
    public async ValueTask WriteItemAsync(ReadOnlyMemory<byte> item)
    {
        await AcceptAsync();
        await _channel.WriteAsync(RpcMessages.EncodeItem(item.Span), complete: false, CancellationToken);
    }

    internal bool Accepted => Volatile.Read(ref _accepted) == 1;

    /// <summary>Whether the token was cancelled by the deadline (not by the caller or a lost session).</summary>
    internal bool DeadlinePassed => _cancel.IsCancellationRequested && !_abandoned;

    private void OnAborted()
    {
        // A caller's cancel stops the handler. A lost connection stops it only when there is no
        // idempotency key: with a key the run finishes and its result waits for the retry.
        if (!_keyed || _channel.AbortReason?.Code == ProtocolErrorCode.Cancelled)
        {
            // This runs on the session's read loop (a reset from the peer): the token is cancelled
            // at once, but the handler's callbacks run on the thread pool, so one that blocks
            // cannot stall the session. (Dispose cannot race it: the registration's Dispose waits
            // for this callback, and a source disposed later runs no callbacks it has not taken.)
            _abandoned = true;
            _ = _cancel.CancelAsync();
        }
    }

    public void Dispose()
    {
        _abortRegistration.Dispose();
        _cancel.Dispose();
    }
}

/// <summary>A registered command: its name, group, shape and how to run it.</summary>
internal abstract class CommandInvoker
{
    public abstract string Name { get; }

    public abstract string Group { get; }

    public abstract CommandShape Shape { get; }

    /// <summary>Unary: returns the result payload.</summary>
    public virtual ValueTask<byte[]> InvokeUnaryAsync(CommandCall call) => throw new NotSupportedException();

    /// <summary>Streaming: writes items through <see cref="CommandCall.WriteItemAsync"/>.</summary>
    public virtual ValueTask InvokeStreamingAsync(CommandCall call) => throw new NotSupportedException();

    /// <summary>Duplex: accepts, then uses <see cref="CommandCall.Channel"/> as a byte stream.</summary>
    public virtual ValueTask InvokeDuplexAsync(CommandCall call) => throw new NotSupportedException();
}

/// <summary>Remembers the results of commands by idempotency key.</summary>
internal interface IIdempotencyCache
{
    /// <summary>Looks up the encoded final message of an earlier run.</summary>
    bool TryGet(string key, out string commandName, out byte[] response);

    /// <summary>Records the encoded final message of a finished run; completes when the record is as durable as the cache makes it (the result is sent only then).</summary>
    ValueTask SetAsync(string key, string commandName, byte[] response);
}

/// <summary>
/// The callee side of commands: decodes the request, finds the handler, applies the deadline
/// and policy, deduplicates by idempotency key, runs the handler, and answers with a result or
/// a typed error. A failing handler never takes the session down.
/// </summary>
internal sealed partial class CommandDispatcher
{
    private readonly Func<string, CommandInvoker?> _resolve;
    private readonly IIdempotencyCache? _cache;
    private readonly Func<CommandCall, CommandInvoker, EdgeCommandException?>? _authorize;
    private readonly Func<IDisposable?>? _admit;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, Task<byte[]>> _inFlight = new(StringComparer.Ordinal);

    public CommandDispatcher(
        Func<string, CommandInvoker?> resolve,
        IIdempotencyCache? cache,
        Func<CommandCall, CommandInvoker, EdgeCommandException?>? authorize,
        TimeProvider time,
        ILogger logger,
        Func<IDisposable?>? admit = null)
    {
        _resolve = resolve;
        _cache = cache;
        _authorize = authorize;
        _admit = admit;
        _time = time;
        _logger = logger;
    }

    /// <summary>Counts handler executions (not cache hits), for diagnostics and tests.</summary>
    public long Executions => Interlocked.Read(ref _executions);

    private long _executions;

    /// <summary>Counts waits of a keyed call for a run of the same key already in flight, for diagnostics and tests.</summary>
    internal long Waits => Interlocked.Read(ref _waits);

    private long _waits;

    /// <summary>Runs the command that arrived on <paramref name="channel"/>.</summary>
    public async Task HandleChannelAsync(TunnelChannel channel)
    {
        if (channel.Kind != ChannelKinds.Command)
        {
            channel.Reset(ProtocolErrorCode.Refused, $"Unknown channel kind {channel.Kind}.");
            return;
        }

        RpcRequestHeader header;
        try
        {
            header = RpcRequestHeader.Decode(channel.OpenPayload);
        }
        catch (EdgeCommandException ex)
        {
            await AnswerAsync(channel, RpcMessages.EncodeError(ex.Code, ex.Message));
            return;
        }

        var invoker = _resolve(header.Name);
        if (invoker is null)
        {
            await AnswerAsync(channel, RpcMessages.EncodeError(EdgeErrorCodes.NotFound, $"Unknown command '{header.Name}'."));
            return;
        }

        DateTimeOffset? deadline = null;
        TimeSpan? remaining = null;
        if (header.DeadlineUnixMs > 0)
        {
            var due = DateTimeOffset.FromUnixTimeMilliseconds(header.DeadlineUnixMs);
            deadline = due;
            remaining = due - _time.GetUtcNow();
        }

        var keyed = header.IdempotencyKey.Length > 0 && invoker.Shape == CommandShape.Unary;
        using var call = new CommandCall(channel, header, deadline, remaining, _time, keyed);

        if (_authorize?.Invoke(call, invoker) is { } denied)
        {
            DispatcherLog.CommandDenied(_logger, header.Name, denied.Message);
            await AnswerAsync(channel, RpcMessages.EncodeError(denied.Code, denied.Message));
            return;
        }

        using var slot = _admit?.Invoke();
        if (_admit is not null && slot is null)
        {
            await AnswerAsync(channel, RpcMessages.EncodeError(EdgeErrorCodes.Unavailable, $"Command '{header.Name}' was refused: the agent is running its maximum number of concurrent commands."));
            return;
        }

        try
        {
            switch (invoker.Shape)
            {
                case CommandShape.Unary:
                    // Bulk data on this session yields to commands while they run (TunnelSession.NoteCommandActivity).
                    channel.Session.NoteCommandActivity();
                    var response = await RunUnaryAsync(invoker, call);

                    // The work is done: free the slot before the caller can see the answer, or a
                    // caller running exactly MaxConcurrentCommands at once would be refused.
                    slot?.Dispose();
                    channel.Session.NoteCommandActivity();
                    await AnswerAsync(channel, response);
                    break;
                case CommandShape.Streaming:
                    Interlocked.Increment(ref _executions);
                    await invoker.InvokeStreamingAsync(call);
                    await call.AcceptAsync();
                    slot?.Dispose();
                    await channel.WriteAsync(RpcMessages.EncodeEnd(), complete: true, call.CancellationToken);
                    break;
                case CommandShape.Duplex:
                    Interlocked.Increment(ref _executions);
                    await invoker.InvokeDuplexAsync(call);
                    break;
            }
        }
        catch (Exception ex) when (channel.AbortReason is not null || channel.Aborted.IsCancellationRequested)
        {
            // AbortReason is set before anything is woken, so a handler whose write failed because
            // of the abort is classified here even if the Aborted callbacks are still running.
            // The caller cancelled or the session ended: nobody is listening.
            DispatcherLog.CommandAbandoned(_logger, header.Name, ex.GetType().Name);
        }
        catch (Exception ex) when (!call.Accepted || invoker.Shape != CommandShape.Duplex)
        {
            var error = ToError(ex, header.Name, call.DeadlinePassed);
            await AnswerAsync(channel, RpcMessages.EncodeError(error.Code, error.Message));
        }
        catch (Exception ex)
        {
            DispatcherLog.CommandFailed(_logger, header.Name, ex);
            channel.Reset(ProtocolErrorCode.InternalError, "The command failed.");
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<byte[]> RunUnaryAsync(CommandInvoker invoker, CommandCall call)
    {
        var key = call.IdempotencyKey;
        if (key.Length == 0 || _cache is null)
        {
            return await ExecuteUnaryAsync(invoker, call);
        }

        // Register first, look in the cache second. A run leaves _inFlight only after its result is
        // in the cache, so a call that registers finds either the result or nobody running: a key
        // never runs twice while its result is remembered or being made. The run's task carries
        // its command name (the invoker's, one shared string) as its state.
        TaskCompletionSource<byte[]>? created = null;
        while (true)
        {
            created ??= new TaskCompletionSource<byte[]>(invoker.Name, TaskCreationOptions.RunContinuationsAsynchronously);
            var running = _inFlight.GetOrAdd(key, created.Task);
            if (running == created.Task)
            {
                break;
            }

            // A retry that arrives while the first run is still going waits for that run.
            Interlocked.Increment(ref _waits);
            await ((Task)running).WaitAsync(call.CancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (running.IsCompletedSuccessfully)
            {
                var runName = (string)running.AsyncState!;
                return runName == call.Name ? running.Result : KeyUsedByOtherCommand(runName);
            }

            // That run did not finish (its caller cancelled, its deadline passed, or its handler
            // threw): its failure is not this call's. Unless this call is cancelled, try again.
            call.CancellationToken.ThrowIfCancellationRequested();
        }

        byte[]? made = null;
        try
        {
            if (_cache.TryGet(key, out var cachedName, out var cached))
            {
                return cachedName == call.Name ? cached : KeyUsedByOtherCommand(cachedName);
            }

            var response = await ExecuteUnaryAsync(invoker, call);
            // The invoker's name equals the call's and is one shared string, not one kept per entry.
            await _cache.SetAsync(key, invoker.Name, response);
            made = response;
            return response;
        }
        finally
        {
            // Leave the map before waking the waiters, so that one that tries again does not find
            // this run. Only a result made here is shared; otherwise (found in the cache, or not
            // finished) the waiters try again. A cancelled task, unlike a faulted one, raises no
            // unobserved-exception event when nobody waited.
            _inFlight.TryRemove(new KeyValuePair<string, Task<byte[]>>(key, created.Task));
            if (made is not null)
            {
                created.TrySetResult(made);
            }
            else
            {
                created.TrySetCanceled();
            }
        }
    }

    private static byte[] KeyUsedByOtherCommand(string commandName) =>
        RpcMessages.EncodeError(EdgeErrorCodes.InvalidArgument, $"Idempotency key was already used for command '{commandName}'.");

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<byte[]> ExecuteUnaryAsync(CommandInvoker invoker, CommandCall call)
    {
        Interlocked.Increment(ref _executions);
        try
        {
            var payload = await invoker.InvokeUnaryAsync(call);
            return RpcMessages.EncodeResult(payload);
        }
        catch (EdgeCommandException ex)
        {
            // A definite answer from the handler: it is the command's result and is remembered.
            return RpcMessages.EncodeError(ex.Code, ex.Message);
        }
    }

    private EdgeCommandException ToError(Exception ex, string name, bool deadlinePassed)
    {
        switch (ex)
        {
            case EdgeCommandException command:
                return command;
            case OperationCanceledException when deadlinePassed:
                return new EdgeCommandException(EdgeErrorCodes.Timeout, $"Command '{name}' exceeded its deadline.");
            default:
                DispatcherLog.CommandFailed(_logger, name, ex);
                return new EdgeCommandException(EdgeErrorCodes.Internal, $"Command '{name}' failed inside the agent ({ex.GetType().Name}).");
        }
    }

    private static async Task AnswerAsync(TunnelChannel channel, byte[] message)
    {
        try
        {
            await channel.WriteAsync(message, complete: true, channel.Aborted);
        }
        catch (Exception ex) when (ex is ProtocolException or OperationCanceledException or InvalidOperationException)
        {
            // The caller is gone.
        }
    }

    private static partial class DispatcherLog
    {
        [LoggerMessage(1100, LogLevel.Error, "Command {Command} failed")]
        public static partial void CommandFailed(ILogger logger, string command, Exception exception);

        [LoggerMessage(1101, LogLevel.Information, "Command {Command} was denied: {Reason}")]
        public static partial void CommandDenied(ILogger logger, string command, string reason);

        [LoggerMessage(1102, LogLevel.Debug, "Command {Command} was abandoned by its caller ({Exception})")]
        public static partial void CommandAbandoned(ILogger logger, string command, string exception);
    }
}
