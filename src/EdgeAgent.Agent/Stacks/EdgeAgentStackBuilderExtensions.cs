using Docker.DotNet;
using EdgeAgent.Agent;
using EdgeAgent.Agent.Stacks;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds compose stacks to the agent.</summary>
public static class EdgeAgentStackBuilderExtensions
{
    /// <summary>
    /// Lets the control plane deploy, inspect and remove compose stacks on this agent's engine
    /// (<c>stacks.deploy</c>, <c>stacks.status</c>, <c>stacks.list</c>, <c>stacks.remove</c>, policy
    /// group <see cref="EdgeCommandGroups.Stacks"/>). The host needs no compose CLI. Uses the
    /// registered <see cref="IDockerClient"/>, or the local engine's default endpoint. Safe to call
    /// more than once.
    /// </summary>
    /// <param name="builder">The agent builder.</param>
    /// <param name="configure">Sets stack options after their defaults.</param>
    /// <returns>The builder.</returns>
    public static IEdgeAgentBuilder AddStacks(this IEdgeAgentBuilder builder, Action<EdgeStackOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddOptions<EdgeStackOptions>();
        if (configure is not null)
        {
            services.Configure(configure);
        }

        EdgeAgentDockerBuilderExtensions.AddDockerEngine(services);
        services.TryAddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<EdgeStackOptions>>().Value;
            var directory = options.StateDirectory;
            if (string.IsNullOrWhiteSpace(directory))
            {
                var agent = sp.GetRequiredService<IOptions<EdgeAgentOptions>>().Value;
                directory = Path.Combine(AgentCommandRegistry.ResolveStateDirectory(agent), "stacks");
            }

            return new StackManager(
                sp.GetRequiredService<IDockerClient>(),
                new StackStateStore(directory),
                sp.GetService<TimeProvider>() ?? TimeProvider.System,
                sp.GetRequiredService<ILoggerFactory>().CreateLogger("EdgeAgent.Stacks"),
                options.DependencyTimeout)
            {
                AllowedRegistries = [.. sp.GetRequiredService<IOptions<EdgeAgentOptions>>().Value.Policy.AllowedRegistries],
            };
        });
        services.TryAddEnumerable(ServiceDescriptor.Singleton<EdgeCommandHandler, StackDeployHandler>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<EdgeCommandHandler, StackStatusHandler>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<EdgeCommandHandler, StackListHandler>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<EdgeCommandHandler, StackRemoveHandler>());
        return builder;
    }
}
