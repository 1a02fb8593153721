using Docker.DotNet;
using EdgeAgent.ControlPlane;
using EdgeAgent.Protocol.Contracts.Docker;
using EdgeAgent.Protocol.Contracts.Stacks;

// The quick start: a control plane and an agent in one process, talking over a real loopback
// WebSocket; a demo stack deployed to the local Docker engine; its logs followed; the fleet table.
var image = args.FirstOrDefault() ?? Environment.GetEnvironmentVariable("EDGEAGENT_DEMO_IMAGE") ?? "edgeagent-test/busybox:latest";

using (var docker = new DockerClientBuilder().Build())
{
    try
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await docker.System.PingAsync(timeout.Token);
        await docker.Images.InspectImageAsync(image, timeout.Token);
    }
    catch (DockerImageNotFoundException)
    {
        Console.Error.WriteLine($"The demo image '{image}' is not on this engine. Run 'bash eng/quickstart.sh', which builds it locally, or pass an image that has 'sh' as the first argument.");
        return 3;
    }
    catch (Exception ex) when (ex is HttpRequestException or TimeoutException or OperationCanceledException or DockerApiException or IOException or System.Net.Sockets.SocketException)
    {
        Console.Error.WriteLine("No Docker engine answers on /var/run/docker.sock (or DOCKER_HOST).");
        Console.Error.WriteLine("Get one with 'bash eng/quickstart.sh' (installs docker.io and starts dockerd on Debian, as root),");
        Console.Error.WriteLine("or install Docker Engine yourself and start it, then run this again.");
        return 2;
    }
}

// 1. The control plane, on Kestrel at 127.0.0.1 with an ephemeral port.
var web = WebApplication.CreateSlimBuilder();
web.Logging.SetMinimumLevel(LogLevel.Warning);
web.WebHost.UseUrls("http://127.0.0.1:0");
web.Services.AddEdgeControlPlane();
await using var controlPlane = web.Build();
controlPlane.MapEdgeAgents();
await controlPlane.StartAsync();
var url = controlPlane.Urls.First();
Console.WriteLine($"control plane listening on {url}");

// 2. Enroll an agent: the control plane hands out its token and run settings.
var enrollment = await controlPlane.Services.GetRequiredService<IEdgeAgentEnrollment>()
    .EnrollAsync(new EnrollAgentRequest { Id = "quickstart", Name = "Quick start agent", Labels = new Dictionary<string, string> { ["site"] = "laptop" } });
Console.WriteLine($"enrolled agent '{enrollment.AgentId}'");

// 3. The agent, as any generic host would run it. Loopback plain HTTP needs AllowInsecureTransport.
var agentBuilder = Host.CreateApplicationBuilder();
agentBuilder.Logging.SetMinimumLevel(LogLevel.Error);
agentBuilder.Services.AddEdgeAgent(o =>
    {
        o.ControlPlaneUrl = url;
        o.Token = enrollment.Token;
        o.AllowInsecureTransport = true;
        o.StateDirectory = Path.Combine(Path.GetTempPath(), "edgeagent-quickstart");
    })
    .AddDocker()
    .AddStacks();
using var agent = agentBuilder.Build();
await agent.StartAsync();
await agent.Services.GetRequiredService<EdgeAgent.Agent.IEdgeAgentConnection>().WaitUntilConnectedAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
Console.WriteLine("agent connected");

// 4. Deploy a demo stack as desired state.
var stacks = controlPlane.Services.GetRequiredService<IEdgeStacks>();
var deployed = await stacks.DeployAsync("quickstart", new StackDeployRequest
{
    ProjectName = "edgeagent-quickstart",
    Version = "1",
    PullPolicy = StackPullPolicy.Never,
    Variables = new Dictionary<string, string> { ["GREETING"] = "hello from the edge" },
    ComposeYaml = $$"""
        services:
          hello:
            image: {{image}}
            command: ["sh", "-c", "i=0; while true; do i=$$((i+1)); echo \"$${GREETING} #$$i\"; sleep 1; done"]
            environment:
              GREETING: ${GREETING}
            stop_grace_period: 1s
        """,
});
var containerId = deployed.Status!.Services.Single().ContainerIds.Single();
Console.WriteLine($"stack 'edgeagent-quickstart' version {deployed.Status.AppliedVersion} running container {containerId[..12]}");

// 5. Follow its logs for a few seconds, with flow control all the way to the engine.
var agents = controlPlane.Services.GetRequiredService<IEdgeAgents>();
using (var follow = new CancellationTokenSource(TimeSpan.FromSeconds(4)))
{
    try
    {
        await foreach (var line in agents["quickstart"].Containers.FollowLogsAsync(new ContainerLogsRequest { Id = containerId }, cancellationToken: follow.Token))
        {
            Console.WriteLine($"  [{line.Timestamp:HH:mm:ss}] {line.Text}");
        }
    }
    catch (OperationCanceledException) when (follow.IsCancellationRequested)
    {
    }
}

// 6. The fleet table.
Console.WriteLine();
Console.WriteLine($"{"AGENT",-12} {"STATE",-13} {"LAST HEARTBEAT",-25} {"CONTAINERS",10}");
foreach (var status in await controlPlane.Services.GetRequiredService<IEdgeAgentRegistry>().GetAgentsAsync())
{
    var containers = status.State == EdgeAgentConnectionState.Connected ? (await agents[status.Id].Containers.ListAsync()).Count : 0;
    Console.WriteLine($"{status.Id,-12} {status.State,-13} {status.LastHeartbeat?.ToString("u") ?? "-",-25} {containers,10}");
}

Console.WriteLine();

// 7. Remove the stack and stop.
await stacks.RemoveAsync("quickstart", "edgeagent-quickstart");
Console.WriteLine("stack removed");
await agent.StopAsync();
await controlPlane.StopAsync();
return 0;
