using System.Threading.Channels;
using EdgeAgent.Protocol.Session;
using EdgeAgent.Testing.ProtocolTestHelpers;

namespace EdgeAgent.Protocol.Tests.Session;

public sealed class ChannelLimitTests
{
    [Fact]
    public async Task Opens_beyond_the_peers_channel_limit_wait_for_a_free_slot()
    {
        var opened = Channel.CreateUnbounded<TunnelChannel>();
        await using var pair = await SessionPair.StartAsync(acceptorOptions: new SessionOptions { MaxChannels = 2 }, acceptorHandler: ch => opened.Writer.WriteAsync(ch).AsTask());
        var first = await pair.Connector.OpenChannelAsync(1, default);
        await pair.Connector.OpenChannelAsync(1, default);

        var third = pair.Connector.OpenChannelAsync(1, default).AsTask();
        third.IsCompleted.Should().BeFalse("the peer allows two channels");

        // Finish the first channel in both directions: its slot frees up.
        var remotes = new[] { await opened.Reader.ReadAsync(), await opened.Reader.ReadAsync() };
        var firstRemote = remotes.Single(r => r.Id == first.Id);
        await first.CompleteWritesAsync();
        await firstRemote.CompleteWritesAsync();
        await Poll.Within(third);
        pair.Acceptor.IsClosed.Should().BeFalse("the connector never exceeded the limit");
    }

    [Fact]
    public async Task Opens_beyond_MaxPendingOpens_fail_at_once()
    {
        await using var pair = await SessionPair.StartAsync(
            new SessionOptions { MaxPendingOpens = 2 },
            new SessionOptions { MaxChannels = 1 },
            acceptorHandler: _ => Task.CompletedTask);
        await pair.Connector.OpenChannelAsync(1, default);
        var waiting1 = pair.Connector.OpenChannelAsync(1, default).AsTask();
        var waiting2 = pair.Connector.OpenChannelAsync(1, default).AsTask();

        var refused = await FluentActions.Awaiting(() => pair.Connector.OpenChannelAsync(1, default).AsTask()).Should().ThrowAsync<ProtocolException>();

        refused.Which.Code.Should().Be(ProtocolErrorCode.TooManyChannels);
        waiting1.IsCompleted.Should().BeFalse();
        waiting2.IsCompleted.Should().BeFalse();
    }

    [Fact]
    public async Task A_cancelled_pending_open_gives_its_place_back()
    {
        await using var pair = await SessionPair.StartAsync(
            new SessionOptions { MaxPendingOpens = 1 },
            new SessionOptions { MaxChannels = 1 },
            acceptorHandler: _ => Task.CompletedTask);
        await pair.Connector.OpenChannelAsync(1, default);
        using var cancel = new CancellationTokenSource();
        var pending = pair.Connector.OpenChannelAsync(1, default, cancel.Token).AsTask();

        await cancel.CancelAsync();

        await FluentActions.Awaiting(() => Poll.Within(pending)).Should().ThrowAsync<OperationCanceledException>();
        var next = pair.Connector.OpenChannelAsync(1, default).AsTask();
        next.IsCompleted.Should().BeFalse("it waits for the slot instead of being refused");
    }

    [Fact]
    public async Task Pending_opens_fail_when_the_session_ends()
    {
        await using var pair = await SessionPair.StartAsync(acceptorOptions: new SessionOptions { MaxChannels = 1 }, acceptorHandler: _ => Task.CompletedTask);
        await pair.Connector.OpenChannelAsync(1, default);
        var pending = pair.Connector.OpenChannelAsync(1, default).AsTask();

        await pair.Acceptor.AbortAsync(ProtocolErrorCode.Shutdown, "gone");
        await Poll.Within(pair.Connector.Completion);

        var failure = await FluentActions.Awaiting(() => Poll.Within(pending)).Should().ThrowAsync<ProtocolException>();
        failure.Which.Code.Should().Be(ProtocolErrorCode.Shutdown);
    }
}
