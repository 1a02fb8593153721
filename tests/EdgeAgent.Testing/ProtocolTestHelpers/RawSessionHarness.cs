using EdgeAgent.Protocol;
using EdgeAgent.Protocol.Contracts;
using EdgeAgent.Protocol.Frames;
using EdgeAgent.Protocol.Session;
using EdgeAgent.Protocol.Transports;
using Microsoft.Extensions.Logging;

namespace EdgeAgent.Testing.ProtocolTestHelpers;

/// <summary>Starts one real <see cref="TunnelSession"/> with a <see cref="RawPeer"/> on the other end, handshake done.</summary>
internal static class RawSessionHarness
{
    /// <summary>The limits the raw peer advertises unless told otherwise.</summary>
    public static readonly SessionLimits DefaultPeerLimits = new(1024 * 1024, 1024 * 1024, 1024);

    /// <summary>A valid agent handshake request with labels and capabilities.</summary>
    public static HandshakeRequest AgentHello(int major = TunnelSession.ProtocolMajor, int minor = TunnelSession.ProtocolMinor, SessionLimits? limits = null) =>
        new(
            major,
            minor,
            "raw-agent",
            new AgentInfo
            {
                Hostname = "host-1",
                OperatingSystem = "Debian GNU/Linux 12",
                Architecture = "x64",
                AgentVersion = "0.1.0",
                EngineVersion = "27.0",
                Labels = new Dictionary<string, string> { ["site"] = "lab", ["role"] = "edge" },
            },
            ["logs", "exec"],
            limits ?? DefaultPeerLimits);

    /// <summary>A valid control-plane handshake response.</summary>
    public static HandshakeResponse ServerHello(int major = TunnelSession.ProtocolMajor, int minor = TunnelSession.ProtocolMinor, SessionLimits? limits = null, ProtocolErrorCode code = ProtocolErrorCode.None, string message = "") =>
        new(major, minor, code, message, "raw-control-plane", limits ?? DefaultPeerLimits, TimeSpan.FromSeconds(15));

    /// <summary>The session under test accepts; the raw peer connects (odd channel ids are the peer's).</summary>
    public static async Task<(TunnelSession Session, RawPeer Peer)> AcceptingAsync(
        SessionOptions? options = null,
        Func<TunnelChannel, Task>? channelHandler = null,
        TimeProvider? time = null,
        SessionLimits? peerLimits = null,
        ILogger? logger = null)
    {
        var (left, right) = InMemoryTransport.CreatePair();
        var peer = new RawPeer(left);
        var accept = TunnelSession.AcceptAsync(right, options ?? new SessionOptions(), "test-control-plane", _ => null, channelHandler, time, logger);
        await peer.SendAsync(o => FrameWriter.WriteHandshakeRequest(o, AgentHello(limits: peerLimits)));
        var response = await peer.ReceiveAsync();
        if (response?.HandshakeResponse is not { Code: ProtocolErrorCode.None })
        {
            throw new InvalidOperationException($"The session refused the raw peer's handshake: {response}");
        }

        var (session, _) = await Poll.Within(accept);
        return (session, peer);
    }

    /// <summary>The session under test connects; the raw peer accepts (even channel ids are the peer's).</summary>
    public static async Task<(TunnelSession Session, RawPeer Peer)> ConnectingAsync(
        SessionOptions? options = null,
        Func<TunnelChannel, Task>? channelHandler = null,
        TimeProvider? time = null,
        SessionLimits? peerLimits = null,
        ILogger? logger = null)
    {
        var (left, right) = InMemoryTransport.CreatePair();
        var peer = new RawPeer(right);
        var connect = TunnelSession.ConnectAsync(left, AgentHello(), options ?? new SessionOptions(), channelHandler, time, logger);
        var hello = await peer.ReceiveAsync();
        if (hello?.HandshakeRequest is null)
        {
            throw new InvalidOperationException($"Expected the session's handshake request, got {hello}.");
        }

        await peer.SendAsync(o => FrameWriter.WriteHandshakeResponse(o, ServerHello(limits: peerLimits)));
        var (session, _) = await Poll.Within(connect);
        return (session, peer);
    }
}
