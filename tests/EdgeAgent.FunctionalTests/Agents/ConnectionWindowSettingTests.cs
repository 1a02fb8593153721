using EdgeAgent.ControlPlane.Registry;
using EdgeAgent.FunctionalTests.Hostile;
using EdgeAgent.Testing.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace EdgeAgent.FunctionalTests.Agents;

/// <summary>
/// The <c>ConnectionWindow</c> setting on both sides reaches the handshake (how a session keeps
/// within the window its peer advertised is tested on the session itself, in the protocol tests).
/// </summary>
public sealed class ConnectionWindowSettingTests
{
    [Fact]
    public async Task Each_side_advertises_its_configured_window_in_the_handshake()
    {
        await using var controlPlane = await TestControlPlane.StartAsync(options: o => o.ConnectionWindow = 1024 * 1024);
        var token = await controlPlane.EnrollAsync("window-1");
        await using var agent = await TestAgent.StartAsync(controlPlane.BaseUrl, token, o => o.ConnectionWindow = 512 * 1024);

        // The control plane's session sees the agent's window, and the agent's session the control plane's.
        var session = controlPlane.Services.GetRequiredService<AgentRegistry>().GetSession("window-1");
        session.Should().NotBeNull();
        session!.RemoteLimits.ConnectionWindow.Should().Be(512 * 1024);
        session.ConnectionFlowControl.Should().BeTrue();

        var agentSession = agent.Host.Services.GetServices<Microsoft.Extensions.Hosting.IHostedService>().OfType<EdgeAgent.Agent.Connection.EdgeAgentService>().Single().Session;
        agentSession.Should().NotBeNull();
        agentSession!.RemoteLimits.ConnectionWindow.Should().Be(1024 * 1024);
    }

    [Fact]
    public async Task Zero_on_the_agent_turns_connection_level_flow_control_off()
    {
        await using var controlPlane = await TestControlPlane.StartAsync();
        var token = await controlPlane.EnrollAsync("window-0");
        await using var agent = await TestAgent.StartAsync(controlPlane.BaseUrl, token, o => o.ConnectionWindow = 0);

        var session = controlPlane.Services.GetRequiredService<AgentRegistry>().GetSession("window-0");
        session!.RemoteLimits.ConnectionWindow.Should().Be(0);
        session.ConnectionFlowControl.Should().BeFalse("the agent advertised no connection window");
    }

    [Theory]
    [InlineData(1000)]
    [InlineData(-1)]
    [InlineData(int.MaxValue)]
    public async Task A_window_outside_the_range_stops_the_control_plane_at_start_naming_the_setting(int value)
    {
        var start = () => HostileAgentInputTests.StartControlPlaneAsync(o => o.ConnectionWindow = value);

        var error = await start.Should().ThrowAsync<OptionsValidationException>();
        error.Which.Message.Should().Contain($"EdgeControlPlane:ConnectionWindow must be 0 (connection-level flow control off) or between 65536 and 1073741824 bytes (it is {value})");
    }
}
