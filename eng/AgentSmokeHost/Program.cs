using System.Diagnostics;
using System.Globalization;
using EdgeAgent.ControlPlane;
using EdgeAgent.Eng.AgentSmokeHost;
using EdgeAgent.Protocol;
using EdgeAgent.Protocol.Contracts.Docker;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

// Usage: AgentSmokeHost [--idle-seconds N] [--settle-seconds N] [--expect-container NAME] -- <agent command> [agent arguments...]
// Prints one "smoke: ..." line per step and "footprint: ..." lines when measuring; exits 0 only when the
// agent connected and every command answered with data from the engine.
var options = SmokeOptions.Parse(args);
var builder = WebApplication.CreateSlimBuilder();
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.WebHost.UseUrls("http://127.0.0.1:0");
builder.Services.AddEdgeControlPlane(o => o.PublicUrl = "http://127.0.0.1");
var app = builder.Build();
app.MapEdgeAgents("/agent/connect");
await app.StartAsync();
var url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

var enrollment = await app.Services.GetRequiredService<IEdgeAgentEnrollment>()
    .EnrollAsync(new EnrollAgentRequest { Id = "smoke", Name = "smoke" });
var state = Directory.CreateTempSubdirectory("edgeagent-smoke-");
var start = new ProcessStartInfo(options.AgentCommand[0]) { UseShellExecute = false };
foreach (var argument in options.AgentCommand.Skip(1))
{
    start.ArgumentList.Add(argument);
}

start.Environment["CONTROL_PLANE_URL"] = url;
start.Environment["AGENT_TOKEN"] = enrollment.Token;
start.Environment["EdgeAgent__AllowInsecureTransport"] = "true";
start.Environment["EdgeAgent__StateDirectory"] = state.FullName;
start.Environment["DOTNET_gcServer"] = "0";

var exitCode = 1;
using var agentProcess = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {options.AgentCommand[0]}.");
try
{
    Console.WriteLine($"smoke: control plane {url}, agent pid {agentProcess.Id}: {string.Join(' ', options.AgentCommand)}");
    var agent = app.Services.GetRequiredService<IEdgeAgents>()["smoke"];
    var connected = Stopwatch.StartNew();
    while (!agent.IsConnected)
    {
        if (agentProcess.HasExited)
        {
            throw new InvalidOperationException($"The agent exited with code {agentProcess.ExitCode} before connecting.");
        }

        if (connected.Elapsed > TimeSpan.FromSeconds(60))
        {
            throw new TimeoutException("The agent did not connect within 60 s.");
        }

        await Task.Delay(50);
    }

    Console.WriteLine($"smoke: agent connected after {connected.ElapsedMilliseconds} ms");
    if (options.IdleSeconds > 0)
    {
        // Idle: one connection, keepalive pings both ways, nothing else asked of the agent.
        await Task.Delay(TimeSpan.FromSeconds(options.SettleSeconds));
        var before = ProcStat.Read(agentProcess.Id);
        await Task.Delay(TimeSpan.FromSeconds(options.IdleSeconds));
        var after = ProcStat.Read(agentProcess.Id);
        var cpu = (after.CpuSeconds - before.CpuSeconds) / options.IdleSeconds * 100;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"footprint: idle rss {after.RssKiB / 1024.0:F1} MiB = {after.RssKiB * 1024 / 1e6:F1} MB (anon {after.AnonKiB / 1024.0:F1} MiB, file {after.FileKiB / 1024.0:F1} MiB; peak {after.PeakRssKiB / 1024.0:F1} MiB) after {options.SettleSeconds + options.IdleSeconds} s connected; idle cpu {cpu:F3} % of one core over {options.IdleSeconds} s ({(after.CpuSeconds - before.CpuSeconds) * 1000:F0} ms); threads {after.Threads}"));
    }

    var info = await agent.System.GetInfoAsync();
    Require(info.ServerVersion.Length > 0 && info.Cpus > 0, "system.info returned no engine data");
    Console.WriteLine($"smoke: system.info: Docker {info.ServerVersion}, {info.Cpus} CPUs, {info.Containers} containers, {info.Images} images");

    var containers = await agent.Containers.ListAsync(new ContainerListRequest { All = true });
    Console.WriteLine($"smoke: containers.list: {containers.Count} containers{(containers.Count > 0 ? $", first {containers[0].Names.FirstOrDefault()} ({containers[0].State})" : "")}");
    if (options.ExpectContainer is { } expected)
    {
        var found = containers.FirstOrDefault(container => container.Names.Contains(expected));
        Require(found is { State: "running" }, $"containers.list does not show the running container {expected}");
        Console.WriteLine($"smoke: containers.list shows {expected} ({found!.Image}, {found.State})");
    }

    var images = await agent.Images.ListAsync();
    Console.WriteLine($"smoke: images.list: {images.Count} images{(images.Count > 0 ? $", e.g. {images[0].RepoTags.FirstOrDefault() ?? images[0].Id}" : "")}");

    // A record with an init-only member, read on the agent: the answer names the stack asked for.
    const string absent = "edgeagent-smoke-absent";
    try
    {
        await agent.Stacks.GetStatusAsync(absent);
        throw new InvalidOperationException($"stacks.status found the stack {absent}, which does not exist");
    }
    catch (EdgeCommandException ex) when (ex.Code == EdgeErrorCodes.NotFound && ex.Message.Contains(absent, StringComparison.Ordinal))
    {
        Console.WriteLine($"smoke: stacks.status: {ex.Code}: {ex.Message}");
    }

    // An answer built from records.
    var stacks = await agent.Stacks.ListAsync();
    Console.WriteLine($"smoke: stacks.list: {stacks.Count} stacks");

    if (options.IdleSeconds > 0)
    {
        var busy = ProcStat.Read(agentProcess.Id);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"footprint: rss after the commands {busy.RssKiB / 1024.0:F1} MiB (peak {busy.PeakRssKiB / 1024.0:F1} MiB)"));
    }

    Console.WriteLine("smoke: ok");
    exitCode = 0;
}
catch (Exception ex)
{
    Console.Error.WriteLine($"smoke: FAILED: {ex}");
}
finally
{
    if (!agentProcess.HasExited)
    {
        Signals.Terminate(agentProcess.Id);
        if (!agentProcess.WaitForExit(TimeSpan.FromSeconds(15)))
        {
            agentProcess.Kill();
        }
    }

    await app.StopAsync();
    state.Delete(recursive: true);
}

return exitCode;

static void Require(bool condition, string failure)
{
    if (!condition)
    {
        throw new InvalidOperationException(failure);
    }
}
