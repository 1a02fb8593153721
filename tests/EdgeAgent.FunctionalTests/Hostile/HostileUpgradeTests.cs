using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using EdgeAgent.Protocol;
using EdgeAgent.Testing.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeAgent.FunctionalTests.Hostile;

/// <summary>
/// Slow and abusive connection attempts: slow-loris upgrades, silent sockets after the upgrade,
/// and thousands of failed handshakes, with and without the per-address rate limit.
/// Set EDGEAGENT_SOAK=1 to multiply the handshake flood by ten.
/// </summary>
[Collection(HeapMeasuringCollection.Name)]
public sealed class HostileUpgradeTests
{
    private static bool Soak => Environment.GetEnvironmentVariable("EDGEAGENT_SOAK") is "1" or "true";

    [Fact]
    public async Task A_socket_that_sends_nothing_after_the_upgrade_is_dropped_by_the_handshake_timeout()
    {
        await using var controlPlane = await HostileAgentInputTests.StartControlPlaneAsync();
        await using var good = await WellBehavedAgent.StartAsync(controlPlane);
        var token = await controlPlane.EnrollAsync("silent-1");
        await using var silent = await RawAgentSocket.ConnectAsync(controlPlane.BaseUrl, token);

        // Nothing is sent. The server's 1 s handshake timeout closes the connection with its code.
        (await silent.ReadCloseCodeAsync()).Should().Be(ProtocolErrorCode.HandshakeFailed);
        controlPlane.Registry.IsConnected("silent-1").Should().BeFalse();
        await good.AssertServedThroughoutAsync();
    }

    [Fact]
    public async Task A_slow_loris_upgrade_is_cut_by_the_request_headers_timeout()
    {
        await using var controlPlane = await TestControlPlane.StartAsync(
            options: o => o.HandshakesPerSecondPerAddress = 0,
            services: s => s.Configure<KestrelServerOptions>(k => k.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(1)));
        await using var good = await WellBehavedAgent.StartAsync(controlPlane);
        var token = await controlPlane.EnrollAsync("loris-1");
        var request = Encoding.ASCII.GetBytes(
            $"GET /agent/connect HTTP/1.1\r\nHost: 127.0.0.1:{controlPlane.BaseUrl.Port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
            $"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: Bearer {token}\r\n\r\n");

        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, controlPlane.BaseUrl.Port);
        var stream = client.GetStream();
        var answer = new MemoryStream();
        var reading = Task.Run(async () =>
        {
            var buffer = new byte[4096];
            try
            {
                int read;
                while ((read = await stream.ReadAsync(buffer)) > 0)
                {
                    answer.Write(buffer, 0, read);
                }
            }
            catch (IOException)
            {
                // Reset by the server: closed all the same.
            }
        });

        // One byte at a time, 50 ms apart: the whole request would take far longer than the
        // 1 s limit. The loop stops as soon as the server has closed the connection.
        var sentBytes = 0;
        foreach (var b in request)
        {
            if (reading.IsCompleted)
            {
                break;
            }

            try
            {
                await stream.WriteAsync(new[] { b });
                sentBytes++;
            }
            catch (IOException)
            {
                break;
            }

            await Task.Delay(50);
        }

        await reading.WaitAsync(TimeSpan.FromSeconds(15));
        sentBytes.Should().BeLessThan(request.Length, "the server closed before the slow request was complete");
        var text = Encoding.ASCII.GetString(answer.ToArray());
        text.Should().NotContain("101", "the upgrade never happened");
        if (text.Length > 0)
        {
            text.Should().StartWith("HTTP/1.1 408");
        }

        controlPlane.Registry.IsConnected("loris-1").Should().BeFalse();
        await good.AssertServedThroughoutAsync();
    }

    [Fact]
    public async Task Thousands_of_failed_handshakes_are_refused_with_401_and_leave_memory_and_service_intact()
    {
        // Every attempt must reach the credential check: no per-address limit, no admission limit.
        await using var controlPlane = await HostileAgentInputTests.StartControlPlaneAsync(o => o.MaxHandshakesPerSecond = 0);
        await using var good = await WellBehavedAgent.StartAsync(controlPlane);
        var token = await controlPlane.EnrollAsync("victim-1");
        var secret = token[(token.IndexOf('.') + 1)..];
        var before = GC.GetTotalMemory(forceFullCollection: true);

        var attempts = Soak ? 20_000 : 2_000;
        var next = -1;
        var statuses = new System.Collections.Concurrent.ConcurrentDictionary<HttpStatusCode, int>();
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < attempts)
            {
                // Wrong secrets of the right shape, plus unknown agents.
                var wrong = i % 4 == 0 ? $"nobody-{i}.{secret}" : $"victim-1.{Convert.ToBase64String(BitConverter.GetBytes(i))}{secret[..8]}";
                statuses.AddOrUpdate(await TryUpgradeAsync(controlPlane.BaseUrl, wrong), 1, (_, n) => n + 1);
            }
        })));

        statuses.Should().ContainSingle().Which.Should().Be(new KeyValuePair<HttpStatusCode, int>(HttpStatusCode.Unauthorized, attempts));
        controlPlane.Registry.IsConnected("victim-1").Should().BeFalse();
        await good.AssertServedThroughoutAsync();
        (GC.GetTotalMemory(forceFullCollection: true) - before).Should().BeLessThan(HostileAgentInputTests.MemoryBound);

        // The real credential still works after the flood.
        await using var real = await RawAgentSocket.ConnectAsync(controlPlane.BaseUrl, token);
        await real.HandshakeAsync("victim-1");
    }

    [Fact]
    public async Task The_rate_limit_answers_a_handshake_flood_with_429_and_retry_after()
    {
        await using var controlPlane = await HostileAgentInputTests.StartControlPlaneAsync(o =>
        {
            o.HandshakesPerSecondPerAddress = 1;
            o.HandshakeBurstPerAddress = 20;
        });
        await using var good = await WellBehavedAgent.StartAsync(controlPlane);
        var token = await controlPlane.EnrollAsync("victim-2");

        var statuses = new List<HttpStatusCode>();
        string? retryAfter = null;
        for (var i = 0; i < 200; i++)
        {
            using var socket = new ClientWebSocket();
            socket.Options.CollectHttpResponseDetails = true;
            socket.Options.SetRequestHeader("Authorization", $"Bearer victim-2.wrong{i}");
            try
            {
                await socket.ConnectAsync(RawAgentSocket.Endpoint(controlPlane.BaseUrl), CancellationToken.None);
            }
            catch (WebSocketException)
            {
            }

            statuses.Add(socket.HttpStatusCode);
            if (socket.HttpStatusCode == HttpStatusCode.TooManyRequests && socket.HttpResponseHeaders?.TryGetValue("Retry-After", out var values) == true)
            {
                retryAfter = values.First();
            }
        }

        statuses.Should().OnlyContain(s => s == HttpStatusCode.Unauthorized || s == HttpStatusCode.TooManyRequests);
        statuses.Count(s => s == HttpStatusCode.Unauthorized).Should().BeInRange(15, 60, "the burst of 20 (less the good agent's own connection, plus what refills while the loop runs) is let through");
        statuses.Count(s => s == HttpStatusCode.TooManyRequests).Should().BeGreaterThan(100);
        int.Parse(retryAfter!, System.Globalization.CultureInfo.InvariantCulture).Should().BeGreaterThanOrEqualTo(1);

        // The connected agent was never affected.
        await good.AssertServedThroughoutAsync();
    }

    private static async Task<HttpStatusCode> TryUpgradeAsync(Uri baseUrl, string token)
    {
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        socket.Options.SetRequestHeader("Authorization", "Bearer " + token);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await socket.ConnectAsync(RawAgentSocket.Endpoint(baseUrl), timeout.Token);
        }
        catch (WebSocketException)
        {
        }

        return socket.HttpStatusCode;
    }
}
