using EdgeAgent.Agent.Forwarding;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the built-in forwarding commands (<c>forward.tcp</c>, <c>forward.docker</c>).</summary>
internal static class ForwardingRegistration
{
    public static void AddForwardingHandlers(IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<EdgeAgent.Agent.EdgeCommandHandler, TcpForwardHandler>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<EdgeAgent.Agent.EdgeCommandHandler, DockerApiForwardHandler>());
    }
}
