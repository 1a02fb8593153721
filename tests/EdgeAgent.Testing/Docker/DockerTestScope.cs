using Docker.DotNet;

namespace EdgeAgent.Testing.Docker;

/// <summary>
/// One test's Docker resources: a unique name prefix, the labels to put on everything the test
/// creates, and cleanup of all of it on dispose.
/// </summary>
/// <example>
/// <code>
/// using var client = await DockerTestEnvironment.RequireAsync(ct);
/// await using var scope = new DockerTestScope(client);
/// var name = scope.Name("web"); // eatest-1a2b3c4d-web, labelled with scope.Labels
/// </code>
/// </example>
public sealed class DockerTestScope : IAsyncDisposable
{
    private static readonly TimeSpan CleanupTimeout = TimeSpan.FromSeconds(60);

    private readonly Dictionary<string, string> _labels;

    /// <summary>Creates a scope with a new unique prefix.</summary>
    public DockerTestScope(IDockerClient client)
    {
        ArgumentNullException.ThrowIfNull(client);
        Client = client;
        Prefix = DockerTestEnvironment.NewPrefix();
        _labels = DockerTestEnvironment.Labels(Prefix);
    }

    /// <summary>The client the scope cleans up with.</summary>
    public IDockerClient Client { get; }

    /// <summary>The unique prefix of this scope's resource names, e.g. <c>eatest-1a2b3c4d</c>.</summary>
    public string Prefix { get; }

    /// <summary>Labels for every resource of this scope (a fresh copy each time).</summary>
    public Dictionary<string, string> Labels => new(_labels, StringComparer.Ordinal);

    /// <summary>A resource name in this scope: <c>{Prefix}-{suffix}</c>.</summary>
    public string Name(string suffix) => $"{Prefix}-{suffix}";

    /// <summary>Removes every container, network and volume of this scope.</summary>
    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(CleanupTimeout);
        await DockerTestEnvironment.RemoveTestResourcesAsync(Client, Prefix, timeout.Token);
    }
}
