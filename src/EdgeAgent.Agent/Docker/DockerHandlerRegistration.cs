using EdgeAgent.Agent.Docker.Snapshots;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace EdgeAgent.Agent.Docker;

/// <summary>Registers the Docker command handlers, the engine client and the snapshot collector.</summary>
internal static class DockerHandlerRegistration
{
    /// <summary>Every Docker command handler, as a factory over the engine client (no reflection, trim-safe).</summary>
    public static IReadOnlyList<Func<DockerClientProvider, EdgeCommandHandler>> HandlerFactories { get; } =
    [
        d => new SystemPingHandler(d),
        d => new SystemVersionHandler(d),
        d => new SystemInfoHandler(d),
        d => new SystemDiskUsageHandler(d),
        d => new ContainerListHandler(d),
        d => new ContainerInspectHandler(d),
        d => new ContainerStartHandler(d),
        d => new ContainerStopHandler(d),
        d => new ContainerRestartHandler(d),
        d => new ContainerKillHandler(d),
        d => new ContainerPauseHandler(d),
        d => new ContainerUnpauseHandler(d),
        d => new ContainerRemoveHandler(d),
        d => new ContainerRenameHandler(d),
        d => new ContainerLogsHandler(d),
        d => new ContainerLogsFollowHandler(d),
        d => new ContainerStatsHandler(d),
        d => new ContainerStatsStreamHandler(d),
        d => new ExecRunHandler(d),
        d => new ExecCreateHandler(d),
        d => new ExecAttachHandler(d),
        d => new ExecResizeHandler(d),
        d => new ExecInspectHandler(d),
        d => new ImageListHandler(d),
        d => new ImageInspectHandler(d),
        d => new ImagePullHandler(d),
        d => new ImageTagHandler(d),
        d => new ImageRemoveHandler(d),
        d => new ImagePruneHandler(d),
        d => new VolumeListHandler(d),
        d => new VolumeInspectHandler(d),
        d => new VolumeCreateHandler(d),
        d => new VolumeRemoveHandler(d),
        d => new VolumePruneHandler(d),
        d => new VolumeBrowseHandler(d),
        d => new VolumeReadFileHandler(d),
        d => new NetworkListHandler(d),
        d => new NetworkInspectHandler(d),
        d => new NetworkCreateHandler(d),
        d => new NetworkRemoveHandler(d),
        d => new NetworkConnectHandler(d),
        d => new NetworkDisconnectHandler(d),
    ];

    /// <summary>Creates every handler over one client provider (for tests and hosts without DI).</summary>
    public static IReadOnlyList<EdgeCommandHandler> CreateHandlers(DockerClientProvider docker) =>
        HandlerFactories.Select(f => f(docker)).ToArray();

    /// <summary>Registers the handlers as <see cref="EdgeCommandHandler"/> singletons; safe to call twice.</summary>
    public static IServiceCollection AddDockerCommandHandlers(this IServiceCollection services)
    {
        if (services.Any(s => s.ServiceType == typeof(DockerHandlersMarker)))
        {
            return services;
        }

        services.AddSingleton<DockerHandlersMarker>();
        services.AddOptions<DockerEngineOptions>();
        services.TryAddSingleton<DockerClientProvider>();
        services.TryAddSingleton<DockerSnapshotCollector>();
        foreach (var factory in HandlerFactories)
        {
            services.AddSingleton(sp => factory(sp.GetRequiredService<DockerClientProvider>()));
        }

        return services;
    }
}

/// <summary>Marks that the Docker handlers were registered, so a second call adds nothing.</summary>
internal sealed class DockerHandlersMarker;
