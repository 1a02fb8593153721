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

        var all = await ReadAsync(frames, null);
        var resumed = await ReadAsync(frames, all[1].Cursor);

        all.Select(l => (l.Text, l.Index, l.Stream)).Should().Equal(
            ("a", 0, LogStream.Stdout), ("b", 1, LogStream.Stdout), ("c", 2, LogStream.Stderr), ("d", 0, LogStream.Stdout), ("e", 1, LogStream.Stdout));
        all[0].TimestampUnixNanos.Should().Be(new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero).ToUnixTimeSeconds() * 1_000_000_000 + 123_456_789);
        all[3].TimestampUnixNanos.Should().Be(all[0].TimestampUnixNanos - 123_456_789 + 500_000_000);
        resumed.Select(l => l.Text).Should().Equal("c", "d", "e");
    }

    [Fact]
    public async Task A_line_split_across_frames_is_joined_and_an_overlong_line_is_cut()
    {
        var longText = new string('x', DockerLogReader.MaxLineBytes + 10);
        var frames = Frames((1, $"{T1} hel"), (1, "lo\n"), (1, $"{T2} {longText}\n"));

        var lines = await ReadAsync(frames, null);

        lines[0].Text.Should().Be("hello");
        string.Concat(lines.Skip(1).Select(l => l.Text)).Should().Be(longText);
        lines.Skip(1).Should().OnlyContain(l => l.TimestampUnixNanos == lines[1].TimestampUnixNanos);
        lines.Select(l => l.Index).Should().Equal(0, 0, 1);
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

    private static async Task<List<LogLine>> ReadAsync(byte[] frames, LogCursor? resumeAfter)
    {
        using var stream = new MultiplexedStream(new MemoryStream(frames), true);
        var lines = new List<LogLine>();
        await foreach (var line in new DockerLogReader().ReadAsync(stream, resumeAfter, TestContext.Current.CancellationToken))
        {
            lines.Add(line);
        }

        return lines;
    }
}
