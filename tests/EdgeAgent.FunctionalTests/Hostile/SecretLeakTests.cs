using System.Net.WebSockets;
using EdgeAgent.Agent;
using EdgeAgent.ControlPlane;
using EdgeAgent.FunctionalTests.Agents;
using EdgeAgent.Protocol;
using EdgeAgent.Testing.Hosting;
using EdgeAgent.Testing.Logging;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeAgent.FunctionalTests.Hostile;

/// <summary>
/// A full life cycle — enroll, connect, commands, rotate, revoke, failed handshakes with wrong
/// secrets — with every log of both sides captured at Trace: no secret (the tokens' secret parts,
/// the wrong secrets that were sent) appears in any message, structured value, scope or exception,
/// nor in the agent's reported errors or the audit trail.
/// </summary>
public sealed class SecretLeakTests
{
    private static string SecretOf(string token) => token[(token.IndexOf('.') + 1)..];

    [Fact]
    public async Task No_secret_reaches_any_log_error_or_audit_record_in_a_full_scenario()
    {
        using var controlPlaneLogs = new CapturingLoggerProvider();
        using var agentLogs = new CapturingLoggerProvider();
        var secrets = new List<string>();
        var counter = new ExecutionCounter();
        Action<IEdgeAgentBuilder> handlers = b =>
        {
            b.Services.AddSingleton(counter);
            b.AddCommandHandler<EchoHandler>().AddCommandHandler<FailingHandler>();
        };

        await using var controlPlane = await TestControlPlane.StartAsync(logs: controlPlaneLogs, options: o => o.HandshakesPerSecondPerAddress = 0);

        // Enroll and connect; commands that succeed, fail with a typed error and crash.
        var first = await controlPlane.EnrollAsync("secret-1");
        secrets.Add(SecretOf(first));
        var agent = await TestAgent.StartAsync(controlPlane.BaseUrl, first, build: handlers, logs: agentLogs);
        var handle = controlPlane.Agents["secret-1"];
        await handle.InvokeAsync<EchoRequest, EchoResponse>("test.echo", new EchoRequest { Text = "hello" });
        await FluentActions.Awaiting(() => handle.InvokeAsync<EchoRequest, EchoResponse>("test.fail", new EchoRequest { Text = "typed" })).Should().ThrowAsync<EdgeCommandException>();
        await FluentActions.Awaiting(() => handle.InvokeAsync<EchoRequest, EchoResponse>("test.fail", new EchoRequest { Text = "boom" })).Should().ThrowAsync<EdgeCommandException>();

        // Rotate: the agent restarts with the new token; the old one keeps working through the overlap.
        var rotated = (await controlPlane.Enrollment.RotateSecretAsync("secret-1")).Token;
        secrets.Add(SecretOf(rotated));
        await agent.DisposeAsync();
        agent = await TestAgent.StartAsync(controlPlane.BaseUrl, rotated, build: handlers, logs: agentLogs);
        await handle.InvokeAsync<EchoRequest, EchoResponse>("test.echo", new EchoRequest { Text = "rotated" });

        // Failed handshakes with wrong secrets, from raw clients and from a real agent host.
        for (var i = 0; i < 20; i++)
        {
            var wrong = $"WRONG{i:D2}{Guid.NewGuid():N}";
            secrets.Add(wrong);
            await TryConnectAsync(controlPlane.BaseUrl, i % 2 == 0 ? $"secret-1.{wrong}" : $"ghost-{i}.{wrong}");
        }

        var wrongAgentSecret = "WRONGAGENT" + Guid.NewGuid().ToString("N");
        secrets.Add(wrongAgentSecret);
        await using (var refused = await TestAgent.StartAsync(controlPlane.BaseUrl, "secret-1." + wrongAgentSecret, logs: agentLogs, waitConnected: false))
        {
            await WaitUntilAsync(() => refused.Connection.CredentialRejected);
            refused.Connection.LastError.Should().NotBeNull();
            refused.Connection.LastError!.Should().NotContain(wrongAgentSecret);
        }

        // Revoke: the live session closes at once and the agent is refused from then on.
        await controlPlane.Enrollment.RevokeAsync("secret-1");
        await WaitUntilAsync(() => agent.Connection.CredentialRejected);
        agent.Connection.LastError.Should().NotBeNull();
        await agent.DisposeAsync();

        // The scenario happened and was logged on both sides...
        controlPlaneLogs.Entries.Should().HaveCountGreaterThan(20);
        agentLogs.Entries.Should().HaveCountGreaterThan(10);
        controlPlaneLogs.Messages.Should().Contain(m => m.Contains("wrong or expired secret", StringComparison.Ordinal));

        // ...and no secret is in any of it.
        var audit = await controlPlane.Services.GetRequiredService<IEdgeAuditStore>().QueryAsync(new EdgeAuditQuery { PageSize = 1000 });
        audit.Should().NotBeEmpty();
        foreach (var secret in secrets)
        {
            controlPlaneLogs.AssertDoesNotContain(secret);
            agentLogs.AssertDoesNotContain(secret);
            audit.Should().NotContain(r => (r.Detail ?? "").Contains(secret, StringComparison.Ordinal) || (r.Caller ?? "").Contains(secret, StringComparison.Ordinal));
        }
    }

    private static async Task TryConnectAsync(Uri baseUrl, string token)
    {
        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", "Bearer " + token);
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await socket.ConnectAsync(RawAgentSocket.Endpoint(baseUrl), timeout.Token);
        }
        catch (WebSocketException)
        {
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!condition())
        {
            DateTime.UtcNow.Should().BeBefore(deadline, "the condition should hold in time");
            await Task.Delay(20);
        }
    }
}
