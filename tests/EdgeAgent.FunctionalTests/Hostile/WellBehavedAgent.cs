using EdgeAgent.Agent;
using EdgeAgent.ControlPlane;
using EdgeAgent.FunctionalTests.Agents;
using EdgeAgent.Protocol;
using EdgeAgent.Testing.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeAgent.FunctionalTests.Hostile;

/// <summary>
/// A real agent that stays connected while hostile peers attack the control plane, and a probe
/// loop that keeps sending it commands: the proof that the server kept serving the good agent
/// before, during and after an attack.
/// </summary>
internal sealed class WellBehavedAgent : IAsyncDisposable
{
    private readonly TestControlPlane _controlPlane;
    private readonly CancellationTokenSource _stop = new();
    private Task _probing = Task.CompletedTask;
    private long _answered;
    private string? _failure;

    private WellBehavedAgent(TestControlPlane controlPlane, TestAgent agent, string agentId, ExecutionCounter counter)
    {
        _controlPlane = controlPlane;
        Agent = agent;
        AgentId = agentId;
        Counter = counter;
    }

    public TestAgent Agent { get; }

    public string AgentId { get; }

    public ExecutionCounter Counter { get; }

    public long Answered => Interlocked.Read(ref _answered);

    public static async Task<WellBehavedAgent> StartAsync(TestControlPlane controlPlane, string agentId = "good-agent")
    {
        var token = await controlPlane.EnrollAsync(agentId);
        var counter = new ExecutionCounter();
        var agent = await TestAgent.StartAsync(controlPlane.BaseUrl, token, build: b =>
        {
            b.Services.AddSingleton(counter);
            b.AddCommandHandler<EchoHandler>();
        });
        var self = new WellBehavedAgent(controlPlane, agent, agentId, counter);
        await controlPlane.WaitForStateAsync(agentId, EdgeAgentConnectionState.Connected);
        await self.AssertAnswersAsync("before");
        self._probing = Task.Run(self.ProbeAsync);
        return self;
    }

    /// <summary>One command round trip, now.</summary>
    public async Task AssertAnswersAsync(string text)
    {
        var response = await _controlPlane.Agents[AgentId].InvokeAsync<EchoRequest, EchoResponse>(
            "test.echo", new EchoRequest { Text = text }, new EdgeCommandOptions { Timeout = TimeSpan.FromSeconds(10) });
        response.Text.Should().Be(text);
    }

    /// <summary>Stops probing and requires that every probe answered, that some did, and that the agent answers now.</summary>
    public async Task AssertServedThroughoutAsync()
    {
        // Let the probe loop prove itself during the attack: at least a few answers.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (Answered < 3 && _failure is null && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        await _stop.CancelAsync();
        await _probing;
        _failure.Should().BeNull("the well-behaved agent must keep being served");
        Answered.Should().BeGreaterThan(0);
        Agent.Connection.State.Should().Be(EdgeAgentState.Connected);
        await AssertAnswersAsync("after");
    }

    private async Task ProbeAsync()
    {
        var i = 0;
        while (!_stop.IsCancellationRequested && i < 100_000)
        {
            var text = "during-" + i++;
            try
            {
                await AssertAnswersAsync(text);
                Interlocked.Increment(ref _answered);
            }
            catch (Exception ex) when (!_stop.IsCancellationRequested)
            {
                _failure = $"{text}: {ex.GetType().Name}: {ex.Message}";
                return;
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }

            try
            {
                // Pace the probe so it does not compete with the attack for the two cores.
                await Task.Delay(20, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _probing;
        await Agent.DisposeAsync();
        _stop.Dispose();
    }
}
