using EdgeAgent.ControlPlane;
using EdgeAgent.ControlPlane.Agents;
using EdgeAgent.ControlPlane.Commands;
using EdgeAgent.ControlPlane.Endpoint;
using EdgeAgent.ControlPlane.Hosting;
using EdgeAgent.ControlPlane.Internal;
using EdgeAgent.ControlPlane.Registry;
using EdgeAgent.ControlPlane.Security;
using EdgeAgent.ControlPlane.Stacks;
using EdgeAgent.ControlPlane.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the EdgeAgent control plane to an ASP.NET Core application's services.</summary>
public static class EdgeControlPlaneServiceCollectionExtensions
{
    /// <summary>
    /// Adds the control plane: agent registry, enrollment, typed commands, audit. Options are bound
    /// from the host configuration's <c>EdgeControlPlane</c> section (for example
    /// <c>EdgeControlPlane:KeepaliveInterval</c> in <c>appsettings.json</c>, or
    /// <c>EdgeControlPlane__KeepaliveInterval</c> in the environment) when the host registers an
    /// <see cref="IConfiguration"/>, as the generic and web hosts do. Stores default to memory (the
    /// audit trail there keeps only its most recent 10,000 records); call <c>UseSqlite(...)</c> for
    /// durable storage. Safe to call more than once. Map the agent endpoint with
    /// <c>app.MapEdgeAgents()</c>.
    /// </summary>
    /// <param name="services">The application's services.</param>
    /// <returns>A builder for stores, the local agent and policies.</returns>
    public static IEdgeControlPlaneBuilder AddEdgeControlPlane(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (!services.Any(d => d.ServiceType == typeof(ControlPlaneMarker)))
        {
            services.AddSingleton<ControlPlaneMarker>();
            services.AddOptions<EdgeControlPlaneOptions>().ValidateOnStart();
            services.AddSingleton<IConfigureOptions<EdgeControlPlaneOptions>, ConfigureControlPlaneFromHostConfiguration>();
            services.TryAddEnumerable(ServiceDescriptor.Singleton<Microsoft.Extensions.Options.IValidateOptions<EdgeControlPlaneOptions>, EdgeControlPlaneOptionsValidator>());
            services.AddMetrics();
            services.TryAddSingleton(TimeProvider.System);
            services.TryAddSingleton<IEdgeAgentStore, InMemoryAgentStore>();
            services.TryAddSingleton<IEdgeAuditStore, InMemoryAuditStore>();
            services.TryAddSingleton<IEdgeAuditSink, AuditSink>();
            services.TryAddSingleton<AgentRegistry>();
            services.TryAddSingleton<IEdgeAgentRegistry>(sp => sp.GetRequiredService<AgentRegistry>());
            services.TryAddSingleton<AgentEnrollment>();
            services.TryAddSingleton<IEdgeAgentEnrollment>(sp => sp.GetRequiredService<AgentEnrollment>());
            services.TryAddSingleton<ControlPlaneMetrics>();
            services.TryAddSingleton<ControlPlaneDispatcher>();
            services.AddSingleton(sp => AgentReports.Snapshot(sp.GetRequiredService<AgentRegistry>()));
            services.AddSingleton(sp => AgentReports.Usage(sp.GetRequiredService<AgentRegistry>()));
            services.TryAddSingleton<CommandGate>();
            services.TryAddSingleton<IEdgeAgents, EdgeAgents>();
            services.AddAuthorization();
            services.TryAddEnumerable(ServiceDescriptor.Singleton<ICommandAuthorizer, AuthorizationCommandAuthorizer>());
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IHandshakeGate, HandshakeRateLimiter>());
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IHandshakeGate, HandshakeAdmissionLimiter>());
            services.TryAddSingleton<AgentEndpoint>();
            services.TryAddSingleton<IEdgeStackStore, InMemoryStackStore>();
            services.TryAddSingleton<StackDesiredStateService>();
            services.TryAddSingleton<IEdgeStacks>(sp => sp.GetRequiredService<StackDesiredStateService>());
            services.AddSingleton<Microsoft.Extensions.Hosting.IHostedService>(sp => sp.GetRequiredService<StackDesiredStateService>());
            services.AddHealthChecks().AddCheck<ControlPlaneHealthCheck>("edge-control-plane", tags: ["edge-control-plane"]);
        }

        return new EdgeControlPlaneBuilder(services);
    }

    /// <summary>Adds the control plane and sets its options.</summary>
    /// <param name="services">The application's services.</param>
    /// <param name="configure">Sets options; runs after the binding of the <c>EdgeControlPlane</c> configuration section.</param>
    /// <returns>A builder for stores, the local agent and policies.</returns>
    public static IEdgeControlPlaneBuilder AddEdgeControlPlane(this IServiceCollection services, Action<EdgeControlPlaneOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        var builder = services.AddEdgeControlPlane();
        services.Configure(configure);
        return builder;
    }

    /// <summary>
    /// Adds the control plane with options bound from <paramref name="configuration"/> (a section
    /// laid out like <c>EdgeControlPlane</c>), after the host configuration's own
    /// <c>EdgeControlPlane</c> section, so its values win.
    /// </summary>
    /// <param name="services">The application's services.</param>
    /// <param name="configuration">The configuration section holding <see cref="EdgeControlPlaneOptions"/>.</param>
    /// <returns>A builder for stores, the local agent and policies.</returns>
    public static IEdgeControlPlaneBuilder AddEdgeControlPlane(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var builder = services.AddEdgeControlPlane();
        services.AddSingleton<IConfigureOptions<EdgeControlPlaneOptions>>(new ConfigureNamedOptions<EdgeControlPlaneOptions>(Options.Options.DefaultName, configuration.Bind));
        return builder;
    }

    internal sealed class ControlPlaneMarker;

    /// <summary>Binds the host configuration's <c>EdgeControlPlane</c> section, when the host has a configuration.</summary>
    internal sealed class ConfigureControlPlaneFromHostConfiguration(IConfiguration? configuration = null) : IConfigureOptions<EdgeControlPlaneOptions>
    {
        public const string SectionName = "EdgeControlPlane";

        public void Configure(EdgeControlPlaneOptions options) => configuration?.GetSection(SectionName).Bind(options);
    }
}

/// <summary>Configures the control plane: stores, the integrated local agent, policies.</summary>
public interface IEdgeControlPlaneBuilder
{
    /// <summary>The application's services.</summary>
    IServiceCollection Services { get; }
}
