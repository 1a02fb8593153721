using EdgeAgent.Agent.Docker;
using EdgeAgent.Agent.Docker.Snapshots;
using EdgeAgent.Protocol;
using EdgeAgent.Protocol.Contracts;
using EdgeAgent.Protocol.Contracts.Docker;
using EdgeAgent.Protocol.Rpc;
using EdgeAgent.Protocol.Session;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeAgent.Agent.Connection;

/// <summary>
/// Sends the engine's status snapshot to the control plane on connect and whenever it changes
/// (the collector hashes snapshots, so unchanged state is not resent), and container resource
/// usage at the interval the control plane sets.
/// </summary>
internal sealed partial class SnapshotPublisher(DockerSnapshotCollector collector, TimeProvider time, IOptions<EdgeAgentOptions> options, ILogger<SnapshotPublisher> logger) : IAgentSessionObserver
{
    public const string SnapshotCommand = "agent.snapshot";
    public const string UsageCommand = "agent.usage";

    private CancellationTokenSource? _running;

    public DockerSnapshotCollector Collector => collector;

    public void OnConnected(TunnelSession session)
    {
        var running = new CancellationTokenSource();
        Interlocked.Exchange(ref _running, running)?.Cancel();
        var invoker = new SessionCommandInvoker(session, TimeSpan.FromSeconds(30), time, options.Value.MaxMessageSize);
        _ = PublishSnapshotsAsync(invoker, running.Token);
        _ = PublishUsageAsync(invoker, running.Token);
    }

    public void OnDisconnected() => Interlocked.Exchange(ref _running, null)?.Cancel();

    private async Task PublishSnapshotsAsync(SessionCommandInvoker invoker, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var snapshot in collector.WatchAsync(cancellationToken))
            {
                await invoker.InvokeAsync<AgentSnapshot, bool>(SnapshotCommand, snapshot, cancellationToken: cancellationToken);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or EdgeCommandException or ProtocolException)
        {
            if (!cancellationToken.IsCancellationRequested)
            {
                Log.PublishStopped(logger, ex.Message);
            }
        }
    }

    private async Task PublishUsageAsync(SessionCommandInvoker invoker, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var usage in collector.WatchUsageAsync(cancellationToken))
            {
                await invoker.InvokeAsync<ContainerUsageReport, bool>(UsageCommand, usage, cancellationToken: cancellationToken);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or EdgeCommandException or ProtocolException)
        {
        }
    }

    private static partial class Log
    {
        [LoggerMessage(2100, LogLevel.Warning, "Stopped sending status snapshots on this connection: {Reason}")]
        public static partial void PublishStopped(ILogger logger, string reason);
    }
}

/// <summary><c>agent.sampling</c>: the control plane sets how often container resource usage is sampled.</summary>
internal sealed class SamplingIntervalHandler(DockerSnapshotCollector collector) : EdgeCommandHandler<SamplingIntervalRequest, bool>
{
    public override string Name => "agent.sampling";

    public override string Group => EdgeCommandGroups.System;

    public override ValueTask<bool> HandleAsync(SamplingIntervalRequest request, EdgeCommandContext context)
    {
        if (request.IntervalSeconds is < 0 or > 86_400)
        {
            throw new EdgeCommandException(EdgeErrorCodes.InvalidArgument, "IntervalSeconds must be between 0 (off) and 86400.");
        }

        collector.UsageInterval = TimeSpan.FromSeconds(request.IntervalSeconds);
        return ValueTask.FromResult(true);
    }
}

/// <summary>Reports the engine version in the handshake.</summary>
internal sealed class DockerEngineVersionProvider(DockerClientProvider docker) : IEngineVersionProvider
{
    public async Task<string> GetEngineVersionAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(3));
        var version = await docker.Client.System.GetVersionAsync(timeout.Token);
        return version.Version ?? "";
    }
}

/// <summary>Healthy when the engine answers; otherwise says what to fix (missing socket, permission).</summary>
internal sealed class DockerEngineHealthCheck(DockerClientProvider docker) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var endpoint = docker.Endpoint;
        if (endpoint.Scheme == "unix")
        {
            var path = endpoint.LocalPath;
            if (!File.Exists(path))
            {
                return HealthCheckResult.Unhealthy($"The Docker socket {path} does not exist: mount it into the agent's container (-v /var/run/docker.sock:/var/run/docker.sock) or set DOCKER_HOST.");
            }
        }

        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            await docker.Client.System.PingAsync(timeout.Token);
            return HealthCheckResult.Healthy($"The Docker engine at {endpoint} answers.");
        }
        catch (Exception ex) when (ex.GetBaseException() is UnauthorizedAccessException || ex.GetBaseException().Message.Contains("Permission denied", StringComparison.OrdinalIgnoreCase))
        {
            return HealthCheckResult.Unhealthy($"Permission denied on the Docker socket {endpoint}: run the agent as root or as a member of the socket's group (docker).", ex);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy($"The Docker engine at {endpoint} does not answer: {ex.GetBaseException().Message}", ex);
        }
    }
}
