using EdgeAgent.Agent;
using EdgeAgent.Agent.Connection;
using EdgeAgent.Agent.Docker;
using EdgeAgent.Agent.Docker.Snapshots;
using EdgeAgent.Agent.Hosting;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the Docker operations to the agent.</summary>
public static class EdgeAgentDockerBuilderExtensions
{
    /// <summary>
    /// Lets the control plane manage this host's Docker engine: system, containers (lifecycle,
    /// logs, exec, stats), images, volumes (including browsing), networks; sends status snapshots
    /// on connect and on every change (engine events), and reports the engine in the health
    /// check. The engine is <see cref="EdgeAgentOptions.DockerEndpoint"/>. Safe to call twice.
    /// </summary>
    /// <param name="builder">The agent builder.</param>
    /// <returns>The builder.</returns>
    public static IEdgeAgentBuilder AddDocker(this IEdgeAgentBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        AddDockerEngine(services);
        services.AddDockerCommandHandlers();
        if (!services.Any(d => d.ServiceType == typeof(SnapshotPublisher)))
        {
            services.AddSingleton<SnapshotPublisher>();
            services.AddSingleton<IAgentSessionObserver>(sp => sp.GetRequiredService<SnapshotPublisher>());
            services.TryAddEnumerable(ServiceDescriptor.Singleton<EdgeCommandHandler, SamplingIntervalHandler>());
            services.AddHealthChecks().AddCheck<DockerEngineHealthCheck>("docker-engine", tags: ["edge-agent", "docker"]);
        }

        return builder;
    }

    /// <summary>Adds the Docker operations (see <see cref="AddDocker(IEdgeAgentBuilder)"/>) and sets the engine connection's options.</summary>
    /// <param name="builder">The agent builder.</param>
    /// <param name="configure">Sets the engine options: request timeout, the volume browser's helper image, the endpoint (by default <see cref="EdgeAgentOptions.DockerEndpoint"/>).</param>
    /// <returns>The builder.</returns>
    public static IEdgeAgentBuilder AddDocker(this IEdgeAgentBuilder builder, Action<DockerEngineOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        builder.AddDocker();
        builder.Services.Configure(configure);
        return builder;
    }

    /// <summary>The engine connection shared by the Docker operations and the stacks.</summary>
    internal static void AddDockerEngine(IServiceCollection services)
    {
        if (services.Any(d => d.ServiceType == typeof(DockerEngineMarker)))
        {
            return;
        }

        services.AddSingleton<DockerEngineMarker>();
        services.AddOptions<DockerEngineOptions>();
        services.AddSingleton<IConfigureOptions<DockerEngineOptions>>(sp => new ConfigureOptions<DockerEngineOptions>(engine =>
        {
            var agent = sp.GetService<IOptions<EdgeAgentOptions>>()?.Value;
            engine.Endpoint ??= agent?.DockerEndpoint;
            engine.AllowedRegistries = agent is null ? [] : [.. agent.Policy.AllowedRegistries];
        }));
        services.TryAddSingleton<DockerClientProvider>();
        services.TryAddSingleton<Docker.DotNet.IDockerClient>(sp => sp.GetRequiredService<DockerClientProvider>().Client);
        services.RemoveAll<IEngineVersionProvider>();
        services.AddSingleton<IEngineVersionProvider, DockerEngineVersionProvider>();
    }

    private sealed class DockerEngineMarker;
}
