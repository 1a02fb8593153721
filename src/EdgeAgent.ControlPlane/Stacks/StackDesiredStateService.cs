using System.Collections.Concurrent;
using System.Security.Claims;
using EdgeAgent.ControlPlane.Commands;
using EdgeAgent.ControlPlane.Registry;
using EdgeAgent.Protocol;
using EdgeAgent.Protocol.Contracts.Stacks;
using EdgeAgent.Protocol.Docker;
using EdgeAgent.Protocol.Internal;
using EdgeAgent.Protocol.Rpc;
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
    CommandGate gate,
    IOptions<EdgeControlPlaneOptions> options,
    ILogger<StackDesiredStateService> logger) : IEdgeStacks, IHostedService
{
    private readonly ConcurrentDictionary<(string Agent, string Name), StackSlot> _slots = new();
    private readonly ConcurrentDictionary<(string Agent, string Name), EdgeStackState> _states = new();
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

    public IEdgeStacks As(ClaimsPrincipal caller)
    {
        ArgumentNullException.ThrowIfNull(caller);
        return new CallerView(this, caller);
    }

    public Task<EdgeStackState> DeployAsync(string agentId, StackDeployRequest request, CancellationToken cancellationToken = default) =>
        DeployAsync(null, agentId, request, cancellationToken);

    public Task<EdgeStackState> RemoveAsync(string agentId, string projectName, bool removeVolumes = false, CancellationToken cancellationToken = default) =>
        RemoveAsync(null, agentId, projectName, removeVolumes, cancellationToken);

    private async Task<EdgeStackState> DeployAsync(ClaimsPrincipal? caller, string agentId, StackDeployRequest request, CancellationToken cancellationToken)
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

        // A change the caller may not make is not recorded: a reconciliation would apply it later.
        await gate.AuthorizeAsync(caller, agentId, StackCommands.Deploy, ContractSerializer.Serialize(request), cancellationToken);
        var desired = new EdgeDesiredStack { AgentId = agentId, ProjectName = request.ProjectName, Request = request, UpdatedAt = DateTimeOffset.UtcNow };
        var revision = await RecordAsync(desired, cancellationToken);
        return await ApplyAsync(desired, revision, force: true, new Caller(caller), cancellationToken);
    }

    private async Task<EdgeStackState> RemoveAsync(ClaimsPrincipal? caller, string agentId, string projectName, bool removeVolumes, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(agentId);
        ArgumentException.ThrowIfNullOrEmpty(projectName);
        await gate.AuthorizeAsync(caller, agentId, StackCommands.Remove, ContractSerializer.Serialize(new StackRemoveRequest { ProjectName = projectName, RemoveVolumes = removeVolumes }), cancellationToken);
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
        var revision = await RecordAsync(desired, cancellationToken);
        return await ApplyAsync(desired, revision, force: true, new Caller(caller), cancellationToken);
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
        var slot = Slot((agentId, projectName));
        var waiter = new TaskCompletionSource<EdgeStackState>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (slot.Waiters)
        {
            slot.Waiters.Add(waiter);
        }

        try
        {
            // Read under the record lock: a change recorded but not yet published cannot be missed,
            // so an earlier version's applied state never answers a wait for a newer one.
            EdgeStackState? current;
            await slot.Record.WaitAsync(cancellationToken);
            try
            {
                current = await GetStateAsync(agentId, projectName, cancellationToken);
            }
            finally
            {
                slot.Record.Release();
            }

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
        finally
        {
            // A cancelled or timed-out wait leaves nothing behind.
            lock (slot.Waiters)
            {
                slot.Waiters.Remove(waiter);
            }
        }
    }

    /// <summary>How many calls wait on the stack, for tests.</summary>
    internal int WaiterCount(string agentId, string projectName)
    {
        if (!_slots.TryGetValue((agentId, projectName), out var slot))
        {
            return 0;
        }

        lock (slot.Waiters)
        {
            return slot.Waiters.Count;
        }
    }

    /// <summary>
    /// Raised by the registry while it accepts the agent's handshake: the reconciliation runs on
    /// the thread pool so none of it (store reads, commands) runs inside the handshake, and
    /// <see cref="ReconcileAgentAsync"/> catches and logs its own failures.
    /// </summary>
    private void OnAgentConnected(object? sender, EdgeAgentEventArgs e) => _ = Task.Run(() => ReconcileAgentAsync(e.AgentId));

    /// <summary>Brings a (re)connected agent to its desired stacks.</summary>
    internal async Task ReconcileAgentAsync(string agentId)
    {
        try
        {
            foreach (var desired in await store.ListAsync(agentId, _stopping.Token))
            {
                await ApplyAsync(desired, revision: null, force: false, caller: null, _stopping.Token);
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

    private StackSlot Slot((string Agent, string Name) key) => _slots.GetOrAdd(key, static _ => new StackSlot());

    /// <summary>
    /// Records a new desired state and publishes it as pending, under the stack's record lock.
    /// The revision moves on even when the store fails (it may have written): a result of an
    /// earlier apply is then dropped rather than published over what may be newer.
    /// </summary>
    private async Task<long> RecordAsync(EdgeDesiredStack desired, CancellationToken cancellationToken)
    {
        var key = (desired.AgentId, desired.ProjectName);
        var slot = Slot(key);
        await slot.Record.WaitAsync(cancellationToken);
        try
        {
            try
            {
                await store.SetAsync(desired, cancellationToken);
            }
            finally
            {
                slot.Revision++;
            }

            Publish(Pending(desired, _states.GetValueOrDefault(key)));
            return slot.Revision;
        }
        finally
        {
            slot.Record.Release();
        }
    }

    /// <summary>
    /// Applies <paramref name="desired"/> unless it was superseded: <paramref name="revision"/> is
    /// the one <see cref="RecordAsync"/> gave it, or null for a reconciliation of what the store
    /// listed. Whatever the outcome, it is published only if no newer desired state was recorded
    /// in the meantime. <c>caller</c> is who asked for the change now (authorized and audited as
    /// them); null for a reconciliation, which re-applies what was authorized when it was recorded
    /// and runs as the control plane (<c>system</c>).
    /// </summary>
    private async Task<EdgeStackState> ApplyAsync(EdgeDesiredStack desired, long? revision, bool force, Caller? caller, CancellationToken cancellationToken)
    {
        var key = (desired.AgentId, desired.ProjectName);
        var slot = Slot(key);
        await slot.Apply.WaitAsync(cancellationToken);
        try
        {
            // The desired state may have changed while this call waited.
            EdgeDesiredStack? latest;
            long current;
            await slot.Record.WaitAsync(cancellationToken);
            try
            {
                latest = await store.GetAsync(desired.AgentId, desired.ProjectName, cancellationToken);
                current = slot.Revision;
            }
            finally
            {
                slot.Record.Release();
            }

            if (latest is null || (revision is { } expected ? expected != current : latest.UpdatedAt != desired.UpdatedAt || latest.Remove != desired.Remove))
            {
                return _states.GetValueOrDefault(key) ?? Pending(desired, null);
            }

            if (!registry.IsConnected(desired.AgentId))
            {
                return await PublishIfCurrentAsync(slot, current, desired, Pending(desired, _states.GetValueOrDefault(key)));
            }

            var handles = (EdgeAgents)agents;
            var stacks = new StackCommands(caller is { } asked
                ? handles.For(asked.Principal, desired.AgentId, options.Value.StackDeployTimeout)
                : handles.System(desired.AgentId, options.Value.StackDeployTimeout));
            try
            {
                if (desired.Remove)
                {
                    await stacks.RemoveAsync(desired.ProjectName, desired.RemoveVolumes, cancellationToken: cancellationToken);
                    var removed = new EdgeStackState { AgentId = desired.AgentId, ProjectName = desired.ProjectName, DesiredVersion = desired.Request.Version };
                    return await PublishIfCurrentAsync(slot, current, desired, removed, forget: true);
                }

                if (!force && await TryGetStatusAsync(stacks, desired.ProjectName, cancellationToken) is { } status
                    && status.AppliedVersion == desired.Request.Version && status.IsConverged)
                {
                    return await PublishIfCurrentAsync(slot, current, desired, Applied(desired, status));
                }

                var applied = await stacks.DeployAsync(desired.Request, cancellationToken: cancellationToken);
                return await PublishIfCurrentAsync(slot, current, desired, applied.AppliedVersion == desired.Request.Version && string.IsNullOrEmpty(applied.LastError)
                    ? Applied(desired, applied)
                    : Pending(desired, null) with { Status = applied, LastError = string.IsNullOrEmpty(applied.LastError) ? "The stack did not converge." : applied.LastError });
            }
            catch (EdgeCommandException ex) when (ex.Code != EdgeErrorCodes.Unavailable && ex.Code != EdgeErrorCodes.Timeout && !desired.Remove)
            {
                // A definite failure (invalid compose file, engine error): report it to the caller too.
                await PublishIfCurrentAsync(slot, current, desired, Pending(desired, _states.GetValueOrDefault(key)) with { LastError = $"{ex.Code}: {ex.Message}" });
                throw;
            }
            catch (EdgeCommandException ex)
            {
                StackLog.ApplyDeferred(logger, desired.AgentId, desired.ProjectName, ex.Code);
                return await PublishIfCurrentAsync(slot, current, desired, Pending(desired, _states.GetValueOrDefault(key)) with { LastError = $"{ex.Code}: {ex.Message}" });
            }
        }
        finally
        {
            slot.Apply.Release();
        }
    }

    /// <summary>
    /// Publishes the outcome of applying the desired state of <paramref name="revision"/>, unless a
    /// newer desired state was recorded since: that one is already published as pending and its
    /// own apply follows, so the stale outcome is dropped and the current state returned. With
    /// <paramref name="forget"/> (an applied removal) the stack is also deleted from the store.
    /// </summary>
    private async Task<EdgeStackState> PublishIfCurrentAsync(StackSlot slot, long revision, EdgeDesiredStack desired, EdgeStackState state, bool forget = false)
    {
        var key = (desired.AgentId, desired.ProjectName);

        // The work is done on the agent: record its outcome even if the caller stopped waiting.
        await slot.Record.WaitAsync(CancellationToken.None);
        try
        {
            if (slot.Revision != revision)
            {
                return _states.GetValueOrDefault(key) ?? Pending(desired, null);
            }

            if (forget)
            {
                await store.DeleteAsync(desired.AgentId, desired.ProjectName, CancellationToken.None);
                _states.TryRemove(key, out _);
            }

            return Publish(state, remember: !forget);
        }
        finally
        {
            slot.Record.Release();
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

    /// <summary>Stores and announces a state; callers hold the stack's record lock, so announcements of one stack never interleave.</summary>
    private EdgeStackState Publish(EdgeStackState state, bool remember = true)
    {
        var key = (state.AgentId, state.ProjectName);
        if (remember)
        {
            _states[key] = state;
        }

        Raise(state);
        if (!state.Pending && _slots.TryGetValue(key, out var slot))
        {
            lock (slot.Waiters)
            {
                foreach (var waiter in slot.Waiters)
                {
                    waiter.TrySetResult(state);
                }

                slot.Waiters.Clear();
            }
        }

        return state;
    }

    /// <summary>Runs every handler of <see cref="StateChanged"/>; one that throws is logged and keeps neither the others nor the waiters from their state.</summary>
    private void Raise(EdgeStackState state) =>
        EventRaiser.Raise(StateChanged, this, state, (Logger: logger, State: state), static (ex, s) => StackLog.StateHandlerFailed(s.Logger, s.State.AgentId, s.State.ProjectName, ex));

    /// <summary>Who asked for a change: a principal, or null for the control plane itself (not the trusted reconciliation).</summary>
    private sealed record Caller(ClaimsPrincipal? Principal);

    /// <summary>The stacks as seen by one caller: changes are authorized and audited as them.</summary>
    private sealed class CallerView(StackDesiredStateService service, ClaimsPrincipal caller) : IEdgeStacks
    {
        public event EventHandler<EdgeStackState>? StateChanged
        {
            add => service.StateChanged += value;
            remove => service.StateChanged -= value;
        }

        public IEdgeStacks As(ClaimsPrincipal caller) => service.As(caller);

        public Task<EdgeStackState> DeployAsync(string agentId, StackDeployRequest request, CancellationToken cancellationToken = default) =>
            service.DeployAsync(caller, agentId, request, cancellationToken);

        public Task<EdgeStackState> RemoveAsync(string agentId, string projectName, bool removeVolumes = false, CancellationToken cancellationToken = default) =>
            service.RemoveAsync(caller, agentId, projectName, removeVolumes, cancellationToken);

        public Task<EdgeStackState?> GetStateAsync(string agentId, string projectName, CancellationToken cancellationToken = default) =>
            service.GetStateAsync(agentId, projectName, cancellationToken);

        public Task<IReadOnlyList<EdgeStackState>> ListAsync(string agentId, CancellationToken cancellationToken = default) =>
            service.ListAsync(agentId, cancellationToken);

        public Task<EdgeStackState> WaitUntilAppliedAsync(string agentId, string projectName, CancellationToken cancellationToken = default) =>
            service.WaitUntilAppliedAsync(agentId, projectName, cancellationToken);
    }

    /// <summary>One stack's synchronisation.</summary>
    private sealed class StackSlot
    {
        /// <summary>Held while applying (long: a command to the agent).</summary>
        public SemaphoreSlim Apply { get; } = new(1, 1);

        /// <summary>Held briefly to record a desired state or publish a state: the two never interleave.</summary>
        public SemaphoreSlim Record { get; } = new(1, 1);

        /// <summary>Counts desired states recorded by this instance; changed under <see cref="Record"/>.</summary>
        public long Revision { get; set; }

        /// <summary>Calls waiting for the stack to be applied; locked on itself.</summary>
        public List<TaskCompletionSource<EdgeStackState>> Waiters { get; } = [];
    }

    private static partial class StackLog
    {
        [LoggerMessage(3100, LogLevel.Information, "Stack {Stack} on agent {AgentId} stays pending: {Code}")]
        public static partial void ApplyDeferred(ILogger logger, string agentId, string stack, string code);

        [LoggerMessage(3101, LogLevel.Error, "Reconciling the stacks of agent {AgentId} failed")]
        public static partial void ReconcileFailed(ILogger logger, string agentId, Exception exception);

        [LoggerMessage(3102, LogLevel.Error, "A handler of the StateChanged event failed for stack {Stack} on agent {AgentId}")]
        public static partial void StateHandlerFailed(ILogger logger, string agentId, string stack, Exception exception);
    }
}
