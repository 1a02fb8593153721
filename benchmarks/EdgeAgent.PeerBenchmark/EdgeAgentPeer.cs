using System.Net;
using EdgeAgent.Agent;
using EdgeAgent.ControlPlane;
using EdgeAgent.ControlPlane.Registry;
using EdgeAgent.Protocol.Rpc;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EdgeAgent.PeerBenchmark;

/// <summary>
/// EdgeAgent: the control plane (server) on Kestrel and one agent (client) with the real
/// connector, both with default options except plain ws:// on loopback. Commands go through the
/// full public path (<c>IEdgeAgents[id].InvokeAsync</c>: authorization gate, audit, idempotency
/// key and the agent's idempotency cache). The upload is a duplex command: the control plane
/// opens it, the agent writes the bytes into the stream, so the data flows client → server
/// on one flow-controlled channel, as SignalR's client-to-server stream does.
/// </summary>
internal sealed class EdgeAgentPeer : IPeer
{
    private const string AgentId = "peer";

    private readonly WebApplication _server;
    private readonly IHost _agent;
    private readonly IEdgeAgent _handle;
    private readonly bool _protocolOnly;
    private readonly AgentRegistry _registry;

    private EdgeAgentPeer(WebApplication server, IHost agent, bool protocolOnly)
    {
        _server = server;
        _agent = agent;
        _protocolOnly = protocolOnly;
        _handle = server.Services.GetRequiredService<IEdgeAgents>()[AgentId];
        _registry = server.Services.GetRequiredService<AgentRegistry>();
    }

    /// <summary>
    /// "EdgeAgent" is the full public path (the headline). "EdgeAgent (protocol only)" sends the
    /// same command on the same session with the internal <see cref="RpcClient"/> and no
    /// idempotency key: no authorization gate, digest, key, audit record or metrics on the
    /// control plane, no idempotency cache on the agent (its policy filter still runs). It
    /// separates what the tunnel costs from what the product guarantees cost.
    /// </summary>
    public string Name => _protocolOnly ? ProtocolOnlyName : "EdgeAgent";

    public const string ProtocolOnlyName = "EdgeAgent (protocol only)";

    public static async Task<EdgeAgentPeer> StartAsync(string stateDirectory, bool protocolOnly = false, int? connectionWindow = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Services.AddEdgeControlPlane(o =>
        {
            o.HandshakesPerSecondPerAddress = 0;
            o.ConnectionWindow = connectionWindow ?? o.ConnectionWindow;
        });
        var server = builder.Build();
        server.MapEdgeAgents();
        await server.StartAsync();
        var url = server.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var token = (await server.Services.GetRequiredService<IEdgeAgentEnrollment>().EnrollAsync(new EnrollAgentRequest { Id = AgentId })).Token;

        var agentBuilder = Host.CreateApplicationBuilder();
        agentBuilder.Logging.ClearProviders();
        agentBuilder.Services.AddEdgeAgent(o =>
        {
            o.ControlPlaneUrl = url;
            o.Token = token;
            o.AllowInsecureTransport = true;
            o.StateDirectory = stateDirectory;
            o.ConnectionWindow = connectionWindow ?? o.ConnectionWindow;
        })
        .AddCommandHandler<EchoHandler>()
        .AddCommandHandler<UploadHandler>();
        var agent = agentBuilder.Build();
        await agent.StartAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await agent.Services.GetRequiredService<IEdgeAgentConnection>().WaitUntilConnectedAsync(timeout.Token);
        var peer = new EdgeAgentPeer(server, agent, protocolOnly);
        while (!peer._handle.IsConnected)
        {
            await Task.Delay(10, timeout.Token);
        }

        return peer;
    }

    public Task<PeerResponse> InvokeAsync(PeerRequest request, CancellationToken cancellationToken) =>
        _protocolOnly
            ? InvokeProtocolOnlyAsync(request, cancellationToken)
            : _handle.InvokeAsync<PeerRequest, PeerResponse>(EchoHandler.CommandName, request, cancellationToken: cancellationToken);

    private async Task<PeerResponse> InvokeProtocolOnlyAsync(PeerRequest request, CancellationToken cancellationToken)
    {
        var session = _registry.GetSession(AgentId) ?? throw new InvalidOperationException("The agent is not connected.");
        var result = await RpcClient.InvokeAsync(session, new RpcCallOptions(EchoHandler.CommandName, "", TimeSpan.FromSeconds(30)), ContractSerializer.Serialize(request), TimeProvider.System, cancellationToken);
        return ContractSerializer.DeserializeResponse<PeerResponse>(result, EchoHandler.CommandName);
    }

    public async Task<long> UploadAsync(long totalBytes, int chunkSize, CancellationToken cancellationToken)
    {
        await using var stream = await _handle.OpenStreamAsync(UploadHandler.CommandName, new UploadRequest { TotalBytes = totalBytes, ChunkSize = chunkSize }, cancellationToken: cancellationToken);
        var buffer = new byte[256 * 1024];
        long received = 0;
        int read;
        while ((read = await stream.ReadAsync(buffer, cancellationToken)) > 0)
        {
            received += read;
            UploadMeter.Add(read);
        }

        return received;
    }

    public async ValueTask DisposeAsync()
    {
        await _agent.StopAsync(TimeSpan.FromSeconds(5));
        _agent.Dispose();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _server.StopAsync(timeout.Token);
        await _server.DisposeAsync();
    }

    private sealed class EchoHandler : EdgeCommandHandler<PeerRequest, PeerResponse>
    {
        public const string CommandName = "peer.echo";

        public override string Name => CommandName;

        public override ValueTask<PeerResponse> HandleAsync(PeerRequest request, EdgeCommandContext context) =>
            ValueTask.FromResult(new PeerResponse { Payload = request.Payload });
    }

    private sealed class UploadHandler : EdgeDuplexCommandHandler<UploadRequest>
    {
        public const string CommandName = "peer.upload";

        public override string Name => CommandName;

        public override async ValueTask HandleAsync(UploadRequest request, EdgeCommandContext context)
        {
            await using var stream = await context.AcceptStreamAsync();
            var chunk = new byte[request.ChunkSize];
            for (var left = request.TotalBytes; left > 0; left -= chunk.Length)
            {
                await stream.WriteAsync(chunk.AsMemory(0, (int)Math.Min(chunk.Length, left)), context.CancellationToken);
            }
        }
    }
}
