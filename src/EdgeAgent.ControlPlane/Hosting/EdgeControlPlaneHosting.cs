using EdgeAgent.ControlPlane.Registry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace EdgeAgent.ControlPlane.Hosting;

internal sealed class EdgeControlPlaneBuilder(IServiceCollection services) : IEdgeControlPlaneBuilder
{
    public IServiceCollection Services { get; } = services;
}

internal sealed class EdgeControlPlaneOptionsValidator : IValidateOptions<EdgeControlPlaneOptions>
{
    public ValidateOptionsResult Validate(string? name, EdgeControlPlaneOptions options)
    {
        var failures = new List<string>();
        if (options.KeepaliveInterval <= TimeSpan.Zero)
        {
            failures.Add("EdgeControlPlane:KeepaliveInterval must be positive.");
        }

        if (options.HeartbeatGracePeriod < options.KeepaliveInterval)
        {
            failures.Add("EdgeControlPlane:HeartbeatGracePeriod must be at least the KeepaliveInterval.");
        }

        if (options.DefaultCommandTimeout <= TimeSpan.Zero || options.HandshakeTimeout <= TimeSpan.Zero || options.RotationOverlap < TimeSpan.Zero)
        {
            failures.Add("EdgeControlPlane:DefaultCommandTimeout and HandshakeTimeout must be positive; RotationOverlap must not be negative.");
        }

        if (options.MaxFrameSize < 1024 || options.ChannelWindow < 1024 || options.MaxChannelsPerAgent < 1 || options.MaxConnectedAgents < 1 || options.MaxPendingCommandsPerAgent < 1)
        {
            failures.Add("EdgeControlPlane limits must be positive (MaxFrameSize and ChannelWindow at least 1024).");
        }

        if (Protocol.Session.SessionOptions.ValidateConnectionWindow("EdgeControlPlane:ConnectionWindow", options.ConnectionWindow) is { } connectionWindow)
        {
            failures.Add(connectionWindow);
        }

        if (Protocol.Rpc.RpcMessages.ValidateMaxMessageSize("EdgeControlPlane:MaxMessageSize", options.MaxMessageSize) is { } messageSize)
        {
            failures.Add(messageSize);
        }

        if (!(options.MaxHandshakesPerSecond >= 0))
        {
            failures.Add("EdgeControlPlane:MaxHandshakesPerSecond must not be negative (0 disables the limit).");
        }

        if (string.IsNullOrWhiteSpace(options.ConnectPath) || !options.ConnectPath.StartsWith('/'))
        {
            failures.Add("EdgeControlPlane:ConnectPath must start with '/'.");
        }

        if (!string.IsNullOrEmpty(options.PublicUrl) && !Uri.TryCreate(options.PublicUrl, UriKind.Absolute, out _))
        {
            failures.Add("EdgeControlPlane:PublicUrl must be an absolute URL.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>Reports whether the store answers, and how many agents are connected.</summary>
internal sealed class ControlPlaneHealthCheck(IEdgeAgentStore store, AgentRegistry registry) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object> { ["connectedAgents"] = registry.ConnectedCount };
        try
        {
            await store.GetAsync("health-probe", cancellationToken);
            return HealthCheckResult.Healthy("The agent store answers and the endpoint accepts agents.", data);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy("The agent store does not answer.", ex, data);
        }
    }
}
