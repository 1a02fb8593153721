using System.Buffers;

namespace EdgeAgent.Protocol.Frames;

/// <summary>
/// One decoded frame. Fields are interpreted by <see cref="Type"/>; <see cref="Payload"/> is a
/// slice of the input buffer (never a copy) and is valid only until the reader advances past it.
/// </summary>
internal readonly struct Frame
{
    /// <summary>The frame type; unknown values are reported as-is so the session can ignore them.</summary>
    public FrameType Type { get; init; }

    /// <summary>The channel id; 0 for session-level frames.</summary>
    public uint Channel { get; init; }

    /// <summary>Ping/pong value, window increment, open kind, or error code.</summary>
    public ulong Value { get; init; }

    /// <summary>Reject, reset and go-away reason.</summary>
    public string? Message { get; init; }

    /// <summary>Data bytes or open payload, sliced from the input.</summary>
    public ReadOnlySequence<byte> Payload { get; init; }

    /// <summary>Set for <see cref="FrameType.HandshakeRequest"/>.</summary>
    public HandshakeRequest? HandshakeRequest { get; init; }

    /// <summary>Set for <see cref="FrameType.HandshakeResponse"/>.</summary>
    public HandshakeResponse? HandshakeResponse { get; init; }

    /// <summary>True when the type is one this version does not know (it is then ignored).</summary>
    public bool IsUnknownType => Type is < FrameType.HandshakeRequest or > FrameType.GoAway;
}
