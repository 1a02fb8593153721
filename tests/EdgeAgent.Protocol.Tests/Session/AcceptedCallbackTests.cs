using EdgeAgent.Protocol.Frames;
using EdgeAgent.Protocol.Session;
using EdgeAgent.Protocol.Transports;
using EdgeAgent.Testing.ProtocolTestHelpers;

namespace EdgeAgent.Protocol.Tests.Session;

/// <summary>
/// The accepting side registers a session before the peer can see it as established, so a peer that
/// considers itself connected can be used at once (the control plane's registry relies on this).
/// </summary>
public sealed class AcceptedCallbackTests
{
    [Fact]
    public async Task The_callback_runs_before_the_connector_sees_the_answer_and_its_frames_follow_the_answer()
    {
        var (left, right) = InMemoryTransport.CreatePair();
        TunnelSession? registered = null;
        var opened = new TaskCompletionSource<TunnelChannel>(TaskCreationOptions.RunContinuationsAsynchronously);
        var accept = TunnelSession.AcceptAsync(
            right,
            new SessionOptions(),
            "test-control-plane",
            _ => null,
            channelHandler: null,
            accepted: (session, request) =>
            {
                request.AgentId.Should().Be("raw-agent");
                registered = session;

                // Something registered here may write at once: it must not overtake the answer.
                _ = session.OpenChannelAsync(7, new byte[] { 1, 2, 3 }).AsTask();
            });

        var connect = TunnelSession.ConnectAsync(left, RawSessionHarness.AgentHello(), new SessionOptions(), ch =>
        {
            opened.TrySetResult(ch);
            return Task.CompletedTask;
        });

        var (connector, _) = await Poll.Within(connect);
        registered.Should().NotBeNull("the session was registered before the answer reached the connector");
        var (acceptor, _) = await Poll.Within(accept);
        acceptor.Should().BeSameAs(registered);

        // The open written from the callback arrived after the answer: the connector took it as a channel.
        var channel = await Poll.Within(opened.Task);
        channel.Kind.Should().Be(7u);
        channel.OpenPayload.ToArray().Should().Equal(1, 2, 3);
        connector.IsClosed.Should().BeFalse();
        await connector.DisposeAsync();
        await acceptor.DisposeAsync();
    }
}
