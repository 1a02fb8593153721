using EdgeAgent.Agent;
using EdgeAgent.ControlPlane;
using EdgeAgent.FunctionalTests.Agents;
using EdgeAgent.Protocol;
using EdgeAgent.Testing.Hosting;
using EdgeAgent.Testing.Logging;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeAgent.FunctionalTests;

/// <summary>Real Kestrel on 127.0.0.1:0 and a real agent host with ClientWebSocket.</summary>
public sealed class AgentConnectionTests
{
    private static Action<IEdgeAgentBuilder> WithTestHandlers(ExecutionCounter counter) => agent =>
    {
        agent.Services.AddSingleton(counter);
        agent.AddCommandHandler<EchoHandler>().AddCommandHandler<FailingHandler>();
    };

    [Fact]
    public async Task A_handlers_context_Services_is_one_scope_per_command_disposed_when_the_command_ends()
    {
        await using var controlPlane = await TestControlPlane.StartAsync();
        var token = await controlPlane.EnrollAsync("scope-1");
        var ledger = new PerCommandLedger();
        await using var agent = await TestAgent.StartAsync(controlPlane.BaseUrl, token, build: builder =>
        {
            builder.Services.AddSingleton(ledger);
            builder.Services.AddScoped<PerCommandService>();
            builder.AddCommandHandler<ScopeHandler>();
        });
        var handle = controlPlane.Agents["scope-1"];

        var first = await handle.InvokeAsync<EchoRequest, EchoResponse>("test.scope", new EchoRequest());
        var second = await handle.InvokeAsync<EchoRequest, EchoResponse>("test.scope", new EchoRequest());

        // One instance within a command, a new one for the next, each disposed when its command ended.
        first.Text.Should().Be($"{first.Execution}/{first.Execution}");
        second.Text.Should().Be($"{second.Execution}/{second.Execution}");
        second.Execution.Should().NotBe(first.Execution);
        ledger.Disposed.Should().Contain([(int)first.Execution, (int)second.Execution]);
    }

    [Fact]
    public async Task Agent_connects_and_registry_shows_it_connected_with_info_then_disconnected_after_stop()
    {
        await using var controlPlane = await TestControlPlane.StartAsync();
        var token = await controlPlane.EnrollAsync("store-1", new Dictionary<string, string> { ["site"] = "berlin" });
        (await controlPlane.Registry.GetAgentAsync("store-1"))!.State.Should().Be(EdgeAgentConnectionState.NeverConnected);

        var agent = await TestAgent.StartAsync(controlPlane.BaseUrl, token, o => o.Labels["rack"] = "r7");
        agent.Connection.State.Should().Be(EdgeAgentState.Connected);

        var status = await controlPlane.WaitForStateAsync("store-1", EdgeAgentConnectionState.Connected);
        status.Info!.Hostname.Should().Be(Environment.MachineName);
        status.Info.Labels.Should().Contain("rack", "r7");
        status.Info.AgentVersion.Should().NotBeEmpty();
        status.Labels.Should().Contain("site", "berlin");
        status.LastHeartbeat.Should().NotBeNull();
        status.ConnectedSince.Should().NotBeNull();
        status.RemoteAddress.Should().Be("127.0.0.1");

        await agent.DisposeAsync();
        var after = await controlPlane.WaitForStateAsync("store-1", EdgeAgentConnectionState.Disconnected);
        after.LastHeartbeat.Should().NotBeNull();
        after.LastConnectedAt.Should().NotBeNull();
    }

    [Fact]
    public async Task Typed_command_round_trip_custom_handler_unknown_command_and_failures()
    {
        var counter = new ExecutionCounter();
        await using var controlPlane = await TestControlPlane.StartAsync();
        var token = await controlPlane.EnrollAsync("store-2");
        await using var agent = await TestAgent.StartAsync(controlPlane.BaseUrl, token, build: WithTestHandlers(counter));
        var handle = controlPlane.Agents["store-2"];

        var response = await handle.InvokeAsync<EchoRequest, EchoResponse>("test.echo", new EchoRequest { Text = "hello" });
        response.Text.Should().Be("hello");

        var unknown = await FluentActions.Awaiting(() => handle.InvokeAsync<EchoRequest, EchoResponse>("test.nope", new EchoRequest()))
            .Should().ThrowAsync<EdgeCommandException>();
        unknown.Which.Code.Should().Be(EdgeErrorCodes.NotFound);
        unknown.Which.Message.Should().Contain("test.nope");

        var typed = await FluentActions.Awaiting(() => handle.InvokeAsync<EchoRequest, EchoResponse>("test.fail", new EchoRequest { Text = "typed" }))
            .Should().ThrowAsync<EdgeCommandException>();
        typed.Which.Code.Should().Be(EdgeErrorCodes.Conflict);
        typed.Which.Message.Should().Be("The thing is busy.");

        var crash = await FluentActions.Awaiting(() => handle.InvokeAsync<EchoRequest, EchoResponse>("test.fail", new EchoRequest { Text = "boom" }))
            .Should().ThrowAsync<EdgeCommandException>();
        crash.Which.Code.Should().Be(EdgeErrorCodes.Internal);
        crash.Which.Message.Should().NotContain("secret internal detail");

        // The agent keeps running after a handler failure.
        (await handle.InvokeAsync<EchoRequest, EchoResponse>("test.echo", new EchoRequest { Text = "still here" })).Text.Should().Be("still here");
        agent.Connection.State.Should().Be(EdgeAgentState.Connected);
    }

    [Fact]
    public async Task Command_to_an_agent_that_is_not_connected_fails_clearly()
    {
        await using var controlPlane = await TestControlPlane.StartAsync();
        await controlPlane.EnrollAsync("offline-1");
        var error = await FluentActions.Awaiting(() => controlPlane.Agents["offline-1"].InvokeAsync<EchoRequest, EchoResponse>("test.echo", new EchoRequest()))
            .Should().ThrowAsync<EdgeAgentNotConnectedException>();
        error.Which.Code.Should().Be(EdgeErrorCodes.Unavailable);
        error.Which.AgentId.Should().Be("offline-1");
    }

    [Fact]
    public async Task Timeout_and_caller_cancellation_reach_the_handler()
    {
        var counter = new ExecutionCounter();
        await using var controlPlane = await TestControlPlane.StartAsync();
        var token = await controlPlane.EnrollAsync("store-3");
        await using var agent = await TestAgent.StartAsync(controlPlane.BaseUrl, token, build: WithTestHandlers(counter));
        var handle = controlPlane.Agents["store-3"];

        var timeout = await FluentActions.Awaiting(() => handle.InvokeAsync<EchoRequest, EchoResponse>("test.echo", new EchoRequest { Text = "slow", DelayMs = 60_000 }, new EdgeCommandOptions { Timeout = TimeSpan.FromMilliseconds(300) }))
            .Should().ThrowAsync<EdgeCommandException>();
        timeout.Which.Code.Should().Be(EdgeErrorCodes.Timeout);
        await counter.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(10));

        var second = new ExecutionCounter();
        await using var controlPlane2 = await TestControlPlane.StartAsync();
        var token2 = await controlPlane2.EnrollAsync("store-4");
        await using var agent2 = await TestAgent.StartAsync(controlPlane2.BaseUrl, token2, build: WithTestHandlers(second));
        using var cts = new CancellationTokenSource();
        var call = controlPlane2.Agents["store-4"].InvokeAsync<EchoRequest, EchoResponse>("test.echo", new EchoRequest { Text = "cancel me", DelayMs = 60_000 }, cancellationToken: cts.Token);
        var handlerToken = await second.Started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        handlerToken.IsCancellationRequested.Should().BeFalse();
        await cts.CancelAsync();
        await FluentActions.Awaiting(() => call).Should().ThrowAsync<OperationCanceledException>();
        await second.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(10));
        handlerToken.IsCancellationRequested.Should().BeTrue();
    }
}
