using EdgeAgent.Agent;
using EdgeAgent.Agent.Connection;
using EdgeAgent.ControlPlane;
using EdgeAgent.LocalAgent;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the integrated local agent to a control plane.</summary>
public static class EdgeLocalAgentExtensions
{
    /// <summary>
    /// Runs an agent inside the control plane process for this host's Docker engine (self-hosted
    /// mode). It appears in the registry as an ordinary agent (id <c>local</c> by default) and takes
    /// the same commands, with no network hop. Returns the agent builder to add command handlers.
    /// </summary>
    /// <param name="builder">The control plane builder.</param>
    /// <param name="configure">Sets the local agent's options.</param>
    /// <returns>The agent builder of the local agent.</returns>
    public static IEdgeAgentBuilder AddLocalAgent(this IEdgeControlPlaneBuilder builder, Action<EdgeLocalAgentOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        if (configure is not null)
        {
            services.Configure(configure);
        }

        if (!services.Any(d => d.ServiceType == typeof(LocalAgentService)))
        {
            services.AddOptions<EdgeLocalAgentOptions>();
            services.AddSingleton<IConfigureOptions<EdgeAgentOptions>>(sp => new ConfigureOptions<EdgeAgentOptions>(agent =>
            {
                var local = sp.GetRequiredService<IOptions<EdgeLocalAgentOptions>>().Value;
                agent.AgentId = local.AgentId;
                agent.StateDirectory ??= local.StateDirectory;
                agent.DockerEndpoint ??= local.DockerEndpoint;
                foreach (var (key, value) in local.Labels)
                {
                    agent.Labels[key] = value;
                }
            }));
            services.TryAddSingleton<IEngineVersionProvider, NoEngineVersionProvider>();
            services.TryAddSingleton<AgentCommandRegistry>();
            services.AddSingleton<LocalAgentService>();
            services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<LocalAgentService>());
        }

        return new LocalAgentBuilder(services);
    }

    private sealed class LocalAgentBuilder(IServiceCollection services) : IEdgeAgentBuilder
    {
        public IServiceCollection Services { get; } = services;
    }
}
