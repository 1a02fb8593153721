using Docker.DotNet;
using Docker.DotNet.Models;
using EdgeAgent.Agent;
using EdgeAgent.Agent.Docker;
using EdgeAgent.Protocol.Docker;
using EdgeAgent.Testing;
using Microsoft.Extensions.Options;

namespace EdgeAgent.Agent.Tests.Docker;

/// <summary>
/// Base of the Docker tests: a real engine, the Docker handlers behind a real in-memory tunnel,
/// and cleanup of every object a test creates (all labelled <c>edgeagent.test=1</c>).
/// Without an engine the tests are skipped, or fail when EDGEAGENT_REQUIRE_DOCKER=1.
/// </summary>
public abstract class DockerTestBase : IAsyncLifetime
{
    public const string TestImage = "edgeagent-test/busybox:latest";
    public const string TestLabel = "edgeagent.test";

    private readonly List<string> _containers = [];
    private readonly List<string> _volumes = [];
    private readonly List<string> _networks = [];
    private readonly List<string> _images = [];
    private DockerClientProvider? _provider;
    private TunnelPair? _pair;

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Direct engine access for setting up and checking, bypassing the SDK.</summary>
    protected IDockerClient Engine => Provider.Client;

    private protected DockerClientProvider Provider => _provider ?? throw new InvalidOperationException("Not initialised.");

    protected TunnelPair Pair => _pair ?? throw new InvalidOperationException("Not initialised.");

    /// <summary>The typed commands, going through the tunnel to the handlers.</summary>
    protected DockerCommands Docker { get; private set; } = null!;

    /// <summary>A short unique name for objects of this test.</summary>
    protected static string UniqueName(string prefix) => $"edgeagent-test-{prefix}-{Guid.NewGuid():N}"[..Math.Min(60, 24 + prefix.Length + 16)];

    protected static Dictionary<string, string> Labels(params (string Key, string Value)[] extra)
    {
        var labels = new Dictionary<string, string> { [TestLabel] = "1" };
        foreach (var (key, value) in extra)
        {
            labels[key] = value;
        }

        return labels;
    }

    public virtual async ValueTask InitializeAsync()
    {
        _provider = new DockerClientProvider(Options.Create(new DockerEngineOptions()));
        await EnsureEngineAsync(_provider);
        _pair = await TunnelPair.StartAsync(CreateHandlers(_provider));
        Docker = new DockerCommands(_pair.Invoker);
    }

    private protected virtual IEnumerable<EdgeCommandHandler> CreateHandlers(DockerClientProvider provider) => DockerHandlerRegistration.CreateHandlers(provider);

    public virtual async ValueTask DisposeAsync()
    {
        if (_pair is not null)
        {
            await _pair.DisposeAsync();
        }

        if (_provider is null)
        {
            return;
        }

        using var cleanup = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        foreach (var id in _containers)
        {
            await IgnoreMissing(() => Engine.Containers.RemoveContainerAsync(id, new ContainerRemoveParameters { Force = true, RemoveVolumes = true }, cleanup.Token));
        }

        foreach (var name in _networks)
        {
            await IgnoreMissing(() => Engine.Networks.DeleteNetworkAsync(name, cleanup.Token));
        }

        foreach (var name in _volumes)
        {
            await IgnoreMissing(() => Engine.Volumes.RemoveAsync(name, true, cleanup.Token));
        }

        foreach (var image in _images)
        {
            await IgnoreMissing(() => Engine.Images.DeleteImageAsync(image, new ImageDeleteParameters { Force = true }, cleanup.Token));
        }

        _provider.Dispose();
        GC.SuppressFinalize(this);
    }

    internal static async Task EnsureEngineAsync(DockerClientProvider provider)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await provider.Client.System.PingAsync(timeout.Token);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or OperationCanceledException or TimeoutException or DockerApiException)
        {
            var require = Environment.GetEnvironmentVariable("EDGEAGENT_REQUIRE_DOCKER");
            if (require is "1" or "true")
            {
                throw new InvalidOperationException($"No Docker engine answers at {provider.Endpoint} and EDGEAGENT_REQUIRE_DOCKER is set.", ex);
            }

            Assert.Skip("No Docker engine: run bash eng/test.sh");
        }
    }

    /// <summary>Creates (and by default starts) a labelled container of the test image.</summary>
    protected async Task<string> CreateContainerAsync(
        string[] command,
        bool start = true,
        string? name = null,
        Dictionary<string, string>? labels = null,
        bool tty = false,
        IList<Mount>? mounts = null,
        IList<string>? anonymousVolumes = null,
        string networkMode = "none")
    {
        var created = await Engine.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Image = TestImage,
            Name = name ?? UniqueName("c"),
            Cmd = command,
            Labels = labels ?? Labels(),
            Tty = tty,
            OpenStdin = tty,
            Volumes = anonymousVolumes?.ToDictionary(v => v, _ => new EmptyStruct())!,
            StopTimeout = TimeSpan.FromSeconds(1),
            HostConfig = new HostConfig { Mounts = mounts!, NetworkMode = networkMode },
        }, Ct);
        _containers.Add(created.ID);
        if (start)
        {
            await Engine.Containers.StartContainerAsync(created.ID, new ContainerStartParameters(), Ct);
        }

        return created.ID;
    }

    /// <summary>A running container that sleeps until stopped (and stops at once on SIGTERM).</summary>
    protected Task<string> CreateSleeperAsync(string? name = null, Dictionary<string, string>? labels = null) =>
        CreateContainerAsync(["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"], name: name, labels: labels);

    protected async Task<string> CreateVolumeAsync(string? name = null, Dictionary<string, string>? labels = null)
    {
        var volume = await Engine.Volumes.CreateAsync(new VolumesCreateParameters { Name = name ?? UniqueName("v"), Labels = labels ?? Labels() }, Ct);
        _volumes.Add(volume.Name);
        return volume.Name;
    }

    protected void TrackContainer(string id) => _containers.Add(id);

    protected void TrackVolume(string name) => _volumes.Add(name);

    protected void TrackNetwork(string idOrName) => _networks.Add(idOrName);

    protected void TrackImage(string reference) => _images.Add(reference);

    /// <summary>Waits for a container to exit (it was started with a command that ends).</summary>
    protected async Task WaitForExitAsync(string id)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        await Engine.Containers.WaitContainerAsync(id, timeout.Token);
    }

    /// <summary>Polls <paramref name="condition"/> until it holds or the deadline passes.</summary>
    protected static async Task<bool> PollAsync(Func<Task<bool>> condition, TimeSpan deadline)
    {
        var until = DateTime.UtcNow + deadline;
        while (true)
        {
            if (await condition())
            {
                return true;
            }

            if (DateTime.UtcNow > until)
            {
                return false;
            }

            await Task.Delay(50, Ct);
        }
    }

    private static async Task IgnoreMissing(Func<Task> action)
    {
        try
        {
            await action();
        }
        catch (Exception ex) when (ex is DockerApiException or HttpRequestException or OperationCanceledException)
        {
            // Already gone (the test removed it) or the engine is unreachable.
        }
    }
}
