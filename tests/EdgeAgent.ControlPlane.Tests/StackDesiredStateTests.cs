using System.Collections.Concurrent;
using System.Security.Claims;
using EdgeAgent.ControlPlane.Registry;
using EdgeAgent.ControlPlane.Stacks;
using EdgeAgent.Protocol;
using EdgeAgent.Protocol.Contracts;
using EdgeAgent.Protocol.Contracts.Stacks;
using EdgeAgent.Protocol.Docker;
using EdgeAgent.Protocol.Frames;
using EdgeAgent.Protocol.Rpc;
using EdgeAgent.Protocol.Session;
using EdgeAgent.Protocol.Transports;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeAgent.ControlPlane.Tests;

/// <summary>
/// The desired-stack service against an in-memory agent whose stack commands the test holds and
/// releases: the interleavings are forced by gates, never by timing.
/// </summary>
public sealed class StackDesiredStateTests
{
    private const string AgentId = "stack-agent";
    private const string Project = "web";

    /// <summary>A safety net for a broken build only: every wait below is released by the test itself.</summary>
    private static readonly TimeSpan Safety = TimeSpan.FromSeconds(30);

    private static StackDeployRequest Request(string version) => new() { ProjectName = Project, Version = version, ComposeYaml = "services: {}\n" };

    [Fact]
    public async Task A_stale_apply_finishing_after_a_newer_deploy_neither_publishes_its_version_nor_answers_a_wait_for_the_newer_one()
    {
        await using var harness = await Harness.StartAsync();
        var stacks = harness.Stacks;
        (await stacks.DeployAsync(AgentId, Request("v1"))).Pending.Should().BeTrue("the agent is offline");
        var v1 = harness.Agent.HoldDeploy("v1");
        var v2 = harness.Agent.HoldDeploy("v2");

        // The agent connects: the reconciliation deploys v1 and the agent holds it.
        await harness.ConnectAsync();
        await v1.Started.WaitAsync(Safety);

        var states = new List<EdgeStackState>();
        var pendingV2 = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        stacks.StateChanged += (_, state) =>
        {
            lock (states)
            {
                states.Add(state);
            }

            if (state is { Pending: true, DesiredVersion: "v2" })
            {
                pendingV2.TrySetResult();
            }
        };

        // v2 is recorded (and published pending) while v1 is being applied.
        var deploy = stacks.DeployAsync(AgentId, Request("v2"));
        await pendingV2.Task.WaitAsync(Safety);
        var wait = stacks.WaitUntilAppliedAsync(AgentId, Project);

        // v1's apply finishes; v2's starts only after it (one apply per stack at a time).
        v1.Release();
        await v2.Started.WaitAsync(Safety);
        var between = await stacks.GetStateAsync(AgentId, Project);
        between!.DesiredVersion.Should().Be("v2");
        between.Pending.Should().BeTrue("v1's result must not overwrite the newer desired state");

        v2.Release();
        var applied = await deploy.WaitAsync(Safety);
        applied.Pending.Should().BeFalse();
        applied.Status!.AppliedVersion.Should().Be("v2");

        var waited = await wait.WaitAsync(Safety);
        waited.DesiredVersion.Should().Be("v2");
        waited.Status!.AppliedVersion.Should().Be("v2", "a wait that began while v2 was pending is answered by v2's result only");

        lock (states)
        {
            states.Should().NotContain(s => s.DesiredVersion == "v1", "nothing of v1 is published once v2 is desired");
            states.Last().Should().Be(applied);
        }

        harness.Agent.Deployed.Should().Equal("v1", "v2");
    }

    [Fact]
    public async Task A_removal_finishing_after_a_newer_deploy_does_not_forget_the_deploy()
    {
        await using var harness = await Harness.StartAsync();
        var stacks = harness.Stacks;
        (await stacks.DeployAsync(AgentId, Request("v1"))).Pending.Should().BeTrue("the agent is offline");
        var v1 = stacks.WaitUntilAppliedAsync(AgentId, Project);
        await harness.ConnectAsync();
        (await v1.WaitAsync(Safety)).Status!.AppliedVersion.Should().Be("v1", "the reconciliation applied it");

        var removal = harness.Agent.HoldRemove();
        var remove = stacks.RemoveAsync(AgentId, Project);
        await removal.Started.WaitAsync(Safety);

        var pendingV2 = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        stacks.StateChanged += (_, state) =>
        {
            if (state is { Pending: true, Removing: false, DesiredVersion: "v2" })
            {
                pendingV2.TrySetResult();
            }
        };
        var deploy = stacks.DeployAsync(AgentId, Request("v2"));
        await pendingV2.Task.WaitAsync(Safety);

        removal.Release();
        await remove.WaitAsync(Safety);
        var applied = await deploy.WaitAsync(Safety);

        applied.Pending.Should().BeFalse("the removal's completion must not delete the newer desired state");
        applied.Status!.AppliedVersion.Should().Be("v2");
        var stored = await harness.Services.GetRequiredService<IEdgeStackStore>().GetAsync(AgentId, Project);
        stored!.Remove.Should().BeFalse();
        stored.Request.Version.Should().Be("v2");
        harness.Agent.Deployed.Should().Equal("v1", "v2");
    }

    [Fact]
    public async Task Cancelled_waits_for_an_offline_agent_leave_no_waiters_behind()
    {
        await using var harness = await Harness.StartAsync();
        var stacks = harness.Stacks;
        (await stacks.DeployAsync(AgentId, Request("v1"))).Pending.Should().BeTrue();

        for (var i = 0; i < 100; i++)
        {
            using var cancel = new CancellationTokenSource();
            if (i % 2 == 0)
            {
                await cancel.CancelAsync();
            }

            var wait = stacks.WaitUntilAppliedAsync(AgentId, Project, cancel.Token);
            await cancel.CancelAsync();
            await FluentActions.Awaiting(() => wait).Should().ThrowAsync<OperationCanceledException>();
        }

        stacks.WaiterCount(AgentId, Project).Should().Be(0);

        // Waiting still works afterwards.
        var applied = stacks.WaitUntilAppliedAsync(AgentId, Project);
        await harness.ConnectAsync();
        (await applied.WaitAsync(Safety)).Status!.AppliedVersion.Should().Be("v1");
        stacks.WaiterCount(AgentId, Project).Should().Be(0);
    }

    [Fact]
    public async Task Deployments_and_removals_are_authorized_before_they_are_recorded_and_audited_as_the_caller()
    {
        await using var harness = await Harness.StartAsync(services =>
        {
            services.Configure<EdgeControlPlaneOptions>(o => o.CommandAuthorizationPolicy = "operator");
            services.AddAuthorizationBuilder().AddPolicy("operator", p => p.RequireRole("operator"));
        });
        var stacks = harness.Stacks;
        var audit = harness.Services.GetRequiredService<IEdgeAuditStore>();
        var guest = new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, "guest")], "test"));
        var operatorUser = new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, "olga"), new Claim(ClaimTypes.Role, "operator")], "test"));
        await harness.ConnectAsync();

        // A caller the policy refuses: denied, audited, and nothing recorded that a reconnect could apply later.
        var denied = await FluentActions.Awaiting(() => stacks.As(guest).DeployAsync(AgentId, Request("v1")))
            .Should().ThrowAsync<EdgeCommandException>();
        denied.Which.Code.Should().Be(EdgeErrorCodes.Denied);
        (await stacks.GetStateAsync(AgentId, Project)).Should().BeNull();
        harness.Agent.Deployed.Should().BeEmpty();

        // The view without a caller is the control plane itself, authorized like IEdgeAgents without As.
        (await FluentActions.Awaiting(() => stacks.DeployAsync(AgentId, Request("v1"))).Should().ThrowAsync<EdgeCommandException>())
            .Which.Code.Should().Be(EdgeErrorCodes.Denied);
        (await stacks.GetStateAsync(AgentId, Project)).Should().BeNull();

        // An operator's deployment is applied at once and audited as the operator.
        var applied = await stacks.As(operatorUser).DeployAsync(AgentId, Request("v1")).WaitAsync(Safety);
        applied.Pending.Should().BeFalse();
        harness.Agent.Deployed.Should().NotBeEmpty().And.OnlyContain(v => v == "v1");

        // A removal is authorized the same way: the guest's is refused and the stack stays desired.
        (await FluentActions.Awaiting(() => stacks.As(guest).RemoveAsync(AgentId, Project)).Should().ThrowAsync<EdgeCommandException>())
            .Which.Code.Should().Be(EdgeErrorCodes.Denied);
        (await stacks.GetStateAsync(AgentId, Project))!.Removing.Should().BeFalse();
        (await stacks.As(operatorUser).RemoveAsync(AgentId, Project).WaitAsync(Safety)).Pending.Should().BeFalse();

        var records = await audit.QueryAsync(new EdgeAuditQuery { AgentId = AgentId });
        records.Where(r => r.Outcome == EdgeErrorCodes.Denied).Select(r => (r.Caller, r.Command))
            .Should().BeEquivalentTo([("guest", StackCommands.Deploy), ("system", StackCommands.Deploy), ("guest", StackCommands.Remove)]);
        // (The reconciliation the connection started runs as system and may overlap: it is never denied.)
        records.Where(r => r.Outcome == "ok").Select(r => (r.Caller, r.Command))
            .Should().Contain(("olga", StackCommands.Deploy)).And.Contain(("olga", StackCommands.Remove)).And.NotContain(r => r.Caller == "guest");
    }

    [Fact]
    public async Task A_StateChanged_handler_that_throws_fails_neither_the_deploy_nor_its_waiters_nor_the_other_handlers()
    {
        await using var harness = await Harness.StartAsync();
        var stacks = harness.Stacks;
        await harness.ConnectAsync();
        var seen = new List<EdgeStackState>();
        stacks.StateChanged += (_, _) => throw new InvalidOperationException("handler bug");
        stacks.StateChanged += (_, state) =>
        {
            lock (seen)
            {
                seen.Add(state);
            }
        };

        var hold = harness.Agent.HoldDeploy("v1");
        var deploy = stacks.DeployAsync(AgentId, Request("v1"));
        await hold.Started.WaitAsync(Safety);
        var wait = stacks.WaitUntilAppliedAsync(AgentId, Project);
        hold.Release();
        var applied = await deploy.WaitAsync(Safety);
        applied.Pending.Should().BeFalse();
        (await wait.WaitAsync(Safety)).Status!.AppliedVersion.Should().Be("v1");
        lock (seen)
        {
            // Pending, then applied; the reconciliation started by the connection may publish the
            // applied state once more (it checks the agent's status), never anything else.
            seen.Should().HaveCountGreaterThanOrEqualTo(2, "the other handler saw both changes");
            seen[0].Pending.Should().BeTrue();
            seen.Skip(1).Should().OnlyContain(s => !s.Pending && s.Status!.AppliedVersion == "v1");
        }
    }

    /// <summary>The control plane's services with one agent connected over an in-memory tunnel on demand.</summary>
    private sealed class Harness : IAsyncDisposable
    {
        private readonly List<TunnelSession> _sessions = [];

        private Harness(ServiceProvider services)
        {
            Services = services;
            Stacks = services.GetRequiredService<StackDesiredStateService>();
        }

        public ServiceProvider Services { get; }

        public StackDesiredStateService Stacks { get; }

        public FakeStackAgent Agent { get; } = new();

        public static async Task<Harness> StartAsync(Action<IServiceCollection>? configure = null)
        {
            var services = new ServiceCollection();
            services.AddLogging();
            services.AddEdgeControlPlane();
            configure?.Invoke(services);
            var harness = new Harness(services.BuildServiceProvider());
            await harness.Stacks.StartAsync(CancellationToken.None);
            return harness;
        }

        /// <summary>Connects the agent and registers it, which starts the reconciliation.</summary>
        public async Task ConnectAsync()
        {
            var commands = new[] { StackCommands.Deploy, StackCommands.Status, StackCommands.Remove }
                .ToDictionary(name => name, name => (CommandInvoker)new StackCommand(name, Agent), StringComparer.Ordinal);
            var dispatcher = new CommandDispatcher(name => commands.GetValueOrDefault(name), null, null, TimeProvider.System, NullLogger.Instance);
            var (left, right) = InMemoryTransport.CreatePair();
            var accept = TunnelSession.AcceptAsync(right, new SessionOptions(), "test-control-plane", _ => null, null);
            var request = new HandshakeRequest(0, 0, AgentId, new AgentInfo { Hostname = "test" }, [], default);
            var (agent, _) = await TunnelSession.ConnectAsync(left, request, new SessionOptions(), dispatcher.HandleChannelAsync).WaitAsync(Safety);
            var (controlPlane, _) = await accept.WaitAsync(Safety);
            _sessions.Add(agent);
            _sessions.Add(controlPlane);
            var registry = Services.GetRequiredService<AgentRegistry>();
            registry.Attach(AgentId, controlPlane, new AgentInfo { Hostname = "test" }, null);
            registry.NotifyConnected(AgentId, controlPlane); // as the endpoint does once the handshake is answered
        }

        public async ValueTask DisposeAsync()
        {
            Agent.ReleaseAll();
            await Stacks.StopAsync(CancellationToken.None);
            foreach (var session in _sessions)
            {
                await session.DisposeAsync();
            }

            await Services.DisposeAsync();
        }
    }

    /// <summary>A gate the agent's handler waits at: the test sees it reached and lets it go.</summary>
    private sealed class Hold
    {
        private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Started => _started.Task;

        public void Release() => _released.TrySetResult();

        public Task PassAsync(CancellationToken cancellationToken)
        {
            _started.TrySetResult();
            return _released.Task.WaitAsync(cancellationToken);
        }
    }

    /// <summary>The agent's stack commands: nothing is known until deployed; deployments and removals can be held.</summary>
    private sealed class FakeStackAgent
    {
        private readonly ConcurrentDictionary<string, Hold> _deployHolds = new(StringComparer.Ordinal);
        private readonly ConcurrentQueue<string> _deployed = new();
        private Hold? _removeHold;
        private StackStatus? _current;

        /// <summary>The versions deployments reached the agent with, in order.</summary>
        public IReadOnlyList<string> Deployed => [.. _deployed];

        public Hold HoldDeploy(string version) => _deployHolds.GetOrAdd(version, _ => new Hold());

        public Hold HoldRemove() => _removeHold = new Hold();

        public void ReleaseAll()
        {
            foreach (var hold in _deployHolds.Values)
            {
                hold.Release();
            }

            _removeHold?.Release();
        }

        public async ValueTask<byte[]> RunAsync(CommandCall call)
        {
            switch (call.Name)
            {
                case StackCommands.Deploy:
                    var request = ContractSerializer.Deserialize<StackDeployRequest>(call.Payload);
                    _deployed.Enqueue(request.Version);
                    if (_deployHolds.TryGetValue(request.Version, out var hold))
                    {
                        await hold.PassAsync(call.CancellationToken);
                    }

                    var status = new StackStatus { ProjectName = request.ProjectName, DesiredVersion = request.Version, AppliedVersion = request.Version, IsManaged = true, IsConverged = true };
                    Volatile.Write(ref _current, status);
                    return ContractSerializer.Serialize(status);

                case StackCommands.Status:
                    return Volatile.Read(ref _current) is { } current
                        ? ContractSerializer.Serialize(current)
                        : throw new EdgeCommandException(EdgeErrorCodes.NotFound, "No such stack.");

                case StackCommands.Remove:
                    var remove = ContractSerializer.Deserialize<StackRemoveRequest>(call.Payload);
                    if (_removeHold is { } removal)
                    {
                        await removal.PassAsync(call.CancellationToken);
                    }

                    Volatile.Write(ref _current, null);
                    return ContractSerializer.Serialize(new StackRemoveResult { ProjectName = remove.ProjectName });

                default:
                    throw new EdgeCommandException(EdgeErrorCodes.NotFound, $"Unknown command '{call.Name}'.");
            }
        }
    }

    private sealed class StackCommand(string name, FakeStackAgent agent) : CommandInvoker
    {
        public override string Name => name;

        public override string Group => "stacks";

        public override CommandShape Shape => CommandShape.Unary;

        public override ValueTask<byte[]> InvokeUnaryAsync(CommandCall call) => agent.RunAsync(call);
    }
}
