using System.Diagnostics;
using EdgeAgent.Agent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeAgent.Scale;

/// <summary>
/// N real agents in one process. Each agent is its own service provider built by the public
/// <c>AddEdgeAgent</c> (the same registrations an application host gets) and runs the real
/// connector hosted service (<c>ClientWebSocket</c>, handshake, session, reconnect policy);
/// only the generic <c>Host</c> around it is left out, to keep thousands per process light.
/// Reports on stdout every 200 ms; takes orders on stdin.
/// </summary>
internal static class AgentsRole
{
    private static int s_connected;

    public static async Task<int> RunAsync(Args args)
    {
        var url = args["url"] ?? throw new ArgumentException("--url is required.");
        var tokens = File.ReadAllLines(args["tokens"] ?? throw new ArgumentException("--tokens is required."));
        var offset = args.Int("offset", 0);
        var count = args.Int("count", tokens.Length - offset);
        var startRate = args.Double("start-rate", 1000);
        var keepalive = args.Seconds("keepalive", 15);
        var initial = args.Seconds("initial-delay", 1);
        var max = args.Seconds("max-delay", 60);
        var stable = args.Seconds("stable", 30);
        var stateRoot = args.String("state", Path.Combine(Path.GetTempPath(), "edgeagent-scale-agents"));
        SwitchableRetryPolicy.UsePlain = args.String("policy", "jitter") == "plain";

        var policy = new SwitchableRetryPolicy(initial, max);
        var agents = new List<ServiceProvider>(count);
        using var stopping = new CancellationTokenSource();
        var reporter = ReportAsync(() => agents.Count, stopping.Token);
        var orders = Task.Run(() => ReadOrders(stopping));

        var clock = Stopwatch.StartNew();
        for (var i = 0; i < count && !stopping.IsCancellationRequested; i++)
        {
            var wait = TimeSpan.FromSeconds(i / startRate) - clock.Elapsed;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, CancellationToken.None);
            }

            var provider = Build(url, tokens[offset + i], keepalive, initial, max, stable, stateRoot, policy);
            agents.Add(provider);
            foreach (var hosted in provider.GetServices<IHostedService>())
            {
                await hosted.StartAsync(CancellationToken.None);
            }
        }

        await orders;
        await stopping.CancelAsync();
        await reporter;
        return 0;
    }

    private static ServiceProvider Build(string url, string token, TimeSpan keepalive, TimeSpan initial, TimeSpan max, TimeSpan stable, string stateRoot, IEdgeRetryPolicy policy)
    {
        var services = new ServiceCollection();
        services.AddSingleton<ILoggerFactory>(NullLoggerFactory.Instance);
        services.AddSingleton(typeof(ILogger<>), typeof(NullLogger<>));
        services.AddEdgeAgent(o =>
        {
            o.ControlPlaneUrl = url;
            o.Token = token;
            o.AllowInsecureTransport = true;
            o.KeepaliveInterval = keepalive;
            o.ReconnectInitialDelay = initial;
            o.ReconnectMaxDelay = max;
            o.StableConnectionThreshold = stable;
            o.StateDirectory = Path.Combine(stateRoot, token[..token.IndexOf('.', StringComparison.Ordinal)]);
        })
        .AddCommandHandler<ScaleEchoHandler>()
        .UseRetryPolicy(policy);
        var provider = services.BuildServiceProvider();
        provider.GetRequiredService<IEdgeAgentConnection>().StateChanged += (_, e) =>
        {
            if (e.Current == EdgeAgentState.Connected)
            {
                Interlocked.Increment(ref s_connected);
            }
            else if (e.Previous == EdgeAgentState.Connected)
            {
                Interlocked.Decrement(ref s_connected);
            }
        };
        return provider;
    }

    private static void ReadOrders(CancellationTokenSource stopping)
    {
        while (Console.In.ReadLine() is { } line)
        {
            switch (line.Trim())
            {
                case "policy plain":
                    SwitchableRetryPolicy.UsePlain = true;
                    break;
                case "policy jitter":
                    SwitchableRetryPolicy.UsePlain = false;
                    break;
                case "reset":
                    AgentCounters.Reset();
                    break;
                case "stop":
                    return;
            }
        }
    }

    private static async Task ReportAsync(Func<int> started, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(200));
        try
        {
            do
            {
                Console.WriteLine($"@status started={started()} connected={Volatile.Read(ref s_connected)} {AgentCounters.Format()}");
            }
            while (await timer.WaitForNextTickAsync(cancellationToken));
        }
        catch (OperationCanceledException)
        {
        }
    }
}
