using System.Reflection;
using System.Runtime.CompilerServices;
using EdgeAgent.Agent;
using EdgeAgent.Protocol.Contracts.Docker;
using EdgeAgent.Protocol.Docker;
using EdgeAgent.Testing;

namespace EdgeAgent.Protocol.Tests.Docker;

/// <summary>
/// The typed Docker command groups hand the caller's <see cref="EdgeCommandOptions"/> (timeout and
/// idempotency key) to the invoker; a stop or restart with a grace period waits long enough for it.
/// </summary>
public sealed class TypedCommandOptionsTests
{
    private static readonly EdgeCommandOptions Options = new() { Timeout = TimeSpan.FromMinutes(7), IdempotencyKey = "typed-options-key" };

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Every public method of the groups, called with <see cref="Options"/> and a token.</summary>
    private static readonly Dictionary<string, Func<DockerCommands, EdgeCommandOptions, CancellationToken, Task>> Calls = new(StringComparer.Ordinal)
    {
        ["SystemCommands.PingAsync"] = (d, o, c) => d.System.PingAsync(o, c),
        ["SystemCommands.GetVersionAsync"] = (d, o, c) => d.System.GetVersionAsync(o, c),
        ["SystemCommands.GetInfoAsync"] = (d, o, c) => d.System.GetInfoAsync(o, c),
        ["SystemCommands.GetDiskUsageAsync"] = (d, o, c) => d.System.GetDiskUsageAsync(o, c),
        ["ContainerCommands.ListAsync"] = (d, o, c) => d.Containers.ListAsync(null, o, c),
        ["ContainerCommands.InspectAsync"] = (d, o, c) => d.Containers.InspectAsync("c", o, c),
        ["ContainerCommands.StartAsync"] = (d, o, c) => d.Containers.StartAsync("c", o, c),
        ["ContainerCommands.StopAsync"] = (d, o, c) => d.Containers.StopAsync("c", TimeSpan.FromSeconds(60), o, c),
        ["ContainerCommands.RestartAsync"] = (d, o, c) => d.Containers.RestartAsync("c", TimeSpan.FromSeconds(60), o, c),
        ["ContainerCommands.KillAsync"] = (d, o, c) => d.Containers.KillAsync("c", "SIGHUP", o, c),
        ["ContainerCommands.PauseAsync"] = (d, o, c) => d.Containers.PauseAsync("c", o, c),
        ["ContainerCommands.UnpauseAsync"] = (d, o, c) => d.Containers.UnpauseAsync("c", o, c),
        ["ContainerCommands.RemoveAsync"] = (d, o, c) => d.Containers.RemoveAsync("c", true, true, o, c),
        ["ContainerCommands.RenameAsync"] = (d, o, c) => d.Containers.RenameAsync("c", "n", o, c),
        ["ContainerCommands.GetLogsAsync"] = (d, o, c) => d.Containers.GetLogsAsync(new() { Id = "c" }, o, c),
        ["ContainerCommands.FollowLogsAsync"] = (d, o, c) => DrainAsync(d.Containers.FollowLogsAsync(new() { Id = "c" }, o, c)),
        ["ContainerCommands.GetStatsAsync"] = (d, o, c) => d.Containers.GetStatsAsync("c", o, c),
        ["ContainerCommands.StreamStatsAsync"] = (d, o, c) => DrainAsync(d.Containers.StreamStatsAsync("c", o, c)),
        ["ExecCommands.RunAsync"] = (d, o, c) => d.Exec.RunAsync(new() { ContainerId = "c", Command = ["true"] }, o, c),
        ["ExecCommands.StartInteractiveAsync"] = async (d, o, c) => await (await d.Exec.StartInteractiveAsync(new() { ContainerId = "c", Command = ["sh"] }, 80, 24, o, c)).DisposeAsync(),
        ["ExecCommands.CreateAsync"] = (d, o, c) => d.Exec.CreateAsync(new() { ContainerId = "c", Command = ["sh"] }, o, c),
        ["ExecCommands.AttachAsync"] = async (d, o, c) => await (await d.Exec.AttachAsync("e", 80, 24, o, c)).DisposeAsync(),
        ["ExecCommands.ResizeAsync"] = (d, o, c) => d.Exec.ResizeAsync("e", 80, 24, o, c),
        ["ExecCommands.InspectAsync"] = (d, o, c) => d.Exec.InspectAsync("e", o, c),
        ["ExecSession.ResizeAsync"] = (d, o, c) => new ExecSession(d.Exec, "e", Stream.Null).ResizeAsync(80, 24, o, c),
        ["ExecSession.GetStatusAsync"] = (d, o, c) => new ExecSession(d.Exec, "e", Stream.Null).GetStatusAsync(o, c),
        ["ImageCommands.ListAsync"] = (d, o, c) => d.Images.ListAsync(null, o, c),
        ["ImageCommands.InspectAsync"] = (d, o, c) => d.Images.InspectAsync("i", o, c),
        ["ImageCommands.PullAsync"] = (d, o, c) => DrainAsync(d.Images.PullAsync(new() { Image = "i" }, o, c)),
        ["ImageCommands.TagAsync"] = (d, o, c) => d.Images.TagAsync("i", "r", "t", o, c),
        ["ImageCommands.RemoveAsync"] = (d, o, c) => d.Images.RemoveAsync(new() { Image = "i" }, o, c),
        ["ImageCommands.PruneAsync"] = (d, o, c) => d.Images.PruneAsync(null, o, c),
        ["VolumeCommands.ListAsync"] = (d, o, c) => d.Volumes.ListAsync(null, o, c),
        ["VolumeCommands.InspectAsync"] = (d, o, c) => d.Volumes.InspectAsync("v", o, c),
        ["VolumeCommands.CreateAsync"] = (d, o, c) => d.Volumes.CreateAsync(new() { Name = "v" }, o, c),
        ["VolumeCommands.RemoveAsync"] = (d, o, c) => d.Volumes.RemoveAsync("v", true, o, c),
        ["VolumeCommands.PruneAsync"] = (d, o, c) => d.Volumes.PruneAsync(null, o, c),
        ["VolumeCommands.BrowseAsync"] = (d, o, c) => d.Volumes.BrowseAsync("v", "dir", o, c),
        ["VolumeCommands.ReadFileAsync"] = (d, o, c) => d.Volumes.ReadFileAsync("v", "file", 10, o, c),
        ["NetworkCommands.ListAsync"] = (d, o, c) => d.Networks.ListAsync(null, o, c),
        ["NetworkCommands.InspectAsync"] = (d, o, c) => d.Networks.InspectAsync("n", o, c),
        ["NetworkCommands.CreateAsync"] = (d, o, c) => d.Networks.CreateAsync(new() { Name = "n" }, o, c),
        ["NetworkCommands.RemoveAsync"] = (d, o, c) => d.Networks.RemoveAsync("n", o, c),
        ["NetworkCommands.ConnectAsync"] = (d, o, c) => d.Networks.ConnectAsync("n", "c", ["alias"], o, c),
        ["NetworkCommands.DisconnectAsync"] = (d, o, c) => d.Networks.DisconnectAsync("n", "c", true, o, c),
    };

    private static readonly Type[] Groups =
    [
        typeof(SystemCommands), typeof(ContainerCommands), typeof(ExecCommands), typeof(ExecSession),
        typeof(ImageCommands), typeof(VolumeCommands), typeof(NetworkCommands), typeof(StackCommands),
    ];

    public static TheoryData<string> Methods => new(Calls.Keys);

    [Fact]
    public void Every_public_typed_method_takes_options_just_before_its_cancellation_token()
    {
        var methods = Groups
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly))
            .Where(m => m.GetParameters().Any(p => p.ParameterType == typeof(CancellationToken)))
            // Not a command: it half-closes the session's own stream.
            .Where(m => !(m.DeclaringType == typeof(ExecSession) && m.Name == nameof(ExecSession.CompleteInputAsync)))
            .ToList();

        methods.Should().NotBeEmpty();
        foreach (var method in methods)
        {
            var parameters = method.GetParameters();
            var name = $"{method.DeclaringType!.Name}.{method.Name}";
            parameters[^1].ParameterType.Should().Be(typeof(CancellationToken), name);
            parameters[^2].ParameterType.Should().Be(typeof(EdgeCommandOptions), name);
            parameters[^2].Name.Should().Be("options", name);
            parameters[^2].HasDefaultValue.Should().BeTrue(name);
            parameters[^2].DefaultValue.Should().BeNull(name);
            if (method.DeclaringType != typeof(StackCommands))
            {
                Calls.Should().ContainKey(name, "every typed Docker method is checked by the pass-through test");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public async Task A_typed_command_hands_the_callers_options_and_token_to_the_invoker(string method)
    {
        var invoker = new RecordingInvoker();
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);

        await Calls[method](new DockerCommands(invoker), Options, cancel.Token);

        invoker.Calls.Should().NotBeEmpty();
        invoker.Calls.Should().AllSatisfy(call =>
        {
            call.Options.Should().BeSameAs(Options);
            call.CancellationToken.Should().Be(cancel.Token);
        });
    }

    [Theory]
    [InlineData("stop")]
    [InlineData("restart")]
    public async Task A_grace_period_without_a_timeout_waits_for_the_grace_period_plus_30_s(string command)
    {
        var invoker = new RecordingInvoker();
        var containers = new DockerCommands(invoker).Containers;
        var keyOnly = new EdgeCommandOptions { IdempotencyKey = "retry-me" };

        await StopOrRestartAsync(containers, command, TimeSpan.FromSeconds(60), null);
        await StopOrRestartAsync(containers, command, TimeSpan.FromSeconds(60), keyOnly);

        invoker.Calls.Should().HaveCount(2);
        invoker.Calls[0].Options!.Timeout.Should().Be(TimeSpan.FromSeconds(90));
        invoker.Calls[0].Options!.IdempotencyKey.Should().BeNull();
        invoker.Calls[1].Options!.Timeout.Should().Be(TimeSpan.FromSeconds(90));
        invoker.Calls[1].Options!.IdempotencyKey.Should().Be("retry-me");
        invoker.Calls[1].Options.Should().NotBeSameAs(keyOnly);
        keyOnly.Timeout.Should().BeNull("the caller's options are copied, not changed");
        invoker.Calls.Select(c => ((ContainerStopRequest)c.Request!).TimeoutSeconds).Should().Equal(60, 60);
    }

    [Theory]
    [InlineData("stop")]
    [InlineData("restart")]
    public async Task Without_a_grace_period_or_with_a_stated_timeout_the_options_pass_unchanged(string command)
    {
        var invoker = new RecordingInvoker();
        var containers = new DockerCommands(invoker).Containers;
        var stated = new EdgeCommandOptions { Timeout = TimeSpan.FromSeconds(5) };

        await StopOrRestartAsync(containers, command, null, null);
        await StopOrRestartAsync(containers, command, TimeSpan.FromSeconds(60), stated);

        invoker.Calls[0].Options.Should().BeNull("the invoker's default applies");
        ((ContainerStopRequest)invoker.Calls[0].Request!).TimeoutSeconds.Should().BeNull();
        invoker.Calls[1].Options.Should().BeSameAs(stated);
    }

    [Fact]
    public void The_stop_wait_stays_within_what_a_deadline_timer_takes()
    {
        ContainerCommands.WaitForStop(null, TimeSpan.Zero)!.Timeout.Should().Be(TimeSpan.FromSeconds(30));
        ContainerCommands.WaitForStop(null, TimeSpan.FromSeconds(-5))!.Timeout.Should().Be(TimeSpan.FromSeconds(30));
        ContainerCommands.WaitForStop(null, TimeSpan.MaxValue)!.Timeout.Should().Be(Timeout.InfiniteTimeSpan);
        ContainerCommands.WaitForStop(null, TimeSpan.FromDays(30))!.Timeout.Should().Be(Timeout.InfiniteTimeSpan);
    }

    /// <summary>
    /// Over a real tunnel (RPC client, dispatcher) whose default timeout is 1 s: the agent's
    /// handler sees the deadline of the grace period plus 30 s, so a long stop is not cut off at
    /// the default (the handler would be cancelled and the caller get <c>timeout</c>).
    /// </summary>
    [Fact]
    public async Task A_stop_with_a_long_grace_period_gets_a_deadline_beyond_the_default_timeout()
    {
        var stop = new RecordingHandler<ContainerStopRequest, ContainerActionResult>(DockerCommandNames.ContainersStop, new() { Changed = true });
        var run = new RecordingHandler<ExecRequest, ExecResult>(DockerCommandNames.ExecRun, new() { ExitCode = 0 });
        await using var pair = await TunnelPair.StartAsync([stop, run], timeout: TimeSpan.FromSeconds(1));
        var docker = new DockerCommands(pair.Invoker);

        var sent = DateTimeOffset.UtcNow;
        var stopped = await docker.Containers.StopAsync("c", TimeSpan.FromSeconds(60), cancellationToken: Ct);
        await docker.Exec.RunAsync(new() { ContainerId = "c", Command = ["sleep", "300"] }, new EdgeCommandOptions { Timeout = TimeSpan.FromMinutes(10) }, Ct);

        stopped.Should().BeTrue();
        stop.Deadlines.Should().ContainSingle().Which!.Value.Should().BeCloseTo(sent + TimeSpan.FromSeconds(90), TimeSpan.FromSeconds(10));
        run.Deadlines.Should().ContainSingle().Which!.Value.Should().BeCloseTo(sent + TimeSpan.FromMinutes(10), TimeSpan.FromSeconds(10));
    }

    /// <summary>
    /// Over a real tunnel: a restart retried with the caller's idempotency key reaches the agent
    /// with that key and runs once; the retry gets the first result.
    /// </summary>
    [Fact]
    public async Task A_restart_retried_with_the_same_idempotency_key_runs_once_on_the_agent()
    {
        var restart = new RecordingHandler<ContainerStopRequest, ContainerActionResult>(DockerCommandNames.ContainersRestart, new() { Changed = true });
        await using var pair = await TunnelPair.StartAsync([restart]);
        var containers = new DockerCommands(pair.Invoker).Containers;
        var options = new EdgeCommandOptions { IdempotencyKey = "restart-web-1" };

        await containers.RestartAsync("web", TimeSpan.FromSeconds(1), options, Ct);
        await containers.RestartAsync("web", TimeSpan.FromSeconds(1), options, Ct);
        await containers.RestartAsync("web", TimeSpan.FromSeconds(1), cancellationToken: Ct);

        restart.Keys.Should().HaveCount(2, "the retry with the same key was answered from the agent's cache");
        restart.Keys[0].Should().Be("restart-web-1");
        restart.Keys[1].Should().NotBe("restart-web-1").And.NotBeEmpty("a call without a key gets a fresh one");
    }

    private static Task StopOrRestartAsync(ContainerCommands containers, string command, TimeSpan? stopTimeout, EdgeCommandOptions? options) =>
        command == "stop"
            ? containers.StopAsync("c", stopTimeout, options, Ct)
            : containers.RestartAsync("c", stopTimeout, options, Ct);

    private static async Task DrainAsync<T>(IAsyncEnumerable<T> items)
    {
        await foreach (var _ in items)
        {
        }
    }

    private sealed record Call(string Command, object? Request, EdgeCommandOptions? Options, CancellationToken CancellationToken);

    /// <summary>Records each invocation and answers with an empty response.</summary>
    private sealed class RecordingInvoker : IEdgeCommandInvoker
    {
        public List<Call> Calls { get; } = [];

        public Task<TResponse> InvokeAsync<TRequest, TResponse>(string command, TRequest request, EdgeCommandOptions? options = null, CancellationToken cancellationToken = default)
        {
            Calls.Add(new Call(command, request, options, cancellationToken));
            return Task.FromResult(typeof(TResponse).IsInterface ? default! : Activator.CreateInstance<TResponse>());
        }

        public async IAsyncEnumerable<TItem> StreamAsync<TRequest, TItem>(string command, TRequest request, EdgeCommandOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            Calls.Add(new Call(command, request, options, cancellationToken));
            await Task.CompletedTask;
            yield break;
        }

        public Task<Stream> OpenStreamAsync<TRequest>(string command, TRequest request, EdgeCommandOptions? options = null, CancellationToken cancellationToken = default)
        {
            Calls.Add(new Call(command, request, options, cancellationToken));
            return Task.FromResult(Stream.Null);
        }
    }

    /// <summary>An agent-side handler that records the deadline and idempotency key of each run.</summary>
    private sealed class RecordingHandler<TRequest, TResponse>(string name, TResponse response) : EdgeCommandHandler<TRequest, TResponse>
    {
        public override string Name => name;

        public List<DateTimeOffset?> Deadlines { get; } = [];

        public List<string> Keys { get; } = [];

        public override ValueTask<TResponse> HandleAsync(TRequest request, EdgeCommandContext context)
        {
            lock (Keys)
            {
                Deadlines.Add(context.Deadline);
                Keys.Add(context.IdempotencyKey);
            }

            return ValueTask.FromResult(response);
        }
    }
}
