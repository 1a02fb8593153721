using System.Security.Claims;
using EdgeAgent.ControlPlane.Commands;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;

namespace EdgeAgent.ControlPlane.Security;

/// <summary>
/// Runs <see cref="EdgeControlPlaneOptions.CommandAuthorizationPolicy"/> through ASP.NET Core
/// authorization with the caller's principal and an <see cref="EdgeCommandResource"/>.
/// </summary>
internal sealed class AuthorizationCommandAuthorizer(IAuthorizationService authorization, IEdgeAgentStore store, IOptions<EdgeControlPlaneOptions> options) : ICommandAuthorizer
{
    private static readonly ClaimsPrincipal Anonymous = new(new ClaimsIdentity());

    public async ValueTask<string?> AuthorizeAsync(ClaimsPrincipal? caller, string agentId, string command, CancellationToken cancellationToken)
    {
        var policy = options.Value.CommandAuthorizationPolicy;
        if (string.IsNullOrEmpty(policy))
        {
            return null;
        }

        var record = await store.GetAsync(agentId, cancellationToken);
        var resource = new EdgeCommandResource
        {
            AgentId = agentId,
            AgentLabels = record?.Labels ?? new Dictionary<string, string>(),
            Command = command,
            Group = EdgeCommandResource.GroupOf(command),
        };
        var result = await authorization.AuthorizeAsync(caller ?? Anonymous, resource, policy);
        return result.Succeeded ? null : $"policy '{policy}' refused {(caller?.Identity?.Name ?? "the caller")}";
    }
}
