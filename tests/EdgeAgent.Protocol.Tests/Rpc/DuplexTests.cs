using System.Security.Cryptography;
using EdgeAgent.Protocol.Session;
using EdgeAgent.Protocol.Tests.Frames;
using EdgeAgent.Testing.ProtocolTestHelpers;

namespace EdgeAgent.Protocol.Tests.Rpc;

public sealed class DuplexTests
{
    /// <summary>Echoes everything, then (after the caller half-closes) sends a trailer and half-closes too.</summary>
    private static DelegateCommand Echo() => DelegateCommand.Duplex("echo", async call =>
    {
        await call.AcceptAsync();
        await using var stream = new ChannelStream(call.Channel);
        var buffer = new byte[10_000];
        int read;
        while ((read = await stream.ReadAsync(buffer)) > 0)
        {
            await stream.WriteAsync(buffer.AsMemory(0, read));
        }

        await stream.WriteAsync("bye"u8.ToArray());
    });

    [Fact]
    public async Task A_duplex_stream_echoes_and_half_closes_in_both_directions()
    {
        await using var rpc = await RpcHarness.StartAsync([Echo()], new SessionOptions { InitialWindow = 32 * 1024 });
        var channel = await rpc.OpenDuplexAsync("echo", default);
        await using var stream = new ChannelStream(channel);
        var payload = SampleFrames.Payload(2 * 1024 * 1024);

        using var received = new MemoryStream();
        var reading = stream.CopyToAsync(received);
        for (var at = 0; at < payload.Length; at += 50_000)
        {
            await stream.WriteAsync(payload.AsMemory(at, Math.Min(50_000, payload.Length - at)));
        }

        // Half-close: the handler sees the end of its input, and we can still read its answer.
        await stream.CompleteWritesAsync();
        await Poll.Within(reading);

        var all = received.ToArray();
        all.Length.Should().Be(payload.Length + 3);
        SHA256.HashData(all.AsSpan(0, payload.Length)).Should().Equal(SHA256.HashData(payload));
        all.AsSpan(payload.Length).ToArray().Should().Equal("bye"u8.ToArray());
        await Poll.UntilAsync(() => rpc.Callee.ChannelCount == 0 && rpc.Caller.ChannelCount == 0, "the channel is gone on both sides");
    }

    [Fact]
    public async Task A_duplex_handler_that_refuses_before_accepting_gives_a_typed_error()
    {
        await using var rpc = await RpcHarness.StartAsync([DelegateCommand.Duplex("tcp", _ => throw new EdgeCommandException(EdgeErrorCodes.Denied, "target not allowed"))]);

        var error = await FluentActions.Awaiting(() => rpc.OpenDuplexAsync("tcp", default)).Should().ThrowAsync<EdgeCommandException>();

        error.Which.Code.Should().Be(EdgeErrorCodes.Denied);
    }

    [Fact]
    public async Task Disposing_the_callers_stream_ends_the_handlers_input()
    {
        var handlerSawEnd = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var rpc = await RpcHarness.StartAsync([DelegateCommand.Duplex("sink", async call =>
        {
            await call.AcceptAsync();
            await using var stream = new ChannelStream(call.Channel);
            await stream.CopyToAsync(Stream.Null);
            handlerSawEnd.SetResult();
        })]);
        var channel = await rpc.OpenDuplexAsync("sink", default);
        var stream = new ChannelStream(channel);
        await stream.WriteAsync(new byte[100_000]);

        await stream.DisposeAsync();

        await Poll.Within(handlerSawEnd.Task);
    }
}
