using System.Security.Claims;
using EdgeAgent.Protocol;
using EdgeAgent.Protocol.Docker;

namespace EdgeAgent.ControlPlane;

/// <summary>
/// Sends commands to agents. Inject it and index by agent id:
/// <c>await agents["store-42"].InvokeAsync&lt;TReq, TRes&gt;("myapp.reboot", request, cancellationToken: ct)</c>.
/// </summary>
public interface IEdgeAgents
{
    /// <summary>A handle to one agent. Getting it does not check that the agent exists or is connected.</summary>
    /// <param name="agentId">The agent id.</param>
    IEdgeAgent this[string agentId] { get; }

    /// <summary>
    /// A view whose commands are authorized and audited as <paramref name="caller"/> (for example
    /// <c>HttpContext.User</c>). Without it, commands run as the control plane itself.
    /// </summary>
    /// <param name="caller">The caller's principal.</param>
    /// <returns>A view for that caller.</returns>
    IEdgeAgents As(ClaimsPrincipal caller);
}

/// <summary>One agent: send it commands; typed groups cover the built-in Docker and stack commands.</summary>
public interface IEdgeAgent : IEdgeCommandInvoker
{
    /// <summary>The agent id.</summary>
    string Id { get; }

    /// <summary>True when the agent has a live session with a fresh heartbeat.</summary>
    bool IsConnected { get; }

    /// <summary>Engine ping, version, info and disk usage.</summary>
    SystemCommands System => new(this);

    /// <summary>Container lifecycle, inspect, logs and stats.</summary>
    ContainerCommands Containers => new(this);

    /// <summary>Commands run inside containers, non-interactive and interactive.</summary>
    ExecCommands Exec => new(this);

    /// <summary>Images: list, inspect, pull, tag, remove, prune.</summary>
    ImageCommands Images => new(this);

    /// <summary>Volumes: list, inspect, create, remove, prune, browse.</summary>
    VolumeCommands Volumes => new(this);

    /// <summary>Networks: list, inspect, create, remove, connect, disconnect.</summary>
    NetworkCommands Networks => new(this);

    /// <summary>Compose stacks on the agent directly (for desired state across reconnects use <see cref="IEdgeStacks"/>).</summary>
    StackCommands Stacks => new(this);
}

/// <summary>The agent has no live session; the command was not sent. Retry when it reconnects.</summary>
public sealed class EdgeAgentNotConnectedException : EdgeCommandException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="agentId">The agent id.</param>
    public EdgeAgentNotConnectedException(string agentId)
        : base(EdgeErrorCodes.Unavailable, $"Agent '{agentId}' is not connected.")
    {
        AgentId = agentId;
    }

    /// <summary>The agent id.</summary>
    public string AgentId { get; }
}
