using System.Collections.Concurrent;

namespace EdgeAgent.ControlPlane.Storage;

/// <summary>Keeps agents in memory: for tests and throwaway setups. Nothing survives a restart.</summary>
internal sealed class InMemoryAgentStore : IEdgeAgentStore
{
    private readonly ConcurrentDictionary<string, EdgeAgentRecord> _agents = new(StringComparer.Ordinal);

    public Task<EdgeAgentRecord?> GetAsync(string agentId, CancellationToken cancellationToken = default) =>
        Task.FromResult(_agents.GetValueOrDefault(agentId));

    public Task<IReadOnlyList<EdgeAgentRecord>> ListAsync(CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<EdgeAgentRecord>>([.. _agents.Values.OrderBy(a => a.Id, StringComparer.Ordinal)]);

    public Task<bool> TryAddAsync(EdgeAgentRecord record, CancellationToken cancellationToken = default) =>
        Task.FromResult(_agents.TryAdd(record.Id, record));

    public Task UpdateAsync(EdgeAgentRecord record, CancellationToken cancellationToken = default)
    {
        _agents[record.Id] = record;
        return Task.CompletedTask;
    }
}
