namespace EdgeAgent.ControlPlane;

/// <summary>
/// The resource handed to ASP.NET Core authorization for every command: write policies against
/// the agent (id, labels) and the command (name, group), e.g.
/// <c>policy.RequireAssertion(c =&gt; c.Resource is EdgeCommandResource r &amp;&amp; (r.Group != "exec" || c.User.IsInRole("admin")))</c>.
/// </summary>
public sealed record EdgeCommandResource
{
    /// <summary>The target agent's id.</summary>
    public required string AgentId { get; init; }

    /// <summary>The target agent's labels from enrollment.</summary>
    public IReadOnlyDictionary<string, string> AgentLabels { get; init; } = new Dictionary<string, string>();

    /// <summary>The command name, e.g. <c>docker.containers.restart</c>.</summary>
    public required string Command { get; init; }

    /// <summary>
    /// The command group: <c>system</c>, <c>containers</c>, <c>exec</c>, <c>images</c>,
    /// <c>volumes</c>, <c>networks</c>, <c>stacks</c>, <c>forwarding</c> or <c>custom</c>.
    /// </summary>
    public required string Group { get; init; }

    /// <summary>The group a command name belongs to.</summary>
    /// <param name="command">The command name.</param>
    /// <returns>The group.</returns>
    public static string GroupOf(string command)
    {
        ArgumentNullException.ThrowIfNull(command);
        var parts = command.Split('.');
        return parts switch
        {
            ["docker", var group, ..] when group is "system" or "containers" or "exec" or "images" or "volumes" or "networks" => group,
            ["stacks", ..] => "stacks",
            ["forward", ..] => "forwarding",
            _ => "custom",
        };
    }
}
