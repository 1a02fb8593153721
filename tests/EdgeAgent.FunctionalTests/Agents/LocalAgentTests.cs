using EdgeAgent.ControlPlane;
using EdgeAgent.FunctionalTests.Agents;
using EdgeAgent.Testing.Docker;
using EdgeAgent.Testing.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeAgent.FunctionalTests;

public sealed class LocalAgentTests
{
    [Fact]
    public async Task The_integrated_local_agent_appears_as_an_ordinary_agent_and_takes_commands()
    {
        var counter = new ExecutionCounter();
        await using var controlPlane = await TestControlPlane.StartAsync(configure: cp =>
        {
            cp.Services.AddSingleton(counter);
            cp.AddLocalAgent(o =>
            {
                o.AgentId = "self";
                o.Labels["role"] = "control-plane";
                o.StateDirectory = Path.Combine(Path.GetTempPath(), "edgeagent-tests", Guid.NewGuid().ToString("N"));
            }).AddCommandHandler<EchoHandler>();
        });

        var status = await controlPlane.WaitForStateAsync("self", EdgeAgentConnectionState.Connected);
        status.RemoteAddress.Should().Be("in-process");
        status.Info!.Labels.Should().Contain("role", "control-plane");
        var response = await controlPlane.Agents["self"].InvokeAsync<EchoRequest, EchoResponse>("test.echo", new EchoRequest { Text = "local" });
        response.Text.Should().Be("local");
        counter.Total.Should().Be(1);
        (await controlPlane.Registry.GetAgentsAsync()).Select(a => a.Id).Should().Contain("self");
    }

    [Fact]
    [Trait("Category", "Docker")]
    public async Task The_local_agent_with_Docker_operations_sends_status_snapshots_like_a_remote_one()
    {
        using var docker = await DockerTestEnvironment.RequireAsync();
        await using var controlPlane = await TestControlPlane.StartAsync(configure: cp =>
            cp.AddLocalAgent(o =>
            {
                o.AgentId = "self-docker";
                o.StateDirectory = Path.Combine(Path.GetTempPath(), "edgeagent-tests", Guid.NewGuid().ToString("N"));
            }).AddDocker());

        await controlPlane.WaitForStateAsync("self-docker", EdgeAgentConnectionState.Connected);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        Protocol.Contracts.Docker.AgentSnapshot? snapshot = null;
        while (snapshot is null && DateTime.UtcNow < deadline)
        {
            snapshot = (await controlPlane.Registry.GetAgentAsync("self-docker"))?.Snapshot;
            await Task.Delay(50);
        }

        snapshot.Should().NotBeNull("the local agent reports its engine as a remote agent does");
        snapshot!.EngineReachable.Should().BeTrue();
        snapshot.Host.Hostname.Should().NotBeEmpty();
    }
}
