using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Docker.DotNet;
using Docker.DotNet.Models;
using EdgeAgent.Agent.Stacks;
using EdgeAgent.Protocol.Docker;
using EdgeAgent.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeAgent.Agent.Tests.Stacks;

/// <summary>
/// Base of the stack tests that use the real engine: skips (or fails, with
/// <c>EDGEAGENT_REQUIRE_DOCKER=1</c>) when no engine answers, builds the local busybox test image
/// when it is missing (never pulls), and removes everything labelled with the projects a test used.
/// </summary>
public abstract class StackDockerTestBase : IAsyncLifetime
{
    public const string TestImage = "edgeagent-test/busybox:latest";

    private readonly List<string> _projects = [];
    private TunnelPair? _pair;

    protected DockerClient Docker { get; private set; } = null!;

    protected string StateDirectory { get; } = Path.Combine(Path.GetTempPath(), "edgeagent-stacks-" + Guid.NewGuid().ToString("N"));

    internal StackManager Manager { get; private set; } = null!;

    /// <summary>The stack commands through a real in-memory tunnel and the real dispatcher.</summary>
    protected StackCommands Stacks { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Docker = new DockerClientBuilder().Build();
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await Docker.System.PingAsync(timeout.Token);
        }
        catch (Exception ex) when (Environment.GetEnvironmentVariable("EDGEAGENT_REQUIRE_DOCKER") != "1")
        {
            Assert.Skip($"No Docker engine ({ex.GetType().Name}): run bash eng/test.sh");
        }

        await EnsureTestImageAsync();
        Manager = CreateManager();
        _pair = await TunnelPair.StartAsync(StackRemoveHandler.All(Manager), timeout: TimeSpan.FromMinutes(2));
        Stacks = new StackCommands(_pair.Invoker);
    }

    public async ValueTask DisposeAsync()
    {
        if (_pair is not null)
        {
            await _pair.DisposeAsync();
        }

        foreach (var project in _projects)
        {
            await CleanUpAsync(project);
        }

        Docker?.Dispose();
        if (Directory.Exists(StateDirectory))
        {
            Directory.Delete(StateDirectory, recursive: true);
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>A new manager over the same state directory (an agent restart).</summary>
    internal StackManager CreateManager() =>
        new(Docker, new StackStateStore(StateDirectory), TimeProvider.System, NullLogger.Instance, TimeSpan.FromSeconds(60));

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Deploys through the tunnel.</summary>
    protected Task<EdgeAgent.Protocol.Contracts.Stacks.StackStatus> DeployAsync(EdgeAgent.Protocol.Contracts.Stacks.StackDeployRequest request) =>
        Stacks.DeployAsync(request, cancellationToken: Ct);

    /// <summary>A unique project name, cleaned up after the test.</summary>
    protected string NewProject()
    {
        var name = "edgetest-" + Guid.NewGuid().ToString("N")[..10];
        _projects.Add(name);
        return name;
    }

    protected static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    protected async Task<IList<ContainerListResponse>> ContainersAsync(string project) =>
        await Docker.Containers.ListContainersAsync(
            new ContainersListParameters { All = true, Filters = Filter($"com.docker.compose.project={project}") });

    protected async Task<IList<NetworkResponse>> NetworksAsync(string project) =>
        await Docker.Networks.ListNetworksAsync(new NetworksListParameters { Filters = Filter($"com.docker.compose.project={project}") });

    protected async Task<IList<VolumeResponse>> VolumesAsync(string project) =>
        (await Docker.Volumes.ListAsync(new VolumesListParameters { Filters = Filter($"com.docker.compose.project={project}") })).Volumes ?? [];

    /// <summary>Polls an HTTP endpoint until it answers, up to a deadline.</summary>
    protected static async Task<string> GetHttpAsync(int port, string expectedContent)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        var last = "";
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                last = await http.GetStringAsync($"http://127.0.0.1:{port}/");
                if (last.Contains(expectedContent, StringComparison.Ordinal))
                {
                    return last;
                }
            }
            catch (HttpRequestException ex)
            {
                last = ex.Message;
            }

            await Task.Delay(200);
        }

        throw new Xunit.Sdk.XunitException($"No HTTP answer containing '{expectedContent}' on port {port}: {last}");
    }

    /// <summary>Runs a process and returns its exit code and output.</summary>
    protected static async Task<(int ExitCode, string Output)> RunAsync(string file, string arguments, string? workingDirectory = null)
    {
        var start = new ProcessStartInfo(file, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    private static Dictionary<string, IDictionary<string, bool>> Filter(string label) =>
        new() { ["label"] = new Dictionary<string, bool> { [label] = true } };

    private async Task CleanUpAsync(string project)
    {
        foreach (var container in await ContainersAsync(project))
        {
            await Docker.Containers.RemoveContainerAsync(container.ID, new ContainerRemoveParameters { Force = true, RemoveVolumes = true });
        }

        foreach (var network in await NetworksAsync(project))
        {
            await Docker.Networks.DeleteNetworkAsync(network.ID);
        }

        foreach (var volume in await VolumesAsync(project))
        {
            await Docker.Volumes.RemoveAsync(volume.Name, true);
        }
    }

    /// <summary>Builds the busybox test image from the host's busybox-static when the engine lacks it.</summary>
    private async Task EnsureTestImageAsync()
    {
        try
        {
            await Docker.Images.InspectImageAsync(TestImage);
            return;
        }
        catch (DockerImageNotFoundException)
        {
        }

        const string script = """
            set -e
            root=$(mktemp -d)
            trap 'rm -rf "$root"' EXIT
            mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/www"
            cp /bin/busybox "$root/bin/busybox"
            for applet in $(/bin/busybox --list); do [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"; done
            printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$root/etc/passwd"
            printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"
            chmod 1777 "$root/tmp"
            tar -C "$root" -c . | docker import --change 'CMD ["/bin/sh"]' - edgeagent-test/busybox:latest
            """;
        var file = Path.Combine(Path.GetTempPath(), $"edgeagent-image-{Guid.NewGuid():N}.sh");
        await File.WriteAllTextAsync(file, script);
        try
        {
            var (exitCode, output) = await RunAsync("bash", file);
            exitCode.Should().Be(0, output);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
