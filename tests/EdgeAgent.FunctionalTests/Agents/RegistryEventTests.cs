using EdgeAgent.ControlPlane;
using EdgeAgent.Testing.Hosting;

namespace EdgeAgent.FunctionalTests;

/// <summary>The registry's events are the application's: they run after the handshake, and a failing handler affects nothing else.</summary>
public sealed class RegistryEventTests
{
    [Fact]
    public async Task AgentConnected_runs_after_the_handshake_and_a_handler_that_throws_neither_fails_it_nor_stops_the_other_handlers()
    {
        await using var controlPlane = await TestControlPlane.StartAsync();
        var token = await controlPlane.EnrollAsync("events-1");
        var seen = new TaskCompletionSource<(bool Connected, DateTimeOffset? LastConnectedAt)>(TaskCreationOptions.RunContinuationsAsynchronously);
        controlPlane.Registry.AgentConnected += (_, _) => throw new InvalidOperationException("a faulty handler");
        controlPlane.Registry.AgentConnected += (_, e) =>
        {
            // Before, this ran inside the handshake: the agent was registered, but its connection
            // time was not yet stored and the answer not yet sent.
            var status = controlPlane.Registry.GetAgentAsync(e.AgentId).GetAwaiter().GetResult();
            seen.TrySetResult((controlPlane.Registry.IsConnected(e.AgentId), status!.LastConnectedAt));
        };

        await using var agent = await TestAgent.StartAsync(controlPlane.BaseUrl, token);

        var (connected, lastConnectedAt) = await seen.Task.WaitAsync(TimeSpan.FromSeconds(20));
        connected.Should().BeTrue();
        lastConnectedAt.Should().NotBeNull("the connection's time is stored before the event");
        agent.Connection.State.Should().Be(EdgeAgent.Agent.EdgeAgentState.Connected, "the faulty handler did not fail the handshake");
    }
}
