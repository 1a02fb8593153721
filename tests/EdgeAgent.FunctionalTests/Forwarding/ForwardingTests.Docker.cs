using System.Net;
using Docker.DotNet.Models;
using EdgeAgent.Agent;
using EdgeAgent.Protocol;
using EdgeAgent.Testing.Docker;

using EdgeAgent.ControlPlane;

namespace EdgeAgent.FunctionalTests.Forwarding;

public sealed partial class ForwardingTests
{
    private const string DockerCli = "docker";

    [Fact]
    public async Task Docker_api_passthrough_is_off_by_default_and_denied_naming_the_setting()
    {
        await using var rig = await Rig.StartAsync();

        var denied = await FluentActions.Awaiting(() => rig.Handle.OpenDockerApiStreamAsync()).Should().ThrowAsync<EdgeCommandException>();
        denied.Which.Code.Should().Be(EdgeErrorCodes.Denied);
        denied.Which.Message.Should().Contain("Policy:DockerApiPassthrough=Off");

        // Through a local listener an HTTP client gets the refusal as an HTTP error in the engine's shape.
        await using var listener = await rig.Handle.StartDockerApiListenerAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{listener.LocalEndPoint.Port}") };
        using var response = await http.GetAsync("/_ping");
        response.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await response.Content.ReadAsStringAsync()).Should().StartWith("{\"message\":").And.Contain("Policy:DockerApiPassthrough=Off");
        (await rig.AuditAsync()).Should().Contain(r => r.Command == "forward.docker" && r.Outcome == EdgeErrorCodes.Denied);
    }

    [Fact]
    [Trait("Category", "Docker")]
    public async Task Docker_cli_lists_the_agents_containers_through_a_full_passthrough_listener()
    {
        using var docker = await DockerTestEnvironment.RequireAsync();
        await using var scope = new DockerTestScope(docker);
        var name = scope.Name("listed");
        await docker.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Image = DockerTestEnvironment.TestImage, Name = name, Labels = scope.Labels, Cmd = ["true"],
        });
        await using var rig = await Rig.StartAsync(o => o.Policy.DockerApiPassthrough = DockerApiPassthrough.Full);
        await using var listener = await rig.Handle.StartDockerApiListenerAsync();
        var host = $"tcp://127.0.0.1:{listener.LocalEndPoint.Port}";

        var (exit, stdout, stderr) = await RunAsync(DockerCli, "-H", host, "ps", "-a", "--filter", $"label={DockerTestEnvironment.ScopeLabel}={scope.Prefix}", "--format", "{{.Names}}");

        exit.Should().Be(0, stderr);
        stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().Equal(name);
        listener.FailedConnections.Should().Be(0);
    }

    [Fact]
    [Trait("Category", "Docker")]
    public async Task Read_only_passthrough_lets_docker_ps_through_and_refuses_a_write_with_the_403_message()
    {
        using var docker = await DockerTestEnvironment.RequireAsync();
        await using var scope = new DockerTestScope(docker);
        var name = scope.Name("ro");
        await docker.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Image = DockerTestEnvironment.TestImage, Name = name, Labels = scope.Labels, Cmd = ["true"],
        });
        await using var rig = await Rig.StartAsync(o => o.Policy.DockerApiPassthrough = DockerApiPassthrough.ReadOnly);
        await using var listener = await rig.Handle.StartDockerApiListenerAsync();
        var host = $"tcp://127.0.0.1:{listener.LocalEndPoint.Port}";

        var ps = await RunAsync(DockerCli, "-H", host, "ps", "-a", "--filter", $"label={DockerTestEnvironment.ScopeLabel}={scope.Prefix}", "--format", "{{.Names}}");
        ps.ExitCode.Should().Be(0, ps.Stderr);
        ps.Stdout.Trim().Should().Be(name);

        var volume = scope.Name("vol");
        var create = await RunAsync(DockerCli, "-H", host, "volume", "create", "--label", $"{DockerTestEnvironment.ScopeLabel}={scope.Prefix}", volume);
        create.ExitCode.Should().NotBe(0);
        create.Stderr.Should().Contain("read-only").And.Contain("Policy:DockerApiPassthrough=ReadOnly").And.Contain("POST");
        var volumes = await docker.Volumes.ListAsync(new VolumesListParameters());
        (volumes.Volumes ?? []).Should().NotContain(v => v.Name == volume, "the refused request never reached the engine");

        // The connection refused a write; a new one works again.
        var again = await RunAsync(DockerCli, "-H", host, "ps", "-a", "--filter", $"label={DockerTestEnvironment.ScopeLabel}={scope.Prefix}", "--format", "{{.Names}}");
        again.ExitCode.Should().Be(0, again.Stderr);
    }

    [Fact]
    [Trait("Category", "Docker")]
    public async Task A_containers_http_port_is_fetched_through_a_local_listener()
    {
        using var docker = await DockerTestEnvironment.RequireAsync();
        await using var scope = new DockerTestScope(docker);
        var created = await docker.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Image = DockerTestEnvironment.TestImage,
            Name = scope.Name("web"),
            Labels = scope.Labels,
            Cmd = ["sh", "-c", "mkdir -p /www && echo through-the-tunnel > /www/index.html && exec httpd -f -p 80 -h /www"],
            ExposedPorts = new Dictionary<string, EmptyStruct> { ["80/tcp"] = default },
            HostConfig = new HostConfig
            {
                PortBindings = new Dictionary<string, IList<PortBinding>> { ["80/tcp"] = [new PortBinding { HostIP = "127.0.0.1", HostPort = "" }] },
            },
        });
        await docker.Containers.StartContainerAsync(created.ID, new ContainerStartParameters());
        var inspect = await docker.Containers.InspectContainerAsync(created.ID);
        var hostPort = int.Parse(inspect.NetworkSettings!.Ports!["80/tcp"]![0].HostPort, System.Globalization.CultureInfo.InvariantCulture);

        await using var rig = await Rig.StartAsync(o => o.Policy.ForwardingAllowlist.Add($"127.0.0.1:{hostPort}"));
        await using var listener = await rig.Handle.StartTcpListenerAsync("127.0.0.1", hostPort);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{listener.LocalEndPoint.Port}") };

        // httpd may take a moment to listen: poll until it answers.
        var deadline = DateTime.UtcNow + Deadline;
        string? body = null;
        while (body is null)
        {
            try
            {
                body = await http.GetStringAsync("/index.html");
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
        }

        body.Trim().Should().Be("through-the-tunnel");
    }
}
