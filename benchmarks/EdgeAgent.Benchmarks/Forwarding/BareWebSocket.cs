using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace EdgeAgent.Benchmarks.Forwarding;

/// <summary>
/// The ceiling the tunnel runs under: the same Kestrel server and <see cref="ClientWebSocket"/>
/// moving the same bytes in 64 KiB binary messages with no protocol on top. The client runs in the
/// agent process, so the bytes cross the same process boundary as the tunnel's.
/// </summary>
internal static class BareWebSocket
{
    private const int MessageSize = 64 * 1024;
    private static readonly byte[] Payload = CreatePayload();

    private static byte[] CreatePayload()
    {
        var payload = new byte[MessageSize];
        new Random(2).NextBytes(payload);
        return payload;
    }

    /// <summary>Server: "up" counts what the client sends until it closes and answers the count; "down N" sends N bytes and closes.</summary>
    public static async Task ServeAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }

        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        var buffer = new byte[MessageSize];
        var first = await socket.ReceiveAsync(buffer.AsMemory(), CancellationToken.None);
        var request = Encoding.ASCII.GetString(buffer, 0, first.Count).Split(' ');
        if (request[0] == "up")
        {
            long total = 0;
            while (true)
            {
                var received = await socket.ReceiveAsync(buffer.AsMemory(), CancellationToken.None);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }

                total += received.Count;
            }

            var answer = new byte[8];
            BinaryPrimitives.WriteInt64BigEndian(answer, total);
            await socket.SendAsync(answer, WebSocketMessageType.Binary, endOfMessage: true, CancellationToken.None);
        }
        else
        {
            var bytes = long.Parse(request[1], CultureInfo.InvariantCulture);
            for (var sent = 0L; sent < bytes; sent += MessageSize)
            {
                await socket.SendAsync(Payload.AsMemory(0, (int)Math.Min(MessageSize, bytes - sent)), WebSocketMessageType.Binary, endOfMessage: true, CancellationToken.None);
            }
        }

        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
        while ((await socket.ReceiveAsync(buffer.AsMemory(), CancellationToken.None)).MessageType != WebSocketMessageType.Close)
        {
        }
    }

    /// <summary>Client: <c>ws up|down &lt;control-plane url&gt; &lt;bytes&gt;</c>; answers MB/s.</summary>
    public static async Task<string> RunClientAsync(string[] command)
    {
        var (direction, url, bytes) = (command[1], command[2], long.Parse(command[3], CultureInfo.InvariantCulture));
        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(new Uri(new Uri(url.Replace("http", "ws", StringComparison.Ordinal)), "/bench/ws"), CancellationToken.None);
        var buffer = new byte[MessageSize];
        var clock = Stopwatch.StartNew();
        await socket.SendAsync(Encoding.ASCII.GetBytes(direction == "up" ? "up" : $"down {bytes}"), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
        long moved = 0;
        if (direction == "up")
        {
            for (var sent = 0L; sent < bytes; sent += MessageSize)
            {
                await socket.SendAsync(Payload.AsMemory(0, (int)Math.Min(MessageSize, bytes - sent)), WebSocketMessageType.Binary, endOfMessage: true, CancellationToken.None);
            }

            await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
            var answer = await socket.ReceiveAsync(buffer.AsMemory(), CancellationToken.None);
            moved = BinaryPrimitives.ReadInt64BigEndian(buffer.AsSpan(0, answer.Count));
        }
        else
        {
            while (true)
            {
                var received = await socket.ReceiveAsync(buffer.AsMemory(), CancellationToken.None);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }

                moved += received.Count;
            }
        }

        var seconds = clock.Elapsed.TotalSeconds;
        if (moved != bytes)
        {
            throw new InvalidOperationException($"The bare WebSocket moved {moved} bytes, not {bytes}.");
        }

        return (bytes / seconds / 1e6).ToString("0", CultureInfo.InvariantCulture);
    }
}
