namespace EdgeAgent.Protocol.Docker;

/// <summary>All typed Docker commands of one agent, grouped by object kind.</summary>
/// <param name="invoker">Sends the commands to the agent.</param>
public sealed class DockerCommands(IEdgeCommandInvoker invoker)
{
    /// <summary>Engine ping, version, info and disk usage.</summary>
    public SystemCommands System { get; } = new(invoker);

    /// <summary>Containers: lifecycle, logs, stats.</summary>
    public ContainerCommands Containers { get; } = new(invoker);

    /// <summary>Commands run inside containers.</summary>
    public ExecCommands Exec { get; } = new(invoker);

    /// <summary>Images.</summary>
    public ImageCommands Images { get; } = new(invoker);

    /// <summary>Volumes, including browsing their files.</summary>
    public VolumeCommands Volumes { get; } = new(invoker);

    /// <summary>Networks.</summary>
    public NetworkCommands Networks { get; } = new(invoker);
}
