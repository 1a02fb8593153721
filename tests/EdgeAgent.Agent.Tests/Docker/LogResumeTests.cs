using EdgeAgent.Protocol.Contracts.Docker;

namespace EdgeAgent.Agent.Tests.Docker;

/// <summary>
/// Log resume against the real engine with stdout and stderr interleaved: the engine stamps the two
/// streams in separate goroutines, so its output order is not timestamp order, and a cursor must still
/// resume without loss or repetition at every cut.
/// </summary>
[Trait("Category", "Docker")]
public sealed class LogResumeTests : DockerTestBase
{
    private const int Pairs = 2000;
    private const int Attempts = 10;

    [Fact]
    public async Task Resume_at_every_cut_near_an_out_of_order_timestamp_neither_loses_nor_repeats()
    {
        var (id, all, outOfOrder) = await InterleavedLogAsync();
        var cuts = outOfOrder.SelectMany(i => Enumerable.Range(i - 3, 7))
            .Concat(Enumerable.Range(0, all.Count / 97).Select(i => i * 97))
            .Where(i => i >= 0 && i < all.Count)
            .Distinct()
            .Order()
            .ToList();

        foreach (var cut in cuts)
        {
            var resumed = await Docker.Containers.GetLogsAsync(new() { Id = id, ResumeAfter = all[cut].Cursor, MaxLines = 100_000 }, cancellationToken: Ct);

            Keys(all.Take(cut + 1).Concat(resumed.Lines)).Should().Equal(Keys(all), $"resuming after line {cut} ({Describe(all[cut])})");
        }
    }

    [Fact]
    public async Task A_chain_of_short_reads_each_resuming_from_the_last_cursor_reproduces_the_log_exactly()
    {
        var (id, all, _) = await InterleavedLogAsync();
        int[] sizes = [1, 2, 3, 5, 8, 1, 1, 13];
        var chained = new List<LogLine>();
        LogCursor? cursor = null;

        for (var step = 0; chained.Count < all.Count; step++)
        {
            var part = await Docker.Containers.GetLogsAsync(new() { Id = id, ResumeAfter = cursor, MaxLines = sizes[step % sizes.Length] }, cancellationToken: Ct);
            part.Lines.Should().NotBeEmpty($"the log has {all.Count} lines and {chained.Count} were read");
            chained.AddRange(part.Lines);
            cursor = part.Lines[^1].Cursor;
        }

        Keys(chained).Should().Equal(Keys(all));
        var rest = await Docker.Containers.GetLogsAsync(new() { Id = id, ResumeAfter = cursor }, cancellationToken: Ct);
        rest.Lines.Should().BeEmpty();
    }

    [Fact]
    public async Task Following_stopped_and_resumed_many_times_reproduces_the_log_exactly()
    {
        var (id, all, _) = await InterleavedLogAsync();
        var followed = new List<LogLine>();
        LogCursor? cursor = null;

        for (var step = 0; followed.Count < all.Count; step++)
        {
            var take = 1 + (step * 7 % 40);
            var before = followed.Count;
            await foreach (var line in Docker.Containers.FollowLogsAsync(new() { Id = id, ResumeAfter = cursor }, cancellationToken: Ct))
            {
                followed.Add(line);
                if (followed.Count - before == take)
                {
                    break;
                }
            }

            followed.Count.Should().BeGreaterThan(before, $"the log has {all.Count} lines and {followed.Count} were read");
            cursor = followed[^1].Cursor;
        }

        Keys(followed).Should().Equal(Keys(all));
    }

    /// <summary>
    /// A finished container that wrote stdout and stderr lines alternately, its whole log, and the
    /// positions of lines stamped earlier than a line before them. Tries up to
    /// <see cref="Attempts"/> containers until one shows such a line (the engine's two copiers race;
    /// most runs show a few).
    /// </summary>
    private async Task<(string Id, IReadOnlyList<LogLine> All, List<int> OutOfOrder)> InterleavedLogAsync()
    {
        for (var attempt = 0; ; attempt++)
        {
            var id = await CreateContainerAsync(["sh", "-c", $"i=0; while [ $i -lt {Pairs} ]; do i=$((i+1)); echo o-$i; echo e-$i >&2; done"]);
            await WaitForExitAsync(id);
            var all = (await Docker.Containers.GetLogsAsync(new() { Id = id, MaxLines = 100_000 }, cancellationToken: Ct)).Lines;
            all.Should().HaveCount(2 * Pairs);
            all.Where(l => l.Stream == LogStream.Stdout).Select(l => l.Text).Should().Equal(Enumerable.Range(1, Pairs).Select(i => $"o-{i}"));
            all.Where(l => l.Stream == LogStream.Stderr).Select(l => l.Text).Should().Equal(Enumerable.Range(1, Pairs).Select(i => $"e-{i}"));

            var outOfOrder = new List<int>();
            var max = long.MinValue;
            for (var i = 0; i < all.Count; i++)
            {
                if (all[i].TimestampUnixNanos < max)
                {
                    outOfOrder.Add(i);
                }

                max = Math.Max(max, all[i].TimestampUnixNanos);
            }

            if (outOfOrder.Count > 0 || attempt == Attempts - 1)
            {
                outOfOrder.Should().NotBeEmpty($"{Attempts} runs of interleaved output all came out in timestamp order, so this engine cannot show the case under test");
                return (id, all, outOfOrder);
            }
        }
    }

    private static List<string> Keys(IEnumerable<LogLine> lines) => lines.Select(l => $"{l.Stream}:{l.Text}@{l.TimestampUnixNanos}").ToList();

    private static string Describe(LogLine line) => $"{line.Stream} '{line.Text}' at {line.TimestampUnixNanos}";
}
