using System.Runtime.CompilerServices;
using EdgeAgent.Protocol.Frames;
using EdgeAgent.Protocol.Session;

namespace EdgeAgent.Protocol.Rpc;

/// <summary>What a caller states about one command invocation.</summary>
/// <param name="Name">The command name.</param>
/// <param name="IdempotencyKey">The key the callee deduplicates on; empty for none.</param>
/// <param name="Timeout">How long the caller waits; also sent as the callee's deadline.</param>
/// <param name="MaxMessageSize">The largest response message (a result or one streamed item) the caller accepts.</param>
internal readonly record struct RpcCallOptions(string Name, string IdempotencyKey, TimeSpan Timeout, int MaxMessageSize = RpcMessages.DefaultMaxMessageSize)
{
    /// <summary>A call's options: the caller's timeout when it states one, else <paramref name="defaultTimeout"/>.</summary>
    public static RpcCallOptions For(string name, string idempotencyKey, EdgeCommandOptions? options, TimeSpan defaultTimeout, int maxMessageSize) =>
        new(name, idempotencyKey, options?.Timeout ?? defaultTimeout, maxMessageSize);
}

/// <summary>
/// The calling side of commands over a <see cref="TunnelSession"/>: unary, server-streaming and
/// duplex. Caller cancellation resets the channel, which cancels the handler on the other side.
/// </summary>
internal static class RpcClient
{
    /// <summary>Invokes a unary command and returns the raw result payload.</summary>
    /// <exception cref="EdgeCommandException">The callee answered with an error, the deadline passed, or the session was lost.</exception>
    /// <exception cref="OperationCanceledException">The caller cancelled.</exception>
    public static async Task<ReadOnlyMemory<byte>> InvokeAsync(TunnelSession session, RpcCallOptions call, ReadOnlyMemory<byte> payload, TimeProvider time, CancellationToken cancellationToken)
    {
        // One source for the deadline and the caller's token (no linked source): the caller's
        // cancel is forwarded by a registration, and Translate tells the two apart by asking the
        // caller's token first.
        using var deadline = new CancellationTokenSource(call.Timeout, time);
        using var forward = cancellationToken.CanBeCanceled
            ? cancellationToken.UnsafeRegister(static state => ((CancellationTokenSource)state!).Cancel(), deadline)
            : default;
        // Bulk data on this session yields to commands while they run (TunnelSession.NoteCommandActivity).
        session.NoteCommandActivity();

        // The answer is one length-prefixed message, collected whole (no pipe); the limit counts the prefix too.
        var channel = await OpenAsync(session, call, payload, closeOutput: true, time, deadline.Token, deadline, cancellationToken, collectInputLimit: call.MaxMessageSize + FrameReader.PrefixLength);
        try
        {
            var answer = await channel.ReadCollectedAsync(deadline.Token);
            return ToResult(RpcMessages.ParseFirst(answer, call.MaxMessageSize), call.Name);
        }
        catch (Exception ex) when (Translate(ex, channel, call, deadline, cancellationToken) is { } translated)
        {
            throw translated;
        }
        finally
        {
            channel.EndCollecting();
            session.NoteCommandActivity();
        }
    }

    /// <summary>Invokes a server-streaming command; each item is a raw payload.</summary>
    public static async IAsyncEnumerable<ReadOnlyMemory<byte>> StreamAsync(TunnelSession session, RpcCallOptions call, ReadOnlyMemory<byte> payload, TimeProvider time, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // The timeout bounds the wait for the stream to start, not its whole length.
        using var deadline = new CancellationTokenSource(call.Timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        var channel = await OpenAsync(session, call with { Timeout = Timeout.InfiniteTimeSpan }, payload, closeOutput: true, time, linked.Token, deadline, cancellationToken);
        var finished = false;
        try
        {
            // The callee accepts first (a result message), then sends items and an end marker.
            var started = false;
            while (true)
            {
                RpcMessage? message;
                try
                {
                    message = await RpcMessages.ReadAsync(channel.Input, call.MaxMessageSize, linked.Token);
                    if (!started)
                    {
                        ToResult(message, call.Name);
                        started = true;
                        deadline.CancelAfter(Timeout.InfiniteTimeSpan);
                        continue;
                    }
                }
                catch (EdgeCommandException ex)
                {
                    finished = true;
                    StopIfTooLarge(ex, channel);
                    throw;
                }
                catch (Exception ex) when (Translate(ex, channel, call, deadline, cancellationToken) is { } translated)
                {
                    throw translated;
                }

                switch (message?.Kind)
                {
                    case RpcMessageKind.Item:
                        yield return message.Value.Payload;
                        break;
                    case RpcMessageKind.End:
                        finished = true;
                        yield break;
                    case RpcMessageKind.Error:
                        finished = true;
                        throw new EdgeCommandException(message.Value.Code ?? EdgeErrorCodes.Internal, message.Value.Message ?? "");
                    default:
                        finished = true;
                        throw Lost(call.Name, channel);
                }
            }
        }
        finally
        {
            if (!finished)
            {
                // The consumer stopped early: tell the producer to stop.
                channel.Reset(ProtocolErrorCode.Cancelled, "The caller stopped reading.");
            }

            await channel.Input.CompleteAsync();
        }
    }

    /// <summary>
    /// Opens a duplex command: waits for the callee to accept, then returns the channel for raw bytes.
    /// </summary>
    public static async Task<TunnelChannel> OpenDuplexAsync(TunnelSession session, RpcCallOptions call, ReadOnlyMemory<byte> payload, TimeProvider time, CancellationToken cancellationToken)
    {
        using var deadline = new CancellationTokenSource(call.Timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        var channel = await OpenAsync(session, call, payload, closeOutput: false, time, linked.Token, deadline, cancellationToken);
        try
        {
            var message = await RpcMessages.ReadAsync(channel.Input, call.MaxMessageSize, linked.Token);
            ToResult(message, call.Name);
            return channel;
        }
        catch (Exception ex)
        {
            channel.Reset(ProtocolErrorCode.Cancelled, "The duplex command did not start.");
            await channel.Input.CompleteAsync();
            if (Translate(ex, channel, call, deadline, cancellationToken) is { } translated)
            {
                throw translated;
            }

            throw;
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<TunnelChannel> OpenAsync(TunnelSession session, RpcCallOptions call, ReadOnlyMemory<byte> payload, bool closeOutput, TimeProvider time, CancellationToken token, CancellationTokenSource deadline, CancellationToken callerToken, int collectInputLimit = 0)
    {
        var deadlineMs = call.Timeout == Timeout.InfiniteTimeSpan ? 0 : (time.GetUtcNow() + call.Timeout).ToUnixTimeMilliseconds();
        var header = new RpcRequestHeader(call.Name, call.IdempotencyKey, deadlineMs, payload).Encode();
        TunnelChannel channel;
        try
        {
            channel = await session.OpenChannelAsync(ChannelKinds.Command, header, closeOutput, collectInputLimit, token);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !callerToken.IsCancellationRequested)
        {
            throw new EdgeCommandException(EdgeErrorCodes.Timeout, $"Command '{call.Name}' timed out waiting for a free channel.");
        }
        catch (ProtocolException ex)
        {
            throw new EdgeCommandException(EdgeErrorCodes.Unavailable, $"Command '{call.Name}' could not be sent: {ex.Message}", ex);
        }
        catch (ArgumentException ex)
        {
            throw new EdgeCommandException(EdgeErrorCodes.InvalidArgument, ex.Message, ex);
        }

        return channel;
    }

    private static ReadOnlyMemory<byte> ToResult(RpcMessage? message, string name) => message?.Kind switch
    {
        RpcMessageKind.Result => message.Value.Payload,
        RpcMessageKind.Error => throw new EdgeCommandException(message.Value.Code ?? EdgeErrorCodes.Internal, message.Value.Message ?? ""),
        null => throw new EdgeCommandException(EdgeErrorCodes.Unavailable, $"Command '{name}' ended without an answer."),
        _ => throw new EdgeCommandException(EdgeErrorCodes.Internal, $"Command '{name}' answered with an unexpected message."),
    };

    private static Exception? Translate(Exception ex, TunnelChannel channel, RpcCallOptions call, CancellationTokenSource deadline, CancellationToken callerToken)
    {
        switch (ex)
        {
            case OperationCanceledException when callerToken.IsCancellationRequested:
                channel.Reset(ProtocolErrorCode.Cancelled, "The caller cancelled the command.");
                return null;
            case OperationCanceledException when deadline.IsCancellationRequested:
                channel.Reset(ProtocolErrorCode.Cancelled, "The caller's deadline passed.");
                return new EdgeCommandException(EdgeErrorCodes.Timeout, $"Command '{call.Name}' did not answer within {call.Timeout.TotalSeconds:0.###} s.");
            case ProtocolException:
            case IOException:
                return Lost(call.Name, channel);
            case EdgeCommandException tooLarge:
                StopIfTooLarge(tooLarge, channel);
                return null;
            default:
                return null;
        }
    }

    /// <summary>A message over the limit is not read: reset the channel so the callee stops sending it.</summary>
    private static void StopIfTooLarge(EdgeCommandException ex, TunnelChannel channel)
    {
        if (ex.Code == EdgeErrorCodes.TooLarge)
        {
            channel.Reset(ProtocolErrorCode.Cancelled, "A response message is over the caller's MaxMessageSize.");
        }
    }

    private static EdgeCommandException Lost(string name, TunnelChannel channel)
    {
        var reason = channel.AbortReason;
        if (reason?.Code == ProtocolErrorCode.Refused)
        {
            return new EdgeCommandException(EdgeErrorCodes.Unavailable, $"Command '{name}' was refused: {reason.Message}", reason);
        }

        return new EdgeCommandException(
            EdgeErrorCodes.Unavailable,
            $"The connection was lost before command '{name}' answered; it may or may not have run. Retry with the same idempotency key to get its result without running it twice.",
            reason);
    }
}
