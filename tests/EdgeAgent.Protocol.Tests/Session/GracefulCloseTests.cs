using System.Threading.Channels;
using EdgeAgent.Protocol.Session;
using EdgeAgent.Testing.ProtocolTestHelpers;
using Microsoft.Extensions.Time.Testing;

namespace EdgeAgent.Protocol.Tests.Session;

public sealed class GracefulCloseTests
{
    private static readonly SessionOptions Quiet = new() { KeepaliveInterval = TimeSpan.FromHours(1) };

    [Fact]
    public async Task Close_waits_for_in_flight_channels_to_finish_then_ends_both_sides()
    {
        var time = new FakeTimeProvider();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var received = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var pair = await SessionPair.StartAsync(Quiet, Quiet, acceptorTime: time, acceptorHandler: async ch =>
        {
            var request = await ch.ReadToEndAsync();
            received.SetResult();
            await release.Task;
            await ch.WriteAsync(request.Reverse().ToArray(), complete: true);
        });
        var channel = await pair.Connector.OpenChannelAsync(1, default);
        await channel.WriteAllAsync(new byte[] { 1, 2, 3 });
        await Poll.Within(received.Task);

        var close = pair.Acceptor.CloseAsync(ProtocolErrorCode.Shutdown, "maintenance", TimeSpan.FromSeconds(30));

        // The go-away reaches the connector: it opens nothing new.
        await Poll.UntilAsync(
            () =>
            {
                try
                {
                    pair.Connector.OpenChannelAsync(1, default).AsTask().GetAwaiter().GetResult().Reset(ProtocolErrorCode.Cancelled, "probe");
                    return false;
                }
                catch (ProtocolException ex) when (ex.Code == ProtocolErrorCode.Shutdown)
                {
                    return true;
                }
            },
            "the connector saw the go-away");
        close.Exception.Should().BeNull();
        pair.Acceptor.ChannelCount.Should().Be(1);
        close.IsCompleted.Should().BeFalse("a channel is still in flight");
        pair.Acceptor.IsClosed.Should().BeFalse();

        release.SetResult();
        (await Poll.Within(channel.ReadToEndAsync())).Should().Equal(3, 2, 1);
        await Poll.Within(close);

        var serverEnd = await pair.Acceptor.Completion;
        serverEnd.Code.Should().Be(ProtocolErrorCode.Shutdown);
        serverEnd.ClosedLocally.Should().BeTrue();
        var agentEnd = await Poll.Within(pair.Connector.Completion);
        agentEnd.Code.Should().Be(ProtocolErrorCode.Shutdown);
        agentEnd.Reason.Should().Be("maintenance");
        agentEnd.ClosedLocally.Should().BeFalse();
    }

    [Fact]
    public async Task Close_with_no_channels_ends_at_once()
    {
        await using var pair = await SessionPair.StartAsync(Quiet, Quiet, acceptorTime: new FakeTimeProvider());

        await Poll.Within(pair.Acceptor.CloseAsync(ProtocolErrorCode.Shutdown, "bye"));

        (await Poll.Within(pair.Connector.Completion)).Code.Should().Be(ProtocolErrorCode.Shutdown);
    }

    [Fact]
    public async Task Channels_still_open_at_the_drain_deadline_are_aborted()
    {
        var time = new FakeTimeProvider();
        var drain = TimeSpan.FromSeconds(20);
        var opened = Channel.CreateUnbounded<TunnelChannel>();
        await using var pair = await SessionPair.StartAsync(Quiet, Quiet, acceptorTime: time, acceptorHandler: ch => opened.Writer.WriteAsync(ch).AsTask());
        var channel = await pair.Connector.OpenChannelAsync(1, default);
        var remote = await opened.Reader.ReadAsync();
        var start = time.GetUtcNow();

        var close = pair.Acceptor.CloseAsync(ProtocolErrorCode.Shutdown, "maintenance", drain);
        time.Advance(drain - TimeSpan.FromSeconds(1));
        close.IsCompleted.Should().BeFalse("the drain deadline has not passed");
        remote.Aborted.IsCancellationRequested.Should().BeFalse();

        await Poll.UntilAsync(
            () =>
            {
                time.Advance(TimeSpan.FromMilliseconds(250));
                return close.IsCompleted;
            },
            "the drain deadline passed");

        (time.GetUtcNow() - start).Should().BeGreaterThanOrEqualTo(drain);
        remote.AbortReason!.Code.Should().Be(ProtocolErrorCode.Shutdown);
        await Poll.UntilAsync(() => channel.Aborted.IsCancellationRequested, "the connector's channel ends with the session");
        (await Poll.Within(pair.Connector.Completion)).Code.Should().Be(ProtocolErrorCode.Shutdown);
    }

    [Fact]
    public async Task A_closing_session_refuses_new_channels_from_the_peer()
    {
        var time = new FakeTimeProvider();
        var opened = Channel.CreateUnbounded<TunnelChannel>();
        await using var pair = await SessionPair.StartAsync(Quiet, Quiet, acceptorTime: time, acceptorHandler: ch => opened.Writer.WriteAsync(ch).AsTask());
        var inFlight = await pair.Connector.OpenChannelAsync(1, default);
        await opened.Reader.ReadAsync();

        // Race an open against the go-away: it either fails locally or is rejected by the closer.
        _ = pair.Acceptor.CloseAsync(ProtocolErrorCode.Shutdown, "closing", TimeSpan.FromMinutes(1));
        try
        {
            var late = await pair.Connector.OpenChannelAsync(1, default);
            await Poll.UntilAsync(() => late.AbortReason is not null, "the late open is rejected");
            late.AbortReason!.Code.Should().Be(ProtocolErrorCode.Shutdown);
        }
        catch (ProtocolException ex)
        {
            ex.Code.Should().Be(ProtocolErrorCode.Shutdown);
        }

        opened.Reader.TryRead(out _).Should().BeFalse("no handler runs for a channel opened after the go-away");
        inFlight.AbortReason.Should().BeNull();
    }
}
