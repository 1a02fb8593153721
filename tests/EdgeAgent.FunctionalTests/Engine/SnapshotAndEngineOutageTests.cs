using System.Diagnostics;
using Docker.DotNet;
using Docker.DotNet.Models;
using EdgeAgent.Agent;
using EdgeAgent.ControlPlane;
using EdgeAgent.Protocol;
using EdgeAgent.Protocol.Contracts.Docker;
using EdgeAgent.Testing.Docker;
using EdgeAgent.Testing.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeAgent.FunctionalTests.Engine;

/// <summary>Status snapshots at the control plane, and an agent whose engine goes away and comes back.</summary>
[Trait("Category", "Docker")]
public sealed class SnapshotAndEngineOutageTests
{
    private static async Task<AgentSnapshot> WaitForSnapshotAsync(TestControlPlane controlPlane, string agentId, Func<AgentSnapshot, bool> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (true)
        {
            if ((await controlPlane.Registry.GetAgentAsync(agentId))?.Snapshot is AgentSnapshot snapshot && condition(snapshot))
            {
                return snapshot;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("The control plane did not receive the expected snapshot in time.");
            }

            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task Control_plane_sees_a_container_stopped_outside_the_sdk_within_seconds()
    {
        using var docker = await DockerTestEnvironment.RequireAsync();
        await using var scope = new DockerTestScope(docker);
        var created = await docker.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Image = DockerTestEnvironment.TestImage,
            Name = scope.Name("snap"),
            Cmd = ["sleep", "3600"],
            Labels = scope.Labels,
            StopTimeout = TimeSpan.FromSeconds(1),
        });
        await docker.Containers.StartContainerAsync(created.ID, new ContainerStartParameters());

        await using var controlPlane = await TestControlPlane.StartAsync();
        var token = await controlPlane.EnrollAsync("snap-agent");
        await using var agent = await TestAgent.StartAsync(controlPlane.BaseUrl, token, build: a => a.AddDocker());
        var first = await WaitForSnapshotAsync(controlPlane, "snap-agent", s => s.Containers.Any(c => c.Id == created.ID && c.State == "running"));
        first.EngineReachable.Should().BeTrue();
        first.Host.Hostname.Should().NotBeEmpty();
        (await controlPlane.Registry.GetAgentAsync("snap-agent"))!.Info!.EngineVersion.Should().NotBeEmpty("the handshake carries the engine version");

        // Stopped by the engine's own API, not through the SDK: the engine's events make it visible.
        await docker.Containers.StopContainerAsync(created.ID, new ContainerStopParameters { WaitBeforeKillSeconds = 1 });
        var changed = await WaitForSnapshotAsync(controlPlane, "snap-agent", s => s.Containers.Any(c => c.Id == created.ID && c.State == "exited"), TimeSpan.FromSeconds(10));
        changed.Hash.Should().NotBe(first.Hash);
    }

    [Fact]
    public async Task Agent_stays_connected_while_its_engine_is_down_and_recovers_when_it_returns()
    {
        using var docker = await DockerTestEnvironment.RequireAsync();
        await using var engine = await PrivateDockerd.StartAsync();
        await using var controlPlane = await TestControlPlane.StartAsync();
        var token = await controlPlane.EnrollAsync("outage-agent");
        await using var agent = await TestAgent.StartAsync(controlPlane.BaseUrl, token, o => o.DockerEndpoint = engine.Endpoint, build: a => a.AddDocker());
        var handle = controlPlane.Agents["outage-agent"];
        await handle.System.PingAsync();
        await WaitForSnapshotAsync(controlPlane, "outage-agent", s => s.EngineReachable);

        await engine.StopAsync();
        var down = await FluentActions.Awaiting(() => handle.System.PingAsync()).Should().ThrowAsync<EdgeCommandException>();
        down.Which.Code.Should().Be(EdgeErrorCodes.Unavailable);
        await WaitForSnapshotAsync(controlPlane, "outage-agent", s => !s.EngineReachable, TimeSpan.FromSeconds(60));
        agent.Connection.State.Should().Be(EdgeAgentState.Connected, "the tunnel does not depend on the engine");
        controlPlane.Registry.IsConnected("outage-agent").Should().BeTrue();

        await engine.StartAgainAsync();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            try
            {
                await handle.System.PingAsync();
                break;
            }
            catch (EdgeCommandException ex) when (ex.Code == EdgeErrorCodes.Unavailable && DateTime.UtcNow < deadline)
            {
                await Task.Delay(200);
            }
        }

        await WaitForSnapshotAsync(controlPlane, "outage-agent", s => s.EngineReachable, TimeSpan.FromSeconds(60));
    }

    /// <summary>
    /// A second dockerd with its own socket, data and exec roots, in its own network namespace and
    /// without a bridge, so starting and stopping it cannot disturb the shared engine other tests
    /// use (a dockerd started with <c>--bridge none</c> deletes <c>docker0</c> in its namespace).
    /// </summary>
    private sealed class PrivateDockerd : IAsyncDisposable
    {
        private readonly string _root;
        private Process? _process;

        private PrivateDockerd(string root)
        {
            _root = root;
        }

        public string Endpoint => $"unix://{Socket}";

        private string Socket => Path.Combine(_root, "docker.sock");

        public static async Task<PrivateDockerd> StartAsync()
        {
            var root = Path.Combine("/tmp", "eadockerd-" + Guid.NewGuid().ToString("N")[..8]);
            Directory.CreateDirectory(root);
            var engine = new PrivateDockerd(root);
            await engine.StartAgainAsync();
            return engine;
        }

        public async Task StartAgainAsync()
        {
            var dockerd = new[] { "/usr/bin/dockerd", "/usr/sbin/dockerd", "/usr/local/bin/dockerd" }.FirstOrDefault(File.Exists)
                ?? throw new InvalidOperationException("dockerd is not installed (eng/test.sh installs docker.io).");
            var info = new ProcessStartInfo("unshare",
            [
                "--net", dockerd, "--host", Endpoint, "--data-root", Path.Combine(_root, "data"), "--exec-root", Path.Combine(_root, "exec"),
                "--pidfile", Path.Combine(_root, "docker.pid"), "--bridge", "none", "--iptables=false", "--ip-masq=false",
                "--storage-driver", "vfs",
            ])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            File.Delete(Path.Combine(_root, "docker.pid"));
            _process?.Dispose();
            _process = Process.Start(info)!;
            _process.OutputDataReceived += (_, _) => { };
            _process.ErrorDataReceived += (_, _) => { };
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
            using var client = new DockerClientBuilder().WithEndpoint(new Uri(Endpoint)).Build();
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (true)
            {
                try
                {
                    using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                    await client.System.PingAsync(timeout.Token);
                    return;
                }
                catch (Exception ex) when (ex is HttpRequestException or IOException or OperationCanceledException or System.Net.Sockets.SocketException or DockerApiException)
                {
                    if (DateTime.UtcNow > deadline || _process.HasExited)
                    {
                        throw new InvalidOperationException($"The private dockerd did not start (exited: {_process.HasExited}).", ex);
                    }

                    await Task.Delay(100);
                }
            }
        }

        public async Task StopAsync()
        {
            if (_process is { HasExited: false })
            {
                // SIGTERM: dockerd stops its containerd and removes its pid file and socket.
                using (var term = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
                {
                    await term!.WaitForExitAsync();
                }

                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                try
                {
                    await _process.WaitForExitAsync(timeout.Token);
                }
                catch (OperationCanceledException)
                {
                    _process.Kill(entireProcessTree: true);
                    await _process.WaitForExitAsync();
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            await StopAsync();
            _process?.Dispose();
            try
            {
                Directory.Delete(_root, recursive: true);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }
}
