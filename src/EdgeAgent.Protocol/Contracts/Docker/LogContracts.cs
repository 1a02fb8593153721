using MessagePack;

namespace EdgeAgent.Protocol.Contracts.Docker;

/// <summary>Which output stream a log line came from.</summary>
public enum LogStream
{
    /// <summary>Standard output (also everything from a container with a TTY).</summary>
    Stdout = 1,

    /// <summary>Standard error.</summary>
    Stderr = 2,
}

/// <summary>Reads a container's logs.</summary>
[MessagePackObject]
public sealed class ContainerLogsRequest
{
    /// <summary>The container id or name.</summary>
    [Key(0)] public string Id { get; set; } = "";

    /// <summary>Include standard output.</summary>
    [Key(1)] public bool Stdout { get; set; } = true;

    /// <summary>Include standard error.</summary>
    [Key(2)] public bool Stderr { get; set; } = true;

    /// <summary>Only the last N lines; null for all.</summary>
    [Key(3)] public int? Tail { get; set; }

    /// <summary>Only lines at or after this time.</summary>
    [Key(4)] public DateTimeOffset? Since { get; set; }

    /// <summary>Only lines before this time.</summary>
    [Key(5)] public DateTimeOffset? Until { get; set; }

    /// <summary>
    /// Resume after this line: lines up to and including it are skipped, so a stream broken by a
    /// reconnect continues without loss or repetition. Overrides <see cref="Since"/> and <see cref="Tail"/>.
    /// </summary>
    [Key(6)] public LogCursor? ResumeAfter { get; set; }

    /// <summary>For the finished (non-following) read: the most lines returned; the rest is cut and <see cref="ContainerLogs.Truncated"/> set.</summary>
    [Key(7)] public int MaxLines { get; set; } = 10_000;
}

/// <summary>
/// The position of a log line: the engine's timestamp of the line plus its index among the lines
/// that carry the same timestamp.
/// </summary>
[MessagePackObject]
public sealed class LogCursor
{
    /// <summary>The engine's timestamp in nanoseconds since the Unix epoch.</summary>
    [Key(0)] public long TimestampUnixNanos { get; set; }

    /// <summary>The index among lines with the same timestamp, from 0.</summary>
    [Key(1)] public int Index { get; set; }
}

/// <summary>One log line.</summary>
[MessagePackObject]
public sealed class LogLine
{
    /// <summary>The stream it was written to.</summary>
    [Key(0)] public LogStream Stream { get; set; } = LogStream.Stdout;

    /// <summary>The engine's timestamp in nanoseconds since the Unix epoch.</summary>
    [Key(1)] public long TimestampUnixNanos { get; set; }

    /// <summary>The index among lines with the same timestamp (see <see cref="LogCursor"/>).</summary>
    [Key(2)] public int Index { get; set; }

    /// <summary>The text, without the line break.</summary>
    [Key(3)] public string Text { get; set; } = "";

    /// <summary>The engine's timestamp (to 100 ns).</summary>
    [IgnoreMember]
    public DateTimeOffset Timestamp => DateTimeOffset.UnixEpoch.AddTicks(TimestampUnixNanos / 100);

    /// <summary>The cursor to resume after this line.</summary>
    [IgnoreMember]
    public LogCursor Cursor => new() { TimestampUnixNanos = TimestampUnixNanos, Index = Index };
}

/// <summary>A finished read of a container's logs.</summary>
[MessagePackObject]
public sealed class ContainerLogs
{
    /// <summary>The lines, oldest first.</summary>
    [Key(0)] public IReadOnlyList<LogLine> Lines { get; set; } = [];

    /// <summary>True when more lines existed than <see cref="ContainerLogsRequest.MaxLines"/>; the newest were dropped.</summary>
    [Key(1)] public bool Truncated { get; set; }
}
