namespace EdgeAgent.Protocol;

/// <summary>
/// Why a tunnel session or channel was closed. Values travel on the wire (go-away, reset and
/// handshake refusals) and are stable.
/// </summary>
public enum ProtocolErrorCode
{
    /// <summary>Normal closure.</summary>
    None = 0,

    /// <summary>A frame's declared length exceeds the negotiated maximum frame size.</summary>
    FrameTooLarge = 1,

    /// <summary>A frame is not a valid envelope (bad MessagePack, wrong field types or counts).</summary>
    InvalidFrame = 2,

    /// <summary>The transport ended in the middle of a frame.</summary>
    TruncatedFrame = 3,

    /// <summary>A frame other than the handshake arrived before the handshake completed.</summary>
    HandshakeRequired = 4,

    /// <summary>A second handshake arrived on an established session.</summary>
    DuplicateHandshake = 5,

    /// <summary>The peers speak different major protocol versions.</summary>
    UnsupportedVersion = 6,

    /// <summary>The handshake was refused or did not complete in time.</summary>
    HandshakeFailed = 7,

    /// <summary>A frame referenced a channel that is not open.</summary>
    UnknownChannel = 8,

    /// <summary>A channel id has the wrong parity for the side that opened it, or is reused.</summary>
    InvalidChannelId = 9,

    /// <summary>The peer sent more bytes than the channel's receive window allowed.</summary>
    FlowControlViolation = 10,

    /// <summary>The peer opened more channels than the advertised limit.</summary>
    TooManyChannels = 11,

    /// <summary>A string was not valid UTF-8.</summary>
    InvalidUtf8 = 12,

    /// <summary>The peer did not answer keepalive pings in time.</summary>
    KeepaliveTimeout = 13,

    /// <summary>The peer is shutting down (graceful go-away).</summary>
    Shutdown = 14,

    /// <summary>The session was replaced by a newer connection of the same agent.</summary>
    Replaced = 15,

    /// <summary>The agent's credential was revoked.</summary>
    Revoked = 16,

    /// <summary>The channel was cancelled by the side that opened it.</summary>
    Cancelled = 17,

    /// <summary>A channel-level refusal: the target refused or is unreachable.</summary>
    Refused = 18,

    /// <summary>An unexpected failure inside the peer.</summary>
    InternalError = 19,

    /// <summary>The transport failed or closed without a go-away.</summary>
    ConnectionLost = 20,
}
