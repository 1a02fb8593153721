using EdgeAgent.Protocol.Contracts.Stacks;

namespace EdgeAgent.Agent.Tests.Stacks;

/// <summary>The agent and the docker-compose CLI (v1, installed on the test machine) recognise each other's stacks.</summary>
[Trait("Category", "Docker")]
public sealed class StackComposeCliTests : StackDockerTestBase
{
    private static string Yaml(int port) => $"""
        services:
          web:
            image: {StackDockerTestBase.TestImage}
            command: ["sh", "-c", "mkdir -p /www && echo cli > /www/index.html && exec httpd -f -p 80 -h /www"]
            ports:
              - "127.0.0.1:{port}:80"
            stop_signal: SIGKILL
          worker:
            image: {StackDockerTestBase.TestImage}
            command: ["sleep", "3600"]
            stop_signal: SIGKILL
        """;

    private async Task<string> WriteComposeFileAsync(string yaml)
    {
        var folder = Path.Combine(StateDirectory, "cli");
        Directory.CreateDirectory(folder);
        var file = Path.Combine(folder, "docker-compose.yml");
        await File.WriteAllTextAsync(file, yaml, Ct);
        return file;
    }

    private static async Task<string> ComposeAsync(string file, string project, string arguments)
    {
        var (exitCode, output) = await RunAsync("docker-compose", $"-p {project} -f {file} {arguments}", Path.GetDirectoryName(file));
        exitCode.Should().Be(0, output);
        return output;
    }

    [Fact]
    public async Task ComposePsListsAStackDeployedByTheAgent()
    {
        var project = NewProject();
        var yaml = Yaml(FreePort());
        var status = await DeployAsync(new StackDeployRequest { ProjectName = project, ComposeYaml = yaml, Version = "1", PullPolicy = StackPullPolicy.Never });
        status.IsConverged.Should().BeTrue(status.LastError);

        var output = await ComposeAsync(await WriteComposeFileAsync(yaml), project, "ps");

        var rows = output.Split('\n').Where(l => l.StartsWith(project, StringComparison.Ordinal)).ToList();
        rows.Should().HaveCount(2, output);
        rows.Should().Contain(r => r.StartsWith($"{project}-web-1 ", StringComparison.Ordinal) && r.Contains("Up", StringComparison.Ordinal));
        rows.Should().Contain(r => r.StartsWith($"{project}-worker-1 ", StringComparison.Ordinal) && r.Contains("Up", StringComparison.Ordinal));

        var services = await ComposeAsync(await WriteComposeFileAsync(yaml), project, "ps --services");
        services.Should().Contain("web").And.Contain("worker");
    }

    [Fact]
    public async Task TheAgentRecognisesAStackStartedWithComposeUp()
    {
        var project = NewProject();
        var port = FreePort();
        var file = await WriteComposeFileAsync(Yaml(port));
        await ComposeAsync(file, project, "up -d");
        (await GetHttpAsync(port, "cli")).Trim().Should().Be("cli");

        var listed = (await Stacks.ListAsync(cancellationToken: Ct)).Should().ContainSingle(s => s.ProjectName == project).Which;
        listed.IsManaged.Should().BeFalse();
        listed.Services.Select(s => (s.Name, s.DesiredReplicas, s.RunningReplicas)).Should().Equal(("web", 1, 1), ("worker", 1, 1));

        var status = await Stacks.GetStatusAsync(project, cancellationToken: Ct);
        status.Should().BeEquivalentTo(listed);

        // The agent can take the stack over: the CLI's containers are replaced by the agent's.
        var deployed = await DeployAsync(new StackDeployRequest { ProjectName = project, ComposeYaml = Yaml(port), Version = "1", PullPolicy = StackPullPolicy.Never });
        deployed.IsConverged.Should().BeTrue(deployed.LastError);
        deployed.IsManaged.Should().BeTrue();
        (await ContainersAsync(project)).Select(c => c.Names[0]).Should().BeEquivalentTo($"/{project}-web-1", $"/{project}-worker-1");
        (await GetHttpAsync(port, "cli")).Trim().Should().Be("cli");

        var removed = await Stacks.RemoveAsync(project, cancellationToken: Ct);
        removed.Containers.Should().HaveCount(2);
        removed.Networks.Should().Equal($"{project}_default");
        (await ContainersAsync(project)).Should().BeEmpty();
    }
}
