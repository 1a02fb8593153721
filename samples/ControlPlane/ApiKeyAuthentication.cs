using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace EdgeAgent.Samples.ControlPlane;

/// <summary>
/// A minimal API key scheme for the sample's operator API: <c>X-Api-Key: &lt;key&gt;</c>. Real
/// deployments would use OpenID Connect or certificates; the control plane only needs a
/// ClaimsPrincipal.
/// </summary>
internal sealed class ApiKeyAuthenticationHandler(IOptionsMonitor<ApiKeyOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<ApiKeyOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!Request.Headers.TryGetValue("X-Api-Key", out var presented) || string.IsNullOrEmpty(Options.Key))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        var expected = Encoding.UTF8.GetBytes(Options.Key);
        var actual = Encoding.UTF8.GetBytes(presented.ToString());
        if (!CryptographicOperations.FixedTimeEquals(expected, actual))
        {
            return Task.FromResult(AuthenticateResult.Fail("Invalid API key."));
        }

        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, "operator"), new Claim(ClaimTypes.Role, "operator")], SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }
}

internal sealed class ApiKeyOptions : AuthenticationSchemeOptions
{
    public string? Key { get; set; }
}
