namespace EdgeAgent.Protocol.Contracts;

/// <summary>What an agent tells the control plane about itself in the handshake.</summary>
public sealed record AgentInfo
{
    /// <summary>The host name of the machine the agent runs on.</summary>
    public string Hostname { get; init; } = "";

    /// <summary>The operating system description, e.g. <c>Debian GNU/Linux 12</c>.</summary>
    public string OperatingSystem { get; init; } = "";

    /// <summary>The process architecture, e.g. <c>x64</c> or <c>arm64</c>.</summary>
    public string Architecture { get; init; } = "";

    /// <summary>The agent's own version.</summary>
    public string AgentVersion { get; init; } = "";

    /// <summary>The local Docker engine's version, or empty when the engine did not answer.</summary>
    public string EngineVersion { get; init; } = "";

    /// <summary>Operator-defined labels (site, region, role, …) used for grouping and authorization.</summary>
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();
}
