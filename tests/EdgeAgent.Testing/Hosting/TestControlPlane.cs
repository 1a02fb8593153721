using System.Security.Cryptography.X509Certificates;
using EdgeAgent.ControlPlane;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EdgeAgent.Testing.Hosting;

/// <summary>A real control plane on Kestrel, bound to 127.0.0.1 (port 0 unless given), for functional tests.</summary>
public sealed class TestControlPlane : IAsyncDisposable
{
    private TestControlPlane(WebApplication app, Uri baseUrl)
    {
        App = app;
        BaseUrl = baseUrl;
    }

    public WebApplication App { get; }

    /// <summary>http(s)://127.0.0.1:port</summary>
    public Uri BaseUrl { get; }

    public IServiceProvider Services => App.Services;

    public IEdgeAgents Agents => Services.GetRequiredService<IEdgeAgents>();

    public IEdgeAgentRegistry Registry => Services.GetRequiredService<IEdgeAgentRegistry>();

    public IEdgeAgentEnrollment Enrollment => Services.GetRequiredService<IEdgeAgentEnrollment>();

    public static async Task<TestControlPlane> StartAsync(
        Action<IEdgeControlPlaneBuilder>? configure = null,
        Action<EdgeControlPlaneOptions>? options = null,
        X509Certificate2? certificate = null,
        int port = 0,
        ILoggerProvider? logs = null,
        Action<IServiceCollection>? services = null,
        Action<WebApplication>? map = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (logs is not null)
        {
            builder.Logging.AddProvider(logs);
            builder.Logging.SetMinimumLevel(LogLevel.Trace);
        }

        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(System.Net.IPAddress.Loopback, port, listen =>
        {
            if (certificate is not null)
            {
                listen.UseHttps(certificate);
            }
        }));
        var controlPlane = builder.Services.AddEdgeControlPlane(o =>
        {
            // Short enough to see heartbeats in a test, long enough that a busy 2-core machine's
            // stall does not drop a session (a pong must come back before the next ping).
            o.KeepaliveInterval = TimeSpan.FromSeconds(5);
            o.HeartbeatGracePeriod = TimeSpan.FromSeconds(15);
            o.DefaultCommandTimeout = TimeSpan.FromSeconds(30);
            options?.Invoke(o);
        });
        configure?.Invoke(controlPlane);
        services?.Invoke(builder.Services);
        var app = builder.Build();
        app.MapEdgeAgents();
        map?.Invoke(app);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new TestControlPlane(app, new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal)));
    }

    /// <summary>Enrolls an agent and returns its token.</summary>
    public async Task<string> EnrollAsync(string agentId, IReadOnlyDictionary<string, string>? labels = null) =>
        (await Enrollment.EnrollAsync(new EnrollAgentRequest { Id = agentId, Labels = labels })).Token;

    /// <summary>Polls until the registry shows the agent in <paramref name="state"/>.</summary>
    public async Task<EdgeAgentStatus> WaitForStateAsync(string agentId, EdgeAgentConnectionState state, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (true)
        {
            var status = await Registry.GetAgentAsync(agentId);
            if (status?.State == state)
            {
                return status;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Agent {agentId} did not reach {state}; it is {status?.State.ToString() ?? "unknown"}.");
            }

            await Task.Delay(25);
        }
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await App.StopAsync(timeout.Token);
        await App.DisposeAsync();
    }
}
