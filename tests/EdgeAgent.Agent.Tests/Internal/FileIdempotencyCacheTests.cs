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
    public async Task A_record_queued_behind_the_writer_when_the_cache_is_disposed_is_written_and_its_caller_released()
    {
        var cache = new FileIdempotencyCache(_directory, capacity: 100, TimeSpan.FromHours(1), _time);
        using var writing = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        cache.BeforeWrite = () =>
        {
            cache.BeforeWrite = null;
            writing.Set();
            release.Wait(TimeSpan.FromSeconds(30));
        };

        // "a" becomes the writer and is held before its write; "b" queues behind it.
        var first = Task.Run(async () => await cache.SetAsync("a", "cmd", [1]));
        writing.Wait(TimeSpan.FromSeconds(30)).Should().BeTrue();
        var second = cache.SetAsync("b", "cmd", [2]).AsTask();
        second.IsCompleted.Should().BeFalse("it waits for the running writer");

        // Shutdown: the writer sees the cache disposed and stops; "b" must not be left waiting.
        var disposing = Task.Run(cache.Dispose);
        await Task.Delay(50);
        release.Set();
        await first.WaitAsync(TimeSpan.FromSeconds(30));
        await second.WaitAsync(TimeSpan.FromSeconds(30));
        await disposing.WaitAsync(TimeSpan.FromSeconds(30));

        using var reopened = new FileIdempotencyCache(_directory, capacity: 100, TimeSpan.FromHours(1), _time);
        reopened.TryGet("a", out _, out _).Should().BeTrue();
        reopened.TryGet("b", out _, out var b).Should().BeTrue("it was written before the file was closed");
        b.Should().Equal(2);
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
    public async Task Appends_go_on_while_a_compaction_writes_and_the_records_written_meanwhile_survive_the_swap()
    {
        var cache = new FileIdempotencyCache(_directory, capacity: 50, TimeSpan.FromHours(1), _time);
        using var held = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        cache.BeforeSwap = () =>
        {
            held.Set();
            release.Wait(TimeSpan.FromSeconds(60));
        };

        // 101 appends make a compaction due (more than twice the capacity); it starts in the background.
        for (var i = 0; i < 101; i++)
        {
            await cache.SetAsync($"key-{i}", "cmd", [(byte)i]);
        }

        await cache.SetAsync("key-101", "cmd", [101]);
        held.Wait(TimeSpan.FromSeconds(30)).Should().BeTrue("the compaction has written its snapshot");

        // The compaction is held before its swap: appends still complete, into the old log.
        for (var i = 102; i < 140; i++)
        {
            await cache.SetAsync($"key-{i}", "cmd", [(byte)i]);
        }

        cache.Compactions.Should().Be(0);
        cache.BeforeSwap = null;
        release.Set();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (cache.Compactions == 0 && DateTime.UtcNow < deadline)
        {
            await cache.SetAsync("key-nudge", "cmd", [0]); // the swap runs on the writer, after the next batch at the latest
            await Task.Delay(10);
        }

        cache.Compactions.Should().Be(1, "the held compaction was swapped in once released");
        cache.Dispose();
        File.Exists(Path.Combine(_directory, "idempotency.log.tmp")).Should().BeFalse();

        using var reopened = new FileIdempotencyCache(_directory, capacity: 50, TimeSpan.FromHours(1), _time);
        reopened.Count.Should().Be(50);

        // The newest 50: key-91..key-139 (written before and during the compaction) and key-nudge.
        reopened.TryGet("key-90", out _, out _).Should().BeFalse();
        for (var i = 91; i < 140; i++)
        {
            reopened.TryGet($"key-{i}", out _, out var response).Should().BeTrue($"key-{i} was written before or while the compaction ran");
            response.Should().Equal((byte)i);
        }

        reopened.TryGet("key-nudge", out _, out _).Should().BeTrue();
    }

    [Fact]
    public async Task A_compaction_that_cannot_write_its_file_leaves_the_old_log_in_use_and_a_later_one_succeeds()
    {
        var cache = new FileIdempotencyCache(_directory, capacity: 20, TimeSpan.FromHours(1), _time);

        // A directory where the compaction's temporary file would go: creating the file fails.
        var temp = Path.Combine(_directory, "idempotency.log.tmp");
        Directory.CreateDirectory(temp);
        for (var i = 0; i < 200; i++)
        {
            await cache.SetAsync($"key-{i}", "cmd", [(byte)i]); // each still reaches the log
            await Task.Delay(1); // time for a failed attempt to end before the next append
        }

        cache.Compactions.Should().Be(0, "every attempt failed to create its file");
        cache.TryGet("key-199", out _, out _).Should().BeTrue();

        // Due from the 41st append on; after a failure the next try waits for another 20 appends,
        // so 200 appends make at most 8 attempts, not one per append.
        cache.CompactionAttempts.Should().BeInRange(1, 8);

        Directory.Delete(temp);
        for (var i = 200; i < 260 && cache.Compactions == 0; i++)
        {
            await cache.SetAsync($"key-{i}", "cmd", [(byte)i]);
            await Task.Delay(5); // the compaction runs in the background
        }

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (cache.Compactions == 0 && DateTime.UtcNow < deadline)
        {
            await cache.SetAsync("key-nudge", "cmd", [0]);
            await Task.Delay(10);
        }

        cache.Compactions.Should().BeGreaterThan(0, "a compaction succeeds once the file can be written");
        await cache.SetAsync("key-final", "cmd", [1]);
        cache.Dispose();

        using var reopened = new FileIdempotencyCache(_directory, capacity: 20, TimeSpan.FromHours(1), _time);
        reopened.Count.Should().Be(20);
        reopened.TryGet("key-final", out _, out _).Should().BeTrue();
        reopened.TryGet("key-0", out _, out _).Should().BeFalse("the oldest were evicted");
        new FileInfo(Path.Combine(_directory, "idempotency.log")).Length.Should().BeLessThan(200 * 20, "the log was compacted, not left at every record appended");
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
    public async Task Replacing_keys_never_evicts_a_live_entry_before_the_cache_holds_its_capacity()
    {
        using var cache = new FileIdempotencyCache(_directory, capacity: 3, TimeSpan.FromHours(1), _time);
        await cache.SetAsync("a", "cmd", [1]);
        await cache.SetAsync("b", "cmd", [2]);
        await cache.SetAsync("c", "cmd", [3]);
        for (var i = 0; i < 20; i++)
        {
            await cache.SetAsync("c", "cmd", [(byte)(10 + i)]); // each leaves a dead slot behind
        }

        cache.Count.Should().Be(3);
        cache.TryGet("a", out _, out _).Should().BeTrue();
        cache.TryGet("b", out _, out _).Should().BeTrue();
        cache.TryGet("c", out _, out var c).Should().BeTrue();
        c.Should().Equal(29);

        // A fourth key evicts the oldest, "a", and only it.
        await cache.SetAsync("d", "cmd", [4]);
        cache.TryGet("a", out _, out _).Should().BeFalse();
        cache.TryGet("b", out _, out _).Should().BeTrue();
        cache.Count.Should().Be(3);
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
