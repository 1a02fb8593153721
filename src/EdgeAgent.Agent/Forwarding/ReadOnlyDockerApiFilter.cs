using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace EdgeAgent.Agent.Forwarding;

/// <summary>
/// The client-to-engine direction of a read-only Docker API passthrough: parses the HTTP/1.1
/// request stream (request line and headers, then a Content-Length or chunked body, repeatedly on
/// a kept-alive connection) and passes on only <c>GET</c> and <c>HEAD</c> requests without a
/// protocol upgrade. Anything else is answered with an HTTP error carrying a JSON
/// <c>{"message": …}</c> (as the engine's own errors do, so the Docker CLI prints it), and the
/// connection is closed. At most <see cref="MaxHeaderBytes"/> of a request head are buffered.
/// </summary>
internal sealed class ReadOnlyDockerApiFilter(ILogger logger)
{
    /// <summary>The largest request head (request line and headers) accepted; larger gets 431.</summary>
    public const int MaxHeaderBytes = 64 * 1024;

    private const int MaxChunkLineBytes = 4 * 1024;

    private static ReadOnlySpan<byte> CrLf => "\r\n"u8;

    private static ReadOnlySpan<byte> HeadEnd => "\r\n\r\n"u8;

    public async ValueTask<ReadOnlyMemory<byte>?> RunAsync(
        PipeReader input, Func<ReadOnlySequence<byte>, CancellationToken, ValueTask> forward, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                var head = await ReadHeadAsync(input, forward, cancellationToken);
                if (head is null)
                {
                    return null;
                }

                if (head.Chunked)
                {
                    await ForwardChunkedAsync(input, forward, cancellationToken);
                }
                else if (head.ContentLength > 0)
                {
                    await ForwardExactAsync(input, forward, head.ContentLength, cancellationToken);
                }
            }
        }
        catch (HttpRefusal refusal)
        {
            ForwardingLog.DockerRequestRefused(logger, refusal.Method, refusal.Path, refusal.Status);
            return refusal.Response;
        }
        catch (EndOfStreamException)
        {
            // The client ended in the middle of a body: what arrived was passed on; the engine sees the end.
            return null;
        }
    }

    /// <summary>Reads one request head; forwards it when allowed; null at a clean end of input.</summary>
    private static async ValueTask<RequestHead?> ReadHeadAsync(PipeReader input, Func<ReadOnlySequence<byte>, CancellationToken, ValueTask> forward, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await input.ReadAsync(cancellationToken);
            var buffer = result.Buffer;

            // Empty lines before a request line are ignored (RFC 9112 §2.2).
            var skip = new SequenceReader<byte>(buffer);
            while (skip.IsNext(CrLf, advancePast: true))
            {
            }

            var skipped = skip.Consumed;
            var reader = new SequenceReader<byte>(buffer.Slice(skipped));
            if (reader.TryReadTo(out ReadOnlySequence<byte> headBytes, HeadEnd, advancePastDelimiter: true))
            {
                var length = headBytes.Length + HeadEnd.Length;
                if (length > MaxHeaderBytes)
                {
                    input.AdvanceTo(buffer.End);
                    throw TooLarge();
                }

                var head = Parse(headBytes);
                var whole = buffer.Slice(skipped, length);
                await forward(whole, cancellationToken);
                input.AdvanceTo(whole.End);
                return head;
            }

            if (buffer.Length - skipped > MaxHeaderBytes)
            {
                input.AdvanceTo(buffer.End);
                throw TooLarge();
            }

            if (result.IsCompleted || result.IsCanceled)
            {
                var trailing = buffer.Length - skipped;
                input.AdvanceTo(buffer.End);
                if (trailing == 0)
                {
                    return null;
                }

                throw new HttpRefusal(400, "Bad Request", "", "", "The request ended before its headers did.");
            }

            input.AdvanceTo(buffer.Slice(skipped).Start, buffer.End);
        }
    }

    private static HttpRefusal TooLarge() =>
        new(431, "Request Header Fields Too Large", "", "", $"The request head exceeds {MaxHeaderBytes / 1024} KiB, the most the agent's read-only Docker API passthrough reads.");

    private static RequestHead Parse(ReadOnlySequence<byte> headBytes)
    {
        // At most MaxHeaderBytes: one string is fine. Latin-1 keeps every byte as one char.
        var text = Encoding.Latin1.GetString(headBytes);
        var lines = text.Split("\r\n");
        if (lines.Any(HasBareLineBreak))
        {
            throw BareLineBreak();
        }

        var requestLine = lines[0].Split(' ');
        if (requestLine.Length != 3 || requestLine[0].Length == 0 || requestLine[1].Length == 0 || !IsToken(requestLine[0]))
        {
            throw BadRequest("", "", "The request line is not 'METHOD target HTTP/1.x'.");
        }

        var method = requestLine[0];
        var path = Shorten(requestLine[1].Split('?')[0]);
        if (requestLine[2] is not ("HTTP/1.1" or "HTTP/1.0"))
        {
            throw new HttpRefusal(505, "HTTP Version Not Supported", method, path, "Only HTTP/1.0 and HTTP/1.1 requests pass the agent's read-only Docker API passthrough.");
        }

        long? contentLength = null;
        var chunked = false;
        var upgrade = false;
        for (var i = 1; i < lines.Length; i++)
        {
            var line = lines[i];
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0 || !IsToken(line.AsSpan(0, colon)))
            {
                // Also refuses obsolete line folding and whitespace before the colon (request smuggling).
                throw BadRequest(method, path, "A header line is malformed.");
            }

            var name = line[..colon];
            var value = line[(colon + 1)..].Trim(' ', '\t');
            if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                if (!long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) || (contentLength is { } earlier && earlier != parsed))
                {
                    throw BadRequest(method, path, "The Content-Length header is invalid or repeated with different values.");
                }

                contentLength = parsed;
            }
            else if (name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
            {
                if (chunked || !value.Equals("chunked", StringComparison.OrdinalIgnoreCase))
                {
                    throw new HttpRefusal(501, "Not Implemented", method, path, "Only the 'chunked' transfer coding passes the agent's read-only Docker API passthrough.");
                }

                chunked = true;
            }
            else if (name.Equals("Upgrade", StringComparison.OrdinalIgnoreCase)
                || (name.Equals("Connection", StringComparison.OrdinalIgnoreCase) && value.Contains("upgrade", StringComparison.OrdinalIgnoreCase)))
            {
                upgrade = true;
            }
        }

        if (chunked && contentLength is not null)
        {
            throw BadRequest(method, path, "A request cannot carry both Content-Length and Transfer-Encoding.");
        }

        if (method is not ("GET" or "HEAD"))
        {
            throw Forbidden(method, path, $"{method} {path} is not allowed; only GET and HEAD requests pass.");
        }

        if (upgrade)
        {
            throw Forbidden(method, path, $"{method} {path} asks for a protocol upgrade (an attach or exec stream), which could write to a container.");
        }

        return new RequestHead(chunked, contentLength ?? 0);
    }

    private static HttpRefusal BadRequest(string method, string path, string reason) => new(400, "Bad Request", method, path, reason);

    /// <summary>
    /// True when <paramref name="line"/> (without its CRLF) holds a CR or LF: the engine ends a line
    /// at a bare LF, so it would see a line break, and perhaps a whole request, that this filter did not.
    /// </summary>
    private static bool HasBareLineBreak(string line) => line.AsSpan().IndexOfAny('\r', '\n') >= 0;

    private static HttpRefusal BareLineBreak() =>
        BadRequest("", "", "The request contains a bare CR or LF; lines must end with CRLF.");

    private static HttpRefusal Forbidden(string method, string path, string detail) =>
        new(403, "Forbidden", method, path, $"The Docker API passthrough of this agent is read-only (Policy:DockerApiPassthrough=ReadOnly): {detail}");

    private static string Shorten(string path) => path.Length <= 200 ? path : path[..200] + "…";

    private static bool IsToken(ReadOnlySpan<char> value)
    {
        foreach (var c in value)
        {
            if (c <= ' ' || c >= 127 || "()<>@,;:\\\"/[]?={}".Contains(c, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return value.Length > 0;
    }

    private static async ValueTask ForwardExactAsync(PipeReader input, Func<ReadOnlySequence<byte>, CancellationToken, ValueTask> forward, long count, CancellationToken cancellationToken)
    {
        while (count > 0)
        {
            var result = await input.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            if (buffer.IsEmpty && (result.IsCompleted || result.IsCanceled))
            {
                input.AdvanceTo(buffer.End);
                throw new EndOfStreamException();
            }

            var take = buffer.Slice(0, Math.Min(count, buffer.Length));
            await forward(take, cancellationToken);
            input.AdvanceTo(take.End);
            count -= take.Length;
        }
    }

    /// <summary>Passes on a chunked body: chunk-size lines, chunk data, and the trailer section.</summary>
    private static async ValueTask ForwardChunkedAsync(PipeReader input, Func<ReadOnlySequence<byte>, CancellationToken, ValueTask> forward, CancellationToken cancellationToken)
    {
        while (true)
        {
            var line = await ForwardLineAsync(input, forward, MaxChunkLineBytes, cancellationToken);
            var sizeText = line.Split(';')[0].Trim(' ', '\t');
            if (!long.TryParse(sizeText, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var size) || size < 0 || sizeText.Length > 16)
            {
                throw BadRequest("", "", "A chunk size is not valid hexadecimal.");
            }

            if (size == 0)
            {
                // Trailer fields, then the empty line that ends the body.
                var trailerBytes = 0;
                while (true)
                {
                    var trailer = await ForwardLineAsync(input, forward, MaxHeaderBytes, cancellationToken);
                    trailerBytes += trailer.Length + 2;
                    if (trailer.Length == 0)
                    {
                        return;
                    }

                    if (trailerBytes > MaxHeaderBytes)
                    {
                        throw TooLarge();
                    }
                }
            }

            await ForwardExactAsync(input, forward, size, cancellationToken);
            var end = await ForwardLineAsync(input, forward, 2, cancellationToken);
            if (end.Length != 0)
            {
                throw BadRequest("", "", "Chunk data is not followed by CRLF.");
            }
        }
    }

    /// <summary>Reads one CRLF-terminated line (at most <paramref name="maxBytes"/>), forwards it, returns it without the CRLF.</summary>
    private static async ValueTask<string> ForwardLineAsync(PipeReader input, Func<ReadOnlySequence<byte>, CancellationToken, ValueTask> forward, int maxBytes, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await input.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            var reader = new SequenceReader<byte>(buffer);
            if (reader.TryReadTo(out ReadOnlySequence<byte> line, CrLf, advancePastDelimiter: true))
            {
                if (line.Length > maxBytes)
                {
                    input.AdvanceTo(buffer.End);
                    throw BadRequest("", "", "A chunk line is too long.");
                }

                var whole = buffer.Slice(0, reader.Position);
                var text = Encoding.Latin1.GetString(line);
                if (HasBareLineBreak(text))
                {
                    input.AdvanceTo(buffer.End);
                    throw BareLineBreak();
                }

                await forward(whole, cancellationToken);
                input.AdvanceTo(whole.End);
                return text;
            }

            if (buffer.Length > maxBytes + 2)
            {
                input.AdvanceTo(buffer.End);
                throw BadRequest("", "", "A chunk line is too long.");
            }

            if (result.IsCompleted || result.IsCanceled)
            {
                input.AdvanceTo(buffer.End);
                throw new EndOfStreamException();
            }

            input.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private sealed record RequestHead(bool Chunked, long ContentLength);

    /// <summary>A request that does not pass; carries the complete HTTP response to send instead.</summary>
    private sealed class HttpRefusal : Exception
    {
        public HttpRefusal(int status, string reasonPhrase, string method, string path, string message)
            : base(message)
        {
            Status = status;
            Method = method;
            Path = path;
            var body = new ArrayBufferWriter<byte>();
            using (var json = new Utf8JsonWriter(body))
            {
                json.WriteStartObject();
                json.WriteString("message", message);
                json.WriteEndObject();
            }

            var header = Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"HTTP/1.1 {status} {reasonPhrase}\r\nContent-Type: application/json\r\nContent-Length: {body.WrittenCount}\r\nConnection: close\r\n\r\n"));
            Response = (byte[])[.. header, .. body.WrittenSpan];
        }

        public int Status { get; }

        public string Method { get; }

        public string Path { get; }

        public byte[] Response { get; }
    }
}
