using System.Net.WebSockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EdgeAgent.FunctionalTests.Hostile;

/// <summary>
/// A tiny Kestrel app on 127.0.0.1:0 that accepts the agent's upgrade at <c>/agent/connect</c>
/// and then plays a scenario: garbage, oversized frames, a foreign handshake, hostile commands.
/// The scenario gets the accepted socket and the 1-based number of the connection.
/// </summary>
internal sealed class HostileControlPlane : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _connections;

    private HostileControlPlane(WebApplication app, Uri baseUrl)
    {
        _app = app;
        BaseUrl = baseUrl;
    }

    public Uri BaseUrl { get; }

    /// <summary>Upgrades accepted so far (each reconnect of the agent is one).</summary>
    public int Connections => Volatile.Read(ref _connections);

    /// <summary>Failures of the scenario itself (a broken test, not a broken agent).</summary>
    public List<Exception> ScenarioFailures { get; } = [];

    public static async Task<HostileControlPlane> StartAsync(Func<WebSocket, int, CancellationToken, Task> scenario)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0));
        var app = builder.Build();
        HostileControlPlane? self = null;
        app.UseWebSockets();
        app.Map("/agent/connect", async context =>
        {
            if (!context.WebSockets.IsWebSocketRequest)
            {
                context.Response.StatusCode = StatusCodes.Status400BadRequest;
                return;
            }

            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            var number = Interlocked.Increment(ref self!._connections);
            try
            {
                await scenario(socket, number, context.RequestAborted);
            }
            catch (Exception ex) when (ex is WebSocketException or IOException or OperationCanceledException)
            {
                // The agent hung up first: that is what it should do with a hostile peer.
            }
            catch (Exception ex)
            {
                lock (self.ScenarioFailures)
                {
                    self.ScenarioFailures.Add(ex);
                }
            }
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        self = new HostileControlPlane(app, new Uri(address));
        return self;
    }

    /// <summary>Polls until <paramref name="count"/> connections were made.</summary>
    public async Task WaitForConnectionsAsync(int count)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (Connections < count)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Only {Connections} of {count} connections arrived.");
            }

            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(timeout.Token);
        await _app.DisposeAsync();
    }
}
