using EdgeAgent.Agent;
using EdgeAgent.ControlPlane;
using EdgeAgent.ControlPlane.Storage;
using EdgeAgent.Testing.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeAgent.FunctionalTests;

/// <summary>
/// A revocation that races an agent's connection is neither undone nor skipped: the store is held
/// at the exact point of each race by a store that pauses one call on demand.
/// </summary>
public sealed class RevocationRaceTests
{
    [Fact]
    public async Task A_revocation_made_while_a_connection_records_its_time_is_not_undone_by_that_write()
    {
        var store = new PausingAgentStore();
        await using var controlPlane = await TestControlPlane.StartAsync(services: s => s.AddSingleton<IEdgeAgentStore>(store));
        var token = await controlPlane.EnrollAsync("race-1");

        // The connection's write of its LastConnectedAt is held after it read the record.
        var held = store.PauseNextUpdate();
        await using var agent = await TestAgent.StartAsync(controlPlane.BaseUrl, token, waitConnected: false);
        await held.Paused.WaitAsync(TimeSpan.FromSeconds(20));

        // The revocation waits for that write (before, it read the same record, wrote RevokedAt,
        // and the held write then put the unrevoked copy back).
        var revoke = controlPlane.Enrollment.RevokeAsync("race-1");
        await Task.WhenAny(revoke, Task.Delay(200));
        held.Release();
        await revoke.WaitAsync(TimeSpan.FromSeconds(20));

        var record = await store.GetAsync("race-1");
        record!.RevokedAt.Should().NotBeNull("the revocation is kept");
        record.LastConnectedAt.Should().NotBeNull("the connection's time is kept too");
        await CredentialTests.WaitUntilAsync(() => agent.Connection.CredentialRejected);
        controlPlane.Registry.IsConnected("race-1").Should().BeFalse();
    }

    [Fact]
    public async Task A_handshake_that_passed_the_credential_check_before_a_revocation_is_closed_as_revoked()
    {
        var store = new PausingAgentStore();
        await using var controlPlane = await TestControlPlane.StartAsync(services: s => s.AddSingleton<IEdgeAgentStore>(store));
        var token = await controlPlane.EnrollAsync("race-2");

        // The credential check reads the record, still unrevoked, and is held there.
        var held = store.PauseNextGet();
        await using var agent = await TestAgent.StartAsync(controlPlane.BaseUrl, token, waitConnected: false);
        await held.Paused.WaitAsync(TimeSpan.FromSeconds(20));

        // The revocation completes while that handshake has no session yet to close.
        await controlPlane.Enrollment.RevokeAsync("race-2").WaitAsync(TimeSpan.FromSeconds(20));
        held.Release();

        // The handshake goes on with the stale record, and the registry closes its session as
        // revoked; the agent's next attempt is refused (before, it stayed connected).
        await CredentialTests.WaitUntilAsync(() => agent.Connection.CredentialRejected);
        controlPlane.Registry.IsConnected("race-2").Should().BeFalse();
        (await controlPlane.Registry.GetAgentAsync("race-2"))!.State.Should().Be(EdgeAgentConnectionState.Revoked);
    }

    [Fact]
    public async Task An_agent_refused_once_and_then_connected_no_longer_reports_its_credential_rejected()
    {
        var store = new PausingAgentStore();
        await using var controlPlane = await TestControlPlane.StartAsync(services: s => s.AddSingleton<IEdgeAgentStore>(store));
        var token = await controlPlane.EnrollAsync("late-1");

        // Refused first (the control plane does not know the agent yet), then accepted.
        store.Hidden = true;
        await using var agent = await TestAgent.StartAsync(controlPlane.BaseUrl, token, waitConnected: false);
        await CredentialTests.WaitUntilAsync(() => agent.Connection.CredentialRejected);
        store.Hidden = false;
        await agent.Connection.WaitUntilConnectedAsync().WaitAsync(TimeSpan.FromSeconds(20));

        agent.Connection.CredentialRejected.Should().BeFalse("a connected agent's credential was accepted");
        agent.Connection.LastError.Should().BeNull();
        var health = await agent.Host.Services.GetRequiredService<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckService>().CheckHealthAsync();
        health.Status.Should().Be(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy);
    }

    /// <summary>The in-memory store, with one call of a kind held until released, and agents it can hide.</summary>
    private sealed class PausingAgentStore : IEdgeAgentStore
    {
        private readonly InMemoryAgentStore _inner = new();
        private Pause? _nextGet;
        private Pause? _nextUpdate;

        private volatile bool _hidden;

        /// <summary>Gets or sets a value indicating whether every lookup finds nothing.</summary>
        public bool Hidden
        {
            get => _hidden;
            set => _hidden = value;
        }

        public Pause PauseNextGet() => _nextGet = new Pause();

        public Pause PauseNextUpdate() => _nextUpdate = new Pause();

        public async Task<EdgeAgentRecord?> GetAsync(string agentId, CancellationToken cancellationToken = default)
        {
            var record = Hidden ? null : await _inner.GetAsync(agentId, cancellationToken);
            if (Interlocked.Exchange(ref _nextGet, null) is { } pause)
            {
                await pause.HoldAsync();
            }

            return record;
        }

        public Task<IReadOnlyList<EdgeAgentRecord>> ListAsync(CancellationToken cancellationToken = default) => _inner.ListAsync(cancellationToken);

        public Task<bool> TryAddAsync(EdgeAgentRecord record, CancellationToken cancellationToken = default) => _inner.TryAddAsync(record, cancellationToken);

        public async Task UpdateAsync(EdgeAgentRecord record, CancellationToken cancellationToken = default)
        {
            if (Interlocked.Exchange(ref _nextUpdate, null) is { } pause)
            {
                await pause.HoldAsync();
            }

            await _inner.UpdateAsync(record, cancellationToken);
        }
    }

    /// <summary>Signals when a call reaches it and holds that call until released.</summary>
    private sealed class Pause
    {
        private readonly TaskCompletionSource _paused = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Paused => _paused.Task;

        public void Release() => _released.TrySetResult();

        public Task HoldAsync()
        {
            _paused.TrySetResult();
            return _released.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }
    }
}
