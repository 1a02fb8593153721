using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace EdgeAgent.Scale;

/// <summary>
/// <c>--role run</c>: starts the processes, enrolls the agents, waits until all are connected,
/// measures and prints a table. Every phase is bounded in count and time.
/// </summary>
internal static class Coordinator
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static async Task<int> RunAsync(Args args)
    {
        var settings = Settings.From(args);
        var work = Path.Combine(Path.GetTempPath(), $"edgeagent-scale-{Environment.ProcessId}");
        Directory.CreateDirectory(work);
        var report = new Report(settings);
        var total = Stopwatch.StartNew();
        Console.WriteLine($"EdgeAgent scale harness: counts {string.Join(", ", settings.Counts)}, keepalive {settings.Keepalive.TotalSeconds} s, idle window {settings.IdleWindow.TotalSeconds} s, load {settings.LoadDuration.TotalSeconds} s{(settings.Quick ? " (quick)" : "")}");
        try
        {
            if (!settings.SkipReference)
            {
                await RunReferenceAsync(settings, report);
            }

            await RunControlPlaneAsync(settings, work, report);
        }
        finally
        {
            try
            {
                Directory.Delete(work, recursive: true);
            }
            catch (IOException)
            {
            }
        }

        report.Add($"Total harness time: {total.Elapsed.TotalSeconds:0} s.");
        var text = report.ToString();
        Console.WriteLine();
        Console.WriteLine(text);
        if (args["output"] is { } output)
        {
            await File.WriteAllTextAsync(output, text);
        }

        Console.WriteLine(report.AllConnected ? "RESULT all agents connected" : "RESULT some agents did not connect");
        return report.AllConnected ? 0 : 1;
    }

    // ------------------------------------------------------------------ reference

    private static async Task RunReferenceAsync(Settings settings, Report report)
    {
        var port = FreePort();
        await using var server = ChildProcess.Start("echo-server", ["--role", "echo-server", "--port", port.ToString(Inv)]);
        await server.WaitReadyAsync(TimeSpan.FromSeconds(30));
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(60) };
        var baseline = await StatsAsync(http, gc: true);
        var clients = new List<ChildProcess>();
        try
        {
            var running = 0;
            foreach (var n in settings.Counts)
            {
                foreach (var chunk in Chunks(n - running, settings.PerProcess))
                {
                    var child = ChildProcess.Start($"echo-clients-{clients.Count}", [
                        "--role", "echo-clients", "--url", $"ws://127.0.0.1:{port}/ws", "--count", chunk.ToString(Inv),
                        "--keepalive", settings.Keepalive.TotalSeconds.ToString(Inv), "--start-rate", settings.StartRate.ToString(Inv)],
                        ClientEnvironment);
                    clients.Add(child);
                }

                running = n;
                var connected = await WaitUntilAsync(() => clients.Sum(c => c.Status("connected")), n, settings.ConnectTimeout(n));
                var sample = await MeasureIdleAsync(http, settings, baseline, connected);
                report.Reference[n] = sample;
                Console.WriteLine($"reference n={n}: connected {connected}, {sample}");
            }

            await HoldAsync(settings, server);
        }
        finally
        {
            await Task.WhenAll(clients.Select(c => c.DisposeAsync().AsTask()));
        }
    }

    // ------------------------------------------------------------------ control plane

    private static async Task RunControlPlaneAsync(Settings settings, string work, Report report)
    {
        var port = FreePort();
        var db = Path.Combine(work, "control-plane.db");
        string[] controlPlaneArgs = ["--role", "control-plane", "--port", port.ToString(Inv), "--db", db, "--keepalive", settings.Keepalive.TotalSeconds.ToString(Inv), "--store", settings.Store];
        if (settings.HandshakeRate is { } handshakeRate)
        {
            controlPlaneArgs = [.. controlPlaneArgs, "--handshake-rate", handshakeRate.ToString(Inv)];
        }

        var controlPlane = ChildProcess.Start("control-plane", controlPlaneArgs);
        var agents = new List<ChildProcess>();
        try
        {
            var ready = await controlPlane.WaitReadyAsync(TimeSpan.FromSeconds(30));
            Console.WriteLine($"control plane {ready}");
            report.AdmissionLimit = ready.Split(' ').FirstOrDefault(p => p.StartsWith("max_handshakes_per_second=", StringComparison.Ordinal))?.Split('=')[1];
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromMinutes(3) };
            var max = settings.Counts.Max();
            var enrollClock = Stopwatch.StartNew();
            var tokens = await (await http.PostAsync(new Uri($"/scale/enroll?count={max}&prefix=s", UriKind.Relative), null)).EnsureSuccessStatusCode().Content.ReadAsStringAsync();
            var tokenFile = Path.Combine(work, "tokens.txt");
            await File.WriteAllTextAsync(tokenFile, tokens);
            Console.WriteLine($"enrolled {max} agents in {enrollClock.Elapsed.TotalSeconds:0.0} s");
            var baseline = await StatsAsync(http, gc: true);

            // Idle agents at each count.
            var running = 0;
            var allConnectedAt = Stopwatch.StartNew();
            // Agents come online at the start rate in total, but no faster than 80% of the control
            // plane's admission limit: the idle phase measures connected agents, not shedding.
            var startRate = double.TryParse(report.AdmissionLimit, NumberStyles.Float, Inv, out var limit) && limit > 0
                ? Math.Min(settings.StartRate, 0.8 * limit)
                : settings.StartRate;
            foreach (var n in settings.Counts)
            {
                var chunks = Chunks(n - running, settings.PerProcess).ToArray();
                foreach (var chunk in chunks)
                {
                    agents.Add(ChildProcess.Start($"agents-{agents.Count}", [
                        "--role", "agents", "--url", $"http://127.0.0.1:{port}", "--tokens", tokenFile,
                        "--offset", running.ToString(Inv), "--count", chunk.ToString(Inv),
                        "--keepalive", settings.Keepalive.TotalSeconds.ToString(Inv),
                        "--initial-delay", settings.InitialDelay.TotalSeconds.ToString(Inv),
                        "--max-delay", settings.MaxDelay.TotalSeconds.ToString(Inv),
                        "--stable", settings.Stable.TotalSeconds.ToString(Inv),
                        "--start-rate", (startRate / chunks.Length).ToString(Inv),
                        "--state", Path.Combine(work, "agents")],
                        ClientEnvironment));
                    running += chunk;
                }

                var connectClock = Stopwatch.StartNew();
                var connected = await WaitUntilAsync(async () => (await HandshakesAsync(http)).Connected, n, settings.ConnectTimeout(n, startRate));
                report.AllConnected &= connected == n;
                allConnectedAt.Restart();
                Console.WriteLine($"control plane n={n}: {connected} connected after {connectClock.Elapsed.TotalSeconds:0.0} s");
                var sample = await MeasureIdleAsync(http, settings, baseline, connected);
                report.ControlPlane[n] = sample;
                Console.WriteLine($"control plane n={n}: {sample}");
            }

            await HoldAsync(settings, controlPlane);
            if (settings.SkipLoad && settings.SkipStorm)
            {
                return;
            }

            // Commands at load: one per agent per second.
            if (!settings.SkipLoad)
            {
                var before = await StatsAsync(http, gc: false);
                var agentsCpuBefore = agents.Sum(a => a.CpuTime().TotalMilliseconds);
                var loadAverageBefore = LoadAverage();
                LoadResult? load;
                try
                {
                    load = await (await http.PostAsync(new Uri($"/scale/load?seconds={settings.LoadDuration.TotalSeconds.ToString(Inv)}&rate={max}", UriKind.Relative), null))
                        .EnsureSuccessStatusCode().Content.ReadFromJsonAsync<LoadResult>();
                }
                catch (HttpRequestException ex)
                {
                    // Report it and go on to the storms rather than losing the whole run.
                    load = new LoadResult(max, 0, 0, 0, 0, 0, 0, 0, 0, $"the load request failed: {ex.Message}");
                }

                var after = await StatsAsync(http, gc: false);
                report.Load = load;
                report.LoadCpu = (after.CpuMilliseconds - before.CpuMilliseconds) / 1000 / Math.Max(load!.Seconds, 0.001);
                report.LoadAgentsCpu = (agents.Sum(a => a.CpuTime().TotalMilliseconds) - agentsCpuBefore) / 1000 / Math.Max(load.Seconds, 0.001);
                report.LoadAverage = $"{loadAverageBefore} → {LoadAverage()}";
                Console.WriteLine($"load: {load}, control-plane CPU {report.LoadCpu:0.00} cores, agent processes {report.LoadAgentsCpu:0.00} cores, load average {report.LoadAverage}");
            }

            if (settings.SkipStorm)
            {
                return;
            }

            // Reconnect storms: full jitter, then plain exponential, each after a stable connection.
            foreach (var plain in new[] { false, true })
            {
                var wait = settings.Stable + TimeSpan.FromSeconds(1) - allConnectedAt.Elapsed;
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait);
                }

                // Both storms must start from the same quiet state: after an overloaded command
                // load the agent processes can still be working off their backlog, which would
                // slow the first storm's agents (and only theirs).
                await WaitUntilQuietAsync(agents, controlPlane, settings.Quick ? TimeSpan.FromSeconds(5) : TimeSpan.FromSeconds(120));

                foreach (var agent in agents)
                {
                    await agent.SendAsync(plain ? "policy plain" : "policy jitter");
                    await agent.SendAsync("reset");
                }

                await Task.Delay(500); // let the orders and a fresh status line arrive
                var clock = Stopwatch.StartNew();
                controlPlane.Kill();
                await controlPlane.DisposeAsync();
                controlPlane = ChildProcess.Start("control-plane", controlPlaneArgs);
                await controlPlane.WaitReadyAsync(TimeSpan.FromSeconds(60));
                var restartedAfter = clock.Elapsed;
                var reconnected = await WaitUntilAsync(
                    async () => Math.Min((await HandshakesAsync(http)).Connected, (int)agents.Sum(a => a.Status("connected"))),
                    max,
                    settings.StormTimeout);
                var elapsed = clock.Elapsed;
                allConnectedAt.Restart();
                await Task.Delay(500); // a fresh status line with the final counters
                var counts = await HandshakesAsync(http);
                var storm = new StormResult(
                    plain ? "plain exponential" : "full jitter (SDK default)",
                    max,
                    reconnected,
                    restartedAfter.TotalSeconds,
                    elapsed.TotalSeconds,
                    agents.Sum(a => a.Status("attempts")),
                    agents.Sum(a => a.Status("refused")),
                    agents.Sum(a => a.Status("throttled")),
                    agents.Sum(a => a.Status("timeouts")),
                    agents.Sum(a => a.Status("rejected") + a.Status("handshake") + a.Status("other")),
                    counts.PeakPerSecond,
                    counts.Shed,
                    counts.PeakShedPerSecond);
                report.AllConnected &= reconnected == max;
                report.Storms.Add(storm);
                Console.WriteLine($"storm: {storm}");
            }
        }
        finally
        {
            await Task.WhenAll(agents.Select(a => a.DisposeAsync().AsTask()));
            await controlPlane.DisposeAsync();
        }
    }

    // ------------------------------------------------------------------ helpers

    /// <summary>With <c>--hold S</c>, keeps the server up for S seconds (to attach a profiler).</summary>
    private static async Task HoldAsync(Settings settings, ChildProcess server)
    {
        if (settings.Hold > TimeSpan.Zero)
        {
            Console.WriteLine($"holding {server.Name} (pid {server.Id}) for {settings.Hold.TotalSeconds} s");
            await Task.Delay(settings.Hold);
        }
    }

    /// <summary>Agent and echo-client processes are not measured: workstation GC keeps them small.</summary>
    private static readonly Dictionary<string, string> ClientEnvironment = new() { ["DOTNET_gcServer"] = "0" };

    private static async Task<IdleSample> MeasureIdleAsync(HttpClient http, Settings settings, ProcessSnapshot baseline, int connected)
    {
        await Task.Delay(settings.Settle);
        var start = await StatsAsync(http, gc: false);
        await Task.Delay(settings.IdleWindow);
        var end = await StatsAsync(http, gc: false);
        var memory = await StatsAsync(http, gc: true);
        var n = Math.Max(1, connected);
        return new IdleSample(
            connected,
            (memory.ManagedHeapBytes - baseline.ManagedHeapBytes) / (double)n,
            (memory.WorkingSetBytes - baseline.WorkingSetBytes) / (double)n,
            (memory.PrivateBytes - baseline.PrivateBytes) / (double)n,
            (end.CpuMilliseconds - start.CpuMilliseconds) / settings.IdleWindow.TotalMilliseconds,
            (end.AllocatedBytes - start.AllocatedBytes) / settings.IdleWindow.TotalSeconds,
            end.Gen0Collections - start.Gen0Collections,
            memory.Threads);
    }

    /// <summary>
    /// Waits (bounded) until the control plane and the agent processes together use less than half
    /// a core in two consecutive seconds (10,000 idle agents with 15 s keepalives use about 0.3).
    /// </summary>
    private static async Task WaitUntilQuietAsync(List<ChildProcess> agents, ChildProcess controlPlane, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        var quietSeconds = 0;
        while (clock.Elapsed < limit)
        {
            var before = agents.Sum(a => a.CpuTime().TotalMilliseconds) + controlPlane.CpuTime().TotalMilliseconds;
            await Task.Delay(1000);
            var cores = (agents.Sum(a => a.CpuTime().TotalMilliseconds) + controlPlane.CpuTime().TotalMilliseconds - before) / 1000;
            quietSeconds = cores < 0.5 ? quietSeconds + 1 : 0;
            if (quietSeconds >= 2)
            {
                Console.WriteLine($"quiet after {clock.Elapsed.TotalSeconds:0} s ({cores:0.00} cores)");
                return;
            }
        }

        Console.WriteLine($"not quiet after {limit.TotalSeconds:0} s; starting the storm anyway");
    }

    private static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "n/a";
        }
    }

    private static async Task<ProcessSnapshot> StatsAsync(HttpClient http, bool gc) =>
        (await http.GetFromJsonAsync<ProcessSnapshot>(new Uri($"/scale/stats?gc={(gc ? "true" : "false")}", UriKind.Relative)))!;

    private static async Task<HandshakeCounts> HandshakesAsync(HttpClient http)
    {
        try
        {
            return (await http.GetFromJsonAsync<HandshakeCounts>(new Uri("/scale/handshakes", UriKind.Relative)))!;
        }
        catch (HttpRequestException)
        {
            return new HandshakeCounts(0, 0, 0, 0, 0);
        }
    }

    private static Task<int> WaitUntilAsync(Func<long> current, int target, TimeSpan timeout) =>
        WaitUntilAsync(() => Task.FromResult((int)current()), target, timeout);

    /// <summary>Polls every 100 ms until <paramref name="current"/> reaches the target or the time is up; returns the last value.</summary>
    private static async Task<int> WaitUntilAsync(Func<Task<int>> current, int target, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        var last = 0;
        var lastPrint = TimeSpan.Zero;
        while (clock.Elapsed < timeout)
        {
            last = await current();
            if (last >= target)
            {
                return last;
            }

            if (clock.Elapsed - lastPrint > TimeSpan.FromSeconds(5))
            {
                lastPrint = clock.Elapsed;
                Console.WriteLine($"  ... {last}/{target} after {clock.Elapsed.TotalSeconds:0} s");
            }

            await Task.Delay(100);
        }

        return last;
    }

    private static IEnumerable<int> Chunks(int count, int size)
    {
        while (count > 0)
        {
            var chunk = Math.Min(count, size);
            yield return chunk;
            count -= chunk;
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    // ------------------------------------------------------------------ settings and report

    internal sealed record Settings(
        bool Quick,
        int[] Counts,
        int PerProcess,
        double StartRate,
        TimeSpan Keepalive,
        TimeSpan Settle,
        TimeSpan IdleWindow,
        TimeSpan LoadDuration,
        TimeSpan InitialDelay,
        TimeSpan MaxDelay,
        TimeSpan Stable,
        TimeSpan StormTimeout,
        double? HandshakeRate,
        bool SkipReference,
        bool SkipLoad,
        bool SkipStorm,
        string Store,
        TimeSpan Hold)
    {
        public TimeSpan ConnectTimeout(int n) => ConnectTimeout(n, StartRate);

        public TimeSpan ConnectTimeout(int n, double rate) => TimeSpan.FromSeconds(30 + (n / rate * 3)) + MaxDelay;

        public static Settings From(Args args)
        {
            var quick = args.Flag("quick");
            return new Settings(
                quick,
                args.Ints("counts", quick ? [200] : [1000, 5000, 10_000]),
                args.Int("per-process", 2500),
                args.Double("start-rate", quick ? 400 : 500),
                args.Seconds("keepalive", quick ? 1 : 15),
                args.Seconds("settle", quick ? 0.5 : 5),
                args.Seconds("idle-seconds", quick ? 2 : 30),
                args.Seconds("load-seconds", quick ? 3 : 20),
                args.Seconds("initial-delay", quick ? 0.2 : 1),
                args.Seconds("max-delay", quick ? 2 : 60),
                args.Seconds("stable", quick ? 1 : 30),
                args.Seconds("storm-timeout", quick ? 20 : 900),
                args["handshake-rate"] is { } rate ? double.Parse(rate, Inv) : quick ? 100 : null,
                args.Flag("skip-reference"),
                args.Flag("skip-load"),
                args.Flag("skip-storm"),
                args.String("store", "sqlite"),
                args.Seconds("hold", 0));
        }
    }

    internal sealed record IdleSample(int Connected, double HeapPerAgent, double WorkingSetPerAgent, double PrivatePerAgent, double CpuCores, double AllocatedPerSecond, long Gen0, int Threads)
    {
        public override string ToString() =>
            $"heap {HeapPerAgent / 1024:0.0} KiB/conn, working set {WorkingSetPerAgent / 1024:0.0} KiB/conn, private {PrivatePerAgent / 1024:0.0} KiB/conn, CPU {CpuCores * 100:0.00}% of a core, alloc {AllocatedPerSecond / 1024:0} KiB/s, gen0 {Gen0}, threads {Threads}";
    }

    internal sealed record StormResult(string Policy, int Agents, int Reconnected, double RestartSeconds, double Seconds, long Attempts, long Refused, long Shed, long Timeouts, long OtherFailures, int PeakHandshakesPerSecond, long ServerShed, int PeakShedPerSecond);

    private sealed class Report(Settings settings)
    {
        private readonly List<string> _notes = [];

        public Dictionary<int, IdleSample> Reference { get; } = [];

        public Dictionary<int, IdleSample> ControlPlane { get; } = [];

        public LoadResult? Load { get; set; }

        public double LoadCpu { get; set; }

        public double LoadAgentsCpu { get; set; }

        public string? LoadAverage { get; set; }

        public string? AdmissionLimit { get; set; }

        public List<StormResult> Storms { get; } = [];

        public bool AllConnected { get; set; } = true;

        public void Add(string note) => _notes.Add(note);

        public override string ToString()
        {
            var s = new StringBuilder();
            s.AppendLine(Inv, $"Machine: {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, .NET {Environment.Version}; {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC{(settings.Quick ? "; QUICK mode (smoke test, numbers not meaningful)" : "")}");
            s.AppendLine();
            s.AppendLine("Idle connections (memory after a full GC, minus the process's empty baseline; CPU over the idle window):");
            s.AppendLine();
            s.AppendLine("| N | server | connected | managed heap / conn | working set / conn | private bytes / conn | CPU (% of one core) | allocations |");
            s.AppendLine("|---:|---|---:|---:|---:|---:|---:|---:|");
            foreach (var n in settings.Counts)
            {
                if (Reference.TryGetValue(n, out var r))
                {
                    Row(s, n, "bare Kestrel WebSocket echo", r);
                }

                if (ControlPlane.TryGetValue(n, out var c))
                {
                    Row(s, n, "EdgeAgent control plane", c);
                    if (r is not null)
                    {
                        s.AppendLine(Inv, $"| {n} | ratio control plane / echo | | {Ratio(c.HeapPerAgent, r.HeapPerAgent)} | {Ratio(c.WorkingSetPerAgent, r.WorkingSetPerAgent)} | {Ratio(c.PrivatePerAgent, r.PrivatePerAgent)} | {Ratio(c.CpuCores, r.CpuCores)} | |");
                    }
                }
            }

            if (Load is { } load)
            {
                s.AppendLine();
                s.AppendLine(Inv, $"Commands at load ({load.Agents} agents, one `{ScaleEchoHandler.CommandName}` per agent per second for {load.Seconds:0.0} s, latency from the scheduled send time):");
                s.AppendLine();
                s.AppendLine("| sent | ok | failed | p50 | p90 | p99 | max | sender lag p99 / max | control-plane CPU | agent processes CPU | load average before → after |");
                s.AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
                s.AppendLine(Inv, $"| {load.Sent} | {load.Succeeded} | {load.Failed} | {load.P50Ms:0.0} ms | {load.P90Ms:0.0} ms | {load.P99Ms:0.0} ms | {load.MaxMs:0.0} ms | {load.SenderLagP99Ms:0.0} / {load.SenderLagMaxMs:0.0} ms | {LoadCpu:0.00} cores | {LoadAgentsCpu:0.00} cores | {LoadAverage} |");
                s.AppendLine();
                s.AppendLine(load.SenderLagP99Ms <= 10
                    ? string.Create(Inv, $"Valid: the load generator kept its schedule (sender lag p99 {load.SenderLagP99Ms:0.0} ms ≤ 10 ms).")
                    : string.Create(Inv, $"NOT VALID as a latency measurement: the load generator's process fell behind its own schedule (sender lag p99 {load.SenderLagP99Ms:0.0} ms > 10 ms), so the latencies above measure an overloaded machine, not the product."));
                if (load.FirstError is not null)
                {
                    s.AppendLine();
                    s.AppendLine(Inv, $"First error: {load.FirstError}");
                }
            }

            if (Storms.Count > 0)
            {
                s.AppendLine();
                s.AppendLine(Inv, $"Reconnect storm (control plane killed and restarted under all agents; backoff base {settings.InitialDelay.TotalSeconds} s, cap {settings.MaxDelay.TotalSeconds} s; admission control EdgeControlPlane:MaxHandshakesPerSecond = {AdmissionLimit ?? "?"}):");
                s.AppendLine();
                s.AppendLine("| policy | agents | reconnected | control plane up after | all reconnected after | connection attempts | refused while down | shed (503 + Retry-After) | timed out | other failures | peak handshakes/s | peak shed/s |");
                s.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
                foreach (var storm in Storms)
                {
                    s.AppendLine(Inv, $"| {storm.Policy} | {storm.Agents} | {storm.Reconnected} | {storm.RestartSeconds:0.0} s | {storm.Seconds:0.0} s | {storm.Attempts} | {storm.Refused} | {storm.Shed} | {storm.Timeouts} | {storm.OtherFailures} | {storm.PeakHandshakesPerSecond} | {storm.PeakShedPerSecond} |");
                }

                if (Storms.Count == 2)
                {
                    s.AppendLine();
                    s.AppendLine(Inv, $"Full jitter / plain: {Ratio(Storms[0].Attempts, Storms[1].Attempts)} the attempts, {Ratio(Storms[0].Seconds, Storms[1].Seconds)} the time to all reconnected.");
                }
            }

            foreach (var note in _notes)
            {
                s.AppendLine();
                s.AppendLine(note);
            }

            return s.ToString();
        }

        private static void Row(StringBuilder s, int n, string name, IdleSample x) =>
            s.AppendLine(Inv, $"| {n} | {name} | {x.Connected} | {x.HeapPerAgent / 1024:0.0} KiB | {x.WorkingSetPerAgent / 1024:0.0} KiB | {x.PrivatePerAgent / 1024:0.0} KiB | {x.CpuCores * 100:0.00}% | {x.AllocatedPerSecond / 1024:0} KiB/s |");

        private static string Ratio(double a, double b) => b <= 0 ? "n/a" : string.Create(Inv, $"{a / b:0.00}×");
    }
}
