using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;

namespace EdgeAgent.ControlPlane.Sqlite;

/// <summary>
/// The audit trail in SQLite; an append is committed before the returned task completes.
/// Appends are group-committed: whoever holds the database's write turn writes every record
/// queued so far in one transaction, so under load (an audit record per command) the cost is
/// one commit per batch rather than per command, and appenders never contend for SQLite's lock.
/// </summary>
internal sealed class SqliteAuditStore(SqliteDatabase database) : IEdgeAuditStore
{
    private const int MaxBatch = 256;

    private readonly ConcurrentQueue<PendingAppend> _queue = new();

    public async Task<EdgeAuditRecord> AppendAsync(EdgeAuditRecord record, CancellationToken cancellationToken = default)
    {
        var pending = new PendingAppend(record);
        _queue.Enqueue(pending);

        // A record still queued when its caller gives up is written with the next batch. The
        // batch holds other callers' records too: once the writer turn is taken, no one caller's
        // cancellation may fail them.
        using (await database.EnterWriterAsync(cancellationToken))
        {
            while (!pending.Completion.Task.IsCompleted)
            {
                await WriteBatchAsync(CancellationToken.None);
            }
        }

        return await pending.Completion.Task;
    }

    private async Task WriteBatchAsync(CancellationToken cancellationToken)
    {
        var batch = new List<PendingAppend>(Math.Min(MaxBatch, _queue.Count));
        while (batch.Count < MaxBatch && _queue.TryDequeue(out var next))
        {
            batch.Add(next);
        }

        try
        {
            await using var connection = await database.OpenAsync(cancellationToken);
            await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = """
                INSERT INTO audit (ts, event, caller, agent_id, command, args_digest, idempotency_key, outcome, duration_ms, detail)
                VALUES ($ts, $event, $caller, $agent, $command, $digest, $key, $outcome, $duration, $detail)
                RETURNING id;
                """;
            var ids = new long[batch.Count];
            for (var i = 0; i < batch.Count; i++)
            {
                var record = batch[i].Record;
                command.Parameters.Clear();
                command.Parameters.AddWithValue("$ts", SqliteDatabase.ToUnixMs(record.Timestamp));
                command.Parameters.AddWithValue("$event", record.Event);
                command.Parameters.AddWithValue("$caller", (object?)record.Caller ?? DBNull.Value);
                command.Parameters.AddWithValue("$agent", (object?)record.AgentId ?? DBNull.Value);
                command.Parameters.AddWithValue("$command", (object?)record.Command ?? DBNull.Value);
                command.Parameters.AddWithValue("$digest", (object?)record.ArgumentsDigest ?? DBNull.Value);
                command.Parameters.AddWithValue("$key", (object?)record.IdempotencyKey ?? DBNull.Value);
                command.Parameters.AddWithValue("$outcome", (object?)record.Outcome ?? DBNull.Value);
                command.Parameters.AddWithValue("$duration", (object?)record.DurationMs ?? DBNull.Value);
                command.Parameters.AddWithValue("$detail", (object?)record.Detail ?? DBNull.Value);
                ids[i] = (long)(await command.ExecuteScalarAsync(cancellationToken))!;
            }

            await transaction.CommitAsync(cancellationToken);
            for (var i = 0; i < batch.Count; i++)
            {
                batch[i].Completion.TrySetResult(batch[i].Record with { Id = ids[i] });
            }
        }
        catch (Exception ex)
        {
            foreach (var pending in batch)
            {
                pending.Completion.TrySetException(ex);
            }

            throw;
        }
    }

    public async Task<IReadOnlyList<EdgeAuditRecord>> QueryAsync(EdgeAuditQuery query, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT id, ts, event, caller, agent_id, command, args_digest, idempotency_key, outcome, duration_ms, detail FROM audit
            WHERE id > $after
              AND ($agent IS NULL OR agent_id = $agent)
              AND ($caller IS NULL OR caller = $caller)
              AND ($from IS NULL OR ts >= $from)
              AND ($to IS NULL OR ts < $to)
            ORDER BY id LIMIT $limit
            """;
        command.Parameters.AddWithValue("$after", query.AfterId);
        command.Parameters.AddWithValue("$agent", (object?)query.AgentId ?? DBNull.Value);
        command.Parameters.AddWithValue("$caller", (object?)query.Caller ?? DBNull.Value);
        command.Parameters.AddWithValue("$from", query.From is { } f ? SqliteDatabase.ToUnixMs(f) : DBNull.Value);
        command.Parameters.AddWithValue("$to", query.To is { } t ? SqliteDatabase.ToUnixMs(t) : DBNull.Value);
        command.Parameters.AddWithValue("$limit", Math.Clamp(query.PageSize, 1, 1000));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var records = new List<EdgeAuditRecord>();
        while (await reader.ReadAsync(cancellationToken))
        {
            records.Add(new EdgeAuditRecord
            {
                Id = reader.GetInt64(0),
                Timestamp = SqliteDatabase.FromUnixMs(reader.GetInt64(1)),
                Event = reader.GetString(2),
                Caller = Text(reader, 3),
                AgentId = Text(reader, 4),
                Command = Text(reader, 5),
                ArgumentsDigest = Text(reader, 6),
                IdempotencyKey = Text(reader, 7),
                Outcome = Text(reader, 8),
                DurationMs = reader.IsDBNull(9) ? null : reader.GetDouble(9),
                Detail = Text(reader, 10),
            });
        }

        return records;
    }

    private static string? Text(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    private sealed class PendingAppend(EdgeAuditRecord record)
    {
        public EdgeAuditRecord Record { get; } = record;

        public TaskCompletionSource<EdgeAuditRecord> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
