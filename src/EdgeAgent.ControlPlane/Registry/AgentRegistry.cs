using EdgeAgent.Protocol.Contracts.Docker;
using System.Collections.Concurrent;
using EdgeAgent.Protocol;
using EdgeAgent.Protocol.Contracts;
using EdgeAgent.Protocol.Session;
using EdgeAgent.ControlPlane.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace EdgeAgent.ControlPlane.Registry;

/// <summary>
/// Live sessions by agent id, with heartbeats in memory. A reconnecting agent replaces its
/// previous session at once; Connected/Disconnected derives from the last heartbeat.
/// </summary>
internal sealed class AgentRegistry(IEdgeAgentStore store, IOptions<EdgeControlPlaneOptions> options, TimeProvider time, ILogger<AgentRegistry>? logger = null) : IEdgeAgentRegistry
{
    private readonly ILogger _logger = logger ?? (ILogger)NullLogger.Instance;

    private readonly ConcurrentDictionary<string, LiveAgent> _live = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, LastSeen> _lastSeen = new(StringComparer.Ordinal);

    // Agents revoked while this process runs (after a restart the stored RevokedAt refuses them
    // at the credential check). Checked after a session is published, and set before the live
    // session is looked up to be closed: either the revocation finds the session, or the session
    // finds the mark (a full fence sits between each side's write and its read).
    private readonly ConcurrentDictionary<string, byte> _revoked = new(StringComparer.Ordinal);

    public event EventHandler<EdgeAgentEventArgs>? AgentConnected;

    public event EventHandler<EdgeAgentEventArgs>? AgentDisconnected;

    public event EventHandler<EdgeAgentEventArgs>? SnapshotChanged;

    public int ConnectedCount => _live.Count;

    public IEnumerable<TunnelSession> Sessions => _live.Values.Select(l => l.Session);

    /// <summary>
    /// Registers a new session, closing the agent's previous one (no duplicate sessions per id).
    /// Raises no event: it runs inside the handshake, before the answer is sent;
    /// <see cref="NotifyConnected"/> raises <see cref="AgentConnected"/> once the agent has it.
    /// </summary>
    public void Attach(string agentId, TunnelSession session, AgentInfo info, string? remoteAddress)
    {
        var live = new LiveAgent(session, info, time.GetUtcNow(), remoteAddress);
        LiveAgent? replaced = null;
        _live.AddOrUpdate(agentId, live, (_, previous) =>
        {
            replaced = previous;
            return live;
        });

        if (replaced is not null)
        {
            _ = replaced.Session.AbortAsync(ProtocolErrorCode.Replaced, "A newer connection of this agent replaced this session.");
        }

        Interlocked.MemoryBarrier();
        if (_revoked.ContainsKey(agentId))
        {
            // Its credential passed before a revocation that completed since: close it as revoked.
            _live.TryRemove(new KeyValuePair<string, LiveAgent>(agentId, live));
            _ = session.AbortAsync(ProtocolErrorCode.Revoked, "The agent's credential was revoked.");
        }
    }

    /// <summary>Raises <see cref="AgentConnected"/> if <paramref name="session"/> is still the agent's current one.</summary>
    public void NotifyConnected(string agentId, TunnelSession session)
    {
        if (_live.TryGetValue(agentId, out var live) && live.Session == session)
        {
            Raise(AgentConnected, nameof(AgentConnected), new EdgeAgentEventArgs(agentId, live.Info, null));
        }
    }

    /// <summary>Runs every handler; one that throws is logged and does not stop the others or the caller.</summary>
    private void Raise(EventHandler<EdgeAgentEventArgs>? handlers, string name, EdgeAgentEventArgs args) =>
        Protocol.Internal.EventRaiser.Raise(handlers, this, args, (Logger: _logger, Name: name, args.AgentId), static (ex, s) => ControlPlaneLog.RegistryHandlerFailed(s.Logger, s.Name, s.AgentId, ex));

    /// <summary>Refuses the agent's sessions from now on (see <see cref="Attach"/>); the caller then closes its live one.</summary>
    public void MarkRevoked(string agentId)
    {
        _revoked.TryAdd(agentId, 0);
        Interlocked.MemoryBarrier();
    }

    /// <summary>Removes the session if it is still the agent's current one.</summary>
    public void Detach(string agentId, TunnelSession session, string reason)
    {
        if (_live.TryGetValue(agentId, out var live) && live.Session == session)
        {
            // What was last seen is in place before the live entry goes: a lookup in between
            // finds one or the other, never an agent with no info, snapshot or heartbeat.
            _lastSeen[agentId] = new LastSeen(session.LastReceived, live.Info, live.RemoteAddress, live.Snapshot);
            if (!_live.TryRemove(new KeyValuePair<string, LiveAgent>(agentId, live)))
            {
                return; // replaced meanwhile: the newer session is the agent's state
            }

            Raise(AgentDisconnected, nameof(AgentDisconnected), new EdgeAgentEventArgs(agentId, live.Info, reason));
        }
    }

    public TunnelSession? GetSession(string agentId) => _live.TryGetValue(agentId, out var live) ? live.Session : null;

    /// <summary>Closes the agent's live session with <paramref name="code"/>, if it has one.</summary>
    public async Task CloseSessionAsync(string agentId, ProtocolErrorCode code, string reason)
    {
        if (_live.TryGetValue(agentId, out var live))
        {
            await live.Session.AbortAsync(code, reason);
        }
    }

    public void SetSnapshot(string agentId, AgentSnapshot snapshot)
    {
        if (_live.TryGetValue(agentId, out var live))
        {
            live.Snapshot = snapshot;
            Raise(SnapshotChanged, nameof(SnapshotChanged), new EdgeAgentEventArgs(agentId, live.Info, null));
        }
    }

    public void SetUsage(string agentId, ContainerUsageReport usage)
    {
        if (_live.TryGetValue(agentId, out var live))
        {
            live.Usage = usage;
        }
    }

    public bool IsConnected(string agentId) =>
        _live.TryGetValue(agentId, out var live) && IsFresh(live.Session.LastReceived) && !live.Session.IsClosed;

    public async Task<IReadOnlyList<EdgeAgentStatus>> GetAgentsAsync(CancellationToken cancellationToken = default)
    {
        var records = await store.ListAsync(cancellationToken);
        return [.. records.Select(ToStatus)];
    }

    public async Task<EdgeAgentStatus?> GetAgentAsync(string agentId, CancellationToken cancellationToken = default)
    {
        var record = await store.GetAsync(agentId, cancellationToken);
        return record is null ? null : ToStatus(record);
    }

    private EdgeAgentStatus ToStatus(EdgeAgentRecord record)
    {
        var status = new EdgeAgentStatus
        {
            Id = record.Id,
            Name = record.Name,
            Labels = record.Labels,
            LastConnectedAt = record.LastConnectedAt,
            State = record.LastConnectedAt is null ? EdgeAgentConnectionState.NeverConnected : EdgeAgentConnectionState.Disconnected,
        };

        if (_live.TryGetValue(record.Id, out var live))
        {
            status = status with
            {
                State = IsFresh(live.Session.LastReceived) && !live.Session.IsClosed ? EdgeAgentConnectionState.Connected : EdgeAgentConnectionState.Disconnected,
                LastHeartbeat = live.Session.LastReceived,
                ConnectedSince = live.ConnectedSince,
                RemoteAddress = live.RemoteAddress,
                Info = live.Info,
                Snapshot = live.Snapshot,
                Usage = live.Usage,
            };
        }
        else if (_lastSeen.TryGetValue(record.Id, out var seen))
        {
            status = status with
            {
                State = EdgeAgentConnectionState.Disconnected,
                LastHeartbeat = seen.Heartbeat,
                RemoteAddress = seen.RemoteAddress,
                Info = seen.Info,
                Snapshot = seen.Snapshot,
            };
        }

        return record.RevokedAt is null ? status : status with { State = EdgeAgentConnectionState.Revoked };
    }

    private bool IsFresh(DateTimeOffset heartbeat) => time.GetUtcNow() - heartbeat <= options.Value.HeartbeatGracePeriod;

    private sealed class LiveAgent(TunnelSession session, AgentInfo info, DateTimeOffset connectedSince, string? remoteAddress)
    {
        public TunnelSession Session { get; } = session;

        public AgentInfo Info { get; } = info;

        public DateTimeOffset ConnectedSince { get; } = connectedSince;

        public string? RemoteAddress { get; } = remoteAddress;

        public AgentSnapshot? Snapshot { get; set; }

        public ContainerUsageReport? Usage { get; set; }
    }

    private sealed record LastSeen(DateTimeOffset Heartbeat, AgentInfo Info, string? RemoteAddress, AgentSnapshot? Snapshot);
}
