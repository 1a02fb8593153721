using EdgeAgent.Protocol.Forwarding;
using Microsoft.Extensions.Logging;

namespace EdgeAgent.Agent.Forwarding;

/// <summary>Log messages of forwarding on the agent. Event ids 2400–2449. Targets are logged, payload bytes never.</summary>
internal static partial class ForwardingLog
{
    [LoggerMessage(2400, LogLevel.Information, "Forwarding to {Target} refused by Policy:ForwardingAllowlist")]
    public static partial void TcpForwardDenied(ILogger logger, string target);

    [LoggerMessage(2401, LogLevel.Debug, "Forwarding to {Target} ({EndPoint}) opened")]
    public static partial void TcpForwardOpened(ILogger logger, string target, string endPoint);

    [LoggerMessage(2402, LogLevel.Debug, "Forwarding to {Target} closed: {Outcome}")]
    public static partial void TcpForwardClosed(ILogger logger, string target, PumpOutcome outcome);

    [LoggerMessage(2403, LogLevel.Information, "Docker API passthrough refused: Policy:DockerApiPassthrough is Off")]
    public static partial void DockerPassthroughDenied(ILogger logger);

    [LoggerMessage(2404, LogLevel.Debug, "Docker API passthrough ({Mode}) to {Endpoint} opened")]
    public static partial void DockerPassthroughOpened(ILogger logger, DockerApiPassthrough mode, string endpoint);

    [LoggerMessage(2405, LogLevel.Debug, "Docker API passthrough closed: {Outcome}")]
    public static partial void DockerPassthroughClosed(ILogger logger, PumpOutcome outcome);

    [LoggerMessage(2406, LogLevel.Information, "Read-only Docker API passthrough refused {Method} {Path} ({Status})")]
    public static partial void DockerRequestRefused(ILogger logger, string method, string path, int status);
}
