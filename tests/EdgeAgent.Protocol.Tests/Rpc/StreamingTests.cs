using System.Buffers.Binary;
using EdgeAgent.Protocol.Session;
using EdgeAgent.Testing.ProtocolTestHelpers;

namespace EdgeAgent.Protocol.Tests.Rpc;

public sealed class StreamingTests
{
    private static byte[] Item(int i, int size = 8)
    {
        var bytes = new byte[size];
        BinaryPrimitives.WriteInt32BigEndian(bytes, i);
        return bytes;
    }

    [Fact]
    public async Task Items_arrive_in_order_and_the_stream_ends()
    {
        await using var rpc = await RpcHarness.StartAsync([DelegateCommand.Streaming("count", async call =>
        {
            for (var i = 0; i < 5000; i++)
            {
                await call.WriteItemAsync(Item(i));
            }
        })]);

        var seen = new List<int>();
        await foreach (var item in rpc.StreamAsync("count", default))
        {
            seen.Add(BinaryPrimitives.ReadInt32BigEndian(item.Span));
        }

        seen.Should().Equal(Enumerable.Range(0, 5000));
        await Poll.UntilAsync(() => rpc.Callee.ChannelCount == 0 && rpc.Caller.ChannelCount == 0, "the channel is gone on both sides");
    }

    [Fact]
    public async Task A_slow_consumer_holds_the_producer_within_the_window()
    {
        const int window = 64 * 1024;
        const int itemSize = 1024;
        const int message = 4 + 1 + 1 + 3 + itemSize; // prefix, array, kind, bin16 header, bytes
        var produced = 0;
        var options = new SessionOptions { InitialWindow = window };
        await using var rpc = await RpcHarness.StartAsync(
            [DelegateCommand.Streaming("logs", async call =>
            {
                for (var i = 0; i < 2000; i++)
                {
                    await call.WriteItemAsync(Item(i, itemSize));
                    Interlocked.Increment(ref produced);
                }
            })],
            options);

        await using var items = rpc.StreamAsync("logs", default).GetAsyncEnumerator();
        (await items.MoveNextAsync()).Should().BeTrue();

        // The consumer pauses after one item: the producer fills the window and stops there.
        var fits = window / message;
        await Poll.UntilAsync(() => Volatile.Read(ref produced) >= fits - 1, "the producer filled the window");
        Volatile.Read(ref produced).Should().BeLessThanOrEqualTo(fits + 1, "nothing beyond the window is produced while the consumer pauses");

        var count = 1;
        while (await items.MoveNextAsync())
        {
            BinaryPrimitives.ReadInt32BigEndian(items.Current.Span).Should().Be(count);
            count++;
        }

        count.Should().Be(2000);
    }

    [Fact]
    public async Task A_consumer_that_stops_early_cancels_the_producer()
    {
        var producerCancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var rpc = await RpcHarness.StartAsync([DelegateCommand.Streaming("forever", async call =>
        {
            using var registration = call.CancellationToken.Register(producerCancelled.SetResult);
            for (var i = 0; ; i++)
            {
                await call.WriteItemAsync(Item(i));
            }
        })]);

        var taken = 0;
        await foreach (var item in rpc.StreamAsync("forever", default))
        {
            BinaryPrimitives.ReadInt32BigEndian(item.Span).Should().Be(taken);
            if (++taken == 10)
            {
                break;
            }
        }

        await Poll.Within(producerCancelled.Task);
        await Poll.UntilAsync(() => rpc.Callee.ChannelCount == 0 && rpc.Caller.ChannelCount == 0, "the channel is gone on both sides");
        rpc.Callee.IsClosed.Should().BeFalse();
    }
}
