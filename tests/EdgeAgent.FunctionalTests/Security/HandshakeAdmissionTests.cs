using System.Net;
using System.Net.WebSockets;
using EdgeAgent.Agent;
using EdgeAgent.FunctionalTests.Hostile;
using EdgeAgent.Testing.Hosting;

namespace EdgeAgent.FunctionalTests.Security;

/// <summary>
/// Admission control over real Kestrel: attempts beyond EdgeControlPlane:MaxHandshakesPerSecond
/// are shed with 503 + Retry-After before any credential work, connected agents are not
/// affected, and a real agent that is shed comes back after the requested delay and connects.
/// </summary>
public sealed class HandshakeAdmissionTests
{
    [Fact]
    public async Task A_flood_beyond_the_admission_limit_is_shed_with_503_and_retry_after_before_credentials_are_checked()
    {
        await using var controlPlane = await HostileAgentInputTests.StartControlPlaneAsync(o => o.MaxHandshakesPerSecond = 10);
        await using var good = await WellBehavedAgent.StartAsync(controlPlane);

        var statuses = new List<HttpStatusCode>();
        var retryAfters = new List<string>();
        for (var i = 0; i < 200; i++)
        {
            using var socket = new ClientWebSocket();
            socket.Options.CollectHttpResponseDetails = true;
            socket.Options.SetRequestHeader("Authorization", $"Bearer nobody-{i}.wrong-secret");
            try
            {
                await socket.ConnectAsync(RawAgentSocket.Endpoint(controlPlane.BaseUrl), TestContext.Current.CancellationToken);
            }
            catch (WebSocketException)
            {
            }

            statuses.Add(socket.HttpStatusCode);
            if (socket.HttpStatusCode == HttpStatusCode.ServiceUnavailable)
            {
                retryAfters.Add(socket.HttpResponseHeaders!["Retry-After"].Single());
            }
        }

        statuses.Should().OnlyContain(s => s == HttpStatusCode.Unauthorized || s == HttpStatusCode.ServiceUnavailable);
        statuses.Count(s => s == HttpStatusCode.ServiceUnavailable).Should().BeGreaterThan(100, "only the burst of 10 and what refills while the loop runs (10 a second) reach the credential check");
        retryAfters[0].Should().Be("1", "the first refusal gets the next token");
        retryAfters.Should().OnlyContain(r => int.Parse(r, System.Globalization.CultureInfo.InvariantCulture) >= 1 && int.Parse(r, System.Globalization.CultureInfo.InvariantCulture) <= 60);
        controlPlane.Registry.IsConnected(good.AgentId).Should().BeTrue();
        await good.AssertServedThroughoutAsync();
    }

    [Fact]
    public async Task Refused_attempts_are_given_successive_return_slots_at_the_admission_rate()
    {
        // One handshake every 5 s: the first attempt takes the token, the next ones are told to come
        // back 5, 10, 15, 20 s later (one slot each; a little less if the loop itself is slow),
        // instead of all in the same second.
        await using var controlPlane = await HostileAgentInputTests.StartControlPlaneAsync(o => o.MaxHandshakesPerSecond = 0.2);
        var retryAfters = new List<int>();
        for (var i = 0; i < 5; i++)
        {
            using var socket = new ClientWebSocket();
            socket.Options.CollectHttpResponseDetails = true;
            socket.Options.SetRequestHeader("Authorization", $"Bearer nobody-{i}.wrong-secret");
            await FluentActions.Awaiting(() => socket.ConnectAsync(RawAgentSocket.Endpoint(controlPlane.BaseUrl), TestContext.Current.CancellationToken))
                .Should().ThrowAsync<WebSocketException>();
            if (i == 0)
            {
                socket.HttpStatusCode.Should().Be(HttpStatusCode.Unauthorized, "the first attempt is admitted to the credential check");
                continue;
            }

            socket.HttpStatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
            retryAfters.Add(int.Parse(socket.HttpResponseHeaders!["Retry-After"].Single(), System.Globalization.CultureInfo.InvariantCulture));
        }

        retryAfters.Should().BeInAscendingOrder().And.OnlyHaveUniqueItems();
        retryAfters[0].Should().BeInRange(3, 5, "the next slot is 5 s after the first attempt, less the time the loop took");
        retryAfters[^1].Should().BeGreaterThanOrEqualTo(12, "four refusals hold four successive 5 s slots");
    }

    [Fact]
    public async Task An_agent_shed_by_admission_control_waits_the_retry_after_and_then_connects()
    {
        // One handshake every 2 s, a burst of 1: the raw attempt below takes the only token.
        await using var controlPlane = await TestControlPlane.StartAsync(options: o =>
        {
            o.HandshakesPerSecondPerAddress = 0;
            o.MaxHandshakesPerSecond = 0.5;
        });
        var token = await controlPlane.EnrollAsync("shed-1");
        // Built before the raw attempt spends the token, so the agent's first attempt comes well
        // within the 2 s the token takes to come back.
        await using var agent = TestAgent.Create(controlPlane.BaseUrl, token);
        var reasons = new List<string?>();
        agent.Connection.StateChanged += (_, e) =>
        {
            lock (reasons)
            {
                reasons.Add(e.Reason);
            }
        };
        using (var spent = new ClientWebSocket())
        {
            spent.Options.CollectHttpResponseDetails = true;
            spent.Options.SetRequestHeader("Authorization", "Bearer shed-1.wrong-secret");
            await FluentActions.Awaiting(() => spent.ConnectAsync(RawAgentSocket.Endpoint(controlPlane.BaseUrl), TestContext.Current.CancellationToken))
                .Should().ThrowAsync<WebSocketException>();
            spent.HttpStatusCode.Should().Be(HttpStatusCode.Unauthorized);
        }

        await agent.Host.StartAsync(TestContext.Current.CancellationToken);

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        await agent.Connection.WaitUntilConnectedAsync(timeout.Token);
        await controlPlane.WaitForStateAsync("shed-1", ControlPlane.EdgeAgentConnectionState.Connected);
        lock (reasons)
        {
            reasons.Should().Contain(r => r != null && r.Contains("HTTP 503", StringComparison.Ordinal), "the first attempt was shed");
        }
    }
}
