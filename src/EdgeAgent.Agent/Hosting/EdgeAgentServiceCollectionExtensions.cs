using System.Diagnostics.CodeAnalysis;
using EdgeAgent.Agent;
using EdgeAgent.Agent.Connection;
using EdgeAgent.Agent.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the EdgeAgent agent to a host's services.</summary>
public static class EdgeAgentServiceCollectionExtensions
{
    /// <summary>
    /// Runs the agent as a hosted service: it connects outbound to the control plane, runs the
    /// commands it receives and reconnects by itself. Safe to call more than once; each
    /// <paramref name="configure"/> runs after configuration and environment variables.
    /// </summary>
    /// <param name="services">The host's services.</param>
    /// <param name="configure">Sets options in code.</param>
    /// <returns>A builder to add command handlers and policies.</returns>
    public static IEdgeAgentBuilder AddEdgeAgent(this IServiceCollection services, Action<EdgeAgentOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        var builder = services.AddEdgeAgent();
        services.Configure(configure);
        return builder;
    }

    /// <summary>
    /// Runs the agent as a hosted service with options from the host configuration's
    /// <c>EdgeAgent</c> section (for example <c>EdgeAgent:ControlPlaneUrl</c> in
    /// <c>appsettings.json</c>, or <c>EdgeAgent__ControlPlaneUrl</c> in the environment) when the
    /// host registers an <see cref="IConfiguration"/>, as the generic host does, and from the
    /// environment variables agents' operators use where a setting is not given otherwise
    /// (<c>CONTROL_PLANE_URL</c>, <c>AGENT_TOKEN</c>, …). Safe to call more than once.
    /// </summary>
    /// <param name="services">The host's services.</param>
    /// <returns>A builder to add command handlers and policies.</returns>
    public static IEdgeAgentBuilder AddEdgeAgent(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        AddCore(services);
        return new EdgeAgentBuilder(services);
    }

    /// <summary>
    /// Runs the agent with options bound from <paramref name="configuration"/> (a section laid out
    /// like <c>EdgeAgent</c>), after the host configuration's own <c>EdgeAgent</c> section, so its
    /// values win.
    /// </summary>
    /// <param name="services">The host's services.</param>
    /// <param name="configuration">The configuration section holding <see cref="EdgeAgentOptions"/>.</param>
    /// <returns>A builder to add command handlers and policies.</returns>
    public static IEdgeAgentBuilder AddEdgeAgent(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var builder = services.AddEdgeAgent();
        services.AddSingleton<IConfigureOptions<EdgeAgentOptions>>(new ConfigureEdgeAgentFromSection(configuration));
        return builder;
    }

    private static void AddCore(IServiceCollection services)
    {
        if (services.Any(d => d.ServiceType == typeof(EdgeAgentMarker)))
        {
            return;
        }

        services.AddSingleton<EdgeAgentMarker>();
        services.AddOptions<EdgeAgentOptions>().ValidateOnStart();
        services.AddSingleton<IConfigureOptions<EdgeAgentOptions>, ConfigureEdgeAgentFromHostConfiguration>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<EdgeAgentOptions>, EdgeAgentOptionsValidator>());
        services.AddSingleton<IPostConfigureOptions<EdgeAgentOptions>, ConfigureEdgeAgentFromEnvironment>();
        services.AddSingleton<IConfigureOptions<LoggerFilterOptions>, ConfigureLogLevelFromEnvironment>();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IEdgeRetryPolicy>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<EdgeAgentOptions>>().Value;
            return new ExponentialBackoffRetryPolicy(options.ReconnectInitialDelay, options.ReconnectMaxDelay);
        });
        services.TryAddSingleton<IEngineVersionProvider, NoEngineVersionProvider>();
        services.TryAddSingleton<AgentCommandRegistry>();
        services.TryAddSingleton<EdgeAgentService>();
        services.TryAddSingleton<IEdgeAgentConnection>(sp => sp.GetRequiredService<EdgeAgentService>());
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<EdgeAgentService>());
        services.AddHealthChecks().AddCheck<EdgeAgentHealthCheck>("edge-agent", tags: ["edge-agent"]);
        ForwardingRegistration.AddForwardingHandlers(services);
    }

    private sealed class EdgeAgentMarker;
}

/// <summary>Configures the agent: command handlers, retry policy.</summary>
public interface IEdgeAgentBuilder
{
    /// <summary>The host's services.</summary>
    IServiceCollection Services { get; }
}

/// <summary>Builder methods of the agent.</summary>
public static class EdgeAgentBuilderExtensions
{
    /// <summary>Registers a command handler of the host application (a singleton resolved from the services).</summary>
    /// <typeparam name="THandler">The handler type.</typeparam>
    /// <param name="builder">The agent builder.</param>
    /// <returns>The builder.</returns>
    public static IEdgeAgentBuilder AddCommandHandler<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] THandler>(this IEdgeAgentBuilder builder)
        where THandler : EdgeCommandHandler
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<EdgeCommandHandler, THandler>());
        return builder;
    }

    /// <summary>Replaces the reconnect policy.</summary>
    /// <param name="builder">The agent builder.</param>
    /// <param name="policy">The policy.</param>
    /// <returns>The builder.</returns>
    public static IEdgeAgentBuilder UseRetryPolicy(this IEdgeAgentBuilder builder, IEdgeRetryPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(policy);
        builder.Services.RemoveAll<IEdgeRetryPolicy>();
        builder.Services.AddSingleton(policy);
        return builder;
    }
}
