using Docker.DotNet.Models;
using EdgeAgent.ControlPlane;
using EdgeAgent.Protocol;
using EdgeAgent.Protocol.Contracts.Stacks;
using EdgeAgent.Testing.Docker;
using EdgeAgent.Testing.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeAgent.FunctionalTests.Stacks;

/// <summary>Desired stacks recorded on the control plane, applied by a real agent on a real engine.</summary>
[Trait("Category", "Docker")]
public sealed class DesiredStackTests
{
    private static StackDeployRequest Stack(string project, string version, string message) => new()
    {
        ProjectName = project,
        Version = version,
        PullPolicy = StackPullPolicy.Never,
        Variables = new Dictionary<string, string> { ["MESSAGE"] = message },
        ComposeYaml = $$"""
            services:
              app:
                image: {{DockerTestEnvironment.TestImage}}
                command: ["sh", "-c", "echo $${MESSAGE:-none}; sleep 3600"]
                stop_grace_period: 1s
                environment:
                  MESSAGE: ${MESSAGE}
            """,
    };

    private static async Task<IList<ContainerListResponse>> ProjectContainersAsync(Docker.DotNet.IDockerClient docker, string project) =>
        await docker.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"com.docker.compose.project={project}"] = true } },
        });

    [Fact]
    public async Task A_deployment_to_an_offline_agent_is_kept_and_applied_when_it_connects_then_removed()
    {
        using var docker = await DockerTestEnvironment.RequireAsync();
        await using var scope = new DockerTestScope(docker);
        var project = scope.Prefix;
        var state = Path.Combine(Path.GetTempPath(), "edgeagent-tests", Guid.NewGuid().ToString("N"));
        await using var controlPlane = await TestControlPlane.StartAsync();
        var token = await controlPlane.EnrollAsync("stack-agent");
        var stacks = controlPlane.Services.GetRequiredService<IEdgeStacks>();

        var pending = await stacks.DeployAsync("stack-agent", Stack(project, "v1", "hello"));
        pending.Pending.Should().BeTrue();
        (await ProjectContainersAsync(docker, project)).Should().BeEmpty();

        var applied = stacks.WaitUntilAppliedAsync("stack-agent", project);
        await using (var agent = await TestAgent.StartAsync(controlPlane.BaseUrl, token, build: a => a.AddStacks(), stateDirectory: state))
        {
            var result = await applied.WaitAsync(TimeSpan.FromSeconds(60));
            result.Pending.Should().BeFalse();
            result.Status!.AppliedVersion.Should().Be("v1");
            var containers = await ProjectContainersAsync(docker, project);
            containers.Should().ContainSingle().Which.State.Should().Be("running");
            var firstId = containers[0].ID;

            // Same version again: nothing recreated.
            var again = await stacks.DeployAsync("stack-agent", Stack(project, "v1", "hello"));
            again.Pending.Should().BeFalse();
            (await ProjectContainersAsync(docker, project)).Single().ID.Should().Be(firstId);

            // A new version applies at once while connected.
            var v2 = await stacks.DeployAsync("stack-agent", Stack(project, "v2", "changed"));
            v2.Status!.AppliedVersion.Should().Be("v2");
            (await ProjectContainersAsync(docker, project)).Single().ID.Should().NotBe(firstId);

            var invalid = await FluentActions.Awaiting(() => stacks.DeployAsync("stack-agent", Stack(project, "v3", "x") with { ComposeYaml = "services:\n  app:\n    image: x\n    bogus_key: 1\n" }))
                .Should().ThrowAsync<EdgeCommandException>();
            invalid.Which.Code.Should().Be(EdgeErrorCodes.InvalidArgument);
            invalid.Which.Message.Should().Contain("bogus_key");
            (await ProjectContainersAsync(docker, project)).Single().State.Should().Be("running", "a rejected file changes nothing");

            await stacks.DeployAsync("stack-agent", Stack(project, "v4", "final"));
        }

        // Removal recorded while offline, applied on reconnect.
        var removing = await stacks.RemoveAsync("stack-agent", project);
        removing.Removing.Should().BeTrue();
        (await ProjectContainersAsync(docker, project)).Should().NotBeEmpty();
        var removed = stacks.WaitUntilAppliedAsync("stack-agent", project);
        await using (var agent = await TestAgent.StartAsync(controlPlane.BaseUrl, token, build: a => a.AddStacks(), stateDirectory: state))
        {
            await removed.WaitAsync(TimeSpan.FromSeconds(60));
            (await ProjectContainersAsync(docker, project)).Should().BeEmpty();
            (await stacks.GetStateAsync("stack-agent", project)).Should().BeNull();
        }
    }

    [Fact]
    public async Task Desired_stacks_survive_a_control_plane_restart_on_sqlite()
    {
        using var docker = await DockerTestEnvironment.RequireAsync();
        await using var scope = new DockerTestScope(docker);
        var project = scope.Prefix;
        var database = Path.Combine(Path.GetTempPath(), "edgeagent-tests", Guid.NewGuid().ToString("N") + ".db");
        Directory.CreateDirectory(Path.GetDirectoryName(database)!);
        string token;
        await using (var first = await TestControlPlane.StartAsync(configure: cp => cp.UseSqlite($"Data Source={database}")))
        {
            token = await first.EnrollAsync("stack-sqlite");
            (await first.Services.GetRequiredService<IEdgeStacks>().DeployAsync("stack-sqlite", Stack(project, "7", "persisted"))).Pending.Should().BeTrue();
        }

        await using var second = await TestControlPlane.StartAsync(configure: cp => cp.UseSqlite($"Data Source={database}"));
        var stacks = second.Services.GetRequiredService<IEdgeStacks>();
        (await stacks.ListAsync("stack-sqlite")).Should().ContainSingle().Which.DesiredVersion.Should().Be("7");
        var applied = stacks.WaitUntilAppliedAsync("stack-sqlite", project);
        await using var agent = await TestAgent.StartAsync(second.BaseUrl, token, build: a => a.AddStacks());
        (await applied.WaitAsync(TimeSpan.FromSeconds(60))).Status!.AppliedVersion.Should().Be("7");
        (await ProjectContainersAsync(docker, project)).Should().ContainSingle();
        await stacks.RemoveAsync("stack-sqlite", project);
        (await ProjectContainersAsync(docker, project)).Should().BeEmpty();
    }
}
