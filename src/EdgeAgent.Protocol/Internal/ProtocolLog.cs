using Microsoft.Extensions.Logging;

namespace EdgeAgent.Protocol;

/// <summary>Source-generated log messages of the protocol layer. Event ids 1000–1099.</summary>
internal static partial class ProtocolLog
{
    [LoggerMessage(1000, LogLevel.Warning, "Tunnel protocol violation {Code}: {Reason}")]
    public static partial void ProtocolViolation(ILogger logger, ProtocolErrorCode code, string reason);

    [LoggerMessage(1001, LogLevel.Information, "Tunnel session closed with {Code} ({Reason}); closed locally: {ClosedLocally}")]
    public static partial void SessionClosed(ILogger logger, ProtocolErrorCode code, string reason, bool closedLocally);

    [LoggerMessage(1002, LogLevel.Information, "The peer is going away with {Code}: {Reason}")]
    public static partial void PeerGoingAway(ILogger logger, ProtocolErrorCode code, string reason);

    [LoggerMessage(1003, LogLevel.Debug, "Ignored a frame of unknown type {Type}")]
    public static partial void UnknownFrameIgnored(ILogger logger, int type);

    [LoggerMessage(1004, LogLevel.Error, "The handler of channel {Channel} failed")]
    public static partial void ChannelHandlerFailed(ILogger logger, uint channel, Exception exception);

    [LoggerMessage(1005, LogLevel.Warning, "The peer did not answer keepalive pings within {Seconds} s")]
    public static partial void KeepaliveTimedOut(ILogger logger, double seconds);

    [LoggerMessage(1006, LogLevel.Warning, "Graceful close timed out with {Channels} channels still open; aborting them")]
    public static partial void DrainTimedOut(ILogger logger, int channels);

    [LoggerMessage(1007, LogLevel.Warning, "The transport did not finish closing within {Seconds} s and was aborted")]
    public static partial void TransportCloseTimedOut(ILogger logger, double seconds);
}
