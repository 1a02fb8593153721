using EdgeAgent.ControlPlane.Endpoint;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the endpoint agents connect to.</summary>
public static class EdgeAgentsEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps the agent WebSocket endpoint (WebSocket support is included). Requires
    /// <c>AddEdgeControlPlane()</c>. Agents authenticate with their own token in the upgrade
    /// request; do not put user authorization on this endpoint.
    /// </summary>
    /// <param name="endpoints">The route builder.</param>
    /// <param name="pattern">The path; <see langword="null"/> (the default) uses <c>EdgeControlPlane:ConnectPath</c> (<c>/agent/connect</c> unless set).</param>
    /// <returns>A convention builder for the endpoint.</returns>
    /// <exception cref="InvalidOperationException"><c>AddEdgeControlPlane()</c> was not called.</exception>
    public static IEndpointConventionBuilder MapEdgeAgents(this IEndpointRouteBuilder endpoints, string? pattern = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        if (endpoints.ServiceProvider.GetService<EdgeControlPlaneServiceCollectionExtensions.ControlPlaneMarker>() is null)
        {
            throw new InvalidOperationException("MapEdgeAgents requires the control plane's services: call builder.Services.AddEdgeControlPlane() first.");
        }

        var endpoint = endpoints.ServiceProvider.GetRequiredService<AgentEndpoint>();
        var pipeline = endpoints.CreateApplicationBuilder();
        pipeline.UseWebSockets();
        pipeline.Run(endpoint.HandleAsync);
        pattern ??= endpoints.ServiceProvider.GetRequiredService<Microsoft.Extensions.Options.IOptions<EdgeAgent.ControlPlane.EdgeControlPlaneOptions>>().Value.ConnectPath;
        return endpoints.Map(pattern, pipeline.Build()).WithDisplayName("EdgeAgent agent endpoint");
    }
}
