namespace EdgeAgent.Protocol.Frames;

/// <summary>The envelope's first field. Values are part of the wire format and never change.</summary>
internal enum FrameType : byte
{
    /// <summary>Agent → control plane, first frame: version, identity, info, capabilities, limits.</summary>
    HandshakeRequest = 1,

    /// <summary>Control plane → agent: accepted or refused, and the server's limits.</summary>
    HandshakeResponse = 2,

    /// <summary>Keepalive probe; the peer answers with <see cref="Pong"/> carrying the same value.</summary>
    Ping = 3,

    /// <summary>Keepalive answer.</summary>
    Pong = 4,

    /// <summary>Opens a channel: <c>[5, channel, kind, payload]</c>.</summary>
    Open = 5,

    /// <summary>The acceptor took the channel.</summary>
    Accept = 6,

    /// <summary>The acceptor refused the channel: <c>[7, channel, code, message]</c>.</summary>
    Reject = 7,

    /// <summary>Channel bytes: <c>[8, channel, bin]</c>.</summary>
    Data = 8,

    /// <summary>Receive credit returned to the sender: <c>[9, channel, increment]</c>.</summary>
    WindowUpdate = 9,

    /// <summary>The sender will send no more data on the channel (half-close).</summary>
    Close = 10,

    /// <summary>Abortive close of both directions: <c>[11, channel, code, message]</c>.</summary>
    Reset = 11,

    /// <summary>Graceful session close: <c>[12, 0, code, message]</c>.</summary>
    GoAway = 12,
}
