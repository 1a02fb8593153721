using EdgeAgent.Protocol;
using Microsoft.Extensions.Logging;

namespace EdgeAgent.ControlPlane.Internal;

/// <summary>Source-generated log messages of the control plane. Event ids 3000–3099. No message carries a secret.</summary>
internal static partial class ControlPlaneLog
{
    [LoggerMessage(3000, LogLevel.Information, "Agent {AgentId} connected from {RemoteAddress} (agent {AgentVersion}, engine {EngineVersion})")]
    public static partial void AgentConnected(ILogger logger, string agentId, string? remoteAddress, string agentVersion, string engineVersion);

    [LoggerMessage(3001, LogLevel.Information, "Agent {AgentId} disconnected: {Code} {Reason}")]
    public static partial void AgentDisconnected(ILogger logger, string agentId, ProtocolErrorCode code, string reason);

    [LoggerMessage(3002, LogLevel.Warning, "Refused agent handshake for {AgentId} from {RemoteAddress}: {Reason}")]
    public static partial void HandshakeRefused(ILogger logger, string agentId, string? remoteAddress, string reason);

    [LoggerMessage(3003, LogLevel.Warning, "Agent session for {AgentId} from {RemoteAddress} failed during the handshake: {Code} {Reason}")]
    public static partial void HandshakeFailed(ILogger logger, string agentId, string? remoteAddress, ProtocolErrorCode code, string reason);

    [LoggerMessage(3004, LogLevel.Information, "Enrolled agent {AgentId}")]
    public static partial void AgentEnrolled(ILogger logger, string agentId);

    [LoggerMessage(3005, LogLevel.Information, "Rotated the secret of agent {AgentId}; the previous secret works for {OverlapMinutes} more minutes")]
    public static partial void SecretRotated(ILogger logger, string agentId, double overlapMinutes);

    [LoggerMessage(3006, LogLevel.Warning, "Revoked agent {AgentId}")]
    public static partial void AgentRevoked(ILogger logger, string agentId);

    [LoggerMessage(3007, LogLevel.Warning, "Refused an agent connection from {RemoteAddress}: {Reason}")]
    public static partial void ConnectionRefused(ILogger logger, string? remoteAddress, string reason);

    [LoggerMessage(3030, LogLevel.Error, "A handler of the registry's {EventName} event failed for agent {AgentId}")]
    public static partial void RegistryHandlerFailed(ILogger logger, string eventName, string agentId, Exception exception);
}
