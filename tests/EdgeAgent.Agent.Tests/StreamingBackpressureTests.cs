using EdgeAgent.Protocol.Contracts.Docker;
using EdgeAgent.Testing;

namespace EdgeAgent.Agent.Tests;

/// <summary>A streaming command larger than the channel window pauses while the caller pauses, and completes when it reads on.</summary>
public sealed class StreamingBackpressureTests
{
    private const int Items = 20_000;

    [Fact]
    public async Task A_stream_larger_than_the_window_pauses_and_resumes_without_loss()
    {
        var ct = TestContext.Current.CancellationToken;
        var producer = new Producer();
        await using var pair = await TunnelPair.StartAsync([producer]);
        await using var items = pair.Invoker.StreamAsync<DockerEmpty, LogLine>(Producer.CommandName, new DockerEmpty(), null, ct).GetAsyncEnumerator(ct);
        (await items.MoveNextAsync()).Should().BeTrue();

        // Wait until the producer stops because the window is spent.
        long last = -1;
        var stable = 0;
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (stable < 10 && DateTime.UtcNow < deadline)
        {
            var now = Interlocked.Read(ref producer.Produced);
            stable = now == last ? stable + 1 : 0;
            last = now;
            await Task.Delay(20, ct);
        }

        stable.Should().Be(10);
        Interlocked.Read(ref producer.Produced).Should().BeLessThan(Items);

        var count = 1;
        while (await items.MoveNextAsync())
        {
            items.Current.Index.Should().Be(count);
            count++;
        }

        count.Should().Be(Items);
    }

    private sealed class Producer : EdgeStreamingCommandHandler<DockerEmpty, LogLine>
    {
        public const string CommandName = "test.produce";

        public long Produced;

        public override string Name => CommandName;

        public override async IAsyncEnumerable<LogLine> HandleAsync(DockerEmpty request, EdgeCommandContext context)
        {
            var pad = new string('x', 200);
            for (var i = 0; i < Items; i++)
            {
                Interlocked.Increment(ref Produced);
                yield return new LogLine { Index = i, Text = pad };
                if (i % 1000 == 0)
                {
                    await Task.Yield();
                }
            }
        }
    }
}
