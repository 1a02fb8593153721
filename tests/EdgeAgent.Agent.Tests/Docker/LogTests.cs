using EdgeAgent.Agent.Docker;
using EdgeAgent.Protocol;
using EdgeAgent.Protocol.Contracts.Docker;
using EdgeAgent.Protocol.Docker;
using EdgeAgent.Testing;

namespace EdgeAgent.Agent.Tests.Docker;

[Trait("Category", "Docker")]
public sealed class LogTests : DockerTestBase
{
    private const string TenLinesEach = "for i in $(seq 1 10); do echo out-$i; echo err-$i >&2; done";

    [Fact]
    public async Task Logs_separate_stdout_and_stderr_with_timestamps_in_order()
    {
        var id = await CreateContainerAsync(["sh", "-c", TenLinesEach]);
        await WaitForExitAsync(id);

        var logs = await Docker.Containers.GetLogsAsync(new() { Id = id }, cancellationToken: Ct);

        logs.Truncated.Should().BeFalse();
        logs.Lines.Where(l => l.Stream == LogStream.Stdout).Select(l => l.Text).Should().Equal(Enumerable.Range(1, 10).Select(i => $"out-{i}"));
        logs.Lines.Where(l => l.Stream == LogStream.Stderr).Select(l => l.Text).Should().Equal(Enumerable.Range(1, 10).Select(i => $"err-{i}"));
        // The engine stamps each stream as it reads it: lines are in order within a stream, but an
        // stderr line can be stamped a few microseconds before the stdout line the engine wrote first.
        logs.Lines.Where(l => l.Stream == LogStream.Stdout).Select(l => l.TimestampUnixNanos).Should().BeInAscendingOrder().And.OnlyContain(t => t > 0);
        logs.Lines.Where(l => l.Stream == LogStream.Stderr).Select(l => l.TimestampUnixNanos).Should().BeInAscendingOrder().And.OnlyContain(t => t > 0);
        logs.Lines[0].Timestamp.Should().BeCloseTo(DateTimeOffset.UtcNow, TimeSpan.FromMinutes(10));
    }

    /// <summary>The engine logs a 40,000-byte line as three messages with a timestamp each; it comes back as the one line written.</summary>
    [Fact]
    public async Task A_line_longer_than_the_engines_16_KiB_buffer_comes_back_whole()
    {
        var id = await CreateContainerAsync(["sh", "-c", "i=0; while [ $i -lt 4000 ]; do printf '%09d ' $i; i=$((i+1)); done; echo; echo after"]);
        await WaitForExitAsync(id);

        var logs = await Docker.Containers.GetLogsAsync(new() { Id = id }, cancellationToken: Ct);

        var written = string.Concat(Enumerable.Range(0, 4000).Select(i => i.ToString("D9", System.Globalization.CultureInfo.InvariantCulture) + " "));
        logs.Lines.Select(l => l.Text).Should().Equal(written, "after");
    }

    /// <summary>
    /// Lines of up to 64 KiB, up to 100,000 of them: the unary read held up to 6.4 GB of a
    /// container's output in the agent before answering. Past 16 MiB of text it stops, as truncated.
    /// </summary>
    [Fact]
    public async Task Unary_logs_stop_at_16_MiB_of_text_as_truncated()
    {
        var id = await CreateContainerAsync(["sh", "-c", "s=a; i=0; while [ $i -lt 15 ]; do s=$s$s; i=$((i+1)); done; i=0; while [ $i -lt 600 ]; do echo $s; i=$((i+1)); done"]);
        await WaitForExitAsync(id);

        var logs = await Docker.Containers.GetLogsAsync(new() { Id = id, MaxLines = 100_000 }, cancellationToken: Ct);

        logs.Truncated.Should().BeTrue();
        logs.Lines.Sum(l => (long)l.Text.Length).Should().BeLessThanOrEqualTo(ContainerLogsHandler.MaxTextCharacters);
        logs.Lines.Should().HaveCountGreaterThan(400).And.OnlyContain(l => l.Text.Length == 32 * 1024);
    }

    [Fact]
    public async Task Logs_of_one_stream_only()
    {
        var id = await CreateContainerAsync(["sh", "-c", TenLinesEach]);
        await WaitForExitAsync(id);

        var stderr = await Docker.Containers.GetLogsAsync(new() { Id = id, Stdout = false }, cancellationToken: Ct);
        var stdout = await Docker.Containers.GetLogsAsync(new() { Id = id, Stderr = false }, cancellationToken: Ct);
        var neither = async () => await Docker.Containers.GetLogsAsync(new() { Id = id, Stdout = false, Stderr = false }, cancellationToken: Ct);

        stderr.Lines.Should().HaveCount(10).And.OnlyContain(l => l.Stream == LogStream.Stderr && l.Text.StartsWith("err-"));
        stdout.Lines.Should().HaveCount(10).And.OnlyContain(l => l.Stream == LogStream.Stdout && l.Text.StartsWith("out-"));
        (await neither.Should().ThrowAsync<EdgeCommandException>()).Which.Code.Should().Be(EdgeErrorCodes.InvalidArgument);
    }

    [Fact]
    public async Task Logs_tail_returns_the_last_lines()
    {
        var id = await CreateContainerAsync(["sh", "-c", "seq 1 100"]);
        await WaitForExitAsync(id);

        var logs = await Docker.Containers.GetLogsAsync(new() { Id = id, Tail = 3 }, cancellationToken: Ct);

        logs.Lines.Select(l => l.Text).Should().Equal("98", "99", "100");
    }

    [Fact]
    public async Task Logs_since_and_until_select_by_time()
    {
        var id = await CreateContainerAsync(["sh", "-c", "echo a1; echo a2; sleep 1.5; echo b1; echo b2"]);
        await WaitForExitAsync(id);
        var all = (await Docker.Containers.GetLogsAsync(new() { Id = id }, cancellationToken: Ct)).Lines;
        var firstB = all.Single(l => l.Text == "b1");
        var lastA = all.Single(l => l.Text == "a2");

        var since = await Docker.Containers.GetLogsAsync(new() { Id = id, Since = firstB.Timestamp.AddMilliseconds(-500) }, cancellationToken: Ct);
        var until = await Docker.Containers.GetLogsAsync(new() { Id = id, Until = lastA.Timestamp.AddMilliseconds(500) }, cancellationToken: Ct);

        since.Lines.Select(l => l.Text).Should().Equal("b1", "b2");
        until.Lines.Select(l => l.Text).Should().Equal("a1", "a2");
    }

    [Fact]
    public async Task Logs_are_capped_by_max_lines()
    {
        var id = await CreateContainerAsync(["sh", "-c", "seq 1 50"]);
        await WaitForExitAsync(id);

        var logs = await Docker.Containers.GetLogsAsync(new() { Id = id, MaxLines = 20 }, cancellationToken: Ct);

        logs.Truncated.Should().BeTrue();
        logs.Lines.Select(l => l.Text).Should().Equal(Enumerable.Range(1, 20).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Fact]
    public async Task Resume_after_a_cursor_skips_what_was_delivered()
    {
        var id = await CreateContainerAsync(["sh", "-c", "seq 1 30"]);
        await WaitForExitAsync(id);
        var all = (await Docker.Containers.GetLogsAsync(new() { Id = id }, cancellationToken: Ct)).Lines;

        var resumed = await Docker.Containers.GetLogsAsync(new() { Id = id, ResumeAfter = all[9].Cursor, Tail = 1 }, cancellationToken: Ct);

        resumed.Lines.Select(l => l.Text).Should().Equal(all.Skip(10).Select(l => l.Text));
    }

    [Fact]
    public async Task Follow_streams_new_lines_as_they_are_written()
    {
        var id = await CreateContainerAsync(["sh", "-c", "i=0; while true; do i=$((i+1)); echo tick-$i; sleep 0.05; done"]);

        var seen = new List<string>();
        await foreach (var line in Docker.Containers.FollowLogsAsync(new() { Id = id }, cancellationToken: Ct))
        {
            seen.Add(line.Text);
            if (seen.Count == 20)
            {
                break;
            }
        }

        seen.Should().Equal(Enumerable.Range(1, 20).Select(i => $"tick-{i}"));
    }

    [Fact]
    public async Task Follow_with_a_slow_consumer_holds_back_the_engine_read()
    {
        const int lines = 50_000;
        var id = await CreateContainerAsync(["sh", "-c", $"awk 'BEGIN {{ p = sprintf(\"%200s\", \"\"); gsub(/ /, \"x\", p); for (i = 1; i <= {lines}; i++) printf \"%06d %s\\n\", i, p }}'"]);
        await WaitForExitAsync(id);
        var follow = new ContainerLogsFollowHandler(Provider);
        await using var pair = await TunnelPair.StartAsync([follow]);
        var docker = new DockerCommands(pair.Invoker);
        const long totalBytes = lines * (30L + 1 + 6 + 1 + 200 + 1 + 8); // timestamp, text, newline, frame header (about)

        await using var items = docker.Containers.FollowLogsAsync(new() { Id = id }, cancellationToken: Ct).GetAsyncEnumerator(Ct);
        for (var i = 0; i < 10; i++)
        {
            (await items.MoveNextAsync()).Should().BeTrue();
        }

        // The consumer pauses: the agent reads until the tunnel window and socket buffers are full, then stops.
        long last = -1;
        var stableFor = 0;
        var settled = await PollAsync(() =>
        {
            var now = follow.EngineBytesRead;
            stableFor = now == last ? stableFor + 1 : 0;
            last = now;
            return Task.FromResult(stableFor >= 10);
        }, TimeSpan.FromSeconds(20));

        settled.Should().BeTrue("the agent's read from the engine stops while nobody consumes");
        follow.EngineBytesRead.Should().BeLessThan(totalBytes / 3, "only about a window's worth is read ahead");

        // Consuming resumes the read; nothing is lost on the way.
        var expected = 11;
        while (await items.MoveNextAsync())
        {
            items.Current.Text[..6].Should().Be(expected.ToString("D6", System.Globalization.CultureInfo.InvariantCulture));
            expected++;
        }

        expected.Should().Be(lines + 1);
    }

    [Fact]
    public async Task Follow_resumes_from_a_cursor_after_the_tunnel_broke_without_loss_or_repeat()
    {
        var id = await CreateContainerAsync(["sh", "-c", "i=0; while true; do i=$((i+1)); echo n-$i; i=$((i+1)); echo n-$i; sleep 0.02; done"]);
        var first = new List<LogLine>();

        var broken = await TunnelPair.StartAsync(DockerHandlerRegistration.CreateHandlers(Provider));
        var enumerator = new DockerCommands(broken.Invoker).Containers.FollowLogsAsync(new() { Id = id }, cancellationToken: Ct).GetAsyncEnumerator(Ct);
        while (first.Count < 40 && await enumerator.MoveNextAsync())
        {
            first.Add(enumerator.Current);
        }

        await broken.DisposeAsync(); // the connection drops mid-stream
        var next = async () => await enumerator.MoveNextAsync();
        await next.Should().ThrowAsync<Exception>("the stream was broken");
        await enumerator.DisposeAsync();

        var second = new List<LogLine>();
        await foreach (var line in Docker.Containers.FollowLogsAsync(new() { Id = id, ResumeAfter = first[^1].Cursor }, cancellationToken: Ct))
        {
            second.Add(line);
            if (second.Count == 40)
            {
                break;
            }
        }

        var numbers = first.Concat(second).Select(l => int.Parse(l.Text[2..], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        numbers.Should().Equal(Enumerable.Range(1, 80));
    }

    [Fact]
    public async Task Logs_of_a_missing_container_are_not_found()
    {
        var logs = async () => await Docker.Containers.GetLogsAsync(new() { Id = UniqueName("missing") }, cancellationToken: Ct);
        var follow = async () =>
        {
            await foreach (var _ in Docker.Containers.FollowLogsAsync(new() { Id = UniqueName("missing") }, cancellationToken: Ct))
            {
            }
        };

        (await logs.Should().ThrowAsync<EdgeCommandException>()).Which.Code.Should().Be(EdgeErrorCodes.NotFound);
        (await follow.Should().ThrowAsync<EdgeCommandException>()).Which.Code.Should().Be(EdgeErrorCodes.NotFound);
    }
}
