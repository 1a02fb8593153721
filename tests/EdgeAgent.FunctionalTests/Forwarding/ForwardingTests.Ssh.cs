using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

using EdgeAgent.ControlPlane;

namespace EdgeAgent.FunctionalTests.Forwarding;

public sealed partial class ForwardingTests
{
    private const string Sshd = "/usr/sbin/sshd";

    [Fact]
    public async Task The_ssh_client_runs_a_command_through_a_local_listener_to_a_real_sshd()
    {
        var ssh = FindOnPath("ssh");
        var keygen = FindOnPath("ssh-keygen");
        if (!File.Exists(Sshd) || ssh is null || keygen is null)
        {
            var reason = $"OpenSSH is not installed (need {Sshd}, ssh and ssh-keygen; bash eng/test.sh installs openssh-server and openssh-client)";
            if (IsCi)
            {
                Assert.Fail(reason);
            }

            Assert.Skip(reason);
        }

        await using var sshd = await TestSshd.StartAsync(keygen);
        await using var rig = await Rig.StartAsync(o => o.Policy.ForwardingAllowlist.Add($"127.0.0.1:{sshd.Port}"));
        await using var listener = await rig.Handle.StartTcpListenerAsync("127.0.0.1", sshd.Port);

        var (exit, stdout, stderr) = await RunAsync(
            ssh,
            "-p", listener.LocalEndPoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "-i", sshd.ClientKey,
            "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null",
            "-o", "BatchMode=yes",
            "-o", "LogLevel=ERROR",
            $"{Environment.UserName}@127.0.0.1",
            "echo through-the-tunnel");

        exit.Should().Be(0, $"ssh stderr: {stderr}; sshd log: {sshd.Log}");
        stdout.Trim().Should().Be("through-the-tunnel");
        listener.AcceptedConnections.Should().Be(1);
        await WaitUntilAsync(() => listener.ActiveConnections == 0, "the ssh connection to close");
    }

    private static bool IsCi =>
        Environment.GetEnvironmentVariable("CI") is "true" or "1" or "True"
        || Environment.GetEnvironmentVariable("EDGEAGENT_REQUIRE_DOCKER") is "1" or "true";

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':')
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);

    /// <summary>An sshd on a free loopback port with its own config, host key and authorized client key in a temp dir.</summary>
    private sealed class TestSshd : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly string _directory;
        private readonly StringBuilder _log = new();

        private TestSshd(Process process, string directory, int port)
        {
            _process = process;
            _directory = directory;
            Port = port;
            ClientKey = Path.Combine(directory, "client_key");
            _process.ErrorDataReceived += (_, e) =>
            {
                lock (_log)
                {
                    _log.AppendLine(e.Data);
                }
            };
            _process.BeginErrorReadLine();
        }

        public int Port { get; }

        public string ClientKey { get; }

        public string Log
        {
            get
            {
                lock (_log)
                {
                    return _log.ToString();
                }
            }
        }

        public static async Task<TestSshd> StartAsync(string keygen)
        {
            var directory = Directory.CreateTempSubdirectory("edgeagent-sshd-").FullName;
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }

            Directory.CreateDirectory("/run/sshd");
            var hostKey = Path.Combine(directory, "host_key");
            var clientKey = Path.Combine(directory, "client_key");
            await GenerateKeyAsync(keygen, hostKey);
            await GenerateKeyAsync(keygen, clientKey);
            File.Copy(clientKey + ".pub", Path.Combine(directory, "authorized_keys"));

            var port = FreeLoopbackPort();
            var config = Path.Combine(directory, "sshd_config");
            await File.WriteAllTextAsync(config, $"""
                Port {port}
                ListenAddress 127.0.0.1
                HostKey {hostKey}
                PidFile {Path.Combine(directory, "sshd.pid")}
                AuthorizedKeysFile {Path.Combine(directory, "authorized_keys")}
                PubkeyAuthentication yes
                PasswordAuthentication no
                KbdInteractiveAuthentication no
                PermitRootLogin prohibit-password
                UsePAM no
                StrictModes no
                """ + "\n");

            var start = new ProcessStartInfo(Sshd) { RedirectStandardError = true, UseShellExecute = false };
            foreach (var argument in new[] { "-D", "-e", "-f", config })
            {
                start.ArgumentList.Add(argument);
            }

            var process = Process.Start(start)!;
            var sshd = new TestSshd(process, directory, port);
            var deadline = DateTime.UtcNow + Deadline;
            while (true)
            {
                if (process.HasExited)
                {
                    throw new InvalidOperationException($"sshd exited with {process.ExitCode}: {sshd.Log}");
                }

                try
                {
                    using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                    await probe.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
                    return sshd;
                }
                catch (SocketException) when (DateTime.UtcNow < deadline)
                {
                    await Task.Delay(25);
                }
            }
        }

        private static async Task GenerateKeyAsync(string keygen, string path)
        {
            var (exit, _, stderr) = await RunAsync(keygen, "-q", "-t", "ed25519", "-N", "", "-f", path);
            if (exit != 0)
            {
                throw new InvalidOperationException($"ssh-keygen failed: {stderr}");
            }
        }

        private static int FreeLoopbackPort()
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            return ((IPEndPoint)socket.LocalEndPoint!).Port;
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }

            _process.Dispose();
            Directory.Delete(_directory, recursive: true);
        }
    }
}
