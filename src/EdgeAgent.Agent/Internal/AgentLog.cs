using EdgeAgent.Protocol;
using Microsoft.Extensions.Logging;

namespace EdgeAgent.Agent;

/// <summary>Source-generated log messages of the agent. Event ids 2000–2099. No message carries a secret.</summary>
internal static partial class AgentLog
{
    [LoggerMessage(2000, LogLevel.Information, "Connected to the control plane at {Endpoint} as agent {AgentId}")]
    public static partial void Connected(ILogger logger, string endpoint, string agentId);

    [LoggerMessage(2001, LogLevel.Warning, "Could not connect to the control plane at {Endpoint}: {Reason}")]
    public static partial void ConnectFailed(ILogger logger, string endpoint, string reason);

    [LoggerMessage(2002, LogLevel.Error, "The control plane at {Endpoint} refused the credential of agent {AgentId}. Check AGENT_TOKEN (or EDGE_ID/EDGE_KEY); the agent retries at the maximum backoff.")]
    public static partial void CredentialRefused(ILogger logger, string agentId, string endpoint);

    [LoggerMessage(2003, LogLevel.Information, "Reconnecting in {DelaySeconds:0.###} s (attempt {Attempt})")]
    public static partial void Reconnecting(ILogger logger, double delaySeconds, int attempt);

    [LoggerMessage(2004, LogLevel.Warning, "Disconnected from the control plane: {Code} {Reason}")]
    public static partial void Disconnected(ILogger logger, ProtocolErrorCode code, string reason);

    [LoggerMessage(2005, LogLevel.Warning, "Insecure transport to {Endpoint}: the connection is unencrypted or the server certificate is not validated (AllowInsecureTransport)")]
    public static partial void InsecureTransport(ILogger logger, string endpoint);

    [LoggerMessage(2006, LogLevel.Error, "The retry policy stopped reconnecting after {Attempts} attempts")]
    public static partial void RetryPolicyGaveUp(ILogger logger, int attempts);

    [LoggerMessage(2007, LogLevel.Error, "A handler of the agent's StateChanged event failed ({Previous} -> {Current})")]
    public static partial void StateHandlerFailed(ILogger logger, EdgeAgent.Agent.EdgeAgentState previous, EdgeAgent.Agent.EdgeAgentState current, Exception exception);
}
