namespace EdgeAgent.Agent.Stacks;

/// <summary>
/// The labels and names docker compose itself uses, so that the compose CLI recognises a stack the
/// agent deployed and the agent recognises one deployed with the CLI.
/// </summary>
/// <remarks>
/// What docker-compose 1.29 (the Python CLI) checks, read from its source:
/// <list type="bullet">
/// <item><c>ps</c>, <c>down</c> and <c>up</c> find a project's containers with the label filters
/// <c>com.docker.compose.project=&lt;name&gt;</c> and <c>com.docker.compose.oneoff=False</c>, and
/// keep those whose <c>com.docker.compose.service</c> is a service of the file. Names do not
/// matter: the CLI names containers <c>&lt;project&gt;_&lt;service&gt;_&lt;n&gt;</c>, compose v2
/// (and this agent) <c>&lt;project&gt;-&lt;service&gt;-&lt;n&gt;</c>; both are recognised.</item>
/// <item>Only when no container matches does it retry with the legacy project name (without
/// <c>-</c>/<c>_</c>) and then keeps containers whose <c>com.docker.compose.version</c> is below
/// 1.21.0. A missing version label would make that comparison fail, so the agent always sets one
/// (<see cref="ComposeVersion"/>, a v2 version, above 1.21.0).</item>
/// <item><c>up</c> recreates a container when its <c>com.docker.compose.config-hash</c> differs
/// from the hash the CLI computes from its own (Python) view of the config. The agent's hash is
/// its own (see <see cref="StackConfigHash"/>), so running <c>docker-compose up</c> over a stack the
/// agent deployed recreates its containers once, and vice versa; neither treats the other's
/// containers as foreign.</item>
/// <item>Networks and volumes are found by name (<c>&lt;project&gt;_&lt;key&gt;</c>); their labels
/// other than <c>com.docker.*</c> are only compared to warn.</item>
/// </list>
/// </remarks>
internal static class ComposeLabels
{
    public const string Project = "com.docker.compose.project";
    public const string Service = "com.docker.compose.service";
    public const string ContainerNumber = "com.docker.compose.container-number";
    public const string OneOff = "com.docker.compose.oneoff";
    public const string ConfigHash = "com.docker.compose.config-hash";
    public const string WorkingDir = "com.docker.compose.project.working_dir";
    public const string ConfigFiles = "com.docker.compose.project.config_files";
    public const string Version = "com.docker.compose.version";
    public const string Network = "com.docker.compose.network";
    public const string Volume = "com.docker.compose.volume";

    /// <summary>The compose version the agent writes in <see cref="Version"/>: the compose v2 line it follows.</summary>
    public const string ComposeVersion = "2.20.2";

    /// <summary>The network services join when they name none.</summary>
    public const string DefaultNetwork = "default";
}
