using System.Buffers.Binary;
using System.Text;
using Docker.DotNet;
using EdgeAgent.Agent.Docker;
using EdgeAgent.Protocol.Contracts.Docker;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeAgent.Agent.Tests.Docker;

/// <summary>The log cursor logic over a hand-made engine stream (no engine needed).</summary>
public sealed class DockerLogReaderTests
{
    private const string T1 = "2026-01-02T03:04:05.123456789Z";
    private const string T2 = "2026-01-02T03:04:05.5Z";

    [Fact]
    public async Task Lines_with_the_same_timestamp_are_numbered_and_resume_skips_by_index()
    {
        var frames = Frames((1, $"{T1} a\n{T1} b\n"), (2, $"{T1} c\n"), (1, $"{T2} d\n{T2} e\n"));

        var all = await ReadAsync(frames, (LogCursor?)null);
        var resumed = await ReadAsync(frames, all[1].Cursor);

        all.Select(l => (l.Text, l.Index, l.Stream)).Should().Equal(
            ("a", 0, LogStream.Stdout), ("b", 1, LogStream.Stdout), ("c", 2, LogStream.Stderr), ("d", 0, LogStream.Stdout), ("e", 1, LogStream.Stdout));
        all[0].TimestampUnixNanos.Should().Be(new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero).ToUnixTimeSeconds() * 1_000_000_000 + 123_456_789);
        all[3].TimestampUnixNanos.Should().Be(all[0].TimestampUnixNanos - 123_456_789 + 500_000_000);
        resumed.Select(l => l.Text).Should().Equal("c", "d", "e");
    }

    [Fact]
    public async Task A_cursor_from_an_older_agent_resumes_by_timestamp_and_index()
    {
        var frames = Frames((1, $"{T1} a\n{T1} b\n"), (2, $"{T1} c\n"), (1, $"{T2} d\n"));
        var all = await ReadAsync(frames, (LogCursor?)null);
        var legacy = new LogCursor { TimestampUnixNanos = all[1].TimestampUnixNanos, Index = all[1].Index };

        var resumed = await ReadAsync(frames, legacy);

        legacy.ResumeFromUnixNanos.Should().BeNull();
        DockerLogReader.ToParameters(new() { Id = "c", ResumeAfter = legacy }, follow: false).Since.Should().Be(DockerLogReader.ToEngineTime(all[1].TimestampUnixNanos));
        resumed.Select(l => l.Text).Should().Equal("c", "d");
    }

    /// <summary>
    /// An engine log in write order with what the real engine does: the stderr copier stamps lines
    /// before stdout lines that reach the log first, lines share timestamps, one stream falls silent; each stream alone stays in
    /// timestamp order, as the engine's copiers keep it.
    /// A fake engine serves it with an inclusive <c>since</c>; every cut must resume exactly.
    /// </summary>
    [Theory]
    [InlineData(true, true, null)]
    [InlineData(true, false, null)]
    [InlineData(false, true, null)]
    [InlineData(true, true, 5)]
    public async Task Resume_after_every_line_of_an_out_of_order_log_neither_loses_nor_repeats(bool stdout, bool stderr, int? sinceIndex)
    {
        const long Second = 1_000_000_000L;
        var start = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero).ToUnixTimeSeconds() * Second;
        (byte Stream, long At)[] shape =
        [
            (1, 100), (1, 200), (2, 150), (1, 300), (1, 300), (2, 160), (2, 400), (1, 350), (1, 500), (2, 500),
            (2, 500), (1, 500), (1, 600), (2, 550), (2, 700), (1, 650), (1, 3 * Second), (1, 3 * Second + 1),
            (2, 3 * Second - 10), (1, 5 * Second), (1, 6 * Second), (1, 6 * Second), (1, 8 * Second), (2, 8 * Second - 5),
        ];
        var log = shape.Select((e, i) => (e.Stream, At: start + e.At, Text: $"l{i}")).ToList();
        var request = new ContainerLogsRequest { Id = "c", Stdout = stdout, Stderr = stderr };
        if (sinceIndex is { } s)
        {
            request.Since = DateTimeOffset.UnixEpoch.AddTicks(log[s].At / 100);
        }

        var all = await ReadAsync(Engine(request), request);
        all.Should().NotBeEmpty();

        for (var cut = 0; cut < all.Count; cut++)
        {
            var resume = new ContainerLogsRequest { Id = "c", Stdout = stdout, Stderr = stderr, ResumeAfter = all[cut].Cursor };
            var resumed = await ReadAsync(Engine(resume), resume);

            all.Take(cut + 1).Concat(resumed).Select(l => l.Text).Should().Equal(all.Select(l => l.Text), $"resuming after {all[cut].Text}");

            // Resuming again from a line of the resumed read is just as exact.
            if (resumed.Count > 1)
            {
                var again = new ContainerLogsRequest { Id = "c", Stdout = stdout, Stderr = stderr, ResumeAfter = resumed[0].Cursor };
                var rest = await ReadAsync(Engine(again), again);
                rest.Select(l => l.Text).Should().Equal(resumed.Skip(1).Select(l => l.Text), $"resuming after {resumed[0].Text} of the resume after {all[cut].Text}");
            }
        }

        // What the engine serves for these parameters: the requested streams' lines stamped at or after since, in write order.
        byte[] Engine(ContainerLogsRequest r)
        {
            var parameters = DockerLogReader.ToParameters(r, follow: false);
            var since = parameters.Since is { } text ? ParseEngineTime(text) : long.MinValue;
            return Frames(log
                .Where(e => (e.Stream == 1 ? r.Stdout : r.Stderr) && e.At >= since)
                .Select(e => (e.Stream, $"{Rfc3339(e.At)} {e.Text}\n"))
                .ToArray());
        }
    }

    [Fact]
    public async Task A_silent_stream_bounds_the_re_read_to_the_reorder_window()
    {
        const long Second = 1_000_000_000L;
        var start = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero).ToUnixTimeSeconds() * Second;
        var frames = Frames(Enumerable.Range(0, 50).Select(i => ((byte)1, $"{Rfc3339(start + (i * Second / 10))} s{i}\n")).ToArray());

        var all = await ReadAsync(frames, (LogCursor?)null);

        all[^1].ResumeFromUnixNanos.Should().Be(all[^1].TimestampUnixNanos - LogResumeTracker.ReorderWindowNanos);
        all[^1].ResumeSkip.Should().Be(11, "the lines stamped in the last second, both ends included");
        all.Select(l => l.ResumeFromUnixNanos!.Value).Should().BeInAscendingOrder();
    }

    [Fact]
    public async Task A_line_split_across_frames_is_joined_and_an_overlong_line_is_cut()
    {
        var longText = new string('x', DockerLogReader.MaxLineBytes + 10);
        var frames = Frames((1, $"{T1} hel"), (1, "lo\n"), (1, $"{T2} {longText}\n"));

        var lines = await ReadAsync(frames, (LogCursor?)null);

        lines[0].Text.Should().Be("hello");
        string.Concat(lines.Skip(1).Select(l => l.Text)).Should().Be(longText);
        lines.Skip(1).Should().OnlyContain(l => l.TimestampUnixNanos == lines[1].TimestampUnixNanos);
        lines.Select(l => l.Index).Should().Equal(0, 0, 1);
    }

    /// <summary>
    /// The engine logs a line longer than its 16 KiB copy buffer as several messages, each with its
    /// own timestamp; the reader removes the timestamps of the continuing messages, wherever the
    /// frames cut them.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(31)]
    public async Task A_line_the_engine_logged_in_16_KiB_pieces_comes_out_whole(int cutInsidePrefix)
    {
        const int Piece = DockerLogReader.PartialLine.EnginePieceBytes;
        var text = string.Concat(Enumerable.Range(0, 40_000).Select(i => (char)('a' + (i % 26))));
        var second = $"{T2} {text[Piece..(2 * Piece)]}";
        var frames = Frames(
            (1, $"{T1} {text[..Piece]}"),
            (1, second[..cutInsidePrefix]),
            (1, second[cutInsidePrefix..]),
            (1, $"{T2} {text[(2 * Piece)..]}\n"),
            (1, $"{T2} next\n"));

        var lines = await ReadAsync(frames, (LogCursor?)null);

        lines.Select(l => l.Text).Should().Equal(text, "next");
        lines[0].TimestampUnixNanos.Should().BeLessThan(lines[1].TimestampUnixNanos, "the line keeps its first piece's timestamp");
    }

    [Fact]
    public async Task A_line_of_exactly_one_engine_piece_and_text_that_only_looks_split_are_kept_as_they_are()
    {
        const int Piece = DockerLogReader.PartialLine.EnginePieceBytes;
        var exact = new string('e', Piece);
        var notATimestamp = new string('n', Piece) + "not-a-timestamp and more";
        var frames = Frames((1, $"{T1} {exact}\n"), (1, $"{T2} {notATimestamp}\n"), (1, $"{T2} after\n"));

        var lines = await ReadAsync(frames, (LogCursor?)null);

        lines.Select(l => l.Text).Should().Equal(exact, notATimestamp, "after");
    }

    [Fact]
    public void Engine_time_is_seconds_with_nanoseconds()
    {
        DockerLogReader.ToEngineTime(1_700_000_000_000_000_001).Should().Be("1700000000.000000001");
    }

    [Fact]
    public void Registration_adds_every_handler_once_with_unique_names()
    {
        var services = new ServiceCollection().AddLogging();
        services.AddDockerCommandHandlers();
        services.AddDockerCommandHandlers();
        using var provider = services.BuildServiceProvider();

        var handlers = provider.GetServices<EdgeCommandHandler>().ToList();

        handlers.Should().HaveCount(DockerHandlerRegistration.HandlerFactories.Count);
        handlers.Select(h => h.Name).Should().OnlyHaveUniqueItems().And.OnlyContain(n => n.StartsWith("docker.", StringComparison.Ordinal));
        handlers.Where(h => h.IsReadOnly).Select(h => h.Name).Should().NotContain(n => n.EndsWith(".remove", StringComparison.Ordinal) || n.EndsWith(".run", StringComparison.Ordinal));
    }

    private static string Rfc3339(long unixNanos)
    {
        var seconds = Math.DivRem(unixNanos, 1_000_000_000L, out var nanos);
        return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{DateTimeOffset.FromUnixTimeSeconds(seconds).UtcDateTime:yyyy-MM-ddTHH:mm:ss}.{nanos:D9}Z");
    }

    private static long ParseEngineTime(string text)
    {
        var dot = text.IndexOf('.', StringComparison.Ordinal);
        return (long.Parse(text[..dot], System.Globalization.CultureInfo.InvariantCulture) * 1_000_000_000L) + long.Parse(text[(dot + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static byte[] Frames(params (byte Stream, string Text)[] frames)
    {
        var output = new MemoryStream();
        foreach (var (stream, text) in frames)
        {
            var payload = Encoding.UTF8.GetBytes(text);
            var header = new byte[8];
            header[0] = stream;
            BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4), (uint)payload.Length);
            output.Write(header);
            output.Write(payload);
        }

        return output.ToArray();
    }

    private static async Task<List<LogLine>> ReadAsync(byte[] frames, LogCursor? resumeAfter) =>
        await ReadAsync(frames, new ContainerLogsRequest { Id = "c", ResumeAfter = resumeAfter });

    private static async Task<List<LogLine>> ReadAsync(byte[] frames, ContainerLogsRequest request)
    {
        using var stream = new MultiplexedStream(new MemoryStream(frames), true);
        var lines = new List<LogLine>();
        await foreach (var line in new DockerLogReader().ReadAsync(stream, request, TestContext.Current.CancellationToken))
        {
            lines.Add(line);
        }

        return lines;
    }
}
