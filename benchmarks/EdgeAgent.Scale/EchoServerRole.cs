using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace EdgeAgent.Scale;

/// <summary>
/// The reference: a bare Kestrel WebSocket server, hosted the same way as the control plane
/// (slim builder, loopback, no logging), that accepts WebSockets and echoes what it receives.
/// Idle sockets wait with zero-byte reads and hold no buffer, which is what a careful
/// hand-written server does; the control plane is compared against this.
/// </summary>
internal static class EchoServerRole
{
    public static async Task<int> RunAsync(Args args)
    {
        var port = args.Int("port", 5871);
        var started = Stopwatch.StartNew();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port));
        var app = builder.Build();
        app.UseWebSockets();
        var connections = 0;
        app.MapGet("/scale/stats", (bool? gc) => ProcessStats.Capture(Volatile.Read(ref connections), gc ?? false));
        app.Map("/ws", async (HttpContext context) =>
        {
            if (!context.WebSockets.IsWebSocketRequest)
            {
                context.Response.StatusCode = StatusCodes.Status400BadRequest;
                return;
            }

            using var socket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext { KeepAliveInterval = TimeSpan.Zero });
            Interlocked.Increment(ref connections);
            try
            {
                await EchoAsync(socket, context.RequestAborted);
            }
            finally
            {
                Interlocked.Decrement(ref connections);
            }
        });

        await app.StartAsync();
        Console.WriteLine($"@ready port={port} startup_ms={started.ElapsedMilliseconds}");
        await Task.Run(() => Console.In.ReadToEnd());
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await app.StopAsync(stop.Token);
        return 0;
    }

    private static async Task EchoAsync(WebSocket socket, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                var probe = await socket.ReceiveAsync(Memory<byte>.Empty, cancellationToken);
                if (probe.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }

                var buffer = ArrayPool<byte>.Shared.Rent(4096);
                try
                {
                    var received = await socket.ReceiveAsync(buffer.AsMemory(), cancellationToken);
                    if (received.MessageType == WebSocketMessageType.Close)
                    {
                        break;
                    }

                    await socket.SendAsync(buffer.AsMemory(0, received.Count), WebSocketMessageType.Binary, received.EndOfMessage, cancellationToken);
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }

            await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, cancellationToken);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
        {
        }
    }
}
