namespace EdgeAgent.Agent;

/// <summary>Command groups that the agent's policy allows or refuses as a whole.</summary>
public static class EdgeCommandGroups
{
    /// <summary>Engine ping, version, info, disk usage.</summary>
    public const string System = "system";

    /// <summary>Container list, inspect, lifecycle, logs and stats.</summary>
    public const string Containers = "containers";

    /// <summary>Commands run inside containers.</summary>
    public const string Exec = "exec";

    /// <summary>Image list, inspect, pull, tag, remove, prune.</summary>
    public const string Images = "images";

    /// <summary>Volume list, inspect, create, remove, prune and browse.</summary>
    public const string Volumes = "volumes";

    /// <summary>Network list, inspect, create, remove, connect, disconnect.</summary>
    public const string Networks = "networks";

    /// <summary>Compose stack deploy, status and remove.</summary>
    public const string Stacks = "stacks";

    /// <summary>TCP forwarding and Docker API passthrough.</summary>
    public const string Forwarding = "forwarding";

    /// <summary>Commands a host application registers itself.</summary>
    public const string Custom = "custom";
}
