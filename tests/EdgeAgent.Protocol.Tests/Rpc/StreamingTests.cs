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
        // A small window, so the producer is held by flow control when the consumer stops: with the
        // default 1 MiB window it first pushed about 45,000 eight-byte items (and as many frames
        // through both sessions) that nobody reads, a run 12 times heavier that timed out under
        // heavy parallel load, and it mostly tested a write failing after the reset instead of a
        // blocked producer being woken by the cancellation.
        const int Window = 4096;
        var written = 0;

        // Set when the producer has stopped: its token fired, or its write failed with the caller's cancel.
        var producerStopped = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var rpc = await RpcHarness.StartAsync([DelegateCommand.Streaming("forever", async call =>
        {
            try
            {
                for (var i = 0; ; i++)
                {
                    await call.WriteItemAsync(Item(i));
                    written = i + 1;
                }
            }
            catch (OperationCanceledException) when (call.CancellationToken.IsCancellationRequested)
            {
                producerStopped.TrySetResult("token");
                throw;
            }
            catch (ProtocolException ex) when (ex.Code == ProtocolErrorCode.Cancelled)
            {
                producerStopped.TrySetResult("reset");
                throw;
            }
        })], new SessionOptions { InitialWindow = Window });

        var taken = 0;
        await foreach (var item in rpc.StreamAsync("forever", default))
        {
            BinaryPrimitives.ReadInt32BigEndian(item.Span).Should().Be(taken);
            if (++taken == 10)
            {
                break;
            }
        }

        (await Poll.Within(producerStopped.Task)).Should().BeOneOf("token", "reset");
        Volatile.Read(ref written).Should().BeLessThan(taken + Window, "flow control held the producer to about a window ahead of the consumer");
        await Poll.UntilAsync(() => rpc.Callee.ChannelCount == 0 && rpc.Caller.ChannelCount == 0, "the channel is gone on both sides");
        rpc.Callee.IsClosed.Should().BeFalse();
    }
}
