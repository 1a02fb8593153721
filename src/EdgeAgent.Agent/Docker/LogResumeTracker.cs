using EdgeAgent.Protocol.Contracts.Docker;

namespace EdgeAgent.Agent.Docker;

/// <summary>
/// Gives each line of one log read the cursor to resume after it, and on a resume drops the lines
/// the cursor says were delivered already (see <see cref="LogCursor"/> for the semantics).
/// </summary>
/// <remarks>
/// The engine serves the lines whose timestamp is at or after <c>since</c>, in the order they were
/// written. So a resume from a point X returns, first, exactly the delivered lines stamped at or
/// after X, and then the rest, provided no line still to come is stamped before X. Each stream's
/// timestamps never go back, so the oldest of the streams' last timestamps is such a point; the
/// newest timestamp minus <see cref="ReorderWindowNanos"/> is one under the assumption that the
/// engine writes a line within that window of stamping it. The tracker keeps the timestamps of the
/// delivered lines at or after the point (at most <see cref="MaxTrackedLines"/>) to count them.
/// </remarks>
internal sealed class LogResumeTracker
{
    /// <summary>How far back a line may be stamped before the newest line already written (1 s; the engine's copiers are microseconds apart).</summary>
    public const long ReorderWindowNanos = 1_000_000_000L;

    /// <summary>
    /// The most delivered timestamps kept for the count. Past it the resume point moves forward,
    /// which narrows the reorder window below a second for streams faster than this many lines per second.
    /// </summary>
    public const int MaxTrackedLines = 16 * 1024;

    private readonly PriorityQueue<long, long> _tracked = new();
    private readonly bool _stdout;
    private readonly bool _stderr;
    private readonly bool _floorAtFirstLine;
    private readonly LogCursor? _legacyCursor;
    private long _floor;
    private long _newest = long.MinValue;
    private long? _lastStdout;
    private long? _lastStderr;
    private int _toSkip;

    public LogResumeTracker(ContainerLogsRequest request)
    {
        _stdout = request.Stdout;
        _stderr = request.Stderr;
        _floor = long.MinValue;
        if (request.ResumeAfter is { } cursor)
        {
            if (cursor.ResumeFromUnixNanos is { } from)
            {
                _floor = from;
                _toSkip = Math.Max(0, cursor.Skip);
            }
            else
            {
                // A cursor of an older agent: the read starts at its timestamp (see ResumeFrom).
                _floor = cursor.TimestampUnixNanos;
                _legacyCursor = cursor;
            }
        }
        else if (request.Since is { } since)
        {
            _floor = ToUnixNanos(since);
        }
        else if (request.Tail is not null)
        {
            _floorAtFirstLine = true;
        }
    }

    /// <summary>The engine's <c>since</c> for this read, when the tracker sets it (a resume).</summary>
    public static long? ResumeFrom(LogCursor? cursor) => cursor is null ? null : cursor.ResumeFromUnixNanos ?? cursor.TimestampUnixNanos;

    /// <summary>Records a line read from the engine; sets its resume fields and says whether to deliver it.</summary>
    public bool Accept(LogLine line)
    {
        var deliver = Deliver(line);
        var timestamp = line.TimestampUnixNanos;
        if (_floorAtFirstLine && _newest == long.MinValue)
        {
            _floor = timestamp;
        }

        _newest = Math.Max(_newest, timestamp);
        if (line.Stream == LogStream.Stderr)
        {
            _lastStderr = timestamp;
        }
        else
        {
            _lastStdout = timestamp;
        }

        var point = Math.Max(_floor, _newest - ReorderWindowNanos);
        if ((!_stdout || _lastStdout is not null) && (!_stderr || _lastStderr is not null))
        {
            var exact = Math.Min(_stdout ? _lastStdout!.Value : long.MaxValue, _stderr ? _lastStderr!.Value : long.MaxValue);
            point = Math.Max(point, exact);
        }

        if (timestamp >= point)
        {
            _tracked.Enqueue(timestamp, timestamp);
        }

        while (_tracked.Count > MaxTrackedLines)
        {
            point = Math.Max(point, _tracked.Dequeue() + 1);
        }

        while (_tracked.TryPeek(out var oldest, out _) && oldest < point)
        {
            _tracked.Dequeue();
        }

        // The point never moves back: later resumes start no earlier than this read did.
        _floor = point;
        line.ResumeFromUnixNanos = point;
        line.ResumeSkip = _tracked.Count;
        return deliver;
    }

    private bool Deliver(LogLine line)
    {
        if (_toSkip > 0)
        {
            _toSkip--;
            return false;
        }

        return _legacyCursor is not { } cursor
            || line.TimestampUnixNanos > cursor.TimestampUnixNanos
            || (line.TimestampUnixNanos == cursor.TimestampUnixNanos && line.Index > cursor.Index);
    }

    internal static long ToUnixNanos(DateTimeOffset time) => (time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100;
}
