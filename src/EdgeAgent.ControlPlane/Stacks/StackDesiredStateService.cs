using System.Collections.Concurrent;
using EdgeAgent.ControlPlane.Commands;
using EdgeAgent.ControlPlane.Registry;
using EdgeAgent.Protocol;
using EdgeAgent.Protocol.Contracts.Stacks;
using EdgeAgent.Protocol.Docker;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeAgent.ControlPlane.Stacks;

/// <summary>
/// Desired stacks per agent: recorded in <see cref="IEdgeStackStore"/>, applied at once when the
/// agent is connected, and reconciled whenever an agent (re)connects: what it reports applied is
/// compared with what is desired, and only differences are deployed or removed.
/// </summary>
internal sealed partial class StackDesiredStateService(
    IEdgeStackStore store,
    AgentRegistry registry,
    IEdgeAgents agents,
    IOptions<EdgeControlPlaneOptions> options,
    ILogger<StackDesiredStateService> logger) : IEdgeStacks, IHostedService
{
    private readonly ConcurrentDictionary<(string Agent, string Name), SemaphoreSlim> _locks = new();
    private readonly ConcurrentDictionary<(string Agent, string Name), EdgeStackState> _states = new();
    private readonly ConcurrentDictionary<(string Agent, string Name), List<TaskCompletionSource<EdgeStackState>>> _waiters = new();
    private readonly CancellationTokenSource _stopping = new();

    public event EventHandler<EdgeStackState>? StateChanged;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        registry.AgentConnected += OnAgentConnected;
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        registry.AgentConnected -= OnAgentConnected;
        await _stopping.CancelAsync();
    }

    public async Task<EdgeStackState> DeployAsync(string agentId, StackDeployRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(agentId);
        ArgumentNullException.ThrowIfNull(request);
        if (string.IsNullOrWhiteSpace(request.ProjectName))
        {
            throw new ArgumentException("StackDeployRequest.ProjectName is required for a desired stack.", nameof(request));
        }

        if (string.IsNullOrWhiteSpace(request.Version))
        {
            throw new ArgumentException("StackDeployRequest.Version is required for a desired stack.", nameof(request));
        }

        var desired = new EdgeDesiredStack { AgentId = agentId, ProjectName = request.ProjectName, Request = request, UpdatedAt = DateTimeOffset.UtcNow };
        await store.SetAsync(desired, cancellationToken);
        Publish(Pending(desired, previous: _states.GetValueOrDefault((agentId, request.ProjectName))));
        return await ApplyAsync(desired, force: true, cancellationToken);
    }

    public async Task<EdgeStackState> RemoveAsync(string agentId, string projectName, bool removeVolumes = false, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(agentId);
        ArgumentException.ThrowIfNullOrEmpty(projectName);
        var existing = await store.GetAsync(agentId, projectName, cancellationToken);
        var desired = new EdgeDesiredStack
        {
            AgentId = agentId,
            ProjectName = projectName,
            Request = existing?.Request ?? new StackDeployRequest { ProjectName = projectName },
            Remove = true,
            RemoveVolumes = removeVolumes,
            UpdatedAt = DateTimeOffset.UtcNow,
        };
        await store.SetAsync(desired, cancellationToken);
        Publish(Pending(desired, _states.GetValueOrDefault((agentId, projectName))));
        return await ApplyAsync(desired, force: true, cancellationToken);
    }

    public async Task<EdgeStackState?> GetStateAsync(string agentId, string projectName, CancellationToken cancellationToken = default)
    {
        if (_states.TryGetValue((agentId, projectName), out var state))
        {
            return state;
        }

        var desired = await store.GetAsync(agentId, projectName, cancellationToken);
        return desired is null ? null : Pending(desired, null);
    }

    public async Task<IReadOnlyList<EdgeStackState>> ListAsync(string agentId, CancellationToken cancellationToken = default)
    {
        var desired = await store.ListAsync(agentId, cancellationToken);
        return [.. desired.Select(d => _states.GetValueOrDefault((agentId, d.ProjectName)) ?? Pending(d, null))];
    }

    public async Task<EdgeStackState> WaitUntilAppliedAsync(string agentId, string projectName, CancellationToken cancellationToken = default)
    {
        var waiter = new TaskCompletionSource<EdgeStackState>(TaskCreationOptions.RunContinuationsAsynchronously);
        var list = _waiters.GetOrAdd((agentId, projectName), _ => []);
        lock (list)
        {
            list.Add(waiter);
        }

        var current = await GetStateAsync(agentId, projectName, cancellationToken);
        if (current is { Pending: false })
        {
            waiter.TrySetResult(current);
        }
        else if (current is null)
        {
            // Nothing desired (a removal that was applied and forgotten): nothing to wait for.
            waiter.TrySetResult(new EdgeStackState { AgentId = agentId, ProjectName = projectName });
        }

        return await waiter.Task.WaitAsync(cancellationToken);
    }

    private void OnAgentConnected(object? sender, EdgeAgentEventArgs e) => _ = ReconcileAgentAsync(e.AgentId);

    /// <summary>Brings a (re)connected agent to its desired stacks.</summary>
    internal async Task ReconcileAgentAsync(string agentId)
    {
        try
        {
            foreach (var desired in await store.ListAsync(agentId, _stopping.Token))
            {
                await ApplyAsync(desired, force: false, _stopping.Token);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or EdgeCommandException)
        {
            // Tried again at the next connection.
        }
        catch (Exception ex)
        {
            StackLog.ReconcileFailed(logger, agentId, ex);
        }
    }

    private async Task<EdgeStackState> ApplyAsync(EdgeDesiredStack desired, bool force, CancellationToken cancellationToken)
    {
        var key = (desired.AgentId, desired.ProjectName);
        var gate = _locks.GetOrAdd(key, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken);
        try
        {
            // The desired state may have changed while this call waited.
            var latest = await store.GetAsync(desired.AgentId, desired.ProjectName, cancellationToken);
            if (latest is null || latest.UpdatedAt != desired.UpdatedAt || latest.Remove != desired.Remove)
            {
                return _states.GetValueOrDefault(key) ?? Pending(desired, null);
            }

            if (!registry.IsConnected(desired.AgentId))
            {
                return Publish(Pending(desired, _states.GetValueOrDefault(key)));
            }

            var stacks = new StackCommands(((EdgeAgents)agents).System(desired.AgentId, options.Value.StackDeployTimeout));
            try
            {
                if (desired.Remove)
                {
                    await stacks.RemoveAsync(desired.ProjectName, desired.RemoveVolumes, cancellationToken: cancellationToken);
                    await store.DeleteAsync(desired.AgentId, desired.ProjectName, CancellationToken.None);
                    _states.TryRemove(key, out _);
                    var removed = new EdgeStackState { AgentId = desired.AgentId, ProjectName = desired.ProjectName, DesiredVersion = desired.Request.Version };
                    Publish(removed, remember: false);
                    return removed;
                }

                if (!force && await TryGetStatusAsync(stacks, desired.ProjectName, cancellationToken) is { } status
                    && status.AppliedVersion == desired.Request.Version && status.IsConverged)
                {
                    return Publish(Applied(desired, status));
                }

                var applied = await stacks.DeployAsync(desired.Request, cancellationToken: cancellationToken);
                return Publish(applied.AppliedVersion == desired.Request.Version && string.IsNullOrEmpty(applied.LastError)
                    ? Applied(desired, applied)
                    : Pending(desired, null) with { Status = applied, LastError = string.IsNullOrEmpty(applied.LastError) ? "The stack did not converge." : applied.LastError });
            }
            catch (EdgeCommandException ex) when (ex.Code != EdgeErrorCodes.Unavailable && ex.Code != EdgeErrorCodes.Timeout && !desired.Remove)
            {
                // A definite failure (invalid compose file, engine error): report it to the caller too.
                Publish(Pending(desired, _states.GetValueOrDefault(key)) with { LastError = $"{ex.Code}: {ex.Message}" });
                throw;
            }
            catch (EdgeCommandException ex)
            {
                StackLog.ApplyDeferred(logger, desired.AgentId, desired.ProjectName, ex.Code);
                return Publish(Pending(desired, _states.GetValueOrDefault(key)) with { LastError = $"{ex.Code}: {ex.Message}" });
            }
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>The agent's report on the stack; null when the agent does not know it yet.</summary>
    private static async Task<StackStatus?> TryGetStatusAsync(StackCommands stacks, string projectName, CancellationToken cancellationToken)
    {
        try
        {
            return await stacks.GetStatusAsync(projectName, cancellationToken: cancellationToken);
        }
        catch (EdgeCommandException ex) when (ex.Code == EdgeErrorCodes.NotFound)
        {
            return null;
        }
    }

    private static EdgeStackState Pending(EdgeDesiredStack desired, EdgeStackState? previous) => new()
    {
        AgentId = desired.AgentId,
        ProjectName = desired.ProjectName,
        DesiredVersion = desired.Request.Version,
        Pending = true,
        Removing = desired.Remove,
        Status = previous?.Status,
        LastError = previous?.LastError,
    };

    private static EdgeStackState Applied(EdgeDesiredStack desired, StackStatus status) => new()
    {
        AgentId = desired.AgentId,
        ProjectName = desired.ProjectName,
        DesiredVersion = desired.Request.Version,
        Pending = false,
        Status = status,
    };

    private EdgeStackState Publish(EdgeStackState state, bool remember = true)
    {
        var key = (state.AgentId, state.ProjectName);
        if (remember)
        {
            _states[key] = state;
        }

        StateChanged?.Invoke(this, state);
        if (!state.Pending && _waiters.TryGetValue(key, out var list))
        {
            lock (list)
            {
                foreach (var waiter in list)
                {
                    waiter.TrySetResult(state);
                }

                list.Clear();
            }
        }

        return state;
    }

    private static partial class StackLog
    {
        [LoggerMessage(3100, LogLevel.Information, "Stack {Stack} on agent {AgentId} stays pending: {Code}")]
        public static partial void ApplyDeferred(ILogger logger, string agentId, string stack, string code);

        [LoggerMessage(3101, LogLevel.Error, "Reconciling the stacks of agent {AgentId} failed")]
        public static partial void ReconcileFailed(ILogger logger, string agentId, Exception exception);
    }
}
