using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using EdgeAgent.Agent;
using EdgeAgent.ControlPlane;
using EdgeAgent.Protocol;
using MessagePack;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EdgeAgent.Benchmarks.Forwarding;

/// <summary>
/// A Stopwatch harness for TCP forwarding over a real loopback WebSocket tunnel, in three
/// processes so memory can be attributed: this one (control plane on Kestrel and the clients),
/// an agent (generic host, ClientWebSocket) and the TCP targets (sink, source, holder).
/// <c>dotnet run -c Release --project benchmarks/EdgeAgent.Benchmarks -- forwarding [--quick]</c>.
/// <c>EDGEAGENT_BENCH_CONNECTION_WINDOW</c> (KiB) sets <c>ConnectionWindow</c> on both ends (the
/// agent process inherits it).
/// </summary>
internal static class ForwardingHarness
{
    private const string Mode = "forwarding";
    private const string AgentMode = "forwarding-agent";
    private const string TargetMode = "forwarding-target";
    private const int StreamCount = 64;
    private const int IdleStreams = 1000;

    public static bool Handles(string[] args) => args.Length > 0 && args[0] is Mode or AgentMode or TargetMode;

    public static async Task<int> RunAsync(string[] args) => args[0] switch
    {
        AgentMode => await RunAgentAsync(args[1], args[2]),
        TargetMode => await RunTargetAsync(),
        _ when Array.IndexOf(args, "--profile") is var i and > 0 => await RunProfileAsync(args[i + 1], args.Length > i + 2 ? int.Parse(args[i + 2], CultureInfo.InvariantCulture) : 20),
        _ => await RunMainAsync(args.Contains("--quick")),
    };

    /// <summary>
    /// <c>forwarding --profile up|down [seconds]</c>: one forwarded stream in one direction, over and
    /// over, for a profiler to attach to (prints each round's MB/s and the processes' ids).
    /// </summary>
    private static async Task<int> RunProfileAsync(string direction, int seconds)
    {
        await using var rig = await Rig.StartAsync();
        var (target, agentProcess, agent, url, ports) = (rig.Target, rig.AgentProcess, rig.Agent, rig.Url, rig.Ports);
        Console.WriteLine($"control plane pid {Environment.ProcessId}, agent pid {agentProcess.Id}, target pid {target.Id}");
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(seconds))
        {
            var cpuBefore = rig.CpuSeconds;
            var rate = direction switch
            {
                "up" => await UploadAsync(() => TunnelAsync(agent, ports[0]), 1L << 30),
                "down" => await DownloadAsync(() => TunnelAsync(agent, ports[1]), 1L << 30),
                "ws-up" => double.Parse(await agentProcess.AskAsync($"ws down {url} {1L << 30}"), CultureInfo.InvariantCulture),
                _ => double.Parse(await agentProcess.AskAsync($"ws up {url} {1L << 30}"), CultureInfo.InvariantCulture),
            };
            var cpu = rig.CpuSeconds - cpuBefore;
            Console.WriteLine($"{direction} {rate:0} MB/s, {cpu / (1L << 30) * 1e9:0.00} CPU s/GB");
        }

        return 0;
    }

    // ------------------------------------------------------------------ main process

    /// <summary>Both ends' <c>ConnectionWindow</c> from <c>EDGEAGENT_BENCH_CONNECTION_WINDOW</c> (KiB), else the product default.</summary>
    private static int? ConnectionWindow =>
        Environment.GetEnvironmentVariable("EDGEAGENT_BENCH_CONNECTION_WINDOW") is { Length: > 0 } kib ? int.Parse(kib, CultureInfo.InvariantCulture) * 1024 : null;

    private static async Task<int> RunMainAsync(bool quick)
    {
        var single = quick ? 512L << 20 : 2L << 30;
        var loadSeconds = quick ? 3 : 6;
        Console.WriteLine($"# Forwarding harness ({(quick ? "quick" : "full")}), {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, connection window {(ConnectionWindow is { } window ? $"{window / 1024} KiB" : "default")}");
        Console.WriteLine($"runtime {RuntimeInformation.FrameworkDescription}, {Environment.ProcessorCount} logical CPUs, server GC {System.Runtime.GCSettings.IsServerGC}");

        await using var rig = await Rig.StartAsync();
        var (target, agentProcess, agent, url) = (rig.Target, rig.AgentProcess, rig.Agent, rig.Url);
        var (sinkPort, sourcePort, holdPort) = (rig.Ports[0], rig.Ports[1], rig.Ports[2]);

        // 1. One stream vs a direct loopback TCP copy, both directions.
        Console.WriteLine();
        Console.WriteLine("## One stream (MB/s = 10^6 bytes/s)");
        // Alternating rounds; the machine may be shared, so the best and the median of each are shown.
        var rounds = quick ? 3 : 5;
        var (directUp, tunnelUp, directDown, tunnelDown) = (new List<double>(), new List<double>(), new List<double>(), new List<double>());
        var (directUpCpu, tunnelUpCpu, directDownCpu, tunnelDownCpu) = (new List<double>(), new List<double>(), new List<double>(), new List<double>());
        await UploadAsync(() => TunnelAsync(agent, sinkPort), 64L << 20);
        await DownloadAsync(() => TunnelAsync(agent, sourcePort), 64L << 20);

        // CPU seconds of all three processes per GB moved: less sensitive to other load on the machine than MB/s.
        async Task Run(Func<Task<double>> run, List<double> rates, List<double> cpu)
        {
            var before = rig.CpuSeconds;
            rates.Add(await run());
            var after = rig.CpuSeconds;
            cpu.Add((after - before) / (single / 1e9));
        }

        // The same bytes through a bare WebSocket on the same Kestrel and ClientWebSocket (client in the
        // agent process): the ceiling that the tunnel's own work sits under.
        var (bareUp, bareDown, bareUpCpu, bareDownCpu) = (new List<double>(), new List<double>(), new List<double>(), new List<double>());
        async Task<double> Bare(string direction) =>
            double.Parse(await agentProcess.AskAsync($"ws {direction} {url} {single}"), CultureInfo.InvariantCulture);
        for (var round = 0; round < rounds; round++)
        {
            await Run(() => Bare("down"), bareUp, bareUpCpu);
            await Run(() => Bare("up"), bareDown, bareDownCpu);
            await Run(() => UploadAsync(() => DirectAsync(sinkPort), single), directUp, directUpCpu);
            await Run(() => UploadAsync(() => TunnelAsync(agent, sinkPort), single), tunnelUp, tunnelUpCpu);
            await Run(() => DownloadAsync(() => DirectAsync(sourcePort), single), directDown, directDownCpu);
            await Run(() => DownloadAsync(() => TunnelAsync(agent, sourcePort), single), tunnelDown, tunnelDownCpu);
        }

        Console.WriteLine($"{rounds} alternating rounds of {single >> 20} MiB each; best (median); CPU = seconds of CPU used by all three processes per GB moved (median)");
        Console.WriteLine();
        Console.WriteLine("| direction | direct TCP | bare WebSocket | forwarded | forwarded/direct (best) | forwarded/bare WebSocket (best) | CPU s/GB direct | CPU s/GB bare WebSocket | CPU s/GB forwarded |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
        Console.WriteLine($"| control plane → target on the agent's side | {directUp.Max():0} ({Median([.. directUp]):0}) | {bareUp.Max():0} ({Median([.. bareUp]):0}) | {tunnelUp.Max():0} ({Median([.. tunnelUp]):0}) | {tunnelUp.Max() / directUp.Max():P0} | {tunnelUp.Max() / bareUp.Max():P0} | {Median([.. directUpCpu]):0.00} | {Median([.. bareUpCpu]):0.00} | {Median([.. tunnelUpCpu]):0.00} |");
        Console.WriteLine($"| target → control plane | {directDown.Max():0} ({Median([.. directDown]):0}) | {bareDown.Max():0} ({Median([.. bareDown]):0}) | {tunnelDown.Max():0} ({Median([.. tunnelDown]):0}) | {tunnelDown.Max() / directDown.Max():P0} | {tunnelDown.Max() / bareDown.Max():P0} | {Median([.. directDownCpu]):0.00} | {Median([.. bareDownCpu]):0.00} | {Median([.. tunnelDownCpu]):0.00} |");

        // 2. Command round trip unloaded.
        var unloaded = await RoundTripsAsync(agent, 300, CancellationToken.None);

        // 3. 64 streams at once for a while; round trips measured during the load.
        Console.WriteLine();
        Console.WriteLine($"## {StreamCount} concurrent streams, control plane → agent target, {loadSeconds} s");
        using var stop = new CancellationTokenSource();
        var streams = new List<(EdgeTunnelStream Stream, Func<ValueTask> Complete)>();
        for (var i = 0; i < StreamCount; i++)
        {
            streams.Add(await TunnelAsync(agent, sinkPort));
        }

        var clock = Stopwatch.StartNew();
        var load = streams.Select(s => Task.Run(() => SendUntilAsync(s.Stream, s.Complete, stop.Token))).ToArray();
        await Task.Delay(TimeSpan.FromSeconds(1));
        using var rttStop = new CancellationTokenSource(TimeSpan.FromSeconds(loadSeconds - 1.5));
        var loaded = await RoundTripsAsync(agent, 300, rttStop.Token, warmup: false);
        var remaining = TimeSpan.FromSeconds(loadSeconds) - clock.Elapsed;
        if (remaining > TimeSpan.Zero)
        {
            await Task.Delay(remaining);
        }

        await stop.CancelAsync();
        var perStream = await Task.WhenAll(load);
        var elapsed = clock.Elapsed.TotalSeconds;
        foreach (var s in streams)
        {
            await s.Stream.DisposeAsync();
        }

        var rates = perStream.Select(r => r.Bytes / r.Seconds / 1e6).ToArray();
        var total = perStream.Sum(r => (double)r.Bytes) / elapsed / 1e6;
        var jain = Math.Pow(rates.Sum(), 2) / (rates.Length * rates.Sum(r => r * r));
        Console.WriteLine($"aggregate {total:0} MB/s; per stream min {rates.Min():0.0} / median {Median(rates):0.0} / max {rates.Max():0.0} MB/s; min/max {rates.Min() / rates.Max():P0}; Jain fairness index {jain:0.000}");
        Console.WriteLine();
        Console.WriteLine("## Command round trip (unary, empty payload), ms");
        Console.WriteLine($"| | n | p50 | p90 | p99 | mean |");
        Console.WriteLine($"|---|---|---|---|---|---|");
        PrintRoundTrips("unloaded", unloaded);
        PrintRoundTrips($"during {StreamCount}-stream load", loaded);
        Console.WriteLine(loaded.Count == 0 ? "no round trip completed during the load" : $"p50 ratio loaded/unloaded {Percentile(loaded, 0.5) / Percentile(unloaded, 0.5):0.00}×, mean ratio {loaded.Average() / unloaded.Average():0.00}×");

        // 4. Memory per open idle stream on each side.
        Console.WriteLine();
        Console.WriteLine($"## Memory per open idle stream ({IdleStreams} streams to an idle target; GC heap after full collection)");
        var cpBefore = GC.GetTotalMemory(forceFullCollection: true);
        var agentBefore = await agentProcess.GcAsync();
        var idle = new List<EdgeTunnelStream>();
        for (var i = 0; i < IdleStreams; i++)
        {
            idle.Add(await agent.OpenTcpStreamAsync("127.0.0.1", holdPort));
        }

        await WaitAsync(async () => await target.AskAsync("held") == IdleStreams.ToString(CultureInfo.InvariantCulture), "the target to hold every connection");
        var cpAfter = GC.GetTotalMemory(forceFullCollection: true);
        var agentAfter = await agentProcess.GcAsync();
        Console.WriteLine($"control plane: {(cpAfter - cpBefore) / (double)IdleStreams:0} bytes per stream; agent: {(agentAfter - agentBefore) / (double)IdleStreams:0} bytes per stream");
        GC.KeepAlive(idle);
        foreach (var stream in idle)
        {
            stream.Abort();
        }

        return 0;
    }

    private static double Median(double[] values) => Percentile(values, 0.5);

    private static double Percentile(IEnumerable<double> values, double p)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];
    }

    private static void PrintRoundTrips(string label, List<double> samples) =>
        Console.WriteLine(samples.Count == 0 ? $"| {label} | 0 | | | | |" : $"| {label} | {samples.Count} | {Percentile(samples, 0.5):0.000} | {Percentile(samples, 0.9):0.000} | {Percentile(samples, 0.99):0.000} | {samples.Average():0.000} |");

    private static async Task<WebApplication> StartControlPlaneAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Services.AddEdgeControlPlane(o => o.ConnectionWindow = ConnectionWindow ?? o.ConnectionWindow);
        var app = builder.Build();
        app.MapEdgeAgents();
        app.UseWebSockets();
        app.Map("/bench/ws", BareWebSocket.ServeAsync);
        await app.StartAsync();
        return app;
    }

    private static async Task<(Stream Stream, Func<ValueTask> Complete)> DirectAsync(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
        return (new NetworkStream(socket, ownsSocket: true), () =>
        {
            socket.Shutdown(SocketShutdown.Send);
            return ValueTask.CompletedTask;
        });
    }

    private static async Task<(EdgeTunnelStream Stream, Func<ValueTask> Complete)> TunnelAsync(IEdgeAgent agent, int port)
    {
        var stream = await agent.OpenTcpStreamAsync("127.0.0.1", port);
        return (stream, () => stream.CompleteWritesAsync());
    }

    private static readonly byte[] Payload = CreatePayload();

    private static byte[] CreatePayload()
    {
        var payload = new byte[256 * 1024];
        new Random(1).NextBytes(payload);
        return payload;
    }

    /// <summary>Sends <paramref name="bytes"/> to the sink and waits for its count; returns MB/s.</summary>
    private static async Task<double> UploadAsync<TStream>(Func<Task<(TStream Stream, Func<ValueTask> Complete)>> open, long bytes)
        where TStream : Stream
    {
        var (stream, complete) = await open();
        await using var _ = stream;
        var clock = Stopwatch.StartNew();
        for (var sent = 0L; sent < bytes; sent += Payload.Length)
        {
            await stream.WriteAsync(Payload.AsMemory(0, (int)Math.Min(Payload.Length, bytes - sent)));
        }

        await complete();
        var answer = new byte[8];
        await stream.ReadExactlyAsync(answer);
        var seconds = clock.Elapsed.TotalSeconds;
        if (BinaryPrimitives.ReadInt64BigEndian(answer) != bytes)
        {
            throw new InvalidOperationException("The sink counted another number of bytes.");
        }

        return bytes / seconds / 1e6;
    }

    /// <summary>Asks the source for <paramref name="bytes"/> and reads them to the end; returns MB/s.</summary>
    private static async Task<double> DownloadAsync<TStream>(Func<Task<(TStream Stream, Func<ValueTask> Complete)>> open, long bytes)
        where TStream : Stream
    {
        var (stream, complete) = await open();
        await using var _ = stream;
        var request = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(request, bytes);
        var buffer = new byte[256 * 1024];
        var clock = Stopwatch.StartNew();
        await stream.WriteAsync(request);
        long received = 0;
        while (true)
        {
            var read = await stream.ReadAsync(buffer);
            if (read == 0)
            {
                break;
            }

            received += read;
        }

        var seconds = clock.Elapsed.TotalSeconds;
        await complete();
        if (received != bytes)
        {
            throw new InvalidOperationException($"Received {received} of {bytes} bytes.");
        }

        return bytes / seconds / 1e6;
    }

    private static async Task<(long Bytes, double Seconds)> SendUntilAsync(Stream stream, Func<ValueTask> complete, CancellationToken stop)
    {
        var clock = Stopwatch.StartNew();
        while (!stop.IsCancellationRequested)
        {
            await stream.WriteAsync(Payload.AsMemory(0, 64 * 1024), CancellationToken.None);
        }

        await complete();
        var answer = new byte[8];
        await stream.ReadExactlyAsync(answer, CancellationToken.None);
        return (BinaryPrimitives.ReadInt64BigEndian(answer), clock.Elapsed.TotalSeconds);
    }

    private static async Task<List<double>> RoundTripsAsync(IEdgeAgent agent, int count, CancellationToken stop, bool warmup = true)
    {
        for (var i = 0; i < (warmup ? 20 : 0); i++)
        {
            await agent.InvokeAsync<BenchPing, BenchPing>(BenchPingHandler.CommandName, new BenchPing(), cancellationToken: CancellationToken.None);
        }

        var samples = new List<double>(count);
        for (var i = 0; i < count && !stop.IsCancellationRequested; i++)
        {
            var start = Stopwatch.GetTimestamp();
            await agent.InvokeAsync<BenchPing, BenchPing>(BenchPingHandler.CommandName, new BenchPing { Value = i }, cancellationToken: CancellationToken.None);
            samples.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }

        return samples;
    }

    private static async Task WaitAsync(Func<bool> condition, string what) => await WaitAsync(() => Task.FromResult(condition()), what);

    private static async Task WaitAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            if (deadline.Elapsed > TimeSpan.FromSeconds(60))
            {
                throw new TimeoutException($"Timed out waiting for {what}.");
            }

            await Task.Delay(20);
        }
    }

    // ------------------------------------------------------------------ child processes

    private static async Task<int> RunAgentAsync(string url, string token)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddEdgeAgent(o =>
        {
            o.ControlPlaneUrl = url;
            o.Token = token;
            o.AllowInsecureTransport = true;
            o.StateDirectory = Path.Combine(Path.GetTempPath(), "edgeagent-bench", Guid.NewGuid().ToString("N"));
            o.MaxConcurrentChannels = 4096;
            o.Policy.MaxConcurrentCommands = 4096;
            o.Policy.ForwardingAllowlist.Add("127.0.0.1:1-65535");
            o.ConnectionWindow = ConnectionWindow ?? o.ConnectionWindow;
        }).AddCommandHandler<BenchPingHandler>();
        using var host = builder.Build();
        await host.StartAsync();
        // "ws up|down <url> <bytes>": the bare WebSocket reference, from this process like the agent's tunnel.
        await ServeAsync("agent", command => command.StartsWith("ws ", StringComparison.Ordinal)
            ? BareWebSocket.RunClientAsync(command.Split(' ')).GetAwaiter().GetResult()
            : null);
        await host.StopAsync();
        return 0;
    }

    private static async Task<int> RunTargetAsync()
    {
        using var servers = new BenchServers();
        await ServeAsync(
            $"{servers.SinkPort} {servers.SourcePort} {servers.HoldPort}",
            command => command == "held" ? servers.Held.ToString(CultureInfo.InvariantCulture) : null);
        return 0;
    }

    /// <summary>The child side of the stdin/stdout protocol: "ready …", then answers "gc" and custom questions until "quit".</summary>
    private static async Task ServeAsync(string ready, Func<string, string?> answer)
    {
        Console.WriteLine($"ready {ready}");
        while (await Console.In.ReadLineAsync() is { } line && line != "quit")
        {
            Console.WriteLine(line == "gc" ? GC.GetTotalMemory(forceFullCollection: true).ToString(CultureInfo.InvariantCulture) : answer(line) ?? "?");
        }
    }

    /// <summary>The three processes of a run: the TCP targets, this one's control plane, and a connected agent.</summary>
    private sealed class Rig : IAsyncDisposable
    {
        private Rig(Child target, WebApplication app, Child agentProcess, IEdgeAgent agent, string url, int[] ports)
        {
            (Target, App, AgentProcess, Agent, Url, Ports) = (target, app, agentProcess, agent, url, ports);
        }

        public Child Target { get; }

        public WebApplication App { get; }

        public Child AgentProcess { get; }

        public IEdgeAgent Agent { get; }

        public string Url { get; }

        /// <summary>The target's sink, source and holder ports.</summary>
        public int[] Ports { get; }

        /// <summary>CPU time used so far by all three processes, in seconds.</summary>
        public double CpuSeconds => Target.CpuSeconds + AgentProcess.CpuSeconds + Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;

        public static async Task<Rig> StartAsync()
        {
            var target = await Child.StartAsync(TargetMode);
            var ports = target.Ready.Split(' ').Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToArray();
            var app = await StartControlPlaneAsync();
            var url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            var enrollment = await app.Services.GetRequiredService<IEdgeAgentEnrollment>().EnrollAsync(new EnrollAgentRequest { Id = "bench" });
            var agentProcess = await Child.StartAsync(AgentMode, url, enrollment.Token);
            var agent = app.Services.GetRequiredService<IEdgeAgents>()["bench"];
            await WaitAsync(() => agent.IsConnected, "the agent to connect");
            return new Rig(target, app, agentProcess, agent, url, ports);
        }

        public async ValueTask DisposeAsync()
        {
            await AgentProcess.DisposeAsync();
            await App.DisposeAsync();
            await Target.DisposeAsync();
        }
    }

    /// <summary>This executable started in another mode, spoken to over stdin/stdout.</summary>
    private sealed class Child : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly SemaphoreSlim _lock = new(1, 1);

        private Child(Process process, string ready)
        {
            _process = process;
            Ready = ready;
        }

        public string Ready { get; }

        public int Id => _process.Id;

        /// <summary>CPU time the child has used so far, in seconds.</summary>
        public double CpuSeconds
        {
            get
            {
                _process.Refresh();
                return _process.TotalProcessorTime.TotalSeconds;
            }
        }

        public static async Task<Child> StartAsync(params string[] args)
        {
            var self = Environment.ProcessPath!;
            var start = new ProcessStartInfo(self) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
            if (Path.GetFileNameWithoutExtension(self) == "dotnet")
            {
                start.ArgumentList.Add(typeof(ForwardingHarness).Assembly.Location);
            }

            foreach (var arg in args)
            {
                start.ArgumentList.Add(arg);
            }

            var process = Process.Start(start)!;
            var line = await process.StandardOutput.ReadLineAsync() ?? throw new InvalidOperationException($"{args[0]} exited before it was ready.");
            return new Child(process, line["ready ".Length..]);
        }

        public async Task<string> AskAsync(string question)
        {
            await _lock.WaitAsync();
            try
            {
                await _process.StandardInput.WriteLineAsync(question);
                await _process.StandardInput.FlushAsync();
                return await _process.StandardOutput.ReadLineAsync() ?? "";
            }
            finally
            {
                _lock.Release();
            }
        }

        public async Task<long> GcAsync() => long.Parse(await AskAsync("gc"), CultureInfo.InvariantCulture);

        public async ValueTask DisposeAsync()
        {
            try
            {
                await _process.StandardInput.WriteLineAsync("quit");
                await _process.StandardInput.FlushAsync();
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(15));
            }
            catch (Exception ex) when (ex is TimeoutException or IOException)
            {
                _process.Kill(entireProcessTree: true);
            }

            _process.Dispose();
        }
    }
}

[MessagePackObject]
public sealed class BenchPing
{
    [Key(0)]
    public int Value { get; set; }
}

internal sealed class BenchPingHandler : EdgeCommandHandler<BenchPing, BenchPing>
{
    public const string CommandName = "bench.ping";

    public override string Name => CommandName;

    public override ValueTask<BenchPing> HandleAsync(BenchPing request, EdgeCommandContext context) => ValueTask.FromResult(request);
}
