namespace EdgeAgent.ControlPlane.Storage;

/// <summary>
/// The audit trail of a control plane without a durable store: the most recent records, in a ring
/// of fixed size. Ids keep counting across what was dropped, so a reader paging with
/// <see cref="EdgeAuditQuery.AfterId"/> sees a gap, never a repeated or renumbered record.
/// Unbounded, it would grow by one record per command for the life of the process.
/// </summary>
internal sealed class InMemoryAuditStore : IEdgeAuditStore
{
    /// <summary>How many records are kept by default.</summary>
    public const int DefaultCapacity = 10_000;

    private readonly EdgeAuditRecord[] _ring;
    private long _lastId;   // the id of the newest record; the oldest kept is _lastId - count + 1
    private int _count;

    public InMemoryAuditStore()
        : this(DefaultCapacity)
    {
    }

    internal InMemoryAuditStore(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _ring = new EdgeAuditRecord[capacity];
    }

    public Task<EdgeAuditRecord> AppendAsync(EdgeAuditRecord record, CancellationToken cancellationToken = default)
    {
        lock (_ring)
        {
            record = record with { Id = ++_lastId };
            _ring[(int)(record.Id % _ring.Length)] = record;
            _count = Math.Min(_count + 1, _ring.Length);
        }

        return Task.FromResult(record);
    }

    public Task<IReadOnlyList<EdgeAuditRecord>> QueryAsync(EdgeAuditQuery query, CancellationToken cancellationToken = default)
    {
        var size = Math.Clamp(query.PageSize, 1, 1000);
        var page = new List<EdgeAuditRecord>(Math.Min(size, 64));
        lock (_ring)
        {
            var oldest = _lastId - _count + 1;
            for (var id = Math.Max(oldest, query.AfterId + 1); id <= _lastId && page.Count < size; id++)
            {
                var r = _ring[(int)(id % _ring.Length)];
                if ((query.AgentId is null || r.AgentId == query.AgentId)
                    && (query.Caller is null || r.Caller == query.Caller)
                    && (query.From is null || r.Timestamp >= query.From)
                    && (query.To is null || r.Timestamp < query.To))
                {
                    page.Add(r);
                }
            }
        }

        return Task.FromResult<IReadOnlyList<EdgeAuditRecord>>(page);
    }
}
