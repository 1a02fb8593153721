using System.Diagnostics;
using EdgeAgent.Agent.Docker;
using EdgeAgent.Agent.Docker.Snapshots;
using EdgeAgent.Protocol.Contracts.Docker;
using Microsoft.Extensions.Options;

namespace EdgeAgent.Agent.Tests.Docker;

[Trait("Category", "Docker")]
public sealed class SnapshotTests : DockerTestBase
{
    [Fact]
    public async Task Snapshot_describes_host_and_scoped_objects()
    {
        var scope = Guid.NewGuid().ToString("N");
        var id = await CreateSleeperAsync(labels: Labels(("edgeagent.test.scope", scope), ("com.docker.compose.project", "shop")));
        var volume = await CreateVolumeAsync(labels: Labels(("edgeagent.test.scope", scope)));
        var collector = CreateCollector(scope);

        var snapshot = await collector.CaptureAsync(Ct);

        snapshot.EngineReachable.Should().BeTrue();
        snapshot.LastError.Should().BeEmpty();
        snapshot.Host.EngineVersion.Should().NotBeEmpty();
        snapshot.Host.Cpus.Should().BePositive();
        snapshot.Host.MemoryBytes.Should().BePositive();
        snapshot.Containers.Should().ContainSingle().Which.Should().Match<ContainerSummary>(c => c.Id == id && c.State == "running" && c.Stack == "shop");
        snapshot.Volumes.Should().ContainSingle().Which.Name.Should().Be(volume);
        snapshot.Hash.Should().HaveLength(64);
        DockerSnapshotCollector.ComputeHash(snapshot).Should().Be(snapshot.Hash);
    }

    [Fact]
    public async Task A_container_stopped_with_the_cli_shows_in_a_new_snapshot_within_seconds()
    {
        var scope = Guid.NewGuid().ToString("N");
        var id = await CreateSleeperAsync(labels: Labels(("edgeagent.test.scope", scope)));
        var collector = CreateCollector(scope);
        collector.PollInterval = TimeSpan.FromHours(1); // only engine events can make it notice

        await using var snapshots = collector.WatchAsync(Ct).GetAsyncEnumerator(Ct);
        (await snapshots.MoveNextAsync()).Should().BeTrue();
        snapshots.Current.Containers.Single().State.Should().Be("running");

        await RunDockerCliAsync("stop", "-t", "0", id);

        var next = snapshots.MoveNextAsync().AsTask();
        (await Task.WhenAny(next, Task.Delay(TimeSpan.FromSeconds(10), Ct))).Should().BeSameAs(next, "events make the change visible within seconds");
        (await next).Should().BeTrue();
        snapshots.Current.Containers.Single().State.Should().Be("exited");
    }

    [Fact]
    public async Task An_unchanged_state_yields_no_new_snapshot_until_something_changes()
    {
        var scope = Guid.NewGuid().ToString("N");
        await CreateSleeperAsync(labels: Labels(("edgeagent.test.scope", scope)));
        var collector = CreateCollector(scope);
        collector.PollInterval = TimeSpan.FromMilliseconds(50);

        await using var snapshots = collector.WatchAsync(Ct).GetAsyncEnumerator(Ct);
        (await snapshots.MoveNextAsync()).Should().BeTrue();
        var first = snapshots.Current;
        var capturesBefore = collector.Captures;
        var next = snapshots.MoveNextAsync().AsTask();

        var capturedAgain = await PollAsync(() => Task.FromResult(collector.Captures >= capturesBefore + 10), TimeSpan.FromSeconds(30));

        capturedAgain.Should().BeTrue("the collector keeps capturing");
        next.IsCompleted.Should().BeFalse("ten captures of the same state yield nothing new");

        var added = await CreateSleeperAsync(labels: Labels(("edgeagent.test.scope", scope)));
        (await Task.WhenAny(next, Task.Delay(TimeSpan.FromSeconds(10), Ct))).Should().BeSameAs(next);
        snapshots.Current.Containers.Select(c => c.Id).Should().Contain(added);
        snapshots.Current.Hash.Should().NotBe(first.Hash);
    }

    [Fact]
    public async Task Usage_is_sampled_at_an_interval_that_can_change_at_run_time()
    {
        var scope = Guid.NewGuid().ToString("N");
        var id = await CreateSleeperAsync(labels: Labels(("edgeagent.test.scope", scope)));
        var collector = CreateCollector(scope);
        collector.UsageInterval = TimeSpan.FromHours(1);

        await using var reports = collector.WatchUsageAsync(Ct).GetAsyncEnumerator(Ct);
        var next = reports.MoveNextAsync().AsTask();
        collector.UsageInterval = TimeSpan.FromMilliseconds(100);

        (await Task.WhenAny(next, Task.Delay(TimeSpan.FromSeconds(20), Ct))).Should().BeSameAs(next, "the shorter interval applies at once");
        reports.Current.Containers.Should().ContainSingle().Which.Id.Should().Be(id);
    }

    [Fact]
    public async Task An_unreachable_engine_gives_a_snapshot_that_says_so()
    {
        var path = Path.Combine(Path.GetTempPath(), $"edgeagent-no-engine-{Guid.NewGuid():N}.sock");
        using var provider = new DockerClientProvider(Options.Create(new DockerEngineOptions { Endpoint = "unix://" + path }));
        var collector = new DockerSnapshotCollector(provider);

        var snapshot = await collector.CaptureAsync(Ct);

        snapshot.EngineReachable.Should().BeFalse();
        snapshot.LastError.Should().Contain("not reachable");
        snapshot.Host.Hostname.Should().NotBeEmpty();
    }

    private DockerSnapshotCollector CreateCollector(string scope) =>
        new(Provider) { ScopeLabels = new Dictionary<string, string> { ["edgeagent.test.scope"] = scope } };

    private static async Task RunDockerCliAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("docker") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        await process.WaitForExitAsync(Ct);
        process.ExitCode.Should().Be(0, await process.StandardError.ReadToEndAsync(Ct));
    }
}
