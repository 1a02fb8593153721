using Microsoft.Extensions.Logging;

namespace EdgeAgent.Agent.Stacks;

/// <summary>Source-generated log messages of compose stacks. Event ids 2400–2449.</summary>
internal static partial class StacksLog
{
    [LoggerMessage(2400, LogLevel.Warning, "Stack deployment '{Project}' rejected: {Reason}")]
    public static partial void Rejected(ILogger logger, string project, string reason);

    [LoggerMessage(2401, LogLevel.Information, "Deploying stack '{Project}' version '{Version}'")]
    public static partial void Deploying(ILogger logger, string project, string version);

    [LoggerMessage(2402, LogLevel.Information, "Stack '{Project}' version '{Version}' applied")]
    public static partial void Deployed(ILogger logger, string project, string version);

    [LoggerMessage(2403, LogLevel.Warning, "Stack '{Project}' version '{Version}' applied with errors: {Error}")]
    public static partial void DeployFailed(ILogger logger, string project, string version, string error);

    [LoggerMessage(2404, LogLevel.Information, "Pulling image '{Image}'")]
    public static partial void Pulling(ILogger logger, string image);

    [LoggerMessage(2405, LogLevel.Information, "Stack '{Project}': service '{Service}' now runs in container '{Container}'")]
    public static partial void Created(ILogger logger, string project, string service, string container);

    [LoggerMessage(2406, LogLevel.Information, "Stack '{Project}': removed container '{Container}' of service '{Service}', which is no longer in the file")]
    public static partial void Removed(ILogger logger, string project, string service, string container);

    [LoggerMessage(2407, LogLevel.Information, "Stack '{Project}' removed: {Containers} containers, {Networks} networks, {Volumes} volumes")]
    public static partial void StackRemoved(ILogger logger, string project, int containers, int networks, int volumes);
}
