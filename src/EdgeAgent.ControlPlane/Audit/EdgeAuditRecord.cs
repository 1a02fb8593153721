namespace EdgeAgent.ControlPlane;

/// <summary>One entry of the audit trail. Never holds a secret or a command's raw arguments.</summary>
public sealed record EdgeAuditRecord
{
    /// <summary>The store-assigned sequence number (0 before it is stored).</summary>
    public long Id { get; init; }

    /// <summary>When it happened.</summary>
    public DateTimeOffset Timestamp { get; init; }

    /// <summary>What happened: <c>command</c>, <c>denied</c>, <c>enrolled</c>, <c>rotated</c>, <c>revoked</c>, <c>handshake_refused</c>, <c>forward</c>.</summary>
    public required string Event { get; init; }

    /// <summary>Who: the caller's name (or <c>system</c>).</summary>
    public string? Caller { get; init; }

    /// <summary>Which agent.</summary>
    public string? AgentId { get; init; }

    /// <summary>The command name, for command events.</summary>
    public string? Command { get; init; }

    /// <summary>A SHA-256 digest of the command's serialized arguments (never the arguments themselves).</summary>
    public string? ArgumentsDigest { get; init; }

    /// <summary>The command's idempotency key.</summary>
    public string? IdempotencyKey { get; init; }

    /// <summary><c>ok</c>, or an error code (<c>denied</c>, <c>not_found</c>, …).</summary>
    public string? Outcome { get; init; }

    /// <summary>How long the command took, in milliseconds.</summary>
    public double? DurationMs { get; init; }

    /// <summary>A short free-text detail (a refusal reason, a remote address).</summary>
    public string? Detail { get; init; }
}

/// <summary>Which audit records to read.</summary>
public sealed record EdgeAuditQuery
{
    /// <summary>Only this agent's records.</summary>
    public string? AgentId { get; init; }

    /// <summary>Only this caller's records.</summary>
    public string? Caller { get; init; }

    /// <summary>Records at or after this time.</summary>
    public DateTimeOffset? From { get; init; }

    /// <summary>Records before this time.</summary>
    public DateTimeOffset? To { get; init; }

    /// <summary>Records with an <see cref="EdgeAuditRecord.Id"/> greater than this (paging).</summary>
    public long AfterId { get; init; }

    /// <summary>The most records to return (1-1000). Default 100.</summary>
    public int PageSize { get; init; } = 100;
}

/// <summary>Durable audit trail. Appends must be durable when the returned task completes.</summary>
public interface IEdgeAuditStore
{
    /// <summary>Appends a record and returns it with its id.</summary>
    /// <param name="record">The record.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The stored record.</returns>
    Task<EdgeAuditRecord> AppendAsync(EdgeAuditRecord record, CancellationToken cancellationToken = default);

    /// <summary>Reads records in id order.</summary>
    /// <param name="query">The filter and page.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Up to <see cref="EdgeAuditQuery.PageSize"/> records; pass the last id as <see cref="EdgeAuditQuery.AfterId"/> for the next page.</returns>
    Task<IReadOnlyList<EdgeAuditRecord>> QueryAsync(EdgeAuditQuery query, CancellationToken cancellationToken = default);
}
