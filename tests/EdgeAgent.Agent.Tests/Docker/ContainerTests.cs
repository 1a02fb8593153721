using Docker.DotNet.Models;
using EdgeAgent.Agent.Docker;
using EdgeAgent.Protocol;
using EdgeAgent.Protocol.Contracts.Docker;
using EdgeAgent.Protocol.Docker;
using EdgeAgent.Testing;

namespace EdgeAgent.Agent.Tests.Docker;

[Trait("Category", "Docker")]
public sealed class ContainerTests : DockerTestBase
{
    [Fact]
    public async Task List_separates_running_from_all_and_filters_by_label()
    {
        var scope = Guid.NewGuid().ToString("N");
        var running = await CreateSleeperAsync(labels: Labels(("scope", scope)));
        var stopped = await CreateContainerAsync(["true"], start: false, labels: Labels(("scope", scope), ("role", "idle")));

        var runningOnly = await Docker.Containers.ListAsync(new() { Labels = new Dictionary<string, string> { ["scope"] = scope } }, cancellationToken: Ct);
        var all = await Docker.Containers.ListAsync(new() { All = true, Labels = new Dictionary<string, string> { ["scope"] = scope } }, cancellationToken: Ct);
        var byRole = await Docker.Containers.ListAsync(new() { All = true, Labels = new Dictionary<string, string> { ["scope"] = scope, ["role"] = "idle" } }, cancellationToken: Ct);

        runningOnly.Select(c => c.Id).Should().Equal(running);
        all.Select(c => c.Id).Should().BeEquivalentTo([running, stopped]);
        byRole.Select(c => c.Id).Should().Equal(stopped);
        all.Single(c => c.Id == running).State.Should().Be("running");
        all.Single(c => c.Id == stopped).State.Should().Be("created");
        all.Single(c => c.Id == running).Labels.Should().Contain("scope", scope);
    }

    [Fact]
    public async Task List_filters_by_name()
    {
        var name = UniqueName("named");
        var id = await CreateContainerAsync(["true"], start: false, name: name);

        var found = await Docker.Containers.ListAsync(new() { All = true, Name = name }, cancellationToken: Ct);

        found.Should().ContainSingle().Which.Should().Match<ContainerSummary>(c => c.Id == id && c.Names.Contains(name));
    }

    [Fact]
    public async Task Inspect_returns_details_and_compose_stack()
    {
        var id = await CreateSleeperAsync(labels: Labels(("com.docker.compose.project", "shop")));

        var details = await Docker.Containers.InspectAsync(id, cancellationToken: Ct);

        details.Id.Should().Be(id);
        details.Image.Should().Be(TestImage);
        details.State.Running.Should().BeTrue();
        details.State.Pid.Should().BePositive();
        details.State.StartedAt.Should().NotBeNull();
        details.Command.Should().StartWith("sh");
        details.Stack.Should().Be("shop");
        details.Labels.Should().Contain(TestLabel, "1");
    }

    [Fact]
    public async Task Stop_with_timeout_then_start_again()
    {
        var id = await CreateContainerAsync(["sh", "-c", "while true; do sleep 1; done"]); // ignores SIGTERM as PID 1

        var stopped = await Docker.Containers.StopAsync(id, TimeSpan.FromSeconds(1), cancellationToken: Ct);
        var stoppedAgain = await Docker.Containers.StopAsync(id, TimeSpan.FromSeconds(1), cancellationToken: Ct);
        (await Engine.Containers.InspectContainerAsync(id, Ct)).State!.Running.Should().BeFalse();

        var started = await Docker.Containers.StartAsync(id, cancellationToken: Ct);
        var startedAgain = await Docker.Containers.StartAsync(id, cancellationToken: Ct);

        stopped.Should().BeTrue();
        stoppedAgain.Should().BeFalse("it was not running");
        started.Should().BeTrue();
        startedAgain.Should().BeFalse("it was already running");
        (await Engine.Containers.InspectContainerAsync(id, Ct)).State!.Running.Should().BeTrue();
    }

    [Fact]
    public async Task Stop_with_a_grace_period_longer_than_the_default_timeout_waits_for_it()
    {
        // A tunnel whose default command timeout (2 s) is shorter than the grace period (4 s) of a
        // container that ignores SIGTERM: the stop is answered after the grace period, not cut off
        // with `timeout` at the default.
        await using var pair = await TunnelPair.StartAsync(DockerHandlerRegistration.CreateHandlers(Provider), timeout: TimeSpan.FromSeconds(2));
        var containers = new DockerCommands(pair.Invoker).Containers;
        var id = await CreateContainerAsync(["sh", "-c", "while true; do sleep 1; done"]); // ignores SIGTERM as PID 1

        var watch = System.Diagnostics.Stopwatch.StartNew();
        var stopped = await containers.StopAsync(id, TimeSpan.FromSeconds(4), cancellationToken: Ct);
        watch.Stop();

        stopped.Should().BeTrue();
        watch.Elapsed.Should().BeGreaterThan(TimeSpan.FromSeconds(2), "the stop outlived the default timeout");
        (await Engine.Containers.InspectContainerAsync(id, Ct)).State!.Running.Should().BeFalse();
    }

    [Fact]
    public async Task Restart_gives_a_new_process()
    {
        var id = await CreateSleeperAsync();
        var before = await Engine.Containers.InspectContainerAsync(id, Ct);

        await Docker.Containers.RestartAsync(id, TimeSpan.FromSeconds(1), cancellationToken: Ct);

        var after = await Engine.Containers.InspectContainerAsync(id, Ct);
        after.State!.Running.Should().BeTrue();
        after.State!.StartedAt.Should().NotBe(before.State!.StartedAt);
    }

    [Fact]
    public async Task Kill_sends_the_given_signal()
    {
        // The shell is PID 1: a signal without a handler is ignored, so wait until the trap is set
        // (it creates the marker file) before sending it.
        var id = await CreateContainerAsync(["sh", "-c", "trap 'exit 42' HUP; touch /tmp/trapped; while true; do sleep 0.1; done"]);
        (await PollAsync(
            async () =>
            {
                try
                {
                    await Engine.Containers.GetArchiveFromContainerAsync(id, new() { Path = "/tmp/trapped" }, statOnly: true, Ct);
                    return true;
                }
                catch (global::Docker.DotNet.DockerContainerNotFoundException)
                {
                    return false;
                }
            },
            TimeSpan.FromSeconds(30))).Should().BeTrue("the shell installs its trap");

        await Docker.Containers.KillAsync(id, "SIGHUP", cancellationToken: Ct);
        await WaitForExitAsync(id);

        (await Engine.Containers.InspectContainerAsync(id, Ct)).State!.ExitCode.Should().Be(42);
    }

    [Fact]
    public async Task Kill_of_a_stopped_container_is_a_conflict()
    {
        var id = await CreateContainerAsync(["true"], start: false);

        var kill = async () => await Docker.Containers.KillAsync(id, null, cancellationToken: Ct);

        (await kill.Should().ThrowAsync<EdgeCommandException>()).Which.Code.Should().Be(EdgeErrorCodes.Conflict);
    }

    [Fact]
    public async Task Pause_and_unpause()
    {
        var id = await CreateSleeperAsync();

        await Docker.Containers.PauseAsync(id, cancellationToken: Ct);
        var paused = await Docker.Containers.InspectAsync(id, cancellationToken: Ct);
        await Docker.Containers.UnpauseAsync(id, cancellationToken: Ct);
        var resumed = await Docker.Containers.InspectAsync(id, cancellationToken: Ct);

        paused.State.Paused.Should().BeTrue();
        paused.State.Status.Should().Be("paused");
        resumed.State.Paused.Should().BeFalse();
        resumed.State.Status.Should().Be("running");
    }

    [Fact]
    public async Task Remove_of_a_running_container_needs_force_and_removes_anonymous_volumes()
    {
        var id = await CreateContainerAsync(["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"], anonymousVolumes: ["/data"]);
        var volume = (await Engine.Containers.InspectContainerAsync(id, Ct)).Mounts.Single(m => m.Destination == "/data").Name!;
        TrackVolume(volume);

        var withoutForce = async () => await Docker.Containers.RemoveAsync(id, cancellationToken: Ct);
        (await withoutForce.Should().ThrowAsync<EdgeCommandException>()).Which.Code.Should().Be(EdgeErrorCodes.Conflict);

        await Docker.Containers.RemoveAsync(id, force: true, removeVolumes: true, cancellationToken: Ct);

        var inspect = async () => await Docker.Containers.InspectAsync(id, cancellationToken: Ct);
        (await inspect.Should().ThrowAsync<EdgeCommandException>()).Which.Code.Should().Be(EdgeErrorCodes.NotFound);
        var volumes = await Engine.Volumes.ListAsync(Ct);
        volumes.Volumes.Should().NotContain(v => v.Name == volume);
    }

    [Fact]
    public async Task Rename_and_rename_to_a_taken_name()
    {
        var id = await CreateContainerAsync(["true"], start: false);
        var other = UniqueName("taken");
        await CreateContainerAsync(["true"], start: false, name: other);
        var newName = UniqueName("renamed");

        await Docker.Containers.RenameAsync(id, newName, cancellationToken: Ct);
        var taken = async () => await Docker.Containers.RenameAsync(id, other, cancellationToken: Ct);

        (await Docker.Containers.InspectAsync(id, cancellationToken: Ct)).Name.Should().Be(newName);
        (await taken.Should().ThrowAsync<EdgeCommandException>()).Which.Code.Should().Be(EdgeErrorCodes.Conflict);
    }

    [Fact]
    public async Task Unknown_container_is_not_found_with_the_engines_message()
    {
        var name = UniqueName("missing");

        var inspect = async () => await Docker.Containers.InspectAsync(name, cancellationToken: Ct);
        var start = async () => await Docker.Containers.StartAsync(name, cancellationToken: Ct);

        var error = (await inspect.Should().ThrowAsync<EdgeCommandException>()).Which;
        error.Code.Should().Be(EdgeErrorCodes.NotFound);
        error.Message.Should().Contain("No such container").And.Contain(name);
        (await start.Should().ThrowAsync<EdgeCommandException>()).Which.Code.Should().Be(EdgeErrorCodes.NotFound);
    }

    // Ids and names go into the engine's URL path ("DELETE /containers/{id}"), where the HTTP
    // client resolves "..": a container remove of "../volumes/x" removed the volume x, past the
    // command's group (and the caller's authorization) and without a word.
    [Theory]
    [InlineData("../volumes/{0}")]
    [InlineData("x/../../volumes/{0}")]
    public async Task An_id_that_climbs_out_of_its_path_is_refused_and_changes_nothing(string id)
    {
        var volume = await CreateVolumeAsync();

        var remove = async () => await Docker.Containers.RemoveAsync(string.Format(System.Globalization.CultureInfo.InvariantCulture, id, volume), cancellationToken: Ct);
        var inspect = async () => await Docker.Volumes.InspectAsync("../volumes/" + volume, cancellationToken: Ct);

        var error = (await remove.Should().ThrowAsync<EdgeCommandException>()).Which;
        error.Code.Should().Be(EdgeErrorCodes.InvalidArgument);
        error.Message.Should().Contain("'..'");
        (await inspect.Should().ThrowAsync<EdgeCommandException>()).Which.Code.Should().Be(EdgeErrorCodes.InvalidArgument);
        (await Engine.Volumes.InspectAsync(volume, Ct)).Name.Should().Be(volume, "the volume is still there");
    }

    [Fact]
    public async Task Empty_id_is_an_invalid_argument()
    {
        var inspect = async () => await Docker.Containers.InspectAsync("", cancellationToken: Ct);

        (await inspect.Should().ThrowAsync<EdgeCommandException>()).Which.Code.Should().Be(EdgeErrorCodes.InvalidArgument);
    }
}
