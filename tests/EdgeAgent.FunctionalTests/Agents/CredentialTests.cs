using System.Net;
using System.Net.WebSockets;
using EdgeAgent.Agent;
using EdgeAgent.ControlPlane;
using EdgeAgent.Testing.Hosting;
using EdgeAgent.Testing.Logging;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace EdgeAgent.FunctionalTests;

/// <summary>Refusals happen before the upgrade (HTTP 401), never create a session, and never log a secret.</summary>
public sealed class CredentialTests
{
    private static async Task<HttpStatusCode> ConnectRawAsync(Uri baseUrl, string? authorization)
    {
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        if (authorization is not null)
        {
            socket.Options.SetRequestHeader("Authorization", authorization);
        }

        var endpoint = new Uri(new Uri(baseUrl.ToString().Replace("http", "ws", StringComparison.Ordinal)), "/agent/connect");
        try
        {
            await socket.ConnectAsync(endpoint, CancellationToken.None);
            return socket.HttpStatusCode;
        }
        catch (WebSocketException)
        {
            return socket.HttpStatusCode;
        }
    }

    [Fact]
    public async Task Wrong_secret_unknown_agent_malformed_header_and_revoked_agent_get_401_before_upgrade_and_no_secret_is_logged()
    {
        using var logs = new CapturingLoggerProvider();
        await using var controlPlane = await TestControlPlane.StartAsync(logs: logs);
        var token = await controlPlane.EnrollAsync("agent-a");
        var secret = token[(token.IndexOf('.') + 1)..];
        var wrong = "agent-a." + new string('x', secret.Length);

        (await ConnectRawAsync(controlPlane.BaseUrl, "Bearer " + wrong)).Should().Be(HttpStatusCode.Unauthorized);
        (await ConnectRawAsync(controlPlane.BaseUrl, "Bearer nobody." + secret)).Should().Be(HttpStatusCode.Unauthorized);
        (await ConnectRawAsync(controlPlane.BaseUrl, "Basic Zm9vOmJhcg==")).Should().Be(HttpStatusCode.Unauthorized);
        (await ConnectRawAsync(controlPlane.BaseUrl, null)).Should().Be(HttpStatusCode.Unauthorized);
        controlPlane.Registry.IsConnected("agent-a").Should().BeFalse();

        // The right secret is accepted (101), which proves the refusals were about the credential.
        (await ConnectRawAsync(controlPlane.BaseUrl, "Bearer " + token)).Should().Be(HttpStatusCode.SwitchingProtocols);

        await controlPlane.Enrollment.RevokeAsync("agent-a");
        (await ConnectRawAsync(controlPlane.BaseUrl, "Bearer " + token)).Should().Be(HttpStatusCode.Unauthorized);
        (await controlPlane.Registry.GetAgentAsync("agent-a"))!.State.Should().Be(EdgeAgentConnectionState.Revoked);

        logs.Messages.Should().Contain(m => m.Contains("agent-a", StringComparison.Ordinal) && m.Contains("wrong or expired secret", StringComparison.Ordinal));
        logs.Messages.Should().Contain(m => m.Contains("unknown agent", StringComparison.Ordinal));
        logs.AssertDoesNotContain(secret);
        logs.AssertDoesNotContain(wrong[8..]);
    }

    [Fact]
    public async Task Revoke_closes_the_live_session_at_once_and_the_agent_reports_its_credential_refused()
    {
        using var logs = new CapturingLoggerProvider();
        await using var controlPlane = await TestControlPlane.StartAsync();
        var token = await controlPlane.EnrollAsync("agent-r");

        // The policy runs between the end of a connection and the next attempt, and takes its
        // time: what an observer reads meanwhile must be consistent (a refused credential is
        // never reported by an agent that still reads Connected).
        var policy = new ObservingPolicy();
        await using var agent = await TestAgent.StartAsync(controlPlane.BaseUrl, token, logs: logs, build: b => b.Services.AddSingleton<IEdgeRetryPolicy>(policy));
        policy.Connection = agent.Connection;
        await controlPlane.WaitForStateAsync("agent-r", EdgeAgentConnectionState.Connected);

        await controlPlane.Enrollment.RevokeAsync("agent-r");

        controlPlane.Registry.IsConnected("agent-r").Should().BeFalse();
        await WaitUntilAsync(() => agent.Connection.CredentialRejected);
        agent.Connection.State.Should().Be(EdgeAgentState.Reconnecting);
        policy.Seen.Should().NotBeEmpty().And.NotContain((true, EdgeAgentState.Connected));
        var health = await agent.Host.Services.GetRequiredService<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckService>().CheckHealthAsync();
        health.Status.Should().Be(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Unhealthy);
        logs.Messages.Should().Contain(m => m.Contains("refused the credential", StringComparison.Ordinal));
        logs.AssertDoesNotContain(token[(token.IndexOf('.') + 1)..]);
    }

    [Fact]
    public async Task Rotation_keeps_the_old_secret_for_the_overlap_then_refuses_it()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var controlPlane = await TestControlPlane.StartAsync(
            options: o => o.RotationOverlap = TimeSpan.FromMinutes(10),
            services: s => s.AddSingleton<TimeProvider>(time));
        var old = await controlPlane.EnrollAsync("agent-rot");
        var rotated = await controlPlane.Enrollment.RotateSecretAsync("agent-rot");
        rotated.Token.Should().NotBe(old);
        rotated.Environment["AGENT_TOKEN"].Should().Be(rotated.Token);
        rotated.DockerRunCommand.Should().Contain("-e AGENT_TOKEN=" + rotated.Token);
        rotated.ToString().Should().NotContain(rotated.Token);

        (await ConnectRawAsync(controlPlane.BaseUrl, "Bearer " + rotated.Token)).Should().Be(HttpStatusCode.SwitchingProtocols);
        (await ConnectRawAsync(controlPlane.BaseUrl, "Bearer " + old)).Should().Be(HttpStatusCode.SwitchingProtocols);

        time.Advance(TimeSpan.FromMinutes(11));
        (await ConnectRawAsync(controlPlane.BaseUrl, "Bearer " + old)).Should().Be(HttpStatusCode.Unauthorized);
        (await ConnectRawAsync(controlPlane.BaseUrl, "Bearer " + rotated.Token)).Should().Be(HttpStatusCode.SwitchingProtocols);
    }

    [Fact]
    public async Task A_control_plane_on_another_connect_path_maps_it_and_its_enrollment_tells_the_agent()
    {
        await using (var plain = await TestControlPlane.StartAsync())
        {
            var defaultEnrollment = await plain.Enrollment.EnrollAsync(new EnrollAgentRequest { Id = "plain-1" });
            defaultEnrollment.Environment.Should().NotContainKey("EdgeAgent__ConnectPath", "the agent's default path needs no setting");
            defaultEnrollment.DockerRunCommand.Should().NotContain("ConnectPath");
        }

        await using var controlPlane = await TestControlPlane.StartAsync(options: o => o.ConnectPath = "/fleet/agents");
        var enrollment = await controlPlane.Enrollment.EnrollAsync(new EnrollAgentRequest { Id = "path-1" });
        enrollment.Environment.Should().Contain("EdgeAgent__ConnectPath", "/fleet/agents");
        enrollment.DockerRunCommand.Should().Contain("-e EdgeAgent__ConnectPath=/fleet/agents ");

        // MapEdgeAgents() without a pattern maps the configured path, and only that one.
        (await ConnectRawAsync(controlPlane.BaseUrl, "Bearer " + enrollment.Token)).Should().Be(HttpStatusCode.NotFound);
        await using var agent = await TestAgent.StartAsync(controlPlane.BaseUrl, enrollment.Token, o => o.ConnectPath = enrollment.Environment["EdgeAgent__ConnectPath"]);
        await controlPlane.WaitForStateAsync("path-1", EdgeAgentConnectionState.Connected);

        // A path that is not one: the control plane does not start.
        var error = await FluentActions.Awaiting(() => TestControlPlane.StartAsync(options: o => o.ConnectPath = "fleet/agents"))
            .Should().ThrowAsync<Microsoft.Extensions.Options.OptionsValidationException>();
        error.Which.Message.Should().Contain("EdgeControlPlane:ConnectPath must start with '/'");
    }

    [Fact]
    public async Task An_agent_configured_from_nothing_but_an_http_control_planes_enrollment_output_connects()
    {
        // A development control plane on http: the enrollment says the agent must allow it.
        await using var controlPlane = await TestControlPlane.StartAsync();
        var options = controlPlane.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<EdgeControlPlaneOptions>>().Value;
        options.PublicUrl = controlPlane.BaseUrl.ToString();
        var enrollment = await controlPlane.Enrollment.EnrollAsync(new EnrollAgentRequest { Id = "dev-1" });
        enrollment.Environment.Should().Contain("EdgeAgent__AllowInsecureTransport", "true");
        enrollment.DockerRunCommand.Should().Contain("-e EdgeAgent__AllowInsecureTransport=true ");

        // The environment, as a host reads it (EdgeAgent__X is EdgeAgent:X), and nothing else.
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(enrollment.Environment.Select(e => KeyValuePair.Create(e.Key.Replace("__", ":", StringComparison.Ordinal), (string?)e.Value)));
        builder.Logging.ClearProviders();
        builder.Services.AddEdgeAgent(o => o.StateDirectory = Path.Combine(Path.GetTempPath(), "edgeagent-tests", Guid.NewGuid().ToString("N")));
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            await controlPlane.WaitForStateAsync("dev-1", EdgeAgentConnectionState.Connected);
        }
        finally
        {
            await host.StopAsync();
        }

        // An https control plane's enrollment does not weaken the agent.
        options.PublicUrl = "https://fleet.example.test";
        var secure = await controlPlane.Enrollment.EnrollAsync(new EnrollAgentRequest { Id = "prod-1" });
        secure.Environment.Should().NotContainKey("EdgeAgent__AllowInsecureTransport");
        secure.DockerRunCommand.Should().NotContain("AllowInsecureTransport");
    }

    [Fact]
    public async Task Enrollment_returns_run_settings_and_refuses_bad_or_duplicate_ids()
    {
        await using var controlPlane = await TestControlPlane.StartAsync(options: o => o.PublicUrl = "https://fleet.example.test");
        var enrollment = await controlPlane.Enrollment.EnrollAsync(new EnrollAgentRequest { Name = "Shop 7" });
        enrollment.AgentId.Should().MatchRegex("^agent-[0-9a-f]{10}$");
        enrollment.Token.Should().StartWith(enrollment.AgentId + ".");
        enrollment.Token.Length.Should().BeGreaterThan(enrollment.AgentId.Length + 40, "the secret carries at least 256 bits");
        enrollment.Environment["CONTROL_PLANE_URL"].Should().Be("https://fleet.example.test");
        enrollment.DockerRunCommand.Should().StartWith("docker run").And.Contain("/var/run/docker.sock");

        await FluentActions.Awaiting(() => controlPlane.Enrollment.EnrollAsync(new EnrollAgentRequest { Id = "bad id!" }))
            .Should().ThrowAsync<ArgumentException>().WithMessage("*letters, digits*");
        await FluentActions.Awaiting(() => controlPlane.Enrollment.EnrollAsync(new EnrollAgentRequest { Id = enrollment.AgentId }))
            .Should().ThrowAsync<InvalidOperationException>().WithMessage("*already enrolled*");
        await FluentActions.Awaiting(() => controlPlane.Enrollment.RotateSecretAsync("missing"))
            .Should().ThrowAsync<KeyNotFoundException>();
    }

    internal static async Task WaitUntilAsync(Func<bool> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("The condition did not become true in time.");
            }

            await Task.Delay(20);
        }
    }

    private sealed class ObservingPolicy : IEdgeRetryPolicy
    {
        public IEdgeAgentConnection? Connection { get; set; }

        public System.Collections.Concurrent.ConcurrentQueue<(bool CredentialRejected, EdgeAgentState State)> Seen { get; } = new();

        public TimeSpan? NextRetryDelay(EdgeRetryContext context)
        {
            if (Connection is { } connection)
            {
                // Read twice around a pause, so a flag written just before the policy ran is seen.
                Seen.Enqueue((connection.CredentialRejected, connection.State));
                Thread.Sleep(50);
                Seen.Enqueue((connection.CredentialRejected, connection.State));
            }

            return TimeSpan.FromSeconds(30);
        }
    }
}
