using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using EdgeAgent.ControlPlane;
using EdgeAgent.FunctionalTests.Agents;
using EdgeAgent.Testing.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace EdgeAgent.FunctionalTests;

public sealed class MetricsAndHealthTests
{
    [Fact]
    public async Task Control_plane_reports_connected_agents_handshakes_and_commands_and_both_sides_report_health()
    {
        var measurements = new ConcurrentBag<(string Instrument, double Value, string Tags)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "EdgeAgent.ControlPlane")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((i, v, tags, _) => measurements.Add((i.Name, v, string.Join(",", tags.ToArray().Select(t => $"{t.Key}={t.Value}")))));
        listener.SetMeasurementEventCallback<int>((i, v, tags, _) => measurements.Add((i.Name, v, "")));
        listener.SetMeasurementEventCallback<double>((i, v, tags, _) => measurements.Add((i.Name, v, string.Join(",", tags.ToArray().Select(t => $"{t.Key}={t.Value}")))));
        listener.Start();

        var counter = new ExecutionCounter();
        await using var controlPlane = await TestControlPlane.StartAsync();
        var token = await controlPlane.EnrollAsync("metrics-1");
        await using var agent = await TestAgent.StartAsync(controlPlane.BaseUrl, token, build: a =>
        {
            a.Services.AddSingleton(counter);
            a.AddCommandHandler<EchoHandler>();
        });
        await controlPlane.WaitForStateAsync("metrics-1", EdgeAgentConnectionState.Connected);
        await controlPlane.Agents["metrics-1"].InvokeAsync<EchoRequest, EchoResponse>("test.echo", new EchoRequest { Text = "m" });
        listener.RecordObservableInstruments();

        measurements.Should().Contain(m => m.Instrument == "edgeagent.handshakes" && m.Tags.Contains("result=accepted"));
        measurements.Should().Contain(m => m.Instrument == "edgeagent.commands" && m.Tags.Contains("command=test.echo") && m.Tags.Contains("outcome=ok"));
        measurements.Should().Contain(m => m.Instrument == "edgeagent.command.duration" && m.Value >= 0);
        measurements.Should().Contain(m => m.Instrument == "edgeagent.agents.connected" && m.Value >= 1);
        measurements.Should().Contain(m => m.Instrument == "edgeagent.tunnel.bytes_received" && m.Value > 0);

        var controlPlaneHealth = await controlPlane.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        controlPlaneHealth.Status.Should().Be(HealthStatus.Healthy);
        var agentHealth = await agent.Host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        agentHealth.Entries["edge-agent"].Status.Should().Be(HealthStatus.Healthy);
    }
}
