using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Docker.DotNet;
using Docker.DotNet.Models;
using EdgeAgent.Protocol;
using EdgeAgent.Protocol.Contracts.Docker;

namespace EdgeAgent.Agent.Docker;

/// <summary>
/// Reads a container's log stream from the engine and cuts it into <see cref="LogLine"/>s with
/// cursors. It reads only when the consumer asks for the next line, so a slow consumer slows the
/// read from the engine, and memory stays within one read buffer plus one partial line per stream.
/// </summary>
internal sealed class DockerLogReader
{
    /// <summary>Longer lines are cut into pieces of this many bytes, each with its own cursor index.</summary>
    public const int MaxLineBytes = 64 * 1024;

    private const int ReadBufferBytes = 16 * 1024;

    private long _engineBytesRead;

    /// <summary>Bytes read from the engine so far (for diagnostics and tests of flow control).</summary>
    public long EngineBytesRead => Interlocked.Read(ref _engineBytesRead);

    public static ContainerLogsParameters ToParameters(ContainerLogsRequest request, bool follow)
    {
        if (!request.Stdout && !request.Stderr)
        {
            throw new EdgeCommandException(EdgeErrorCodes.InvalidArgument, "Ask for stdout, stderr or both.");
        }

        if (request.Tail is < 0)
        {
            throw new EdgeCommandException(EdgeErrorCodes.InvalidArgument, "Tail cannot be negative.");
        }

        var parameters = new ContainerLogsParameters
        {
            ShowStdout = request.Stdout,
            ShowStderr = request.Stderr,
            Timestamps = true, // always: every line needs its cursor
            Follow = follow,
            Tail = request.Tail is { } tail ? tail.ToString(CultureInfo.InvariantCulture) : "all",
            Since = request.Since is { } since ? ToEngineTime(since) : null,
            Until = request.Until is { } until ? ToEngineTime(until) : null,
        };

        if (LogResumeTracker.ResumeFrom(request.ResumeAfter) is { } from)
        {
            // The engine's "since" is inclusive: the lines delivered at or after the resume point
            // come again and the tracker drops them. Tail would cut lines after the cursor.
            parameters.Since = ToEngineTime(from);
            parameters.Tail = "all";
        }

        return parameters;
    }

    /// <summary>
    /// Reads lines until the engine ends the stream. Every line carries the cursor to resume after
    /// it; a read that resumes (<see cref="ContainerLogsRequest.ResumeAfter"/>) drops what was delivered.
    /// </summary>
    public async IAsyncEnumerable<LogLine> ReadAsync(MultiplexedStream stream, ContainerLogsRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var tracker = new LogResumeTracker(request);
        var buffer = new byte[ReadBufferBytes];
        var stdout = new PartialLine();
        var stderr = new PartialLine();
        var pieces = new List<PartialLine.Piece>();
        var lastTimestamp = long.MinValue;
        var index = 0;
        var ended = false;

        while (!ended)
        {
            pieces.Clear();
            var read = await stream.ReadOutputAsync(buffer, 0, buffer.Length, cancellationToken);
            var kind = read.Target == MultiplexedStream.TargetStream.StandardError ? LogStream.Stderr : LogStream.Stdout;
            if (read.EOF)
            {
                ended = true;
                stdout.Flush(pieces);
                var stdoutPieces = pieces.Count;
                stderr.Flush(pieces);
                foreach (var line in Lines(pieces, stdoutPieces))
                {
                    yield return line;
                }

                break;
            }

            Interlocked.Add(ref _engineBytesRead, read.Count);
            var partial = kind == LogStream.Stderr ? stderr : stdout;
            var start = 0;
            while (start < read.Count)
            {
                var newline = Array.IndexOf(buffer, (byte)'\n', start, read.Count - start);
                var end = newline < 0 ? read.Count : newline;
                partial.Feed(buffer.AsSpan(start, end - start), newline >= 0, pieces);
                start = newline < 0 ? read.Count : newline + 1;
            }

            foreach (var line in Lines(pieces, kind == LogStream.Stdout ? pieces.Count : 0))
            {
                yield return line;
            }
        }

        // Numbers the pieces (the first stdoutCount are stdout, the rest stderr), gives each its
        // cursor and drops those a resume already delivered.
        IEnumerable<LogLine> Lines(List<PartialLine.Piece> found, int stdoutCount)
        {
            for (var i = 0; i < found.Count; i++)
            {
                var lineKind = i < stdoutCount ? LogStream.Stdout : LogStream.Stderr;
                var owner = lineKind == LogStream.Stdout ? stdout : stderr;
                var line = Parse(found[i], lineKind, owner.LastTimestamp ?? lastTimestamp);
                owner.LastTimestamp = line.TimestampUnixNanos;
                index = line.TimestampUnixNanos == lastTimestamp ? index + 1 : 0;
                lastTimestamp = line.TimestampUnixNanos;
                line.Index = index;
                if (tracker.Accept(line))
                {
                    yield return line;
                }
            }
        }
    }

    /// <summary>Splits <c>"2024-01-02T03:04:05.123456789Z text"</c> into timestamp and text.</summary>
    internal static LogLine Parse(PartialLine.Piece piece, LogStream kind, long previousTimestamp)
    {
        var bytes = piece.Bytes;
        long timestamp;
        var text = bytes;
        if (piece.Continuation)
        {
            timestamp = previousTimestamp == long.MinValue ? 0 : previousTimestamp;
        }
        else
        {
            var space = bytes.AsSpan().IndexOf((byte)' ');
            var stamp = space < 0 ? bytes : bytes[..space];
            if (TryParseTimestamp(Encoding.ASCII.GetString(stamp), out timestamp))
            {
                text = space < 0 ? [] : bytes[(space + 1)..];
            }
            else
            {
                timestamp = previousTimestamp == long.MinValue ? 0 : previousTimestamp;
            }
        }

        var length = text.Length;
        if (length > 0 && text[length - 1] == (byte)'\r')
        {
            length--;
        }

        return new LogLine { Stream = kind, TimestampUnixNanos = timestamp, Text = Encoding.UTF8.GetString(text, 0, length) };
    }

    /// <summary>Parses an RFC 3339 timestamp with up to nanosecond precision into Unix nanoseconds.</summary>
    internal static bool TryParseTimestamp(string text, out long unixNanos)
    {
        unixNanos = 0;
        if (text.Length < 20 || text[10] != 'T')
        {
            return false;
        }

        if (!DateTime.TryParseExact(text.AsSpan(0, 19), "yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var seconds))
        {
            return false;
        }

        var position = 19;
        long fraction = 0;
        if (text[position] == '.')
        {
            position++;
            var digits = 0;
            while (position < text.Length && char.IsAsciiDigit(text[position]))
            {
                if (digits < 9)
                {
                    fraction = (fraction * 10) + (text[position] - '0');
                    digits++;
                }

                position++;
            }

            for (; digits < 9; digits++)
            {
                fraction *= 10;
            }
        }

        var offset = TimeSpan.Zero;
        if (position < text.Length && text[position] is '+' or '-')
        {
            if (!TimeSpan.TryParseExact(text.AsSpan(position + 1), "hh\\:mm", CultureInfo.InvariantCulture, out offset))
            {
                return false;
            }

            offset = text[position] == '-' ? offset.Negate() : offset;
        }
        else if (position >= text.Length || text[position] != 'Z')
        {
            return false;
        }

        var utc = new DateTimeOffset(seconds, TimeSpan.Zero) - offset;
        unixNanos = (utc.ToUnixTimeSeconds() * 1_000_000_000L) + fraction;
        return true;
    }

    /// <summary>The engine's <c>since</c>/<c>until</c> form: Unix seconds with nanoseconds.</summary>
    internal static string ToEngineTime(long unixNanos)
    {
        var seconds = Math.DivRem(unixNanos, 1_000_000_000L, out var nanos);
        if (nanos < 0)
        {
            seconds--;
            nanos += 1_000_000_000L;
        }

        return string.Create(CultureInfo.InvariantCulture, $"{seconds}.{nanos:D9}");
    }

    internal static string ToEngineTime(DateTimeOffset time) => ToEngineTime(LogResumeTracker.ToUnixNanos(time));

    /// <summary>
    /// The bytes of one stream's line that has not ended yet, cut at <see cref="MaxLineBytes"/>.
    /// </summary>
    /// <remarks>
    /// The engine logs a line longer than its copy buffer as several messages: each but the last is
    /// exactly <see cref="EnginePieceBytes"/> bytes of text without a line break, and each carries its
    /// own timestamp prefix. The first message's timestamp stays (it is the line's timestamp); the
    /// prefixes of the messages that continue the line are removed, so the line comes out as the
    /// container wrote it.
    /// </remarks>
    internal sealed class PartialLine
    {
        /// <summary>The engine's copy buffer: a line longer than this is logged in messages of exactly this many bytes.</summary>
        public const int EnginePieceBytes = 16 * 1024;

        /// <summary>More bytes than any timestamp prefix ("2024-01-02T03:04:05.123456789Z ").</summary>
        private const int MaxPrefixBytes = 64;

        private readonly MemoryStream _bytes = new();
        private readonly byte[] _prefix = new byte[MaxPrefixBytes];
        private bool _continuing;
        private State _state = State.FirstPrefix;
        private int _seen;     // bytes of the current state: the first prefix seen, or text of the current engine message
        private int _prefixLength;

        private enum State
        {
            FirstPrefix,        // the line's first message, up to and including the space after its timestamp
            Text,               // the text of the current engine message
            ContinuationPrefix, // after a full engine piece: the next message's timestamp, to remove
        }

        /// <summary>The timestamp of this stream's last line (continuation pieces carry it on).</summary>
        public long? LastTimestamp { get; set; }

        /// <summary>
        /// Appends a segment of the stream (no line break inside); adds a piece to
        /// <paramref name="output"/> per full cap and when the line ended.
        /// </summary>
        public void Feed(ReadOnlySpan<byte> segment, bool lineEnded, List<Piece> output)
        {
            while (!segment.IsEmpty)
            {
                switch (_state)
                {
                    case State.FirstPrefix:
                    {
                        var space = segment.IndexOf((byte)' ');
                        var take = space < 0 ? segment.Length : space + 1;
                        Append(segment[..take], output);
                        _seen += take;
                        segment = segment[take..];
                        if (space >= 0 || _seen > MaxPrefixBytes)
                        {
                            // Without a timestamp within reach the text is taken as it is.
                            (_state, _seen) = (State.Text, 0);
                        }

                        break;
                    }

                    case State.Text:
                    {
                        var take = Math.Min(segment.Length, EnginePieceBytes - _seen);
                        Append(segment[..take], output);
                        _seen += take;
                        segment = segment[take..];
                        if (_seen == EnginePieceBytes)
                        {
                            (_state, _prefixLength) = (State.ContinuationPrefix, 0);
                        }

                        break;
                    }

                    default:
                    {
                        var space = segment.IndexOf((byte)' ');
                        var part = space < 0 ? segment : segment[..space];
                        if (_prefixLength + part.Length >= MaxPrefixBytes)
                        {
                            // Not a timestamp: the engine did not split here after all.
                            ReleasePrefix(output);
                            break;
                        }

                        part.CopyTo(_prefix.AsSpan(_prefixLength));
                        _prefixLength += part.Length;
                        if (space < 0)
                        {
                            return; // the rest of the prefix comes with the next segment
                        }

                        segment = segment[(space + 1)..];
                        if (TryParseTimestamp(Encoding.ASCII.GetString(_prefix, 0, _prefixLength), out _))
                        {
                            (_state, _seen, _prefixLength) = (State.Text, 0, 0);
                        }
                        else
                        {
                            _prefix[_prefixLength++] = (byte)' ';
                            ReleasePrefix(output);
                        }

                        break;
                    }
                }
            }

            if (!lineEnded)
            {
                return;
            }

            if (_state == State.ContinuationPrefix)
            {
                ReleasePrefix(output);
            }

            if (_bytes.Length > 0 || !_continuing)
            {
                output.Add(Take());
            }

            _continuing = false;
            (_state, _seen, _prefixLength) = (State.FirstPrefix, 0, 0);
        }

        /// <summary>Bytes held back as a possible timestamp turned out to be text.</summary>
        private void ReleasePrefix(List<Piece> output)
        {
            var held = _prefixLength;
            Append(_prefix.AsSpan(0, held), output);
            (_state, _seen, _prefixLength) = (State.Text, held, 0);
        }

        private void Append(ReadOnlySpan<byte> segment, List<Piece> output)
        {
            while (segment.Length > 0)
            {
                var room = MaxLineBytes - (int)_bytes.Length;
                if (segment.Length <= room)
                {
                    _bytes.Write(segment);
                    break;
                }

                _bytes.Write(segment[..room]);
                output.Add(Take());
                _continuing = true;
                segment = segment[room..];
            }
        }

        public void Flush(List<Piece> output)
        {
            if (_state == State.ContinuationPrefix)
            {
                ReleasePrefix(output);
            }

            if (_bytes.Length > 0)
            {
                output.Add(Take());
                _continuing = false;
            }
        }

        private Piece Take()
        {
            var piece = new Piece(_bytes.ToArray(), _continuing);
            _bytes.SetLength(0);
            return piece;
        }

        internal sealed record Piece(byte[] Bytes, bool Continuation);
    }
}
