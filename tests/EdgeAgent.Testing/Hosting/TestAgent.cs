using EdgeAgent.Agent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EdgeAgent.Testing.Hosting;

/// <summary>A real agent (generic host + AddEdgeAgent + ClientWebSocket) for functional tests.</summary>
public sealed class TestAgent : IAsyncDisposable
{
    private TestAgent(IHost host)
    {
        Host = host;
    }

    public IHost Host { get; }

    public IEdgeAgentConnection Connection => Host.Services.GetRequiredService<IEdgeAgentConnection>();

    public static TestAgent Create(
        Uri controlPlane,
        string token,
        Action<EdgeAgentOptions>? configure = null,
        Action<IEdgeAgentBuilder>? build = null,
        ILoggerProvider? logs = null,
        string? stateDirectory = null,
        Action<IServiceCollection>? services = null)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        if (logs is not null)
        {
            builder.Logging.AddProvider(logs);
            builder.Logging.SetMinimumLevel(LogLevel.Trace);
        }

        var agent = builder.Services.AddEdgeAgent(o =>
        {
            o.ControlPlaneUrl = controlPlane.ToString();
            o.Token = token;
            o.AllowInsecureTransport = controlPlane.Scheme == "http";
            o.KeepaliveInterval = TimeSpan.FromSeconds(5); // see TestControlPlane
            o.ReconnectInitialDelay = TimeSpan.FromMilliseconds(100);
            o.ReconnectMaxDelay = TimeSpan.FromMilliseconds(500);
            o.StateDirectory = stateDirectory ?? Path.Combine(Path.GetTempPath(), "edgeagent-tests", Guid.NewGuid().ToString("N"));
            configure?.Invoke(o);
        });
        build?.Invoke(agent);
        services?.Invoke(builder.Services);
        return new TestAgent(builder.Build());
    }

    public static async Task<TestAgent> StartAsync(
        Uri controlPlane,
        string token,
        Action<EdgeAgentOptions>? configure = null,
        Action<IEdgeAgentBuilder>? build = null,
        ILoggerProvider? logs = null,
        string? stateDirectory = null,
        bool waitConnected = true)
    {
        var agent = Create(controlPlane, token, configure, build, logs, stateDirectory);
        await agent.Host.StartAsync();
        if (waitConnected)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await agent.Connection.WaitUntilConnectedAsync(timeout.Token);
        }

        return agent;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Host.StopAsync(TimeSpan.FromSeconds(10));
        }
        finally
        {
            Host.Dispose();
        }
    }
}
