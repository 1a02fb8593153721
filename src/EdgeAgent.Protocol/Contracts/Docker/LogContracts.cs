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
    /// Resume after this line (its <see cref="LogLine.Cursor"/>): what was delivered up to and
    /// including it is skipped, so a stream broken by a reconnect continues without loss or
    /// repetition (see <see cref="LogCursor"/> for the exact guarantee). Overrides <see cref="Since"/>
    /// and <see cref="Tail"/>; ask for the same streams as the read it continues.
    /// </summary>
    [Key(6)] public LogCursor? ResumeAfter { get; set; }

    /// <summary>For the finished (non-following) read: the most lines returned; the rest is cut and <see cref="ContainerLogs.Truncated"/> set.</summary>
    [Key(7)] public int MaxLines { get; set; } = 10_000;
}

/// <summary>
/// Where to resume a container's log: take it from the last line received (<see cref="LogLine.Cursor"/>)
/// and pass it as <see cref="ContainerLogsRequest.ResumeAfter"/>.
/// </summary>
/// <remarks>
/// <para>
/// The engine stamps stdout and stderr in two separate copiers, so its output is in the order the
/// lines were written to the log, which is not always timestamp order: an stderr line can follow
/// stdout lines stamped after it, and lines can share a timestamp. Within one stream timestamps
/// never go back. A timestamp alone therefore cannot say where a read stopped.
/// </para>
/// <para>
/// The agent resumes by re-reading from a safe earlier point, <see cref="ResumeFromUnixNanos"/>
/// (passed to the engine as its inclusive <c>since</c>), and dropping exactly the first
/// <see cref="Skip"/> lines, which are the lines already delivered at or after that point. The
/// point is the latest of: the start of the original read (its <c>since</c>, or its first line for
/// a <see cref="ContainerLogsRequest.Tail"/> read); the oldest of the last timestamps of the
/// requested streams (exact: no later line of either stream is older); and the newest timestamp
/// delivered minus a reorder window of one second (which assumes the engine writes a line to its
/// log within a second of stamping it; it bounds the re-read when one stream is silent).
/// </para>
/// <para>
/// The guarantee: when the engine serves the same log again (it was not rotated away, the log
/// driver keeps write order, as json-file and local do), a resume neither loses nor repeats a line.
/// It can fail only when that engine assumption fails, when a line of the engine's log is longer
/// than the engine's own 16 KiB line pieces and the resume point falls inside it, or within the
/// first second after the start of a <see cref="ContainerLogsRequest.Tail"/> read. A cursor
/// without <see cref="ResumeFromUnixNanos"/> (from an agent before this field) resumes by
/// timestamp and index only, which is exact only for output in timestamp order.
/// </para>
/// </remarks>
[MessagePackObject]
public sealed class LogCursor
{
    /// <summary>The engine's timestamp of the line, in nanoseconds since the Unix epoch.</summary>
    [Key(0)] public long TimestampUnixNanos { get; set; }

    /// <summary>The line's index among consecutive lines with the same timestamp, from 0.</summary>
    [Key(1)] public int Index { get; set; }

    /// <summary>
    /// The timestamp (nanoseconds since the Unix epoch) from which a resume re-reads the log; null
    /// in a cursor from an agent that resumes by <see cref="TimestampUnixNanos"/> and <see cref="Index"/> only.
    /// </summary>
    [Key(2)] public long? ResumeFromUnixNanos { get; set; }

    /// <summary>How many lines at or after <see cref="ResumeFromUnixNanos"/> were already delivered (a resume drops that many first).</summary>
    [Key(3)] public int Skip { get; set; }
}

/// <summary>One log line.</summary>
[MessagePackObject]
public sealed class LogLine
{
    /// <summary>The stream it was written to.</summary>
    [Key(0)] public LogStream Stream { get; set; } = LogStream.Stdout;

    /// <summary>The engine's timestamp in nanoseconds since the Unix epoch.</summary>
    [Key(1)] public long TimestampUnixNanos { get; set; }

    /// <summary>The index among consecutive lines with the same timestamp (see <see cref="LogCursor"/>).</summary>
    [Key(2)] public int Index { get; set; }

    /// <summary>The text, without the line break.</summary>
    [Key(3)] public string Text { get; set; } = "";

    /// <summary>Where a resume after this line re-reads from (see <see cref="LogCursor.ResumeFromUnixNanos"/>); null from an older agent.</summary>
    [Key(4)] public long? ResumeFromUnixNanos { get; set; }

    /// <summary>How many lines a resume after this line drops (see <see cref="LogCursor.Skip"/>).</summary>
    [Key(5)] public int ResumeSkip { get; set; }

    /// <summary>The engine's timestamp (to 100 ns).</summary>
    [IgnoreMember]
    public DateTimeOffset Timestamp => DateTimeOffset.UnixEpoch.AddTicks(TimestampUnixNanos / 100);

    /// <summary>The cursor to resume after this line.</summary>
    [IgnoreMember]
    public LogCursor Cursor => new() { TimestampUnixNanos = TimestampUnixNanos, Index = Index, ResumeFromUnixNanos = ResumeFromUnixNanos, Skip = ResumeSkip };
}

/// <summary>A finished read of a container's logs.</summary>
[MessagePackObject]
public sealed class ContainerLogs
{
    /// <summary>The lines, oldest first.</summary>
    [Key(0)] public IReadOnlyList<LogLine> Lines { get; set; } = [];

    /// <summary>True when more lines existed than <see cref="ContainerLogsRequest.MaxLines"/>, or than fit in the agent's 16 M characters; the newest were dropped.</summary>
    [Key(1)] public bool Truncated { get; set; }
}
