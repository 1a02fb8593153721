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

/// <summary>
/// Accepted handshakes over time and attempts shed by admission control (HTTP 503/429 on the agent
/// endpoint), as seen by the control plane since it started.
/// </summary>
public sealed record HandshakeCounts(int Connected, long Accepted, int PeakPerSecond, double FirstAcceptSeconds, double LastAcceptSeconds, long Shed = 0, int PeakShedPerSecond = 0);

/// <summary>
/// The result of the command load. Latencies are from each command's scheduled time; the sender
/// lag (scheduled time to the moment the command was handed to <c>InvokeAsync</c>) shows whether
/// the load generator itself kept up: a large lag means the measurement is not valid.
/// </summary>
public sealed record LoadResult(int Agents, long Sent, long Succeeded, long Failed, double Seconds, double P50Ms, double P90Ms, double P99Ms, double MaxMs, string? FirstError, double SenderLagP99Ms = 0, double SenderLagMaxMs = 0);

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
        var handshakeRate = args["handshake-rate"] is { } rate ? double.Parse(rate, System.Globalization.CultureInfo.InvariantCulture) : (double?)null;
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
            if (handshakeRate is { } perSecond)
            {
                o.MaxHandshakesPerSecond = perSecond; // otherwise the product default, 250 per processor
            }
        });
        if (args.String("store", "sqlite") == "sqlite")
        {
            controlPlane.UseSqlite($"Data Source={database}");
        }

        var app = builder.Build();
        var shedPerSecond = new int[3600];
        long shed = 0;
        app.Use(async (context, next) =>
        {
            await next(context);
            if (context.Response.StatusCode is StatusCodes.Status503ServiceUnavailable or StatusCodes.Status429TooManyRequests)
            {
                Interlocked.Increment(ref shed);
                Interlocked.Increment(ref shedPerSecond[Math.Min((int)started.Elapsed.TotalSeconds, shedPerSecond.Length - 1)]);
            }
        });
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
            TimeSpan.FromTicks(Interlocked.Read(ref lastAcceptTicks)).TotalSeconds,
            Interlocked.Read(ref shed),
            shedPerSecond.Max()));
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
        var limit = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<EdgeControlPlaneOptions>>().Value.MaxHandshakesPerSecond;
        Console.WriteLine($"@ready port={port} startup_ms={started.ElapsedMilliseconds} max_handshakes_per_second={limit}");

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
/// <remarks>
/// The generator must not be the bottleneck: a dedicated thread only keeps time and hands each
/// due command to the thread pool, so the synchronous part of <c>InvokeAsync</c> (authorization,
/// audit, serialization, the channel open) runs on every core instead of serially on the
/// scheduling loop. The sender lag — scheduled time to the start of <c>InvokeAsync</c> — is
/// reported next to the latencies: if it is large, the process could not keep up and the
/// latencies measure the overload, not the product.
/// </remarks>
internal static class CommandLoad
{
    public static async Task<LoadResult> RunAsync(IEdgeAgents agents, string[] ids, TimeSpan duration, double rate, CancellationToken cancellationToken)
    {
        if (ids.Length == 0)
        {
            return new LoadResult(0, 0, 0, 0, 0, 0, 0, 0, 0, "no agents connected");
        }

        // Warm-up, not measured: the first calls JIT-compile the whole command path (and tiered
        // compilation recompiles it hot), which would otherwise land in the first second's tail.
        for (var round = 0; round < 3; round++)
        {
            await Task.WhenAll(ids.Take(200).Select(async id =>
            {
                try
                {
                    await agents[id].InvokeAsync<ScaleEchoRequest, ScaleEchoResponse>(ScaleEchoHandler.CommandName, new ScaleEchoRequest(), cancellationToken: cancellationToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    // Warm-up only: what fails here shows up again in the measured run.
                }
            }));
        }

        var run = new Run(agents, ids, (long)(duration.TotalSeconds * rate), rate, cancellationToken);
        var scheduler = new Thread(run.Schedule) { IsBackground = true, Name = "scale-load-scheduler", Priority = ThreadPriority.AboveNormal };
        scheduler.Start();
        await run.Sent.Task;
        var sendSeconds = run.Clock.Elapsed.TotalSeconds;
        try
        {
            await run.Done.Task.WaitAsync(TimeSpan.FromSeconds(60), cancellationToken);
        }
        catch (TimeoutException)
        {
            // Reported as unfinished commands (counted as failed, latency = the time waited).
        }

        return run.Result(sendSeconds);
    }

    private sealed class Run(IEdgeAgents agents, string[] ids, long total, double rate, CancellationToken cancellationToken)
    {
        private readonly double[] _latencies = new double[total];
        private readonly double[] _lags = new double[total];
        private readonly EdgeCommandOptions _options = new() { Timeout = TimeSpan.FromSeconds(10) };
        private long _succeeded;
        private long _failed;
        private long _finished;
        private string? _firstError;

        public Stopwatch Clock { get; } = new();

        public TaskCompletionSource Sent { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Schedule()
        {
            Clock.Start();
            long next = 0;
            while (next < total && !cancellationToken.IsCancellationRequested)
            {
                var due = Math.Min(total, (long)(Clock.Elapsed.TotalSeconds * rate) + 1);
                for (; next < due; next++)
                {
                    ThreadPool.UnsafeQueueUserWorkItem(static state => _ = state.Run.SendAsync(state.K), (Run: this, K: next), preferLocal: false);
                }

                Thread.Sleep(1);
            }

            Sent.TrySetResult();
        }

        public LoadResult Result(double sendSeconds)
        {
            var unfinished = total - Interlocked.Read(ref _finished);
            if (unfinished > 0)
            {
                Interlocked.CompareExchange(ref _firstError, $"{unfinished} commands had not finished 60 s after the last was sent", null);
                var waited = Clock.Elapsed.TotalMilliseconds;
                for (var k = 0; k < total; k++)
                {
                    if (_latencies[k] == 0)
                    {
                        _latencies[k] = waited - (k / rate * 1000);
                    }
                }
            }


            Array.Sort(_latencies);
            Array.Sort(_lags);
            return new LoadResult(ids.Length, total, Interlocked.Read(ref _succeeded), total - Interlocked.Read(ref _succeeded), sendSeconds,
                Percentile(_latencies, 0.50), Percentile(_latencies, 0.90), Percentile(_latencies, 0.99), _latencies[^1], _firstError,
                Percentile(_lags, 0.99), _lags[^1]);
        }

        private double Percentile(double[] sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p * total) - 1, 0, sorted.Length - 1)];

        private async Task SendAsync(long k)
        {
            var scheduled = k / rate;
            _lags[k] = (Clock.Elapsed.TotalSeconds - scheduled) * 1000;
            try
            {
                var response = await agents[ids[k % ids.Length]].InvokeAsync<ScaleEchoRequest, ScaleEchoResponse>(
                    ScaleEchoHandler.CommandName, new ScaleEchoRequest { Sequence = k }, _options, cancellationToken);
                if (response.Sequence != k)
                {
                    throw new InvalidOperationException("The echo answered another request.");
                }

                Interlocked.Increment(ref _succeeded);
            }
            catch (Exception ex)
            {
                Interlocked.Increment(ref _failed);
                Interlocked.CompareExchange(ref _firstError, $"{ex.GetType().Name}: {ex.Message}", null);
            }

            _latencies[k] = (Clock.Elapsed.TotalSeconds - scheduled) * 1000;
            if (Interlocked.Increment(ref _finished) == total)
            {
                Done.TrySetResult();
            }
        }
    }
}
