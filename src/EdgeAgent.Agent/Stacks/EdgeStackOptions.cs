namespace EdgeAgent.Agent;

/// <summary>Settings of compose stacks on the agent (<c>AddStacks</c>).</summary>
public sealed class EdgeStackOptions
{
    /// <summary>
    /// Where the agent keeps what it applied per stack (one folder per stack). Default: a
    /// <c>stacks</c> folder in the agent's <see cref="EdgeAgentOptions.StateDirectory"/>.
    /// </summary>
    public string? StateDirectory { get; set; }

    /// <summary>
    /// How long a deployment waits for a dependency to become healthy or to complete
    /// (<c>depends_on</c> conditions). Default two minutes.
    /// </summary>
    public TimeSpan DependencyTimeout { get; set; } = TimeSpan.FromMinutes(2);
}
