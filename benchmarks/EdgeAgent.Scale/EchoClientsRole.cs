using System.Diagnostics;
using System.Net.WebSockets;

namespace EdgeAgent.Scale;

/// <summary>
/// N plain <c>ClientWebSocket</c>s holding connections to the reference echo server. Each sends
/// a 16-byte message twice per keepalive interval (the tunnel exchanges a ping and a pong from
/// each side per interval) and reads the echo, so the reference carries the same heartbeat
/// traffic as the control plane.
/// </summary>
internal static class EchoClientsRole
{
    private static int s_connected;
    private static long s_failures;

    public static async Task<int> RunAsync(Args args)
    {
        var url = new Uri(args["url"] ?? throw new ArgumentException("--url is required."));
        var count = args.Int("count", 100);
        var startRate = args.Double("start-rate", 1000);
        var keepalive = args.Seconds("keepalive", 15);
        using var stopping = new CancellationTokenSource();
        var reporter = ReportAsync(stopping.Token);
        var orders = Task.Run(() =>
        {
            while (Console.In.ReadLine() is { } line && line.Trim() != "stop")
            {
            }
        });

        var clients = new List<Task>(count);
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < count && !orders.IsCompleted; i++)
        {
            var wait = TimeSpan.FromSeconds(i / startRate) - clock.Elapsed;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, CancellationToken.None);
            }

            clients.Add(RunClientAsync(url, keepalive / 2, stopping.Token));
        }

        await orders;
        await stopping.CancelAsync();
        await Task.WhenAll(clients).WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(static _ => { }, TaskScheduler.Default);
        await reporter;
        return 0;
    }

    private static async Task RunClientAsync(Uri url, TimeSpan interval, CancellationToken cancellationToken)
    {
        using var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        var connected = false;
        try
        {
            await socket.ConnectAsync(url, cancellationToken);
            connected = true;
            Interlocked.Increment(ref s_connected);
            var message = new byte[16];
            var echo = new byte[64];

            // Spread the heartbeats of all clients over the interval.
            await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * interval.TotalMilliseconds), cancellationToken);
            while (!cancellationToken.IsCancellationRequested)
            {
                await socket.SendAsync(message, WebSocketMessageType.Binary, endOfMessage: true, cancellationToken);
                await socket.ReceiveAsync(Memory<byte>.Empty, cancellationToken);
                await socket.ReceiveAsync(echo.AsMemory(), cancellationToken);
                await Task.Delay(interval, cancellationToken);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
        {
            if (!cancellationToken.IsCancellationRequested)
            {
                Interlocked.Increment(ref s_failures);
            }
        }
        finally
        {
            if (connected)
            {
                Interlocked.Decrement(ref s_connected);
            }
        }
    }

    private static async Task ReportAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(200));
        try
        {
            do
            {
                Console.WriteLine($"@status connected={Volatile.Read(ref s_connected)} failures={Interlocked.Read(ref s_failures)}");
            }
            while (await timer.WaitForNextTickAsync(cancellationToken));
        }
        catch (OperationCanceledException)
        {
        }
    }
}
