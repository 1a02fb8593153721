using System.Net;
using System.Text;
using Docker.DotNet;
using Docker.DotNet.Models;
using EdgeAgent.Testing.Docker;

namespace EdgeAgent.Agent.Tests.Docker;

/// <summary>
/// Proves that the machine's Docker engine does what the agent's Docker tests rely on: it answers,
/// it has the local test image, containers run and their logs read back, published ports answer.
/// </summary>
[Trait("Category", "Docker")]
public sealed class DockerSmokeTests
{
    private static readonly TimeSpan HttpWaitLimit = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Engine_reports_its_version()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = await DockerTestEnvironment.RequireAsync(ct);

        var version = await client.System.GetVersionAsync(ct);

        version.Version.Should().NotBeNullOrWhiteSpace();
        version.APIVersion.Should().NotBeNullOrWhiteSpace();
        version.Os.Should().Be("linux");
    }

    [Fact]
    public async Task Test_image_exists_locally()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = await DockerTestEnvironment.RequireAsync(ct);

        var image = await client.Images.InspectImageAsync(DockerTestEnvironment.TestImage, ct);

        image.RepoTags.Should().Contain(DockerTestEnvironment.TestImage);
        image.Config.Should().NotBeNull();
        image.Config!.Cmd.Should().Equal("/bin/sh");
    }

    [Fact]
    public async Task Container_output_is_read_back_from_the_multiplexed_log_stream()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = await DockerTestEnvironment.RequireAsync(ct);
        await using var scope = new DockerTestScope(client);

        var created = await client.Containers.CreateContainerAsync(
            new CreateContainerParameters
            {
                Name = scope.Name("echo"),
                Image = DockerTestEnvironment.TestImage,
                Labels = scope.Labels,
                Cmd = ["sh", "-c", "echo hello from stdout; echo hello from stderr >&2; echo second line"],
            },
            ct);
        await client.Containers.StartContainerAsync(created.ID, new ContainerStartParameters(), ct);
        var exit = await client.Containers.WaitContainerAsync(created.ID, ct);

        exit.StatusCode.Should().Be(0);
        using var logs = await client.Containers.GetContainerLogsAsync(
            created.ID, new ContainerLogsParameters { ShowStdout = true, ShowStderr = true }, ct);
        var (stdout, stderr) = await ReadAllAsync(logs, ct);
        stdout.Should().Be("hello from stdout\nsecond line\n");
        stderr.Should().Be("hello from stderr\n");
    }

    [Fact]
    public async Task Httpd_with_a_published_port_answers_on_loopback()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = await DockerTestEnvironment.RequireAsync(ct);
        await using var scope = new DockerTestScope(client);

        var created = await client.Containers.CreateContainerAsync(
            new CreateContainerParameters
            {
                Name = scope.Name("httpd"),
                Image = DockerTestEnvironment.TestImage,
                Labels = scope.Labels,
                Cmd = ["sh", "-c", $"mkdir -p /www && echo {scope.Prefix} > /www/index.html && exec httpd -f -p 80 -h /www"],
                ExposedPorts = new Dictionary<string, EmptyStruct> { ["80/tcp"] = default },
                HostConfig = new HostConfig
                {
                    PortBindings = new Dictionary<string, IList<PortBinding>>
                    {
                        ["80/tcp"] = [new PortBinding { HostIP = "127.0.0.1", HostPort = "0" }],
                    },
                },
            },
            ct);
        await client.Containers.StartContainerAsync(created.ID, new ContainerStartParameters(), ct);

        var inspected = await client.Containers.InspectContainerAsync(created.ID, ct);
        var binding = inspected.NetworkSettings!.Ports["80/tcp"].Should().ContainSingle().Subject;
        binding.HostIP.Should().Be("127.0.0.1");
        var port = int.Parse(binding.HostPort, System.Globalization.CultureInfo.InvariantCulture);
        port.Should().BePositive();

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var body = await GetWhenListeningAsync(http, new Uri($"http://127.0.0.1:{port}/index.html"), ct);
        body.Should().Be(scope.Prefix + "\n");
    }

    [Fact]
    public async Task Named_volume_user_network_and_exec_work()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = await DockerTestEnvironment.RequireAsync(ct);
        await using var scope = new DockerTestScope(client);

        var volume = await client.Volumes.CreateAsync(
            new VolumesCreateParameters { Name = scope.Name("data"), Labels = scope.Labels }, ct);
        await client.Networks.CreateNetworkAsync(
            new NetworksCreateParameters { Name = scope.Name("net"), Driver = "bridge", Labels = scope.Labels }, ct);
        var serverName = scope.Name("server");
        var server = await client.Containers.CreateContainerAsync(
            new CreateContainerParameters
            {
                Name = serverName,
                Image = DockerTestEnvironment.TestImage,
                Labels = scope.Labels,
                Cmd = ["httpd", "-f", "-p", "80", "-h", "/data"],
                HostConfig = new HostConfig
                {
                    NetworkMode = scope.Name("net"),
                    Mounts = [new Mount { Type = "volume", Source = volume.Name, Target = "/data" }],
                },
            },
            ct);
        await client.Containers.StartContainerAsync(server.ID, new ContainerStartParameters(), ct);

        var (writeExit, _, _) = await ExecAsync(client, server.ID, ["sh", "-c", $"echo {scope.Prefix} > /data/index.html"], ct);
        writeExit.Should().Be(0);
        var (readExit, readOut, _) = await ExecAsync(client, server.ID, ["cat", "/data/index.html"], ct);
        readExit.Should().Be(0);
        readOut.Should().Be(scope.Prefix + "\n");

        // A second container on the same user-defined network reaches the first by name.
        var clientContainer = await client.Containers.CreateContainerAsync(
            new CreateContainerParameters
            {
                Name = scope.Name("client"),
                Image = DockerTestEnvironment.TestImage,
                Labels = scope.Labels,
                Cmd = ["sh", "-c", $"for i in $(seq 1 50); do timeout 5 wget -q -O - http://{serverName}/ && exit 0; sleep 0.2; done; exit 1"],
                HostConfig = new HostConfig { NetworkMode = scope.Name("net") },
            },
            ct);
        await client.Containers.StartContainerAsync(clientContainer.ID, new ContainerStartParameters(), ct);
        var clientExit = await client.Containers.WaitContainerAsync(clientContainer.ID, ct);
        using var clientLogs = await client.Containers.GetContainerLogsAsync(
            clientContainer.ID, new ContainerLogsParameters { ShowStdout = true, ShowStderr = true }, ct);
        var (clientOut, clientErr) = await ReadAllAsync(clientLogs, ct);

        clientExit.StatusCode.Should().Be(0, "the client's stderr was: {0}", clientErr);
        clientOut.Should().Be(scope.Prefix + "\n");
    }

    [Fact]
    public async Task Scope_cleanup_removes_what_the_test_created()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = await DockerTestEnvironment.RequireAsync(ct);
        var scope = new DockerTestScope(client);
        await client.Volumes.CreateAsync(new VolumesCreateParameters { Name = scope.Name("v"), Labels = scope.Labels }, ct);
        await client.Networks.CreateNetworkAsync(new NetworksCreateParameters { Name = scope.Name("n"), Labels = scope.Labels }, ct);
        // Unlabelled, as a compose project named after the scope would be: found by its name prefix.
        await client.Containers.CreateContainerAsync(
            new CreateContainerParameters { Name = scope.Name("c"), Image = DockerTestEnvironment.TestImage, Cmd = ["true"] }, ct);

        await scope.DisposeAsync();

        var filter = new Dictionary<string, IDictionary<string, bool>> { ["name"] = new Dictionary<string, bool> { [scope.Prefix] = true } };
        (await client.Containers.ListContainersAsync(new ContainersListParameters { All = true, Filters = filter }, ct)).Should().BeEmpty();
        (await client.Networks.ListNetworksAsync(new NetworksListParameters { Filters = filter }, ct)).Should().BeEmpty();
        (await client.Volumes.ListAsync(new VolumesListParameters { Filters = filter }, ct)).Volumes.Should().BeNullOrEmpty();
    }

    private static async Task<(string Stdout, string Stderr)> ReadAllAsync(MultiplexedStream stream, CancellationToken ct)
    {
        var stdout = new MemoryStream();
        var stderr = new MemoryStream();
        var buffer = new byte[4096];
        while (true)
        {
            var read = await stream.ReadOutputAsync(buffer, 0, buffer.Length, ct);
            if (read.EOF)
            {
                break;
            }

            var target = read.Target == MultiplexedStream.TargetStream.StandardError ? stderr : stdout;
            target.Write(buffer, 0, read.Count);
        }

        return (Encoding.UTF8.GetString(stdout.ToArray()), Encoding.UTF8.GetString(stderr.ToArray()));
    }

    private static async Task<(long ExitCode, string Stdout, string Stderr)> ExecAsync(
        DockerClient client, string containerId, IList<string> cmd, CancellationToken ct)
    {
        var exec = await client.Exec.CreateContainerExecAsync(
            containerId, new ContainerExecCreateParameters { Cmd = cmd, AttachStdout = true, AttachStderr = true }, ct);
        using var stream = await client.Exec.StartContainerExecAsync(exec.ID, new ContainerExecStartParameters(), ct);
        var (stdout, stderr) = await ReadAllAsync(stream, ct);
        var inspected = await client.Exec.InspectContainerExecAsync(exec.ID, ct);
        inspected.Running.Should().BeFalse();
        return (inspected.ExitCode ?? -1, stdout, stderr);
    }

    /// <summary>Polls until the server accepts the connection (httpd starts after the container does).</summary>
    private static async Task<string> GetWhenListeningAsync(HttpClient http, Uri uri, CancellationToken ct)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(HttpWaitLimit);
        while (true)
        {
            try
            {
                using var response = await http.GetAsync(uri, limit.Token);
                response.StatusCode.Should().Be(HttpStatusCode.OK);
                return await response.Content.ReadAsStringAsync(limit.Token);
            }
            catch (HttpRequestException) when (!limit.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100), limit.Token);
            }
        }
    }
}
