using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using EdgeAgent.PeerBenchmark;

// Peer benchmark: EdgeAgent vs ASP.NET Core SignalR (MessagePack), server and client in this
// process over loopback WebSocket. Usage:
//   dotnet EdgeAgent.PeerBenchmark.dll [--quick] [--rounds 3] [--seconds 5] [--mib 512] [--output peer.md]
//     [--commands-only] (skip the uploads) [--only EdgeAgent,SignalR,protocol] (run only these stacks; "protocol" is
//     EdgeAgent without the product work, run by default with --commands-only)
//     [--connection-window KiB] (both EdgeAgent sides' ConnectionWindow; default the product's 256)
var options = Options.Parse(args);
var inv = CultureInfo.InvariantCulture;
var state = Path.Combine(Path.GetTempPath(), $"edgeagent-peer-{Environment.ProcessId}");
var results = new Dictionary<string, List<RoundResult>>();
try
{
    for (var round = 1; round <= options.Rounds; round++)
    {
        // Alternate the order so that neither stack always runs on a warmer (or busier) machine.
        (string Name, Func<Task<IPeer>> Start)[] stacks =
        [
            ("EdgeAgent", async () => await EdgeAgentPeer.StartAsync(state, connectionWindow: options.ConnectionWindow)),
            ("SignalR", async () => await SignalRPeer.StartAsync()),
            ("protocol", async () => await EdgeAgentPeer.StartAsync(state, protocolOnly: true, connectionWindow: options.ConnectionWindow)),
        ];
        var starts = (round % 2 == 1 ? stacks : stacks.Reverse())
            .Where(s => options.Only is null ? s.Name != "protocol" || options.CommandsOnly : options.Only.Split(',').Contains(s.Name, StringComparer.OrdinalIgnoreCase))
            .Select(s => s.Start);
        foreach (var start in starts)
        {
            await using var peer = await start();
            var result = await Workloads.RunAsync(peer, options);
            Console.WriteLine($"round {round} {peer.Name}: {result}");
            if (!results.TryGetValue(peer.Name, out var list))
            {
                results[peer.Name] = list = [];
            }

            list.Add(result);
        }
    }
}
finally
{
    try
    {
        Directory.Delete(state, recursive: true);
    }
    catch (DirectoryNotFoundException)
    {
    }
}

var report = Report.Build(results, options);
Console.WriteLine();
Console.WriteLine(report);
if (options.Output is { } output)
{
    await File.WriteAllTextAsync(output, report);
}

return 0;

internal sealed record Options(bool Quick, int Rounds, TimeSpan Warmup, TimeSpan Duration, long UploadBytes, string? Output, bool CommandsOnly, string? Only, int? ConnectionWindow)
{
    public static Options Parse(string[] args)
    {
        string? Get(string name)
        {
            var i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        }

        var quick = args.Contains("--quick");
        var seconds = double.Parse(Get("--seconds") ?? (quick ? "1" : "5"), CultureInfo.InvariantCulture);
        return new Options(
            quick,
            int.Parse(Get("--rounds") ?? (quick ? "1" : "3"), CultureInfo.InvariantCulture),
            TimeSpan.FromSeconds(quick ? 0.5 : 1),
            TimeSpan.FromSeconds(seconds),
            long.Parse(Get("--mib") ?? (quick ? "32" : "512"), CultureInfo.InvariantCulture) * 1024 * 1024,
            Get("--output"),
            args.Contains("--commands-only"),
            Get("--only"),
            Get("--connection-window") is { } kib ? int.Parse(kib, CultureInfo.InvariantCulture) * 1024 : null);
    }
}

internal sealed record CommandResult(int Concurrency, long Count, double PerSecond, double P50Ms, double P99Ms, double BytesPerCall, string Collections = "")
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"c={Concurrency}: {PerSecond:0} rt/s p50 {P50Ms:0.000} ms p99 {P99Ms:0.000} ms {(double.IsNaN(BytesPerCall) ? "n/a" : BytesPerCall.ToString("0", CultureInfo.InvariantCulture))} B/call GCs {Collections}");
}

internal sealed record RoundResult(CommandResult C1, CommandResult C64, double Upload4KMBps, double Upload64KMBps, CommandResult Loaded, double LoadedUploadMBps)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{C1}; {C64}; upload 4K {Upload4KMBps:0} MB/s, 64K {Upload64KMBps:0} MB/s; loaded {Loaded}, upload meanwhile {LoadedUploadMBps:0} MB/s");
}

/// <summary>Bytes the server side of either stack has received from uploads, counted as they arrive.</summary>
internal static class UploadMeter
{
    private static long s_bytes;

    public static long Bytes => Interlocked.Read(ref s_bytes);

    public static void Add(long bytes) => Interlocked.Add(ref s_bytes, bytes);
}

internal static class Workloads
{
    private static readonly byte[] Payload = [.. Enumerable.Range(0, 64).Select(i => (byte)i)];

    public static async Task<RoundResult> RunAsync(IPeer peer, Options options)
    {
        await CommandsAsync(peer, 8, options.Warmup, null);
        await peer.UploadAsync(8 * 1024 * 1024, 64 * 1024, CancellationToken.None);
        var c1 = await CommandsAsync(peer, 1, options.Duration, null);
        var c64 = await CommandsAsync(peer, 64, options.Duration, null);
        if (options.CommandsOnly)
        {
            return new RoundResult(c1, c64, double.NaN, double.NaN, c1, double.NaN);
        }

        // The uploads measure bulk throughput, not its first moments after the command phase: for
        // 50 ms after a command EdgeAgent's bulk data yields to commands. Both stacks wait alike.
        await Task.Delay(100);
        var up4 = await UploadAsync(peer, options.UploadBytes, 4 * 1024);
        var up64 = await UploadAsync(peer, options.UploadBytes, 64 * 1024);

        // Commands at concurrency 1 while a 64 KiB-chunk upload saturates the same connection.
        using var stop = new CancellationTokenSource();
        var upload = peer.UploadAsync(options.UploadBytes * 4, 64 * 1024, stop.Token);
        await Task.Delay(200); // let the stream get going
        var (uploadedBefore, uploadClock) = (UploadMeter.Bytes, Stopwatch.StartNew());
        var loaded = await CommandsAsync(peer, 1, options.Duration, upload);
        var loadedUpload = (UploadMeter.Bytes - uploadedBefore) / 1e6 / uploadClock.Elapsed.TotalSeconds;
        await stop.CancelAsync();
        try
        {
            await upload.WaitAsync(TimeSpan.FromSeconds(60));
        }
        catch (Exception ex) when (ex is OperationCanceledException or TimeoutException or Microsoft.AspNetCore.SignalR.HubException or EdgeAgent.Protocol.EdgeCommandException or IOException)
        {
            // Stopped on purpose.
        }

        return new RoundResult(c1, c64, up4, up64, loaded, loadedUpload);
    }

    /// <summary>Runs <paramref name="concurrency"/> callers in a closed loop for the duration (or until <paramref name="until"/> ends).</summary>
    private static async Task<CommandResult> CommandsAsync(IPeer peer, int concurrency, TimeSpan duration, Task? until)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var samples = Enumerable.Range(0, concurrency).Select(_ => new List<double>(100_000)).ToArray();
        int[] collections = [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)];
        var paused = GC.GetTotalPauseDuration();
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        var clock = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, concurrency).Select(async w =>
        {
            var mine = samples[w];
            var request = new PeerRequest { Payload = Payload };
            while (Stopwatch.GetTimestamp() < deadline && until?.IsCompleted != true && mine.Count < 5_000_000)
            {
                var start = Stopwatch.GetTimestamp();
                var response = await peer.InvokeAsync(request, CancellationToken.None);
                mine.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                if (response.Payload.Length != Payload.Length)
                {
                    throw new InvalidOperationException("The echo lost bytes.");
                }
            }
        }).ToArray();
        await Task.WhenAll(workers);
        var elapsed = clock.Elapsed.TotalSeconds;
        allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated;
        var all = samples.SelectMany(s => s).Order().ToArray();
        // The process-wide counter has been seen to go backwards between two reads (after hosts of
        // an earlier stack were disposed): a negative difference is reported as unknown, not as a figure.
        var perCall = allocated < 0 ? double.NaN : (double)allocated / Math.Max(1, all.Length);
        return new CommandResult(concurrency, all.Length, all.Length / elapsed, Percentile(all, 0.50), Percentile(all, 0.99), perCall,
            $"{GC.CollectionCount(0) - collections[0]}/{GC.CollectionCount(1) - collections[1]}/{GC.CollectionCount(2) - collections[2]}, paused {(GC.GetTotalPauseDuration() - paused).TotalMilliseconds:0} ms");
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];

    private static async Task<double> UploadAsync(IPeer peer, long bytes, int chunk)
    {
        var clock = Stopwatch.StartNew();
        var received = await peer.UploadAsync(bytes, chunk, CancellationToken.None);
        var seconds = clock.Elapsed.TotalSeconds;
        if (received != bytes)
        {
            throw new InvalidOperationException($"{peer.Name} received {received} of {bytes} bytes.");
        }

        return bytes / 1e6 / seconds;
    }
}

internal static class Report
{
    public static string Build(Dictionary<string, List<RoundResult>> results, Options options)
    {
        var inv = CultureInfo.InvariantCulture;
        var s = new StringBuilder();
        s.AppendLine(inv, $"{Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, .NET {Environment.Version}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; median of {options.Rounds} round(s); {options.Duration.TotalSeconds} s per command workload; {options.UploadBytes / 1024 / 1024} MiB per upload{(options.Quick ? "; QUICK mode" : "")}");
        s.AppendLine();
        s.AppendLine("| stack | c=1 rt/s | c=1 p50 | c=1 p99 | c=64 rt/s | c=64 p50 | c=64 p99 | upload 4 KiB chunks | upload 64 KiB chunks | p99 at c=1 during upload |");
        s.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        var medians = new Dictionary<string, RoundResult>();
        foreach (var (name, rounds) in results)
        {
            var m = medians[name] = new RoundResult(
                MedianBy(rounds, r => r.C1, c => c.P50Ms),
                MedianBy(rounds, r => r.C64, c => -c.PerSecond),
                Median(rounds.Select(r => r.Upload4KMBps)),
                Median(rounds.Select(r => r.Upload64KMBps)),
                MedianBy(rounds, r => r.Loaded, c => c.P99Ms),
                Median(rounds.Select(r => r.LoadedUploadMBps)));
            s.AppendLine(inv, $"| {name} | {m.C1.PerSecond:0} | {m.C1.P50Ms:0.000} ms | {m.C1.P99Ms:0.000} ms | {m.C64.PerSecond:0} | {m.C64.P50Ms:0.000} ms | {m.C64.P99Ms:0.000} ms | {m.Upload4KMBps:0} MB/s | {m.Upload64KMBps:0} MB/s | {m.Loaded.P99Ms:0.000} ms ({m.Loaded.Count} calls) |");
        }

        if (medians.TryGetValue("EdgeAgent", out var e) && medians.TryGetValue("SignalR (MessagePack)", out var r))
        {
            s.AppendLine();
            s.AppendLine("| goal | EdgeAgent / SignalR | target | met |");
            s.AppendLine("|---|---:|---:|---|");
            Goal(s, "round trips/s at concurrency 64", e.C64.PerSecond / r.C64.PerSecond, "≥ 2.00×", e.C64.PerSecond >= 2 * r.C64.PerSecond);
            Goal(s, "p50 at concurrency 1", e.C1.P50Ms / r.C1.P50Ms, "≤ 0.70×", e.C1.P50Ms <= 0.7 * r.C1.P50Ms);
            Goal(s, "upload MB/s, 4 KiB chunks", e.Upload4KMBps / r.Upload4KMBps, "≥ 2.00×", e.Upload4KMBps >= 2 * r.Upload4KMBps);
            Goal(s, "upload MB/s, 64 KiB chunks", e.Upload64KMBps / r.Upload64KMBps, "≥ 2.00×", e.Upload64KMBps >= 2 * r.Upload64KMBps);
            s.AppendLine();
            s.AppendLine(inv, $"Loaded vs unloaded p99 at concurrency 1 (goal ≤ 2×): EdgeAgent {e.Loaded.P99Ms / e.C1.P99Ms:0.00}× ({e.Loaded.P99Ms:0.000} vs {e.C1.P99Ms:0.000} ms), SignalR {r.Loaded.P99Ms / r.C1.P99Ms:0.00}× ({r.Loaded.P99Ms:0.000} vs {r.C1.P99Ms:0.000} ms). The upload meanwhile (64 KiB chunks): EdgeAgent {e.LoadedUploadMBps:0} MB/s, SignalR {r.LoadedUploadMBps:0} MB/s.");
        }

        return s.ToString();

        static void Goal(StringBuilder s, string name, double ratio, string target, bool met) =>
            s.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {ratio:0.00}× | {target} | {(met ? "yes" : "**no**")} |");
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted[sorted.Length / 2];
    }

    private static CommandResult MedianBy(List<RoundResult> rounds, Func<RoundResult, CommandResult> pick, Func<CommandResult, double> key)
    {
        var sorted = rounds.Select(pick).OrderBy(key).ToArray();
        return sorted[sorted.Length / 2];
    }
}
