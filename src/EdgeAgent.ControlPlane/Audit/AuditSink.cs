using EdgeAgent.ControlPlane;

namespace EdgeAgent.ControlPlane.Internal;

/// <summary>Audit event names.</summary>
internal static class AuditEvents
{
    public const string Command = "command";
    public const string Denied = "denied";
    public const string Enrolled = "enrolled";
    public const string Rotated = "rotated";
    public const string Revoked = "revoked";
    public const string HandshakeRefused = "handshake_refused";
    public const string Forward = "forward";
}

/// <summary>Writes audit records through the configured store.</summary>
internal interface IEdgeAuditSink
{
    Task RecordAsync(string auditEvent, string? agentId, string? detail, CancellationToken cancellationToken = default);

    Task RecordAsync(EdgeAuditRecord record, CancellationToken cancellationToken = default);
}

internal sealed class AuditSink(IEdgeAuditStore store, TimeProvider time) : IEdgeAuditSink
{
    public Task RecordAsync(string auditEvent, string? agentId, string? detail, CancellationToken cancellationToken = default) =>
        RecordAsync(new EdgeAuditRecord { Event = auditEvent, AgentId = agentId, Detail = detail, Caller = "system" }, cancellationToken);

    public Task RecordAsync(EdgeAuditRecord record, CancellationToken cancellationToken = default) =>
        store.AppendAsync(record.Timestamp == default ? record with { Timestamp = time.GetUtcNow() } : record, cancellationToken);
}
