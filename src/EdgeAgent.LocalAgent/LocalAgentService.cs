using EdgeAgent.Agent;
using EdgeAgent.Agent.Connection;
using EdgeAgent.ControlPlane;
using EdgeAgent.ControlPlane.Endpoint;
using EdgeAgent.Protocol;
using EdgeAgent.Protocol.Frames;
using EdgeAgent.Protocol.Session;
using EdgeAgent.Protocol.Transports;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeAgent.LocalAgent;

/// <summary>
/// Runs the agent's command pipeline inside the control plane over an in-memory connection. It
/// goes through the same handshake, session and registry as a remote agent, so it appears as an
/// ordinary agent and takes the same commands.
/// </summary>
internal sealed class LocalAgentService(
    IOptions<EdgeLocalAgentOptions> options,
    IOptions<EdgeAgentOptions> agentOptions,
    AgentCommandRegistry commands,
    IEngineVersionProvider engine,
    IEdgeAgentStore store,
    AgentEndpoint endpoint,
    IEnumerable<IAgentSessionObserver> observers,
    TimeProvider time,
    ILoggerFactory loggers) : BackgroundService
{
    private readonly ILogger _logger = loggers.CreateLogger("EdgeAgent.LocalAgent");

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var id = options.Value.AgentId;
        var record = await EnsureRecordAsync(id, stoppingToken);
        while (!stoppingToken.IsCancellationRequested)
        {
            var (agentSide, controlPlaneSide) = InMemoryTransport.CreatePair();
            var serving = endpoint.RunSessionAsync(controlPlaneSide, id, record, "in-process", stoppingToken);
            try
            {
                var info = await AgentInfoFactory.CreateAsync(agentOptions.Value, engine, stoppingToken);
                var request = new HandshakeRequest(0, 0, id, info, ["commands", "streams", "duplex", "local"], default);
                var (session, _) = await TunnelSession.ConnectAsync(agentSide, request, new SessionOptions(), commands.Dispatcher.HandleChannelAsync, time, loggers.CreateLogger("EdgeAgent.LocalAgent.Session"), stoppingToken);
                await using (session)
                {
                    // As a remote agent does: status snapshots (AddDocker) start with the session.
                    foreach (var observer in observers)
                    {
                        observer.OnConnected(session);
                    }

                    try
                    {
                        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                        await using (stoppingToken.Register(() => stopped.TrySetResult()))
                        {
                            if (await Task.WhenAny(session.Completion, stopped.Task) == stopped.Task)
                            {
                                await session.CloseAsync(ProtocolErrorCode.Shutdown, "The control plane is stopping.", agentOptions.Value.ShutdownTimeout);
                            }
                        }
                    }
                    finally
                    {
                        foreach (var observer in observers)
                        {
                            observer.OnDisconnected();
                        }
                    }
                }
            }
            catch (Exception ex) when (ex is ProtocolException or OperationCanceledException)
            {
                if (!stoppingToken.IsCancellationRequested)
                {
                    LocalAgentLog.SessionFailed(_logger, ex.Message);
                }
            }

            await serving;
            if (!stoppingToken.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromSeconds(1), time, stoppingToken).ContinueWith(static _ => { }, TaskScheduler.Default);
            }
        }
    }

    private async Task<EdgeAgentRecord> EnsureRecordAsync(string id, CancellationToken cancellationToken)
    {
        if (await store.GetAsync(id, cancellationToken) is { } existing)
        {
            return existing;
        }

        // The local agent never presents a credential; its record holds the hash of a secret nobody knows.
        var record = new EdgeAgentRecord
        {
            Id = id,
            Name = options.Value.Name ?? Environment.MachineName,
            Labels = new Dictionary<string, string>(options.Value.Labels),
            CreatedAt = time.GetUtcNow(),
            SecretHash = "local:" + Guid.NewGuid().ToString("N"),
        };
        await store.TryAddAsync(record, cancellationToken);
        return await store.GetAsync(id, cancellationToken) ?? record;
    }
}

internal static partial class LocalAgentLog
{
    [LoggerMessage(4000, LogLevel.Warning, "The integrated local agent's session ended: {Reason}; restarting it")]
    public static partial void SessionFailed(ILogger logger, string reason);
}
