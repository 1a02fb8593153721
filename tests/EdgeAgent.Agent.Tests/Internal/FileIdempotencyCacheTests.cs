using EdgeAgent.Agent.Internal;
using Microsoft.Extensions.Time.Testing;

namespace EdgeAgent.Agent.Tests.Internal;

public sealed class FileIdempotencyCacheTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"edgeagent-idem-{Guid.NewGuid():N}");
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    [Fact]
    public async Task Every_record_written_under_concurrency_is_in_the_file_before_its_set_completes()
    {
        const int Count = 2000;
        var cache = new FileIdempotencyCache(_directory, capacity: 10_000, TimeSpan.FromHours(1), _time);
        var sizes = new long[Count];
        await Task.WhenAll(Enumerable.Range(0, 8).Select(worker => Task.Run(async () =>
        {
            for (var i = worker; i < Count; i += 8)
            {
                await cache.SetAsync($"key-{i}", "cmd", [(byte)i, 1, 2, 3]);

                // Completed: the record has reached the OS, so a reader of the file sees it.
                sizes[i] = new FileInfo(Path.Combine(_directory, "idempotency.log")).Length;
                sizes[i].Should().BeGreaterThan(0);
            }
        })));
        cache.AppendWrites.Should().BeLessThanOrEqualTo(Count);
        cache.Dispose();

        using var reopened = new FileIdempotencyCache(_directory, capacity: 10_000, TimeSpan.FromHours(1), _time);
        reopened.Count.Should().Be(Count);
        for (var i = 0; i < Count; i++)
        {
            reopened.TryGet($"key-{i}", out var name, out var response).Should().BeTrue();
            name.Should().Be("cmd");
            response.Should().Equal((byte)i, 1, 2, 3);
        }
    }

    [Fact]
    public async Task The_oldest_entries_are_evicted_at_capacity_and_survive_compaction_in_order()
    {
        var cache = new FileIdempotencyCache(_directory, capacity: 100, TimeSpan.FromHours(1), _time);
        for (var i = 0; i < 450; i++)
        {
            await cache.SetAsync($"key-{i}", "cmd", [(byte)i]);
        }

        // Compactions ran (the file was rewritten with the live entries) and Dispose waits for a running one.
        cache.Count.Should().Be(100);
        cache.TryGet("key-349", out _, out _).Should().BeFalse();
        cache.TryGet("key-350", out _, out var first).Should().BeTrue();
        first.Should().Equal((byte)(350 % 256));
        cache.Dispose();

        using var reopened = new FileIdempotencyCache(_directory, capacity: 100, TimeSpan.FromHours(1), _time);
        reopened.Count.Should().Be(100);
        reopened.TryGet("key-449", out _, out var last).Should().BeTrue();
        last.Should().Equal((byte)(449 % 256));
        reopened.TryGet("key-349", out _, out _).Should().BeFalse();
    }

    [Fact]
    public async Task A_replaced_key_keeps_its_newest_result_and_expired_entries_are_forgotten()
    {
        using var cache = new FileIdempotencyCache(_directory, capacity: 10, TimeSpan.FromMinutes(5), _time);
        await cache.SetAsync("a", "cmd", [1]);
        await cache.SetAsync("a", "cmd", [2]);
        await cache.SetAsync("b", "cmd", [3]);
        cache.Count.Should().Be(2);
        cache.TryGet("a", out _, out var a).Should().BeTrue();
        a.Should().Equal(2);

        _time.Advance(TimeSpan.FromMinutes(6));
        cache.TryGet("a", out _, out _).Should().BeFalse();
        cache.TryGet("b", out _, out _).Should().BeFalse();
        cache.Count.Should().Be(0);
    }

    [Fact]
    public async Task A_torn_last_record_is_dropped_on_load()
    {
        var cache = new FileIdempotencyCache(_directory, capacity: 10, TimeSpan.FromHours(1), _time);
        await cache.SetAsync("a", "cmd", [1]);
        await cache.SetAsync("b", "cmd", [2]);
        cache.Dispose();
        var path = Path.Combine(_directory, "idempotency.log");
        var bytes = await File.ReadAllBytesAsync(path);
        await File.WriteAllBytesAsync(path, bytes[..^2]);

        using var reopened = new FileIdempotencyCache(_directory, capacity: 10, TimeSpan.FromHours(1), _time);
        reopened.TryGet("a", out _, out _).Should().BeTrue();
        reopened.TryGet("b", out _, out _).Should().BeFalse();
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
