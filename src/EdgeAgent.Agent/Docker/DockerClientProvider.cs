using Docker.DotNet;
using Microsoft.Extensions.Options;

namespace EdgeAgent.Agent.Docker;

/// <summary>Owns the one Docker client of the agent, created on first use.</summary>
internal sealed class DockerClientProvider : IDisposable
{
    private const string DefaultUnixEndpoint = "unix:///var/run/docker.sock";
    private const string DefaultWindowsEndpoint = "npipe://./pipe/docker_engine";

    private readonly Lazy<DockerClient> _client;

    public DockerClientProvider(IOptions<DockerEngineOptions> options)
    {
        Options = options.Value;
        Endpoint = ResolveEndpoint(Options.Endpoint);
        _client = new Lazy<DockerClient>(
            () => new DockerClientBuilder().WithEndpoint(Endpoint).WithTimeout(Options.RequestTimeout).Build(),
            LazyThreadSafetyMode.ExecutionAndPublication);
    }

    public DockerEngineOptions Options { get; }

    /// <summary>The engine's endpoint.</summary>
    public Uri Endpoint { get; }

    public IDockerClient Client => _client.Value;

    public void Dispose()
    {
        if (_client.IsValueCreated)
        {
            _client.Value.Dispose();
        }
    }

    internal static Uri ResolveEndpoint(string? configured)
    {
        var endpoint = configured;
        if (string.IsNullOrWhiteSpace(endpoint))
        {
            endpoint = Environment.GetEnvironmentVariable("DOCKER_HOST");
        }

        if (string.IsNullOrWhiteSpace(endpoint))
        {
            endpoint = OperatingSystem.IsWindows() ? DefaultWindowsEndpoint : DefaultUnixEndpoint;
        }

        return Uri.TryCreate(endpoint, UriKind.Absolute, out var uri)
            ? uri
            : throw new InvalidOperationException($"The Docker endpoint '{endpoint}' is not a valid URI (expected e.g. {DefaultUnixEndpoint}).");
    }
}
