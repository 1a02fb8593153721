using System.Diagnostics;
using System.Diagnostics.Metrics;
using EdgeAgent.ControlPlane.Registry;

namespace EdgeAgent.ControlPlane.Internal;

/// <summary>The control plane's metrics (meter <c>EdgeAgent.ControlPlane</c>).</summary>
internal sealed class ControlPlaneMetrics : IDisposable
{
    public const string MeterName = "EdgeAgent.ControlPlane";

    private readonly Meter _meter;
    private readonly Counter<long> _handshakes;
    private readonly Counter<long> _commands;
    private readonly Histogram<double> _commandDuration;
    private readonly Counter<long> _reconnects;

    public ControlPlaneMetrics(IMeterFactory meters, AgentRegistry registry)
    {
        _meter = meters.Create(MeterName);
        _meter.CreateObservableGauge("edgeagent.agents.connected", () => registry.ConnectedCount, description: "Agents with a live session.");
        _meter.CreateObservableCounter("edgeagent.tunnel.bytes_received", () => registry.Sessions.Sum(s => s.BytesReceived), unit: "By", description: "Bytes received from live agent sessions.");
        _meter.CreateObservableCounter("edgeagent.tunnel.bytes_sent", () => registry.Sessions.Sum(s => s.BytesSent), unit: "By", description: "Bytes sent to live agent sessions.");
        _handshakes = _meter.CreateCounter<long>("edgeagent.handshakes", description: "Agent handshakes by result.");
        _commands = _meter.CreateCounter<long>("edgeagent.commands", description: "Commands by name and outcome.");
        _commandDuration = _meter.CreateHistogram<double>("edgeagent.command.duration", unit: "ms", description: "Command duration by name and outcome.");
        _reconnects = _meter.CreateCounter<long>("edgeagent.reconnects", description: "Connections of agents that had connected before.");
    }

    public void Handshake(string result) => _handshakes.Add(1, new KeyValuePair<string, object?>("result", result));

    public void Reconnect() => _reconnects.Add(1);

    public void Command(string name, string outcome, TimeSpan duration)
    {
        var tags = new TagList { { "command", name }, { "outcome", outcome } };
        _commands.Add(1, tags);
        _commandDuration.Record(duration.TotalMilliseconds, tags);
    }

    public void Dispose() => _meter.Dispose();
}
