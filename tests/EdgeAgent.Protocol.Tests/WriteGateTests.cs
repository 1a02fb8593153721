using EdgeAgent.Protocol.Session;

namespace EdgeAgent.Protocol.Tests;

public sealed class WriteGateTests
{
    [Fact]
    public async Task Priority_writers_go_ahead_of_queued_bulk_writers_and_cancelled_waiters_are_skipped()
    {
        var gate = new WriteGate();
        await gate.EnterAsync(bulk: true, CancellationToken.None);

        var order = new List<string>();
        var bulk1 = Enter("bulk-1", bulk: true);
        using var cancelled = new CancellationTokenSource();
        var gone = gate.EnterAsync(bulk: false, cancelled.Token).AsTask();
        var bulk2 = Enter("bulk-2", bulk: true);
        var priority = Enter("priority", bulk: false);
        await cancelled.CancelAsync();
        await FluentActions.Awaiting(() => gone).Should().ThrowAsync<OperationCanceledException>();

        gate.Release();
        await Task.WhenAll(bulk1, bulk2, priority);
        order.Should().Equal("priority", "bulk-1", "bulk-2");

        async Task Enter(string name, bool bulk)
        {
            await gate.EnterAsync(bulk, CancellationToken.None);
            lock (order)
            {
                order.Add(name);
            }

            gate.Release();
        }
    }

    [Fact]
    public async Task TryEnter_times_out_while_held_and_succeeds_when_free()
    {
        var gate = new WriteGate();
        (await gate.TryEnterAsync(TimeSpan.FromMilliseconds(10))).Should().BeTrue();
        (await gate.TryEnterAsync(TimeSpan.FromMilliseconds(20))).Should().BeFalse();
        gate.Release();
        (await gate.TryEnterAsync(TimeSpan.FromMilliseconds(10))).Should().BeTrue();
    }
}
