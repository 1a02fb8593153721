using MessagePack;

namespace EdgeAgent.Protocol.Contracts.Stacks;

/// <summary>
/// The desired state of a compose stack: deploying it makes the agent's engine run what the
/// compose file describes. Deploying the same content again changes nothing.
/// </summary>
[MessagePackObject]
public sealed record StackDeployRequest
{
    /// <summary>
    /// The compose project name (lowercase letters, digits, <c>-</c> and <c>_</c>, starting with a
    /// letter or digit). When empty, the compose file's top-level <c>name</c> is used.
    /// </summary>
    [Key(0)]
    public string ProjectName { get; init; } = "";

    /// <summary>The compose file (YAML), as <c>docker compose</c> reads it.</summary>
    [Key(1)]
    public string ComposeYaml { get; init; } = "";

    /// <summary>
    /// The variables <c>$VAR</c> and <c>${VAR…}</c> in the compose file are replaced with. The agent's
    /// own environment is never used.
    /// </summary>
    [Key(2)]
    public IReadOnlyDictionary<string, string> Variables { get; init; } = new Dictionary<string, string>();

    /// <summary>The version of this deployment (any caller-chosen label, e.g. a revision number or a hash).</summary>
    [Key(3)]
    public string Version { get; init; } = "";

    /// <summary>When the agent pulls the services' images.</summary>
    [Key(4)]
    public StackPullPolicy PullPolicy { get; init; } = StackPullPolicy.Missing;
}

/// <summary>When the agent pulls the images a stack uses.</summary>
public enum StackPullPolicy
{
    /// <summary>Pull an image only when the engine does not have it.</summary>
    Missing = 0,

    /// <summary>Pull every image at every deployment; services whose image changed are recreated.</summary>
    Always = 1,

    /// <summary>Never pull: a missing image fails the deployment before anything is changed.</summary>
    Never = 2,
}
