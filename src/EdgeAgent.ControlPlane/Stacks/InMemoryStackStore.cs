using System.Collections.Concurrent;

namespace EdgeAgent.ControlPlane.Stacks;

/// <summary>Desired stacks in memory: for tests. Nothing survives a restart.</summary>
internal sealed class InMemoryStackStore : IEdgeStackStore
{
    private readonly ConcurrentDictionary<(string Agent, string Name), EdgeDesiredStack> _stacks = new();

    public Task SetAsync(EdgeDesiredStack stack, CancellationToken cancellationToken = default)
    {
        _stacks[(stack.AgentId, stack.ProjectName)] = stack;
        return Task.CompletedTask;
    }

    public Task<EdgeDesiredStack?> GetAsync(string agentId, string projectName, CancellationToken cancellationToken = default) =>
        Task.FromResult(_stacks.GetValueOrDefault((agentId, projectName)));

    public Task<IReadOnlyList<EdgeDesiredStack>> ListAsync(string agentId, CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<EdgeDesiredStack>>([.. _stacks.Values.Where(s => s.AgentId == agentId).OrderBy(s => s.ProjectName, StringComparer.Ordinal)]);

    public Task DeleteAsync(string agentId, string projectName, CancellationToken cancellationToken = default)
    {
        _stacks.TryRemove((agentId, projectName), out _);
        return Task.CompletedTask;
    }
}
