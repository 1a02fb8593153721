using System.Net;
using MessagePack;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EdgeAgent.PeerBenchmark;

/// <summary>
/// ASP.NET Core SignalR with its MessagePack protocol over WebSockets (negotiation skipped).
/// Commands are client results (<c>IHubContext.Clients.Client(id).InvokeAsync&lt;T&gt;</c>); the
/// upload is a client-to-server stream of <c>byte[]</c> items (<c>IAsyncEnumerable</c>). The
/// server's message size limit is raised to 1 MiB so that 64 KiB chunks fit.
/// </summary>
internal sealed class SignalRPeer : IPeer
{
    private readonly WebApplication _server;
    private readonly HubConnection _client;
    private readonly IHubContext<PeerHub> _hub;
    private readonly string _connectionId;

    private SignalRPeer(WebApplication server, HubConnection client, string connectionId)
    {
        _server = server;
        _client = client;
        _connectionId = connectionId;
        _hub = server.Services.GetRequiredService<IHubContext<PeerHub>>();
    }

    public string Name => "SignalR (MessagePack)";

    public static async Task<SignalRPeer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Services.AddSignalR(o => o.MaximumReceiveMessageSize = 1024 * 1024).AddMessagePackProtocol();
        builder.Services.AddSingleton<ConnectionHolder>();
        var server = builder.Build();
        server.MapHub<PeerHub>("/hub");
        await server.StartAsync();
        var url = server.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var holder = server.Services.GetRequiredService<ConnectionHolder>();

        var client = new HubConnectionBuilder()
            .WithUrl($"{url}/hub", HttpTransportType.WebSockets, o => o.SkipNegotiation = true)
            .AddMessagePackProtocol()
            .Build();
        client.On<PeerRequest, PeerResponse>("Echo", request => new PeerResponse { Payload = request.Payload });
        await client.StartAsync();
        var connectionId = await holder.Connected.Task.WaitAsync(TimeSpan.FromSeconds(30));
        return new SignalRPeer(server, client, connectionId);
    }

    public Task<PeerResponse> InvokeAsync(PeerRequest request, CancellationToken cancellationToken) =>
        _hub.Clients.Client(_connectionId).InvokeAsync<PeerResponse>("Echo", request, cancellationToken);

    public Task<long> UploadAsync(long totalBytes, int chunkSize, CancellationToken cancellationToken) =>
        _client.InvokeAsync<long>(nameof(PeerHub.Upload), Produce(totalBytes, chunkSize), cancellationToken);

    private static async IAsyncEnumerable<byte[]> Produce(long totalBytes, int chunkSize)
    {
        var chunk = new byte[chunkSize];
        for (var left = totalBytes; left > 0; left -= chunk.Length)
        {
            // The client serialises each item before asking for the next, so one array serves.
            yield return left >= chunk.Length ? chunk : chunk[..(int)left];
        }

        await Task.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        await _client.DisposeAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _server.StopAsync(timeout.Token);
        await _server.DisposeAsync();
    }

    internal sealed class ConnectionHolder
    {
        public TaskCompletionSource<string> Connected { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    internal sealed class PeerHub(ConnectionHolder holder) : Hub
    {
        public override Task OnConnectedAsync()
        {
            holder.Connected.TrySetResult(Context.ConnectionId);
            return Task.CompletedTask;
        }

        public async Task<long> Upload(IAsyncEnumerable<byte[]> stream)
        {
            long received = 0;
            await foreach (var chunk in stream)
            {
                received += chunk.Length;
                UploadMeter.Add(chunk.Length);
            }

            return received;
        }
    }
}
