namespace EdgeAgent.Agent;

/// <summary>How much of the Docker Engine API a forwarded stream may reach.</summary>
public enum DockerApiPassthrough
{
    /// <summary>No passthrough (default).</summary>
    Off,

    /// <summary>Only <c>GET</c> and <c>HEAD</c> requests reach the engine.</summary>
    ReadOnly,

    /// <summary>Every request reaches the engine: equivalent to root on the host.</summary>
    Full,
}

/// <summary>
/// What the agent lets the control plane do. The Docker socket is root on its host, so the agent
/// enforces this itself, whatever the control plane asks. Defaults: every command group allowed,
/// exec allowed, no TCP forwarding, no Docker API passthrough, pulls from any registry.
/// </summary>
public sealed class EdgeAgentPolicy
{
    /// <summary>Only commands that read state (list, inspect, logs, stats, browse) are allowed.</summary>
    public bool ReadOnly { get; set; }

    /// <summary>Command groups allowed (see <see cref="EdgeCommandGroups"/>); empty allows all.</summary>
    public ISet<string> AllowedGroups { get; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>Whether commands may run inside containers (exec). Default true.</summary>
    public bool AllowExec { get; set; } = true;

    /// <summary>
    /// TCP targets that may be forwarded to, as <c>host:port</c>, <c>host:from-to</c> or
    /// <c>cidr:port</c> (e.g. <c>127.0.0.1:22</c>, <c>10.0.0.0/8:80-443</c>, <c>localhost:5432</c>,
    /// <c>*:8080</c> for any address). Empty (the default) allows none.
    /// </summary>
    public IList<string> ForwardingAllowlist { get; } = [];

    /// <summary>Docker Engine API passthrough over a forwarded stream. Default <see cref="DockerApiPassthrough.Off"/>.</summary>
    public DockerApiPassthrough DockerApiPassthrough { get; set; } = DockerApiPassthrough.Off;

    /// <summary>Registries images may be pulled from (e.g. <c>docker.io</c>, <c>ghcr.io</c>); empty allows all.</summary>
    public ISet<string> AllowedRegistries { get; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>The most commands running at once; further commands get <c>unavailable</c>. Default 64.</summary>
    public int MaxConcurrentCommands { get; set; } = 64;
}
