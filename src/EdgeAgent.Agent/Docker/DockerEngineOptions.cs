namespace EdgeAgent.Agent;

/// <summary>How the agent reaches its local Docker engine.</summary>
public sealed class DockerEngineOptions
{
    /// <summary>
    /// The engine's endpoint, e.g. <c>unix:///var/run/docker.sock</c>, <c>npipe://./pipe/docker_engine</c>
    /// or <c>tcp://127.0.0.1:2375</c>. Null uses <c>DOCKER_HOST</c>, then the platform's default socket.
    /// </summary>
    public string? Endpoint { get; set; }

    /// <summary>How long a single (non-streaming) engine request may take. Default 100 seconds.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(100);

    /// <summary>
    /// The image of the short-lived helper container used to browse volumes (it is created, never
    /// started, and removed afterwards, so any image works). Null picks an image already present.
    /// </summary>
    public string? HelperImage { get; set; }

    /// <summary>The registries images may be pulled from (from the agent's policy); empty allows all.</summary>
    internal IReadOnlyCollection<string> AllowedRegistries { get; set; } = [];
}
