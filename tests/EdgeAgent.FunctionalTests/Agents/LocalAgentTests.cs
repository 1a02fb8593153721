using EdgeAgent.ControlPlane;
using EdgeAgent.FunctionalTests.Agents;
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
}
