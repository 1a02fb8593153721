using System.Buffers;
using System.Net;
using System.Net.WebSockets;
using EdgeAgent.Protocol;
using EdgeAgent.Protocol.Contracts;
using EdgeAgent.Protocol.Frames;
using EdgeAgent.Protocol.Session;

namespace EdgeAgent.FunctionalTests.Hostile;

/// <summary>One frame as a hostile test client saw it (copied out of the receive buffer).</summary>
internal sealed record ReceivedFrame(FrameType Type, uint Channel, ulong Value, string? Message, byte[] Payload, HandshakeResponse? Response)
{
    public ProtocolErrorCode Code => (ProtocolErrorCode)Value;
}

/// <summary>
/// A hand-driven agent connection: a real <see cref="ClientWebSocket"/> with a real token, then
/// whatever bytes the test writes. Valid frames come from <see cref="FrameWriter"/>; bad ones are
/// written by hand. It reads the server's frames back so a test can assert the close code.
/// </summary>
internal sealed class RawAgentSocket : IAsyncDisposable
{
    private readonly WebSocket _socket;
    private readonly byte[] _receive = new byte[64 * 1024];
    private byte[] _pending = [];

    private RawAgentSocket(WebSocket socket)
    {
        _socket = socket;
    }

    /// <summary>Drives an accepted server-side socket the same way (the hostile control plane).</summary>
    public static RawAgentSocket Wrap(WebSocket socket) => new(socket);

    public WebSocketState State => _socket.State;

    public static Uri Endpoint(Uri baseUrl) => new(new Uri(baseUrl.ToString().Replace("http", "ws", StringComparison.Ordinal)), "/agent/connect");

    public static async Task<RawAgentSocket> ConnectAsync(Uri baseUrl, string token)
    {
        var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", "Bearer " + token);
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        socket.Options.CollectHttpResponseDetails = true;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await socket.ConnectAsync(Endpoint(baseUrl), timeout.Token);
        socket.HttpStatusCode.Should().Be(HttpStatusCode.SwitchingProtocols);
        return new RawAgentSocket(socket);
    }

    /// <summary>A well-formed handshake request for <paramref name="agentId"/>.</summary>
    public static HandshakeRequest Handshake(string agentId, int major = TunnelSession.ProtocolMajor) =>
        new(major, 0, agentId, new AgentInfo { Hostname = "hostile", OperatingSystem = "test", Architecture = "x64", AgentVersion = "0", EngineVersion = "" }, ["commands"], new SessionLimits(64 * 1024, 64 * 1024, 64));

    /// <summary>Sends bytes as one binary WebSocket message.</summary>
    public async Task SendAsync(ReadOnlyMemory<byte> bytes)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await _socket.SendAsync(bytes, WebSocketMessageType.Binary, endOfMessage: true, timeout.Token);
    }

    /// <summary>Writes frames with <paramref name="write"/> and sends them as one message.</summary>
    public Task SendFramesAsync(Action<IBufferWriter<byte>> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        write(buffer);
        return SendAsync(buffer.WrittenMemory);
    }

    /// <summary>Sends a valid handshake and returns the server's accepted response.</summary>
    public async Task<HandshakeResponse> HandshakeAsync(string agentId)
    {
        await SendFramesAsync(b => FrameWriter.WriteHandshakeRequest(b, Handshake(agentId)));
        var frame = await ReadFrameAsync();
        frame.Should().NotBeNull("the server answers the handshake");
        frame!.Type.Should().Be(FrameType.HandshakeResponse);
        frame.Response!.Code.Should().Be(ProtocolErrorCode.None);
        return frame.Response;
    }

    /// <summary>Reads the next frame; null when the server closed the connection.</summary>
    public async Task<ReceivedFrame?> ReadFrameAsync(TimeSpan? timeout = null)
    {
        var wait = timeout ?? TimeSpan.FromSeconds(15);
        using var cts = new CancellationTokenSource(wait > TimeSpan.Zero ? wait : TimeSpan.FromMilliseconds(1));
        while (true)
        {
            var sequence = new ReadOnlySequence<byte>(_pending);
            if (FrameReader.TryParse(ref sequence, 16 * 1024 * 1024, out var frame))
            {
                var received = new ReceivedFrame(frame.Type, frame.Channel, frame.Value, frame.Message, frame.Payload.ToArray(), frame.HandshakeResponse);
                _pending = sequence.ToArray();
                return received;
            }

            WebSocketReceiveResult result;
            try
            {
                result = await _socket.ReceiveAsync(_receive, cts.Token);
            }
            catch (WebSocketException)
            {
                return null;
            }

            if (result.MessageType == WebSocketMessageType.Close)
            {
                return null;
            }

            _pending = [.. _pending, .. _receive.AsSpan(0, result.Count)];
        }
    }

    /// <summary>Reads until a frame of <paramref name="type"/> arrives, answering pings on the way; null when the server closed.</summary>
    /// <exception cref="TimeoutException">Nothing of that type arrived within 15 s (pings do not count).</exception>
    public async Task<ReceivedFrame?> ReadUntilAsync(FrameType type, uint? channel = null)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (await ReadFrameAsync(deadline - DateTime.UtcNow) is { } frame)
        {
            if (frame.Type == type && (channel is null || frame.Channel == channel))
            {
                return frame;
            }

            if (frame.Type == FrameType.Ping)
            {
                await SendFramesAsync(b => FrameWriter.WritePong(b, frame.Value));
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"No {type} frame within 15 s.");
            }
        }

        return null;
    }

    /// <summary>
    /// Reads until the server's go-away (or refusing handshake response), then requires the
    /// connection to end. Returns the close code.
    /// </summary>
    public async Task<ProtocolErrorCode> ReadCloseCodeAsync()
    {
        ProtocolErrorCode? code = null;
        while (await ReadFrameAsync() is { } frame)
        {
            if (frame.Type == FrameType.GoAway)
            {
                code ??= frame.Code;
            }
            else if (frame.Type == FrameType.HandshakeResponse && frame.Response!.Code != ProtocolErrorCode.None)
            {
                code ??= frame.Response.Code;
            }
        }

        code.Should().NotBeNull("the server says why it closes");
        return code!.Value;
    }

    public async ValueTask DisposeAsync()
    {
        if (_socket.State == WebSocketState.Open)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
            {
            }
        }

        _socket.Dispose();
    }
}
