using EdgeAgent.Agent.Stacks;
using EdgeAgent.Protocol;
using EdgeAgent.Protocol.Contracts.Stacks;

namespace EdgeAgent.Agent.Tests.Stacks;

[Trait("Category", "Docker")]
public sealed class StackDeployTests : StackDockerTestBase
{
    /// <summary>web serves a page from a named volume on a published port; worker sits on a second network.</summary>
    internal static string TwoServiceStack(string greeting = "hello", string workerMessage = "idle", bool withWorker = true) => $$"""
        services:
          web:
            image: {{TestImage}}
            command: ["sh", "-c", "echo $$GREETING > /www/index.html && exec httpd -f -p 80 -h /www"]
            environment:
              GREETING: {{greeting}}
            ports:
              - "127.0.0.1:${WEB_PORT}:80"
            volumes:
              - site:/www
            networks: [front, back]
            stop_signal: SIGKILL
        {{(withWorker ? $$"""
          worker:
            image: {{TestImage}}
            command: ["sh", "-c", "echo {{workerMessage}}; exec sleep 3600"]
            depends_on: [web]
            networks:
              back:
                aliases: [jobs]
            stop_signal: SIGKILL
        """ : "")}}
        networks:
          front:
          back:
        volumes:
          site:
        """;

    private static StackDeployRequest Request(string project, string yaml, string version, int port) => new()
    {
        ProjectName = project,
        ComposeYaml = yaml,
        Version = version,
        Variables = new Dictionary<string, string> { ["WEB_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture) },
        PullPolicy = StackPullPolicy.Never,
    };

    [Fact]
    public async Task DeploysServesAndReconcilesOnlyWhatChanged()
    {
        var project = NewProject();
        var port = FreePort();

        // First deployment: everything is created, labelled as compose does, and answers HTTP.
        var status = await DeployAsync(Request(project, TwoServiceStack(), "1", port));
        status.IsConverged.Should().BeTrue(status.LastError);
        status.DesiredVersion.Should().Be("1");
        status.AppliedVersion.Should().Be("1");
        status.IsManaged.Should().BeTrue();
        status.Services.Select(s => (s.Name, s.DesiredReplicas, s.RunningReplicas, s.Error)).Should().Equal(("web", 1, 1, ""), ("worker", 1, 1, ""));
        (await GetHttpAsync(port, "hello")).Trim().Should().Be("hello");

        var containers = await ContainersAsync(project);
        containers.Select(c => c.Names[0]).Should().BeEquivalentTo($"/{project}-web-1", $"/{project}-worker-1");
        var web = containers.Single(c => c.Labels["com.docker.compose.service"] == "web");
        web.Labels.Should().Contain(new Dictionary<string, string>
        {
            ["com.docker.compose.project"] = project,
            ["com.docker.compose.container-number"] = "1",
            ["com.docker.compose.oneoff"] = "False",
        });
        web.Labels.Should().ContainKeys("com.docker.compose.config-hash", "com.docker.compose.version", "com.docker.compose.project.working_dir", "com.docker.compose.project.config_files");
        (await NetworksAsync(project)).Select(n => (n.Name, n.Labels["com.docker.compose.network"]))
            .Should().BeEquivalentTo(new[] { ($"{project}_front", "front"), ($"{project}_back", "back") });
        (await VolumesAsync(project)).Select(v => (v.Name, v.Labels["com.docker.compose.volume"])).Should().Equal(($"{project}_site", "site"));
        var worker = await Docker.Containers.InspectContainerAsync(containers.Single(c => c.Labels["com.docker.compose.service"] == "worker").ID, Ct);
        worker.NetworkSettings!.Networks![$"{project}_back"].Aliases.Should().Contain(["worker", "jobs"]);
        var ids = status.Services.ToDictionary(s => s.Name, s => s.ContainerIds.Single());

        // The same content again: nothing is recreated.
        var again = await DeployAsync(Request(project, TwoServiceStack(), "1", port));
        again.Services.ToDictionary(s => s.Name, s => s.ContainerIds.Single()).Should().Equal(ids);
        again.IsConverged.Should().BeTrue();

        // Only the worker changes: only the worker is recreated.
        var changed = await DeployAsync(Request(project, TwoServiceStack(workerMessage: "busy"), "2", port));
        changed.IsConverged.Should().BeTrue(changed.LastError);
        changed.AppliedVersion.Should().Be("2");
        var changedIds = changed.Services.ToDictionary(s => s.Name, s => s.ContainerIds.Single());
        changedIds["web"].Should().Be(ids["web"]);
        changedIds["worker"].Should().NotBe(ids["worker"]);
        (await ContainersAsync(project)).Should().HaveCount(2, "the old worker container is gone");

        // The worker leaves the file: it is removed, web stays.
        var removed = await DeployAsync(Request(project, TwoServiceStack(workerMessage: "busy", withWorker: false), "3", port));
        removed.Services.Select(s => s.Name).Should().Equal("web");
        removed.Services[0].ContainerIds.Should().Equal(ids["web"]);
        (await ContainersAsync(project)).Select(c => c.Labels["com.docker.compose.service"]).Should().Equal("web");
        (await GetHttpAsync(port, "hello")).Trim().Should().Be("hello");

        // After an agent restart the applied version is still known.
        var restarted = await CreateManager().GetStatusAsync(project, TestContext.Current.CancellationToken);
        restarted.AppliedVersion.Should().Be("3");
        restarted.DesiredVersion.Should().Be("3");
        restarted.IsConverged.Should().BeTrue();
        (await Stacks.GetStatusAsync(project, cancellationToken: Ct)).Should().BeEquivalentTo(restarted);
        (await Stacks.ListAsync(cancellationToken: Ct)).Should().ContainSingle(s => s.ProjectName == project).Which.AppliedVersion.Should().Be("3");
    }

    [Fact]
    public async Task AFailedUpdateLeavesThePreviousContainersRunning()
    {
        var project = NewProject();
        var port = FreePort();
        var first = await DeployAsync(Request(project, TwoServiceStack(), "1", port));
        first.IsConverged.Should().BeTrue(first.LastError);
        var ids = first.Services.ToDictionary(s => s.Name, s => s.ContainerIds.Single());

        // The engine refuses the new worker (an unknown capability); web is not touched.
        var broken = TwoServiceStack(workerMessage: "broken").Replace("    depends_on: [web]", "    depends_on: [web]\n    cap_add: [NOT_A_CAPABILITY]", StringComparison.Ordinal);
        var status = await DeployAsync(Request(project, broken, "2", port));

        status.IsConverged.Should().BeFalse();
        status.DesiredVersion.Should().Be("2");
        status.AppliedVersion.Should().Be("1");
        status.LastError.Should().Contain("worker");
        var worker = status.Services.Single(s => s.Name == "worker");
        worker.Error.Should().Contain("NOT_A_CAPABILITY", "the engine's own message is reported");
        worker.ContainerIds.Should().Equal(ids["worker"]);
        worker.RunningReplicas.Should().Be(1);
        status.Services.Single(s => s.Name == "web").ContainerIds.Should().Equal(ids["web"]);
        (await Docker.Containers.InspectContainerAsync(ids["worker"], Ct)).Name.Should().Be($"/{project}-worker-1", "the old container got its name back");
        (await GetHttpAsync(port, "hello")).Trim().Should().Be("hello");

        // Fixing the file converges again.
        var fixedStatus = await DeployAsync(Request(project, TwoServiceStack(workerMessage: "fixed"), "3", port));
        fixedStatus.IsConverged.Should().BeTrue(fixedStatus.LastError);
        fixedStatus.Services.Single(s => s.Name == "web").ContainerIds.Should().Equal(ids["web"]);
    }

    [Fact]
    public async Task An_engine_connection_lost_while_replacing_a_container_puts_the_previous_one_back()
    {
        var project = NewProject();
        var port = FreePort();
        var first = await DeployAsync(Request(project, TwoServiceStack(), "1", port));
        first.IsConverged.Should().BeTrue(first.LastError);
        var oldWorker = first.Services.Single(s => s.Name == "worker").ContainerIds.Single();

        // The connection to the engine drops as the new worker is started (after the old one was
        // stopped and renamed); the engine itself is fine, so putting things back can work.
        var faults = new LostConnectionOnce(oldWorker);
        var manager = new StackManager(FaultyDocker.Wrap(Docker, faults), new StackStateStore(StateDirectory), TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, TimeSpan.FromSeconds(60));
        (await FluentActions.Awaiting(() => manager.DeployAsync(Request(project, TwoServiceStack(workerMessage: "changed"), "2", port), Ct))
            .Should().ThrowAsync<EdgeCommandException>()).Which.Code.Should().Be(EdgeErrorCodes.Unavailable);
        faults.Tripped.Should().BeTrue();

        var old = await Docker.Containers.InspectContainerAsync(oldWorker, Ct);
        old.State!.Running.Should().BeTrue("the previous worker runs again");
        old.Name.Should().Be($"/{project}-worker-1", "and has its name back");
        (await ContainersAsync(project)).Should().HaveCount(2, "the half-made replacement is gone");
    }

    /// <summary>Fails the first start of a container other than the given one with a lost connection.</summary>
    private sealed class LostConnectionOnce(string spared)
    {
        public bool Tripped { get; private set; }

        public bool ShouldFail(string id)
        {
            if (Tripped || id == spared)
            {
                return false;
            }

            Tripped = true;
            return true;
        }
    }

    /// <summary>An engine client that passes every call through, except a container start the faults pick.</summary>
    private class FaultyDocker : System.Reflection.DispatchProxy
    {
        private object _target = null!;
        private LostConnectionOnce _faults = null!;

        public static global::Docker.DotNet.IDockerClient Wrap(global::Docker.DotNet.IDockerClient client, LostConnectionOnce faults)
        {
            var containers = Create<global::Docker.DotNet.IContainerOperations, FaultyDocker>();
            ((FaultyDocker)(object)containers)._target = client.Containers;
            ((FaultyDocker)(object)containers)._faults = faults;
            var wrapped = Create<global::Docker.DotNet.IDockerClient, FaultyDocker>();
            ((FaultyDocker)(object)wrapped)._target = new ClientWithContainers(client, containers);
            return wrapped;
        }

        protected override object? Invoke(System.Reflection.MethodInfo? targetMethod, object?[]? args)
        {
            if (targetMethod!.Name == nameof(global::Docker.DotNet.IContainerOperations.StartContainerAsync) && args![0] is string id && _faults.ShouldFail(id))
            {
                var lost = new IOException("The connection to the engine was lost.");
                return targetMethod.ReturnType == typeof(Task<bool>) ? Task.FromException<bool>(lost) : Task.FromException(lost);
            }

            if (_target is ClientWithContainers client)
            {
                return targetMethod.Name == "get_Containers" ? client.Containers : targetMethod.Invoke(client.Inner, args);
            }

            try
            {
                return targetMethod.Invoke(_target, args);
            }
            catch (System.Reflection.TargetInvocationException ex) when (ex.InnerException is not null)
            {
                throw ex.InnerException;
            }
        }

        private sealed record ClientWithContainers(global::Docker.DotNet.IDockerClient Inner, global::Docker.DotNet.IContainerOperations Containers);
    }

    [Theory]
    [InlineData("services:\n  web:\n    image: x\n   bad: [\n", "invalid YAML")]
    [InlineData("services:\n  web:\n    image: x\n    build: .\n", "line 4: unsupported key 'services.web.build'")]
    [InlineData("services:\n  web:\n    image: x\n    environment:\n      A: ${NEEDED:?please set NEEDED}\n", "line 5: required variable NEEDED is missing a value: please set NEEDED")]
    [InlineData("services:\n  web:\n    image: x\n    ports: [\"80:80:80:80\"]\n", "line 4: invalid port")]
    public async Task InvalidFilesAreRefusedBeforeTheEngineIsTouched(string yaml, string message)
    {
        var project = NewProject();

        var act = () => DeployAsync(new StackDeployRequest { ProjectName = project, ComposeYaml = yaml, Version = "1" });

        var error = (await act.Should().ThrowAsync<EdgeCommandException>()).Which;
        error.Code.Should().Be(EdgeErrorCodes.InvalidArgument);
        error.Message.Should().Contain(message);
        (await ContainersAsync(project)).Should().BeEmpty();
        (await NetworksAsync(project)).Should().BeEmpty();
        (await VolumesAsync(project)).Should().BeEmpty();
        (await Stacks.ListAsync(cancellationToken: Ct)).Should().NotContain(s => s.ProjectName == project);
    }

    [Fact]
    public async Task AMissingImageWithPullPolicyNeverFailsBeforeAnyChange()
    {
        var project = NewProject();
        var yaml = $"services:\n  web:\n    image: {TestImage}\n  db:\n    image: edgeagent-test/does-not-exist:1\nvolumes:\n  data:\n";

        var act = () => DeployAsync(new StackDeployRequest { ProjectName = project, ComposeYaml = yaml, Version = "1", PullPolicy = StackPullPolicy.Never });

        var error = (await act.Should().ThrowAsync<EdgeCommandException>()).Which;
        error.Code.Should().Be(EdgeErrorCodes.NotFound);
        error.Message.Should().Contain("edgeagent-test/does-not-exist:1").And.Contain("never");
        (await ContainersAsync(project)).Should().BeEmpty();
        (await NetworksAsync(project)).Should().BeEmpty();
        (await VolumesAsync(project)).Should().BeEmpty();
    }

    [Fact]
    public async Task RemoveKeepsVolumesUnlessAsked()
    {
        var project = NewProject();
        var port = FreePort();
        (await DeployAsync(Request(project, TwoServiceStack(), "1", port))).IsConverged.Should().BeTrue();

        var kept = await Stacks.RemoveAsync(project, cancellationToken: Ct);
        kept.Containers.Should().BeEquivalentTo($"{project}-web-1", $"{project}-worker-1");
        kept.Networks.Should().BeEquivalentTo($"{project}_front", $"{project}_back");
        kept.Volumes.Should().BeEmpty();
        (await ContainersAsync(project)).Should().BeEmpty();
        (await NetworksAsync(project)).Should().BeEmpty();
        (await VolumesAsync(project)).Select(v => v.Name).Should().Equal($"{project}_site");
        var statusAfter = () => Stacks.GetStatusAsync(project, cancellationToken: Ct);
        (await statusAfter.Should().ThrowAsync<EdgeCommandException>()).Which.Code.Should().Be(EdgeErrorCodes.NotFound);

        // The volume kept its content: a redeployment serves the old page until web rewrites it.
        (await DeployAsync(Request(project, TwoServiceStack("again"), "2", port))).IsConverged.Should().BeTrue();
        (await GetHttpAsync(port, "again")).Trim().Should().Be("again");

        var all = await Stacks.RemoveAsync(project, removeVolumes: true, cancellationToken: Ct);
        all.Volumes.Should().Equal($"{project}_site");
        (await VolumesAsync(project)).Should().BeEmpty();
        (await ContainersAsync(project)).Should().BeEmpty();

        // Removing again removes nothing and is not an error.
        var none = await Stacks.RemoveAsync(project, removeVolumes: true, cancellationToken: Ct);
        none.Containers.Should().BeEmpty();
    }
}
