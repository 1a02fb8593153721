using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace EdgeAgent.ControlPlane.Sqlite;

/// <summary>Agents and credential hashes in SQLite.</summary>
internal sealed class SqliteAgentStore(SqliteDatabase database) : IEdgeAgentStore
{
    private const string Columns = "id, name, labels, created_at, secret_hash, previous_secret_hash, previous_secret_expires_at, revoked_at, last_connected_at";

    public async Task<EdgeAgentRecord?> GetAsync(string agentId, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {Columns} FROM agents WHERE id = $id";
        command.Parameters.AddWithValue("$id", agentId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    public async Task<IReadOnlyList<EdgeAgentRecord>> ListAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {Columns} FROM agents ORDER BY id";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var records = new List<EdgeAgentRecord>();
        while (await reader.ReadAsync(cancellationToken))
        {
            records.Add(Read(reader));
        }

        return records;
    }

    public async Task<bool> TryAddAsync(EdgeAgentRecord record, CancellationToken cancellationToken = default)
    {
        using var turn = await database.EnterWriterAsync(cancellationToken);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"INSERT OR IGNORE INTO agents ({Columns}) VALUES ($id, $name, $labels, $created, $hash, $prev, $prevExp, $revoked, $last)";
        Bind(command, record);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task UpdateAsync(EdgeAgentRecord record, CancellationToken cancellationToken = default)
    {
        using var turn = await database.EnterWriterAsync(cancellationToken);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            UPDATE agents SET name = $name, labels = $labels, created_at = $created, secret_hash = $hash,
                previous_secret_hash = $prev, previous_secret_expires_at = $prevExp, revoked_at = $revoked, last_connected_at = $last
            WHERE id = $id
            """;
        Bind(command, record);
        if (await command.ExecuteNonQueryAsync(cancellationToken) != 1)
        {
            throw new KeyNotFoundException($"No agent '{record.Id}' is stored.");
        }
    }

    private static void Bind(SqliteCommand command, EdgeAgentRecord record)
    {
        command.Parameters.AddWithValue("$id", record.Id);
        command.Parameters.AddWithValue("$name", (object?)record.Name ?? DBNull.Value);
        command.Parameters.AddWithValue("$labels", JsonSerializer.Serialize(record.Labels, SqliteJsonContext.Default.IReadOnlyDictionaryStringString));
        command.Parameters.AddWithValue("$created", SqliteDatabase.ToUnixMs(record.CreatedAt));
        command.Parameters.AddWithValue("$hash", record.SecretHash);
        command.Parameters.AddWithValue("$prev", (object?)record.PreviousSecretHash ?? DBNull.Value);
        command.Parameters.AddWithValue("$prevExp", record.PreviousSecretExpiresAt is { } p ? SqliteDatabase.ToUnixMs(p) : DBNull.Value);
        command.Parameters.AddWithValue("$revoked", record.RevokedAt is { } r ? SqliteDatabase.ToUnixMs(r) : DBNull.Value);
        command.Parameters.AddWithValue("$last", record.LastConnectedAt is { } l ? SqliteDatabase.ToUnixMs(l) : DBNull.Value);
    }

    private static EdgeAgentRecord Read(SqliteDataReader reader) => new()
    {
        Id = reader.GetString(0),
        Name = reader.IsDBNull(1) ? null : reader.GetString(1),
        Labels = JsonSerializer.Deserialize(reader.GetString(2), SqliteJsonContext.Default.DictionaryStringString) ?? [],
        CreatedAt = SqliteDatabase.FromUnixMs(reader.GetInt64(3)),
        SecretHash = reader.GetString(4),
        PreviousSecretHash = reader.IsDBNull(5) ? null : reader.GetString(5),
        PreviousSecretExpiresAt = reader.IsDBNull(6) ? null : SqliteDatabase.FromUnixMs(reader.GetInt64(6)),
        RevokedAt = reader.IsDBNull(7) ? null : SqliteDatabase.FromUnixMs(reader.GetInt64(7)),
        LastConnectedAt = reader.IsDBNull(8) ? null : SqliteDatabase.FromUnixMs(reader.GetInt64(8)),
    };
}
