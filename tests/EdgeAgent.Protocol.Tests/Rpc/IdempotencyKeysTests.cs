using System.Collections.Concurrent;
using EdgeAgent.Protocol.Rpc;

namespace EdgeAgent.Protocol.Tests.Rpc;

public sealed class IdempotencyKeysTests
{
    [Fact]
    public async Task Keys_are_32_lower_case_hex_digits_and_never_repeat_across_threads_and_pool_refills()
    {
        // 4 threads × 1,000 keys: each thread refills its 256-key pool several times.
        var keys = new ConcurrentBag<string>();
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Factory.StartNew(
            () =>
            {
                for (var i = 0; i < 1000; i++)
                {
                    keys.Add(IdempotencyKeys.New());
                }
            },
            TaskCreationOptions.LongRunning)));

        keys.Should().HaveCount(4000);
        keys.Distinct().Should().HaveCount(4000);
        keys.Should().AllSatisfy(key => key.Should().MatchRegex("^[0-9a-f]{32}$"));

        // Random bits, not a counter: every hex digit value appears in every position across the keys.
        for (var position = 0; position < 32; position++)
        {
            keys.Select(key => key[position]).Distinct().Should().HaveCount(16, $"position {position} takes every digit");
        }
    }
}
