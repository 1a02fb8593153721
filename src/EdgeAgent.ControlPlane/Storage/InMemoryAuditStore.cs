namespace EdgeAgent.ControlPlane.Storage;

/// <summary>Keeps the audit trail in memory: for tests. Nothing survives a restart.</summary>
internal sealed class InMemoryAuditStore : IEdgeAuditStore
{
    private readonly List<EdgeAuditRecord> _records = [];

    public Task<EdgeAuditRecord> AppendAsync(EdgeAuditRecord record, CancellationToken cancellationToken = default)
    {
        lock (_records)
        {
            record = record with { Id = _records.Count + 1 };
            _records.Add(record);
        }

        return Task.FromResult(record);
    }

    public Task<IReadOnlyList<EdgeAuditRecord>> QueryAsync(EdgeAuditQuery query, CancellationToken cancellationToken = default)
    {
        var size = Math.Clamp(query.PageSize, 1, 1000);
        lock (_records)
        {
            return Task.FromResult<IReadOnlyList<EdgeAuditRecord>>([.. _records
                .Where(r => r.Id > query.AfterId
                    && (query.AgentId is null || r.AgentId == query.AgentId)
                    && (query.Caller is null || r.Caller == query.Caller)
                    && (query.From is null || r.Timestamp >= query.From)
                    && (query.To is null || r.Timestamp < query.To))
                .Take(size)]);
        }
    }
}
