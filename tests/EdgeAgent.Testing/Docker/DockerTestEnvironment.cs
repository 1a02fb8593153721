using Docker.DotNet;
using Docker.DotNet.Models;
using Xunit;

namespace EdgeAgent.Testing.Docker;

/// <summary>
/// Where the tests' Docker engine is and what it must hold. Every Docker test starts with
/// <c>using var docker = await DockerTestEnvironment.RequireAsync();</c>: with no engine the test is
/// skipped (reason shown), or fails when <c>EDGEAGENT_REQUIRE_DOCKER=1</c>; it never passes silently.
/// </summary>
public static class DockerTestEnvironment
{
    /// <summary>The local test image that <c>eng/test.sh</c> imports from Debian's busybox-static.</summary>
    public const string TestImage = "edgeagent-test/busybox:latest";

    /// <summary>The label every test resource carries, so that cleanup can find it.</summary>
    public const string TestLabel = "edgeagent.test";

    /// <summary>The value of <see cref="TestLabel"/>.</summary>
    public const string TestLabelValue = "1";

    /// <summary>The label naming the scope (one test) that created a resource.</summary>
    public const string ScopeLabel = "edgeagent.test.scope";

    /// <summary>When set to <c>1</c>, a missing engine fails Docker tests instead of skipping them.</summary>
    public const string RequireDockerVariable = "EDGEAGENT_REQUIRE_DOCKER";

    private const string DefaultEndpoint = "unix:///var/run/docker.sock";

    private static readonly TimeSpan PingTimeout = TimeSpan.FromSeconds(10);

    /// <summary>The engine endpoint: <c>DOCKER_HOST</c> when set, else the local Unix socket.</summary>
    public static Uri Endpoint { get; } = new(
        Environment.GetEnvironmentVariable("DOCKER_HOST") is { Length: > 0 } host ? host : DefaultEndpoint);

    /// <summary>Whether <see cref="RequireDockerVariable"/> asks for a hard failure when no engine answers.</summary>
    public static bool IsRequired =>
        Environment.GetEnvironmentVariable(RequireDockerVariable) is "1" or "true" or "TRUE" or "True";

    /// <summary>Creates a client for <see cref="Endpoint"/> without checking that the engine answers.</summary>
    public static DockerClient CreateClient() => new DockerClientBuilder().WithEndpoint(Endpoint).Build();

    /// <summary>
    /// Returns a client connected to an engine that answered a ping. When none answers, skips the
    /// calling test (<see cref="Assert.Skip(string)"/>), or fails it when <see cref="IsRequired"/>.
    /// </summary>
    public static async Task<DockerClient> RequireAsync(CancellationToken cancellationToken = default)
    {
        var client = CreateClient();
        string failure;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(PingTimeout);
            await client.System.PingAsync(timeout.Token);
            return client;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            client.Dispose();
            failure = $"No Docker engine at {Endpoint} ({ex.GetType().Name}: {ex.Message})";
        }

        if (IsRequired)
        {
            Assert.Fail($"{failure}; {RequireDockerVariable}=1 requires one. Run bash eng/test.sh to provision it.");
        }

        Assert.Skip($"{failure}; run bash eng/test.sh to provision one");
        throw new InvalidOperationException("Assert.Skip returned."); // not reached: Assert.Skip throws
    }

    /// <summary>Makes a short unique name prefix for one test's resources, e.g. <c>eatest-1a2b3c4d</c>.</summary>
    public static string NewPrefix() => $"eatest-{Guid.NewGuid():N}"[..15];

    /// <summary>The labels that mark a resource as a test resource (and, given a scope, as that test's).</summary>
    public static Dictionary<string, string> Labels(string? scope = null)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal) { [TestLabel] = TestLabelValue };
        if (scope is not null)
        {
            labels[ScopeLabel] = scope;
        }

        return labels;
    }

    /// <summary>
    /// Removes the containers (with their anonymous volumes), networks and volumes that carry the test
    /// label, or, given a scope, that scope's label or a name starting with the scope (for what the code
    /// under test created without our labels, e.g. a compose project named after the scope).
    /// </summary>
    /// <returns>How many resources were removed.</returns>
    public static async Task<int> RemoveTestResourcesAsync(
        IDockerClient client, string? scope = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        var labelFilter = scope is null ? $"{TestLabel}={TestLabelValue}" : $"{ScopeLabel}={scope}";
        var removed = 0;

        var containerIds = new HashSet<string>(StringComparer.Ordinal);
        foreach (var container in await client.Containers.ListContainersAsync(
            new ContainersListParameters { All = true, Filters = Filter("label", labelFilter) }, cancellationToken))
        {
            containerIds.Add(container.ID);
        }

        if (scope is not null)
        {
            foreach (var container in await client.Containers.ListContainersAsync(
                new ContainersListParameters { All = true, Filters = Filter("name", scope) }, cancellationToken))
            {
                if (container.Names.Any(n => n.TrimStart('/').StartsWith(scope, StringComparison.Ordinal)))
                {
                    containerIds.Add(container.ID);
                }
            }
        }

        foreach (var id in containerIds)
        {
            removed += await IgnoreNotFoundAsync(() => client.Containers.RemoveContainerAsync(
                id, new ContainerRemoveParameters { Force = true, RemoveVolumes = true }, cancellationToken));
        }

        var networks = await client.Networks.ListNetworksAsync(
            new NetworksListParameters { Filters = Filter("label", labelFilter) }, cancellationToken);
        var networkIds = networks.Select(n => n.ID).ToHashSet(StringComparer.Ordinal);
        if (scope is not null)
        {
            foreach (var network in await client.Networks.ListNetworksAsync(
                new NetworksListParameters { Filters = Filter("name", scope) }, cancellationToken))
            {
                if (network.Name.StartsWith(scope, StringComparison.Ordinal))
                {
                    networkIds.Add(network.ID);
                }
            }
        }

        foreach (var id in networkIds)
        {
            removed += await IgnoreNotFoundAsync(() => client.Networks.DeleteNetworkAsync(id, cancellationToken));
        }

        var volumes = (await client.Volumes.ListAsync(
            new VolumesListParameters { Filters = Filter("label", labelFilter) }, cancellationToken)).Volumes ?? [];
        var volumeNames = volumes.Select(v => v.Name).ToHashSet(StringComparer.Ordinal);
        if (scope is not null)
        {
            var named = (await client.Volumes.ListAsync(
                new VolumesListParameters { Filters = Filter("name", scope) }, cancellationToken)).Volumes ?? [];
            volumeNames.UnionWith(named.Select(v => v.Name).Where(n => n.StartsWith(scope, StringComparison.Ordinal)));
        }

        foreach (var name in volumeNames)
        {
            removed += await IgnoreNotFoundAsync(() => client.Volumes.RemoveAsync(name, force: true, cancellationToken));
        }

        return removed;
    }

    private static Dictionary<string, IDictionary<string, bool>> Filter(string key, string value) =>
        new(StringComparer.Ordinal) { [key] = new Dictionary<string, bool>(StringComparer.Ordinal) { [value] = true } };

    private static async Task<int> IgnoreNotFoundAsync(Func<Task> remove)
    {
        try
        {
            await remove();
            return 1;
        }
        catch (DockerApiException ex) when (ex.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return 0;
        }
    }
}
