using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using EdgeAgent.Agent;
using EdgeAgent.ControlPlane;
using EdgeAgent.Testing.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeAgent.FunctionalTests.Forwarding;

/// <summary>
/// TCP forwarding and Docker API passthrough end to end: real Kestrel on 127.0.0.1:0, a real agent
/// host with ClientWebSocket, real loopback TCP servers (and the real docker and ssh clients).
/// </summary>
public sealed partial class ForwardingTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    /// <summary>A control plane with one connected agent.</summary>
    private sealed class Rig : IAsyncDisposable
    {
        private Rig(TestControlPlane controlPlane, TestAgent agent, string agentId)
        {
            ControlPlane = controlPlane;
            Agent = agent;
            Handle = controlPlane.Agents[agentId];
        }

        public TestControlPlane ControlPlane { get; }

        public TestAgent Agent { get; }

        public IEdgeAgent Handle { get; }

        public static async Task<Rig> StartAsync(Action<EdgeAgentOptions>? configure = null)
        {
            var controlPlane = await TestControlPlane.StartAsync();
            try
            {
                var agentId = $"fwd-{Guid.NewGuid():N}"[..16];
                var token = await controlPlane.EnrollAsync(agentId);
                var agent = await TestAgent.StartAsync(controlPlane.BaseUrl, token, configure);
                await controlPlane.WaitForStateAsync(agentId, EdgeAgentConnectionState.Connected);
                return new Rig(controlPlane, agent, agentId);
            }
            catch
            {
                await controlPlane.DisposeAsync();
                throw;
            }
        }

        public async Task<IReadOnlyList<EdgeAuditRecord>> AuditAsync()
        {
            var store = ControlPlane.Services.GetRequiredService<IEdgeAuditStore>();
            return await store.QueryAsync(new EdgeAuditQuery { AgentId = Handle.Id, PageSize = 1000 });
        }

        public async ValueTask DisposeAsync()
        {
            await Agent.DisposeAsync();
            await ControlPlane.DisposeAsync();
        }
    }

    private static Action<EdgeAgentOptions> AllowLoopback => o => o.Policy.ForwardingAllowlist.Add("127.0.0.1:1-65535");

    /// <summary>Reads until end-of-stream; fails the test past the deadline.</summary>
    private static async Task<byte[]> ReadToEndAsync(Stream stream)
    {
        using var timeout = new CancellationTokenSource(Deadline);
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, timeout.Token);
        return buffer.ToArray();
    }

    private static async Task<byte[]> ReceiveToEndAsync(Socket socket)
    {
        using var timeout = new CancellationTokenSource(Deadline);
        using var buffer = new MemoryStream();
        var chunk = new byte[64 * 1024];
        while (true)
        {
            var read = await socket.ReceiveAsync(chunk, SocketFlags.None, timeout.Token);
            if (read == 0)
            {
                return buffer.ToArray();
            }

            buffer.Write(chunk, 0, read);
        }
    }

    private static async Task<string> ReceiveStringAsync(Socket socket, int length)
    {
        using var timeout = new CancellationTokenSource(Deadline);
        var buffer = new byte[length];
        var total = 0;
        while (total < length)
        {
            var read = await socket.ReceiveAsync(buffer.AsMemory(total), SocketFlags.None, timeout.Token);
            if (read == 0)
            {
                throw new EndOfStreamException($"End of stream after {total} of {length} bytes.");
            }

            total += read;
        }

        return Encoding.ASCII.GetString(buffer);
    }

    private static async Task<string> ReadStringAsync(Stream stream, int length)
    {
        using var timeout = new CancellationTokenSource(Deadline);
        var buffer = new byte[length];
        await stream.ReadExactlyAsync(buffer, timeout.Token);
        return Encoding.ASCII.GetString(buffer);
    }

    private static async Task SendAsync(Socket socket, string text) =>
        await socket.SendAsync(Encoding.ASCII.GetBytes(text), SocketFlags.None);

    /// <summary>Polls <paramref name="condition"/> until it holds or the deadline passes.</summary>
    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out waiting for {what}.");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>Runs a process to completion; returns its exit code and output.</summary>
    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string fileName, params string[] arguments)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment.Remove("DOCKER_HOST");
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(Deadline);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} {string.Join(' ', arguments)} did not exit; stderr: {await stderr}");
        }

        return (process.ExitCode, await stdout, await stderr);
    }
}
