using EdgeAgent.Protocol.Rpc;
using EdgeAgent.Protocol.Session;
using EdgeAgent.Protocol.Tests.Frames;
using EdgeAgent.Testing.ProtocolTestHelpers;

namespace EdgeAgent.Protocol.Tests.Rpc;

/// <summary>
/// The caller's MaxMessageSize bounds what one response message (a result or a streamed item) can
/// make it assemble: over it, the command fails with <c>too_large</c>, the callee is told to stop,
/// and the session serves the next command.
/// </summary>
public sealed class MessageSizeLimitTests
{
    private const int Limit = 8 * 1024;

    [Fact]
    public async Task A_result_over_the_callers_limit_fails_with_too_large_and_the_session_carries_on()
    {
        await using var rpc = await StartAsync();
        var invoker = new SessionCommandInvoker(rpc.Caller, TimeSpan.FromSeconds(30), rpc.Time, Limit);

        var tooBig = FluentActions.Awaiting(() => Poll.Within(RpcClient.InvokeAsync(rpc.Caller, invoker.CallOptions("sized", null), BitConverter.GetBytes(Limit + 1), rpc.Time, default)));
        var fits = await Poll.Within(RpcClient.InvokeAsync(rpc.Caller, invoker.CallOptions("sized", null), BitConverter.GetBytes(Limit - 16), rpc.Time, default));

        var failure = await tooBig.Should().ThrowAsync<EdgeCommandException>();
        failure.Which.Code.Should().Be(EdgeErrorCodes.TooLarge);
        failure.Which.Message.Should().Contain($"{Limit} bytes").And.Contain("MaxMessageSize");
        fits.Length.Should().Be(Limit - 16, "a message within the limit still arrives");
        rpc.Caller.IsClosed.Should().BeFalse();
        await Poll.UntilAsync(() => rpc.Callee.ChannelCount == 0 && rpc.Caller.ChannelCount == 0, "the refused command's channel is gone on both sides");
    }

    [Fact]
    public async Task A_streamed_item_over_the_callers_limit_fails_with_too_large_and_stops_the_producer()
    {
        var producerStopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var rpc = await StartAsync(DelegateCommand.Streaming("items", async call =>
        {
            try
            {
                await call.WriteItemAsync(new byte[100]);
                while (true)
                {
                    await call.WriteItemAsync(new byte[Limit * 2]);
                }
            }
            catch (OperationCanceledException) when (call.CancellationToken.IsCancellationRequested)
            {
                producerStopped.TrySetResult();
                throw;
            }
            catch (ProtocolException ex) when (ex.Code == ProtocolErrorCode.Cancelled)
            {
                producerStopped.TrySetResult();
                throw;
            }
        }));
        var call = new RpcCallOptions("items", "", TimeSpan.FromSeconds(30), Limit);
        var received = new List<int>();

        var read = async () =>
        {
            await foreach (var item in RpcClient.StreamAsync(rpc.Caller, call, default, rpc.Time, default))
            {
                received.Add(item.Length);
            }
        };

        (await read.Should().ThrowAsync<EdgeCommandException>()).Which.Code.Should().Be(EdgeErrorCodes.TooLarge);
        received.Should().Equal(100);
        await Poll.Within(producerStopped.Task);
        var next = await Poll.Within(RpcClient.InvokeAsync(rpc.Caller, call with { Name = "sized" }, BitConverter.GetBytes(10), rpc.Time, default));
        next.Length.Should().Be(10, "the session serves the next command");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1023)]
    [InlineData(RpcMessages.MaxMaxMessageSize + 1)]
    public void A_limit_outside_the_range_is_refused_naming_the_setting(int value)
    {
        RpcMessages.ValidateMaxMessageSize("Host:MaxMessageSize", value).Should().StartWith("Host:MaxMessageSize must be between 1024 and");
        RpcMessages.ValidateMaxMessageSize("Host:MaxMessageSize", RpcMessages.DefaultMaxMessageSize).Should().BeNull();
    }

    /// <summary>"sized" answers with as many bytes as its payload (an int) asks for.</summary>
    private static Task<RpcHarness> StartAsync(params CommandInvoker[] more) =>
        RpcHarness.StartAsync(
            [DelegateCommand.Unary("sized", call => ValueTask.FromResult(SampleFrames.Payload(BitConverter.ToInt32(call.Payload.Span)))), .. more],
            new SessionOptions { InitialWindow = 4 * 1024 });
}
