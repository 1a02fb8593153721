using System.Net.WebSockets;
using EdgeAgent.Agent;
using EdgeAgent.ControlPlane;
using EdgeAgent.FunctionalTests.Agents;
using EdgeAgent.Protocol;
using EdgeAgent.Protocol.Contracts;
using EdgeAgent.Protocol.Frames;
using EdgeAgent.Protocol.Session;
using EdgeAgent.Protocol.Transports;
using EdgeAgent.Testing.Hosting;
using EdgeAgent.Testing.Network;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeAgent.FunctionalTests;

/// <summary>Dead peers, replaced sessions, restarts, and idempotent retries across drops.</summary>
public sealed class ResilienceTests
{
    private static Action<IEdgeAgentBuilder> WithEcho(ExecutionCounter counter) => agent =>
    {
        agent.Services.AddSingleton(counter);
        agent.AddCommandHandler<EchoHandler>();
    };

    [Fact]
    public async Task A_stalled_connection_is_detected_on_both_sides_and_the_agent_reconnects()
    {
        await using var controlPlane = await TestControlPlane.StartAsync(options: o =>
        {
            o.KeepaliveInterval = TimeSpan.FromSeconds(1);
            o.HeartbeatGracePeriod = TimeSpan.FromSeconds(1.5);
        });
        var token = await controlPlane.EnrollAsync("dead-1");
        await using var proxy = new TcpFaultProxy(controlPlane.BaseUrl);
        await using var agent = await TestAgent.StartAsync(proxy.Url, token, o => o.KeepaliveInterval = TimeSpan.FromSeconds(1));
        await controlPlane.WaitForStateAsync("dead-1", EdgeAgentConnectionState.Connected);
        var disconnected = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
        controlPlane.Registry.AgentDisconnected += (_, e) => disconnected.TrySetResult(e.Reason);
        var agentLost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        agent.Connection.StateChanged += (_, e) =>
        {
            if (e.Current == EdgeAgentState.Reconnecting)
            {
                agentLost.TrySetResult();
            }
        };

        proxy.Stall();

        var reason = await disconnected.Task.WaitAsync(TimeSpan.FromSeconds(15));
        reason.Should().Contain(nameof(ProtocolErrorCode.KeepaliveTimeout));
        await agentLost.Task.WaitAsync(TimeSpan.FromSeconds(15));

        proxy.Resume();
        proxy.CutAll();
        await agent.Connection.WaitUntilConnectedAsync().WaitAsync(TimeSpan.FromSeconds(20));
        await controlPlane.WaitForStateAsync("dead-1", EdgeAgentConnectionState.Connected);
    }

    [Fact]
    public async Task A_reconnecting_agent_replaces_its_stale_session_at_once()
    {
        await using var controlPlane = await TestControlPlane.StartAsync();
        var token = await controlPlane.EnrollAsync("dup-1");
        await using var agent = await TestAgent.StartAsync(controlPlane.BaseUrl, token);
        await controlPlane.WaitForStateAsync("dup-1", EdgeAgentConnectionState.Connected);
        var firstLost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        agent.Connection.StateChanged += (_, e) =>
        {
            if (e.Previous == EdgeAgentState.Connected)
            {
                firstLost.TrySetResult();
            }
        };

        // A second connection with the same identity (what an agent that reconnects after a
        // silent network drop looks like to the control plane).
        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", "Bearer " + token);
        await socket.ConnectAsync(new Uri(controlPlane.BaseUrl.ToString().Replace("http", "ws", StringComparison.Ordinal) + "agent/connect"), CancellationToken.None);
        var transport = new WebSocketTransport(socket, TimeSpan.FromSeconds(2));
        var pumping = transport.RunAsync();
        var (session, _) = await TunnelSession.ConnectAsync(transport, new HandshakeRequest(0, 0, "dup-1", new AgentInfo { Hostname = "second" }, [], default), new SessionOptions(), null);

        // The control plane registers a session before it answers the handshake: checked here,
        // before the real agent (which reconnects 0-100 ms after losing its session) replaces it in turn.
        var status = await controlPlane.Registry.GetAgentAsync("dup-1");
        status!.Info!.Hostname.Should().Be("second");
        controlPlane.Services.GetRequiredService<EdgeAgent.ControlPlane.Registry.AgentRegistry>().ConnectedCount.Should().Be(1);
        await firstLost.Task.WaitAsync(TimeSpan.FromSeconds(10));

        await session.CloseAsync(ProtocolErrorCode.Shutdown, "test done");
        await session.DisposeAsync();
        await pumping;
    }

    [Fact]
    public async Task Same_idempotency_key_runs_once_across_a_dropped_connection()
    {
        var counter = new ExecutionCounter();
        await using var controlPlane = await TestControlPlane.StartAsync();
        var token = await controlPlane.EnrollAsync("idem-1");
        await using var proxy = new TcpFaultProxy(controlPlane.BaseUrl);
        await using var agent = await TestAgent.StartAsync(proxy.Url, token, build: WithEcho(counter));
        var handle = controlPlane.Agents["idem-1"];
        var options = new EdgeCommandOptions { IdempotencyKey = "deploy-42", Timeout = TimeSpan.FromSeconds(20) };

        var first = handle.InvokeAsync<EchoRequest, EchoResponse>("test.echo", new EchoRequest { Text = "once", DelayMs = 1500 }, options);
        await counter.Started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        proxy.CutAll();
        var lost = await FluentActions.Awaiting(() => first).Should().ThrowAsync<EdgeCommandException>();
        lost.Which.Code.Should().Be(EdgeErrorCodes.Unavailable);
        lost.Which.Message.Should().Contain("same idempotency key");

        await controlPlane.WaitForStateAsync("idem-1", EdgeAgentConnectionState.Connected);
        var retried = await RetryWhileUnavailableAsync(() => handle.InvokeAsync<EchoRequest, EchoResponse>("test.echo", new EchoRequest { Text = "once", DelayMs = 1500 }, options));
        retried.Text.Should().Be("once");
        retried.Execution.Should().Be(1);
        counter.ByText["once"].Should().Be(1);

        // The same request with a new key runs again.
        var fresh = await handle.InvokeAsync<EchoRequest, EchoResponse>("test.echo", new EchoRequest { Text = "once" });
        fresh.Execution.Should().Be(2);
    }

    [Fact]
    public async Task Same_idempotency_key_runs_once_across_an_agent_restart()
    {
        var state = Path.Combine(Path.GetTempPath(), "edgeagent-tests", Guid.NewGuid().ToString("N"));
        await using var controlPlane = await TestControlPlane.StartAsync();
        var token = await controlPlane.EnrollAsync("idem-2");
        var options = new EdgeCommandOptions { IdempotencyKey = "reboot-7" };

        var before = new ExecutionCounter();
        EchoResponse first;
        await using (var agent = await TestAgent.StartAsync(controlPlane.BaseUrl, token, build: WithEcho(before), stateDirectory: state))
        {
            first = await controlPlane.Agents["idem-2"].InvokeAsync<EchoRequest, EchoResponse>("test.echo", new EchoRequest { Text = "restart" }, options);
            (await controlPlane.Agents["idem-2"].InvokeAsync<EchoRequest, EchoResponse>("test.echo", new EchoRequest { Text = "restart" }, options)).Execution.Should().Be(first.Execution);
        }

        before.Total.Should().Be(1);
        var after = new ExecutionCounter();
        await using (var agent = await TestAgent.StartAsync(controlPlane.BaseUrl, token, build: WithEcho(after), stateDirectory: state))
        {
            await controlPlane.WaitForStateAsync("idem-2", EdgeAgentConnectionState.Connected);
            var again = await RetryWhileUnavailableAsync(() => controlPlane.Agents["idem-2"].InvokeAsync<EchoRequest, EchoResponse>("test.echo", new EchoRequest { Text = "restart" }, options));
            again.Execution.Should().Be(first.Execution);
        }

        after.Total.Should().Be(0, "the restarted agent remembered the key and did not run the command again");
    }

    [Fact]
    public async Task Control_plane_restart_on_the_same_sqlite_file_keeps_agents_and_they_reconnect_by_themselves()
    {
        var database = Path.Combine(Path.GetTempPath(), "edgeagent-tests", Guid.NewGuid().ToString("N") + ".db");
        Directory.CreateDirectory(Path.GetDirectoryName(database)!);
        var connectionString = $"Data Source={database}";
        var first = await TestControlPlane.StartAsync(configure: cp => cp.UseSqlite(connectionString));
        var port = first.BaseUrl.Port;
        var token = await first.EnrollAsync("sqlite-1", new Dictionary<string, string> { ["site"] = "lab" });
        await using var agent = await TestAgent.StartAsync(first.BaseUrl, token);
        await first.WaitForStateAsync("sqlite-1", EdgeAgentConnectionState.Connected);
        await first.DisposeAsync();
        await CredentialTests.WaitUntilAsync(() => agent.Connection.State != EdgeAgentState.Connected);

        await using var second = await TestControlPlane.StartAsync(configure: cp => cp.UseSqlite(connectionString), port: port);
        var status = await second.WaitForStateAsync("sqlite-1", EdgeAgentConnectionState.Connected);
        status.Labels.Should().Contain("site", "lab");
        status.LastConnectedAt.Should().NotBeNull();

        // The control plane shows Connected before its answer reaches the agent.
        await CredentialTests.WaitUntilAsync(() => agent.Connection.State == EdgeAgentState.Connected);
    }

    internal static async Task<T> RetryWhileUnavailableAsync<T>(Func<Task<T>> call)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            try
            {
                return await call();
            }
            catch (EdgeCommandException ex) when (ex.Code == EdgeErrorCodes.Unavailable && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }
}
