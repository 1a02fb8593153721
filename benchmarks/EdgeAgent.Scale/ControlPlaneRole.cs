using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using EdgeAgent.ControlPlane;
using EdgeAgent.Protocol;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EdgeAgent.Scale;

/// <summary>Accepted handshakes over time, as seen by the control plane.</summary>
public sealed record HandshakeCounts(int Connected, long Accepted, int PeakPerSecond, double FirstAcceptSeconds, double LastAcceptSeconds);

/// <summary>The result of the command load.</summary>
public sealed record LoadResult(int Agents, long Sent, long Succeeded, long Failed, double Seconds, double P50Ms, double P90Ms, double P99Ms, double MaxMs, string? FirstError);

/// <summary>
/// The control plane under test: <c>AddEdgeControlPlane</c> + <c>MapEdgeAgents</c> on Kestrel
/// (loopback), SQLite store (so enrollments survive the restart of the reconnect storm), and a
/// few <c>/scale/*</c> endpoints through which the coordinator enrolls agents, reads the
/// process's own numbers and drives the command load from inside the control plane.
/// </summary>
internal static class ControlPlaneRole
{
    public static async Task<int> RunAsync(Args args)
    {
        var port = args.Int("port", 5870);
        var database = args.String("db", Path.Combine(Path.GetTempPath(), "edgeagent-scale.db"));
        var keepalive = args.Seconds("keepalive", 15);
        var started = Stopwatch.StartNew();

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port));
        var controlPlane = builder.Services.AddEdgeControlPlane(o =>
        {
            o.KeepaliveInterval = keepalive;
            o.HeartbeatGracePeriod = keepalive * 3;
            o.HandshakesPerSecondPerAddress = 0; // every agent comes from 127.0.0.1
            o.PublicUrl = $"http://127.0.0.1:{port}";
        });
        if (args.String("store", "sqlite") == "sqlite")
        {
            controlPlane.UseSqlite($"Data Source={database}");
        }

        var app = builder.Build();
        app.MapEdgeAgents();

        var registry = app.Services.GetRequiredService<IEdgeAgentRegistry>();
        var connected = new ConcurrentDictionary<string, byte>(StringComparer.Ordinal);
        var perSecond = new int[3600];
        long accepted = 0;
        long firstAcceptTicks = 0;
        long lastAcceptTicks = 0;
        registry.AgentConnected += (_, e) =>
        {
            connected[e.AgentId] = 0;
            Interlocked.Increment(ref accepted);
            var now = started.Elapsed;
            Interlocked.CompareExchange(ref firstAcceptTicks, now.Ticks, 0);
            Interlocked.Exchange(ref lastAcceptTicks, now.Ticks);
            Interlocked.Increment(ref perSecond[Math.Min((int)now.TotalSeconds, perSecond.Length - 1)]);
        };
        registry.AgentDisconnected += (sender, e) => connected.TryRemove(e.AgentId, out _);

        app.MapGet("/scale/stats", (bool? gc) => ProcessStats.Capture(connected.Count, gc ?? false));
        app.MapGet("/scale/handshakes", () => new HandshakeCounts(
            connected.Count,
            Interlocked.Read(ref accepted),
            perSecond.Max(),
            TimeSpan.FromTicks(Interlocked.Read(ref firstAcceptTicks)).TotalSeconds,
            TimeSpan.FromTicks(Interlocked.Read(ref lastAcceptTicks)).TotalSeconds));
        app.MapPost("/scale/enroll", async (int count, string prefix, IEdgeAgentEnrollment enrollment, CancellationToken ct) =>
        {
            var tokens = new StringBuilder();
            for (var i = 0; i < count; i++)
            {
                var result = await enrollment.EnrollAsync(new EnrollAgentRequest { Id = AgentId(prefix, i) }, ct);
                tokens.Append(result.Token).Append('\n');
            }

            return Results.Text(tokens.ToString());
        });
        app.MapPost("/scale/load", (double seconds, double rate, IEdgeAgents agents, CancellationToken ct) =>
            CommandLoad.RunAsync(agents, [.. connected.Keys.Order(StringComparer.Ordinal)], TimeSpan.FromSeconds(seconds), rate, ct));

        await app.StartAsync();
        Console.WriteLine($"@ready port={port} startup_ms={started.ElapsedMilliseconds}");

        // Ends when the coordinator closes stdin (or dies).
        await Task.Run(() => Console.In.ReadToEnd());
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await app.StopAsync(stop.Token);
        return 0;
    }

    public static string AgentId(string prefix, int index) => $"{prefix}{index:D5}";
}

/// <summary>
/// One command per agent per second, spread evenly: command k goes to agent k mod N at its
/// scheduled time k / rate. Latency is measured from the scheduled time (so a stalled sender
/// shows up as latency rather than as fewer samples). Bounded by count and time.
/// </summary>
internal static class CommandLoad
{
    public static async Task<LoadResult> RunAsync(IEdgeAgents agents, string[] ids, TimeSpan duration, double rate, CancellationToken cancellationToken)
    {
        if (ids.Length == 0)
        {
            return new LoadResult(0, 0, 0, 0, 0, 0, 0, 0, 0, "no agents connected");
        }

        var total = (long)(duration.TotalSeconds * rate);
        var latencies = new double[total];
        long succeeded = 0;
        long failed = 0;
        long finished = 0;
        string? firstError = null;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var options = new EdgeCommandOptions { Timeout = TimeSpan.FromSeconds(10) };
        var clock = Stopwatch.StartNew();
        long sent = 0;
        while (sent < total && !cancellationToken.IsCancellationRequested)
        {
            var due = Math.Min(total, (long)(clock.Elapsed.TotalSeconds * rate) + 1);
            for (; sent < due; sent++)
            {
                _ = SendAsync(sent);
            }

            await Task.Delay(1, cancellationToken);
        }

        var sendSeconds = clock.Elapsed.TotalSeconds;
        await done.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
        Array.Sort(latencies);
        return new LoadResult(ids.Length, total, succeeded, failed, sendSeconds, Percentile(0.50), Percentile(0.90), Percentile(0.99), latencies[^1], firstError);

        double Percentile(double p) => latencies[Math.Clamp((int)Math.Ceiling(p * total) - 1, 0, latencies.Length - 1)];

        async Task SendAsync(long k)
        {
            var scheduled = k / rate;
            try
            {
                var response = await agents[ids[k % ids.Length]].InvokeAsync<ScaleEchoRequest, ScaleEchoResponse>(
                    ScaleEchoHandler.CommandName, new ScaleEchoRequest { Sequence = k }, options, cancellationToken);
                if (response.Sequence != k)
                {
                    throw new InvalidOperationException("The echo answered another request.");
                }

                Interlocked.Increment(ref succeeded);
            }
            catch (Exception ex) when (ex is EdgeCommandException or InvalidOperationException or OperationCanceledException)
            {
                Interlocked.Increment(ref failed);
                Interlocked.CompareExchange(ref firstError, $"{ex.GetType().Name}: {ex.Message}", null);
            }

            latencies[k] = (clock.Elapsed.TotalSeconds - scheduled) * 1000;
            if (Interlocked.Increment(ref finished) == total)
            {
                done.TrySetResult();
            }
        }
    }
}
