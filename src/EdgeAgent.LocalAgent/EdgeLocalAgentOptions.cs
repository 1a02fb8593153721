namespace EdgeAgent.LocalAgent;

/// <summary>Settings of the integrated local agent.</summary>
public sealed class EdgeLocalAgentOptions
{
    /// <summary>The id under which the local agent appears in the registry. Default <c>local</c>.</summary>
    public string AgentId { get; set; } = "local";

    /// <summary>The display name. Default: the machine name.</summary>
    public string? Name { get; set; }

    /// <summary>Labels of the local agent.</summary>
    public IDictionary<string, string> Labels { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Where the local agent keeps its state; default as for a standalone agent.</summary>
    public string? StateDirectory { get; set; }

    /// <summary>The Docker engine endpoint; default <c>DOCKER_HOST</c> or the local socket.</summary>
    public string? DockerEndpoint { get; set; }
}
