using System.Net;
using System.Net.Sockets;
using EdgeAgent.Protocol.Forwarding;
using EdgeAgent.Protocol.Session;
using EdgeAgent.Testing.ProtocolTestHelpers;

namespace EdgeAgent.Protocol.Tests.Forwarding;

public sealed class SocketChannelPumpTests
{
    private static readonly SessionOptions Quiet = new() { KeepaliveInterval = TimeSpan.FromHours(1) };

    /// <summary>A pump on the accepting side's channel, joined to one end of a loopback TCP connection.</summary>
    private sealed class Rig : IAsyncDisposable
    {
        private readonly SessionPair _pair;

        private Rig(SessionPair pair, TunnelChannel local, TunnelChannel remote, Socket pumpSocket, Socket peer)
        {
            _pair = pair;
            Local = local;
            Remote = remote;
            PumpSocket = pumpSocket;
            Peer = peer;
        }

        /// <summary>The channel's end the pump runs on (the agent's side of a forward).</summary>
        public TunnelChannel Local { get; }

        /// <summary>The channel's other end (the control plane's stream).</summary>
        public TunnelChannel Remote { get; }

        /// <summary>The socket the pump owns.</summary>
        public Socket PumpSocket { get; }

        /// <summary>The other end of the pump's TCP connection (the target).</summary>
        public Socket Peer { get; }

        public static async Task<Rig> StartAsync()
        {
            var accepted = new TaskCompletionSource<TunnelChannel>(TaskCreationOptions.RunContinuationsAsynchronously);
            var pair = await SessionPair.StartAsync(Quiet, Quiet, acceptorHandler: channel =>
            {
                accepted.TrySetResult(channel);
                return Task.CompletedTask;
            });
            var remote = await pair.Connector.OpenChannelAsync(1, default);
            var local = await Poll.Within(accepted.Task);

            using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            listener.Listen(1);
            var pumpSocket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await pumpSocket.ConnectAsync(listener.LocalEndPoint!);
            var peer = await listener.AcceptAsync();
            return new Rig(pair, local, remote, pumpSocket, peer);
        }

        /// <summary>One byte each way, so that both directions of the pump are running and idle.</summary>
        public async Task ExchangeAsync()
        {
            await Remote.WriteAsync("x"u8.ToArray());
            var buffer = new byte[1];
            (await Poll.Within(Peer.ReceiveAsync(buffer, SocketFlags.None))).Should().Be(1);
            await Peer.SendAsync("y"u8.ToArray(), SocketFlags.None);
            var result = await Poll.Within(Remote.Input.ReadAsync().AsTask());
            result.Buffer.Length.Should().Be(1);
            Remote.Input.AdvanceTo(result.Buffer.End);
        }

        /// <summary>What the peer reads next: the error of a reset, or null at a graceful end-of-stream.</summary>
        public async Task<SocketError?> PeerReadsAsync()
        {
            var buffer = new byte[16];
            try
            {
                var read = await Poll.Within(Peer.ReceiveAsync(buffer, SocketFlags.None));
                read.Should().Be(0, "nothing was sent after the exchange");
                return null;
            }
            catch (SocketException ex)
            {
                return ex.SocketErrorCode;
            }
        }

        public async ValueTask DisposeAsync()
        {
            PumpSocket.Dispose();
            Peer.Dispose();
            await _pair.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_channel_reset_closes_the_socket_with_rst_even_when_the_thread_that_resets_it_is_delayed()
    {
        // The reset arrives on the session's read loop, which runs the pump's abort callback. The
        // pump's two directions see the abort too (their pending reads are cancelled) and finish
        // on pool threads. Whichever thread resets the socket, the pump must not end — and close
        // the socket the graceful way, a FIN — before the socket was reset. The hook holds the
        // resetting thread as a loaded machine may (preempted between deciding on the reset and
        // doing it) until the pump has ended: that is the failure, found at once. A correct pump
        // cannot end meanwhile, so the hold ends after a bound (half a second) and the reset goes out.
        await using var rig = await Rig.StartAsync();
        var pumpTask = new TaskCompletionSource<Task<PumpOutcome>>(TaskCreationOptions.RunContinuationsAsynchronously);
        var resets = 0;
        void OnResetting()
        {
            if (Interlocked.Increment(ref resets) == 1)
            {
                var pump = pumpTask.Task.GetAwaiter().GetResult();
                SpinWait.SpinUntil(() => pump.IsCompleted, TimeSpan.FromMilliseconds(500));
            }
        }

        var pump = SocketChannelPump.RunAsync(rig.Local, rig.PumpSocket, ProtocolErrorCode.Refused, "The target", onResetting: OnResetting);
        pumpTask.SetResult(pump);
        await rig.ExchangeAsync();

        rig.Remote.Reset(ProtocolErrorCode.Cancelled, "test abort");

        (await Poll.Within(pump)).Should().Be(PumpOutcome.ChannelReset);
        (await rig.PeerReadsAsync()).Should().Be(SocketError.ConnectionReset, "a reset channel closes the socket with RST, not FIN");
        resets.Should().Be(1, "the socket is reset once");
    }

    [Fact]
    public async Task A_reset_that_arrives_as_the_input_ends_wins_over_the_half_close()
    {
        // The peer half-closes the channel and resets it right after. The pump's sending
        // direction sees the end of its input and is about to shut the socket's sending side
        // (a FIN) just as the reset is decided on another thread, whose abort callbacks, the
        // pump's among them, have not run yet. The half-close must see the pending reset and reset
        // the socket instead: the target must see a reset, not an end-of-stream it would take
        // for a completed transfer.
        await using var rig = await Rig.StartAsync();
        using var resetDecided = new ManualResetEventSlim();
        using var releaseCallbacks = new ManualResetEventSlim();
        Task? resetting = null;
        void OnHalfClosing()
        {
            // On the pump's thread: reset the channel from another thread and hold that thread in
            // the abort callbacks (ours runs first: newest first) until the half-close has run.
            resetting = Task.Run(() => rig.Local.Reset(ProtocolErrorCode.Cancelled, "reset as the input ends"));
            resetDecided.Wait(TimeSpan.FromSeconds(10)).Should().BeTrue("the reset has been decided");
            rig.Local.AbortReason.Should().NotBeNull();
        }

        var pump = SocketChannelPump.RunAsync(rig.Local, rig.PumpSocket, ProtocolErrorCode.Refused, "The target", onHalfClosing: OnHalfClosing);
        await rig.ExchangeAsync();
        using var hold = rig.Local.Aborted.Register(() =>
        {
            resetDecided.Set();
            releaseCallbacks.Wait(TimeSpan.FromSeconds(10));
        });

        await rig.Remote.CompleteWritesAsync();
        var peerSaw = await rig.PeerReadsAsync();
        releaseCallbacks.Set();
        await Poll.Within(resetting ?? Task.CompletedTask);

        peerSaw.Should().Be(SocketError.ConnectionReset, "a reset pending when the input ended beats the half-close");
        (await Poll.Within(pump)).Should().Be(PumpOutcome.ChannelReset);
    }
}
