using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using EdgeAgent.Agent.Forwarding;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeAgent.Agent.Tests.Forwarding;

public sealed class ReadOnlyDockerApiFilterTests
{
    /// <summary>Feeds <paramref name="input"/> in pieces of <paramref name="split"/> bytes; returns what passed and the refusal.</summary>
    private static async Task<(string Forwarded, string? Refusal)> RunAsync(string input, int split = int.MaxValue)
    {
        var pipe = new Pipe();
        var forwarded = new StringBuilder();
        var filter = new ReadOnlyDockerApiFilter(NullLogger.Instance);
        var running = filter.RunAsync(pipe.Reader, (data, _) =>
        {
            forwarded.Append(Encoding.Latin1.GetString(data.ToArray()));
            return ValueTask.CompletedTask;
        }, CancellationToken.None).AsTask();

        var bytes = Encoding.Latin1.GetBytes(input);
        for (var offset = 0; offset < bytes.Length; offset += split)
        {
            await pipe.Writer.WriteAsync(bytes.AsMemory(offset, Math.Min(split, bytes.Length - offset)));
        }

        await pipe.Writer.CompleteAsync();
        var refusal = await running.WaitAsync(TimeSpan.FromSeconds(10));
        return (forwarded.ToString(), refusal is { } r ? Encoding.UTF8.GetString(r.Span) : null);
    }

    private const string Get = "GET /v1.41/containers/json HTTP/1.1\r\nHost: docker\r\n\r\n";
    private const string Head = "HEAD /_ping HTTP/1.1\r\nHost: docker\r\n\r\n";

    [Theory]
    [InlineData(int.MaxValue)]
    [InlineData(1)]
    [InlineData(7)]
    public async Task Keep_alive_get_and_head_requests_with_bodies_pass_unchanged(int split)
    {
        var chunked = "GET /info HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n";
        var counted = "GET /version HTTP/1.1\r\nContent-Length: 5\r\n\r\nabcde";
        var input = Get + "\r\n" + Head + chunked + counted + Get;
        var (forwarded, refusal) = await RunAsync(input, split);
        refusal.Should().BeNull();
        forwarded.Should().Be(Get + Head + chunked + counted + Get, "an empty line between requests is dropped, everything else passes");
    }

    [Theory]
    [InlineData("POST /v1.41/volumes/create HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}", "403 Forbidden", "POST /v1.41/volumes/create is not allowed")]
    [InlineData("DELETE /containers/x HTTP/1.1\r\n\r\n", "403 Forbidden", "DELETE")]
    [InlineData("GET /containers/x/attach/ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", "403 Forbidden", "protocol upgrade")]
    [InlineData("GET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", "400 Bad Request", "both")]
    [InlineData("GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", "400 Bad Request", "Content-Length")]
    [InlineData("GET / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", "501 Not Implemented", "chunked")]
    [InlineData("GET / HTTP/1.1\r\nHost : x\r\n\r\n", "400 Bad Request", "malformed")]
    [InlineData("GET / HTTP/2.0\r\n\r\n", "505", "HTTP/1.1")]
    [InlineData("GET /\r\n\r\n", "400 Bad Request", "request line")]
    public async Task Other_requests_are_answered_with_an_error_and_nothing_of_them_passes(string request, string status, string message)
    {
        var (forwarded, refusal) = await RunAsync(Get + request + Get);
        forwarded.Should().Be(Get, "requests before the refused one pass; nothing after it does");
        refusal.Should().StartWith($"HTTP/1.1 {status}").And.Contain("Content-Type: application/json").And.Contain("Connection: close").And.Contain(message);
        var text = refusal!;
        var body = text[(text.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
        System.Text.Json.JsonDocument.Parse(body).RootElement.GetProperty("message").GetString()!.Should().Contain(message);
    }

    // The engine (Go's net/http) ends a line at a bare LF, so a bare LF (or CR) inside what looks
    // like one header line, chunk line or trailer line can end the request early for the engine and
    // start a second one the filter never saw. Checked against a real engine: "X: a\n\nGET /version"
    // inside one header line is answered as two requests.
    [Theory]
    [InlineData("GET /_ping HTTP/1.1\r\nX: a\n\nPOST /v1.41/containers/create HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}")]
    [InlineData("GET /_ping HTTP/1.1\nPOST /v1.41/containers/create HTTP/1.1\r\n\r\n")]
    [InlineData("GET /_ping HTTP/1.1\r\nX: a\r\r\nPOST /x HTTP/1.1\r\n\r\n")]
    [InlineData("GET /_ping HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0;\n\nPOST /v1.41/containers/create HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}\r\n\r\n")]
    [InlineData("GET /_ping HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: a\n\nPOST /v1.41/containers/create HTTP/1.1\r\n\r\n")]
    public async Task A_bare_CR_or_LF_in_a_request_is_refused_and_nothing_of_it_passes(string request)
    {
        var (forwarded, refusal) = await RunAsync(Get + request);
        forwarded.Should().NotContain("POST", "what follows a bare CR or LF never reaches the engine");
        refusal.Should().StartWith("HTTP/1.1 400 Bad Request").And.Contain("bare CR or LF");
    }

    [Fact]
    public async Task A_write_refusal_names_the_read_only_setting()
    {
        var (_, refusal) = await RunAsync("POST /containers/create HTTP/1.1\r\n\r\n");
        refusal.Should().Contain("Policy:DockerApiPassthrough=ReadOnly").And.Contain("only GET and HEAD");
    }

    [Fact]
    public async Task A_request_head_over_64_KiB_gets_431_without_being_buffered_whole()
    {
        var huge = "GET / HTTP/1.1\r\nX-Big: " + new string('a', 70 * 1024) + "\r\n\r\n";
        var (forwarded, refusal) = await RunAsync(huge, split: 4096);
        forwarded.Should().BeEmpty();
        refusal.Should().StartWith("HTTP/1.1 431 Request Header Fields Too Large");
    }
}
