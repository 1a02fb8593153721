using EdgeAgent.Protocol.Contracts;

namespace EdgeAgent.Protocol.Frames;

/// <summary>The limits one side advertises: what it accepts from its peer.</summary>
/// <param name="MaxFrameSize">The largest frame, in bytes, the side will read.</param>
/// <param name="InitialWindow">The receive window, in bytes, of every channel the side receives on.</param>
/// <param name="MaxChannels">The most channels the peer may have open towards this side at once.</param>
/// <param name="ConnectionWindow">
/// The connection-level window, in bytes: how many data-frame bytes the peer may have in flight
/// towards this side across all channels before this side returns credit on channel 0. Zero (the
/// value an older peer implies by leaving the field out) means the side does not take part in
/// connection-level flow control; it is used only when both sides advertise it.
/// </param>
internal readonly record struct SessionLimits(int MaxFrameSize, int InitialWindow, int MaxChannels, int ConnectionWindow = 0);

/// <summary>The agent's first frame.</summary>
internal sealed record HandshakeRequest(
    int Major,
    int Minor,
    string AgentId,
    AgentInfo Info,
    IReadOnlyList<string> Capabilities,
    SessionLimits Limits);

/// <summary>The control plane's answer to <see cref="HandshakeRequest"/>.</summary>
internal sealed record HandshakeResponse(
    int Major,
    int Minor,
    ProtocolErrorCode Code,
    string Message,
    string ServerName,
    SessionLimits Limits,
    TimeSpan KeepaliveInterval);
