using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using EdgeAgent.Protocol.Session;

namespace EdgeAgent.Protocol.Forwarding;

/// <summary>
/// A filter for the channel-to-socket direction: reads the channel's input, sends what may pass
/// through <c>forward</c>, and returns when the input ended (null) or with a response to send
/// back instead of anything else, after which the connection is closed.
/// </summary>
internal delegate ValueTask<ReadOnlyMemory<byte>?> ChannelInputFilter(
    PipeReader input, Func<ReadOnlySequence<byte>, CancellationToken, ValueTask> forward, CancellationToken cancellationToken);

/// <summary>How one forwarded connection ended.</summary>
internal enum PumpOutcome
{
    /// <summary>Both directions ended with a half-close.</summary>
    Completed,

    /// <summary>The socket was reset (or failed); the channel was reset.</summary>
    SocketReset,

    /// <summary>The channel was reset (or the session ended); the socket was closed with RST.</summary>
    ChannelReset,

    /// <summary>A filter refused a request and answered it; the connection was closed.</summary>
    Refused,
}

/// <summary>
/// Joins a connected TCP (or Unix) socket and a tunnel channel in both directions: data flows
/// with the channel's flow control (at most one receive buffer per direction is held), a
/// half-close on either side is passed on (channel end-of-stream → <see cref="SocketShutdown.Send"/>,
/// socket end-of-stream → channel half-close), and a reset on either side is passed on (socket
/// reset → channel reset; channel reset → socket closed with RST).
/// </summary>
internal static class SocketChannelPump
{
    /// <summary>The receive buffer of the socket-to-channel direction.</summary>
    public const int ReceiveBufferSize = 64 * 1024;

    /// <summary>Runs until both directions ended or either side reset; disposes the socket.</summary>
    /// <param name="channel">The channel (its input is completed at the end).</param>
    /// <param name="socket">A connected stream socket.</param>
    /// <param name="socketResetCode">The reset code sent when the socket side resets.</param>
    /// <param name="socketName">Names the socket side in reset messages, e.g. "the target".</param>
    /// <param name="filter">Optional filter of the channel-to-socket direction.</param>
    /// <param name="onResetting">Test seam: runs when the socket is about to be reset (the reset is decided, the socket not yet touched).</param>
    /// <param name="onHalfClosing">Test seam: runs when the channel's input has ended, before the socket's sending side is shut down.</param>
    public static async Task<PumpOutcome> RunAsync(
        TunnelChannel channel,
        Socket socket,
        ProtocolErrorCode socketResetCode,
        string socketName,
        ChannelInputFilter? filter = null,
        Action? onResetting = null,
        Action? onHalfClosing = null)
    {
        var state = new PumpState(channel, socket, socketResetCode, socketName, onResetting, onHalfClosing);
        using var registration = channel.Aborted.Register(static s => ((PumpState)s!).OnChannelAborted(), state);
        var toSocket = ChannelToSocketAsync(state, filter);
        var toChannel = SocketToChannelAsync(state);
        await Task.WhenAll(toSocket, toChannel);
        await channel.Input.CompleteAsync();
        state.DisposeSocket();
        return state.Outcome;
    }

    private static async Task ChannelToSocketAsync(PumpState state, ChannelInputFilter? filter)
    {
        var input = state.Channel.Input;
        var token = state.Channel.Aborted;
        try
        {
            if (filter is not null)
            {
                var refusal = await filter(input, (data, ct) => SendAsync(state.Socket, data, ct), token);
                if (refusal is { } response)
                {
                    // The answer goes out after whatever the socket side still sends (earlier responses).
                    state.Refusal = response;
                }
            }
            else
            {
                while (true)
                {
                    var result = await input.ReadAsync(token);
                    var buffer = result.Buffer;
                    if (!buffer.IsEmpty)
                    {
                        await SendAsync(state.Socket, buffer, token);
                    }

                    input.AdvanceTo(buffer.End);
                    if (result.IsCompleted || result.IsCanceled)
                    {
                        break;
                    }
                }
            }

            state.ShutdownSend();
        }
        catch (Exception ex) when (ex is ProtocolException or OperationCanceledException)
        {
            // The channel was reset or the session ended: the socket is reset (OnChannelAborted).
            state.OnChannelAborted();
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or IOException)
        {
            state.OnSocketFailed(ex);
        }
    }

    private static async Task SocketToChannelAsync(PumpState state)
    {
        var channel = state.Channel;
        var socket = state.Socket;
        var token = channel.Aborted;
        byte[]? buffer = null;
        try
        {
            while (true)
            {
                // Zero-byte receive while idle: an idle connection holds no buffer.
                if (buffer is null)
                {
                    await socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, token);
                    buffer = ArrayPool<byte>.Shared.Rent(ReceiveBufferSize);
                }

                var read = await socket.ReceiveAsync(buffer.AsMemory(), SocketFlags.None, token);
                if (read == 0)
                {
                    break;
                }

                await channel.WriteAsync(buffer.AsMemory(0, read), complete: false, token);
                if (socket.Available == 0)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = null;
                }
            }

            if (state.Refusal is { } refusal)
            {
                await channel.WriteAsync(refusal, complete: true, token);
                state.Outcome = PumpOutcome.Refused;
            }
            else
            {
                await channel.CompleteWritesAsync(token);
            }
        }
        catch (Exception ex) when (ex is ProtocolException or OperationCanceledException or InvalidOperationException)
        {
            state.OnChannelAborted();
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or IOException)
        {
            state.OnSocketFailed(ex);
        }
        finally
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    private static async ValueTask SendAsync(Socket socket, ReadOnlySequence<byte> data, CancellationToken cancellationToken)
    {
        if (data.IsSingleSegment)
        {
            await SendAllAsync(socket, data.First, cancellationToken);
            return;
        }

        // The channel's input arrives in pipe segments of a few KiB: one gathered send per read
        // instead of one system call per segment.
        var segments = new List<ArraySegment<byte>>();
        foreach (var segment in data)
        {
            if (!MemoryMarshal.TryGetArray(segment, out var array))
            {
                segments.Clear();
                break;
            }

            segments.Add(array);
        }

        if (segments.Count == 0)
        {
            foreach (var segment in data)
            {
                await SendAllAsync(socket, segment, cancellationToken);
            }

            return;
        }

        var remaining = data.Length;
        while (remaining > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var sent = await socket.SendAsync(segments, SocketFlags.None);
            remaining -= sent;
            while (sent > 0 && segments.Count > 0)
            {
                var first = segments[0];
                if (sent >= first.Count)
                {
                    sent -= first.Count;
                    segments.RemoveAt(0);
                }
                else
                {
                    segments[0] = first[sent..];
                    sent = 0;
                }
            }
        }
    }

    private static async ValueTask SendAllAsync(Socket socket, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        while (!data.IsEmpty)
        {
            var sent = await socket.SendAsync(data, SocketFlags.None, cancellationToken);
            data = data[sent..];
        }
    }

    /// <summary>
    /// What both directions share. Every way the socket is closed — reset, half-close, final
    /// dispose — goes through one gate, so a reset is complete before anything else touches the
    /// socket: the thread that decided on a reset may be the last to run (it is often the session's
    /// read loop, running the channel's abort callbacks), and the directions, which see the same
    /// abort on other threads, must not end the pump — whose last step disposes the socket, which
    /// without the RST set up is a graceful close, a FIN — before the reset is done.
    /// </summary>
    private sealed class PumpState(TunnelChannel channel, Socket socket, ProtocolErrorCode socketResetCode, string socketName, Action? onResetting, Action? onHalfClosing)
    {
        private readonly object _gate = new();
        private bool _closed;

        public TunnelChannel Channel => channel;

        public Socket Socket => socket;

        public ReadOnlyMemory<byte>? Refusal { get; set; }

        public PumpOutcome Outcome { get; set; } = PumpOutcome.Completed;

        /// <summary>The channel is gone: close the socket with RST so the other end sees a reset, not an end-of-stream.</summary>
        public void OnChannelAborted()
        {
            lock (_gate)
            {
                if (!_closed)
                {
                    ResetForChannelLocked();
                }
            }
        }

        /// <summary>The socket failed (reset by its peer, or closed): reset the channel.</summary>
        public void OnSocketFailed(Exception ex)
        {
            lock (_gate)
            {
                if (_closed)
                {
                    return;
                }

                Outcome = PumpOutcome.SocketReset;
                ResetSocketLocked();
            }

            var reason = ex is SocketException socketError ? socketError.SocketErrorCode.ToString() : ex.GetType().Name;
            channel.Reset(socketResetCode, $"{socketName} reset the connection ({reason}).");
        }

        /// <summary>
        /// The channel's input ended: half-close the socket, unless the channel was reset meanwhile
        /// (a reset not yet acted on wins over the half-close: the socket is reset instead).
        /// </summary>
        public void ShutdownSend()
        {
            onHalfClosing?.Invoke();
            lock (_gate)
            {
                if (_closed)
                {
                    return;
                }

                if (channel.AbortReason is not null)
                {
                    ResetForChannelLocked();
                    return;
                }

                socket.Shutdown(SocketShutdown.Send);
            }
        }

        /// <summary>Both directions ended: closes the socket gracefully unless it was reset.</summary>
        public void DisposeSocket()
        {
            lock (_gate)
            {
                if (_closed)
                {
                    return;
                }

                _closed = true;
                try
                {
                    socket.Dispose();
                }
                catch (SocketException)
                {
                }
            }
        }

        private void ResetForChannelLocked()
        {
            if (Outcome == PumpOutcome.Completed)
            {
                Outcome = PumpOutcome.ChannelReset;
            }

            ResetSocketLocked();
        }

        private void ResetSocketLocked()
        {
            _closed = true;
            onResetting?.Invoke();
            try
            {
                socket.LingerState = new LingerOption(true, 0);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
            }

            socket.Dispose();
        }
    }
}
