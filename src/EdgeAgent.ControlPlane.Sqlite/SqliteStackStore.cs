using EdgeAgent.Protocol.Contracts.Stacks;
using MessagePack;
using Microsoft.Data.Sqlite;

namespace EdgeAgent.ControlPlane.Sqlite;

/// <summary>Desired stacks in SQLite; the deployment request is stored as MessagePack.</summary>
internal sealed class SqliteStackStore(SqliteDatabase database) : IEdgeStackStore
{
    private static readonly MessagePackSerializerOptions Serializer = MessagePackSerializerOptions.Standard.WithSecurity(MessagePackSecurity.UntrustedData);

    public async Task SetAsync(EdgeDesiredStack stack, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO stacks (agent_id, name, request, remove, remove_volumes, updated_at) VALUES ($agent, $name, $request, $remove, $volumes, $updated)
            ON CONFLICT (agent_id, name) DO UPDATE SET request = excluded.request, remove = excluded.remove, remove_volumes = excluded.remove_volumes, updated_at = excluded.updated_at
            """;
        command.Parameters.AddWithValue("$agent", stack.AgentId);
        command.Parameters.AddWithValue("$name", stack.ProjectName);
        command.Parameters.AddWithValue("$request", MessagePackSerializer.Serialize(stack.Request, Serializer, cancellationToken));
        command.Parameters.AddWithValue("$remove", stack.Remove ? 1 : 0);
        command.Parameters.AddWithValue("$volumes", stack.RemoveVolumes ? 1 : 0);
        command.Parameters.AddWithValue("$updated", stack.UpdatedAt.UtcTicks);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<EdgeDesiredStack?> GetAsync(string agentId, string projectName, CancellationToken cancellationToken = default)
    {
        var stacks = await QueryAsync("agent_id = $agent AND name = $name", agentId, projectName, cancellationToken);
        return stacks.Count == 0 ? null : stacks[0];
    }

    public Task<IReadOnlyList<EdgeDesiredStack>> ListAsync(string agentId, CancellationToken cancellationToken = default) =>
        QueryAsync("agent_id = $agent", agentId, null, cancellationToken);

    public async Task DeleteAsync(string agentId, string projectName, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM stacks WHERE agent_id = $agent AND name = $name";
        command.Parameters.AddWithValue("$agent", agentId);
        command.Parameters.AddWithValue("$name", projectName);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task<IReadOnlyList<EdgeDesiredStack>> QueryAsync(string where, string agentId, string? name, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT agent_id, name, request, remove, remove_volumes, updated_at FROM stacks WHERE {where} ORDER BY name";
        command.Parameters.AddWithValue("$agent", agentId);
        if (name is not null)
        {
            command.Parameters.AddWithValue("$name", name);
        }

        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var stacks = new List<EdgeDesiredStack>();
        while (await reader.ReadAsync(cancellationToken))
        {
            stacks.Add(new EdgeDesiredStack
            {
                AgentId = reader.GetString(0),
                ProjectName = reader.GetString(1),
                Request = MessagePackSerializer.Deserialize<StackDeployRequest>((byte[])reader.GetValue(2), Serializer, cancellationToken),
                Remove = reader.GetInt64(3) != 0,
                RemoveVolumes = reader.GetInt64(4) != 0,
                UpdatedAt = new DateTimeOffset(reader.GetInt64(5), TimeSpan.Zero),
            });
        }

        return stacks;
    }
}
