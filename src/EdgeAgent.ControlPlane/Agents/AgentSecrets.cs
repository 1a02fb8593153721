using System.Security.Cryptography;
using System.Text;

namespace EdgeAgent.ControlPlane.Agents;

/// <summary>
/// Agent secrets: 256 bits from the OS CSPRNG, base64url. Only a SHA-256 hash is stored (a secret
/// of this entropy needs no slow hash); comparison is constant-time.
/// </summary>
internal static class AgentSecrets
{
    public static string NewSecret()
    {
        Span<byte> bytes = stackalloc byte[32];
        RandomNumberGenerator.Fill(bytes);
        return Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    public static string Hash(string secret) => "sha256:" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    public static bool Matches(string secret, string? storedHash)
    {
        if (string.IsNullOrEmpty(storedHash))
        {
            return false;
        }

        var actual = Encoding.ASCII.GetBytes(Hash(secret));
        var expected = Encoding.ASCII.GetBytes(storedHash);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }

    /// <summary>Splits <c>Bearer &lt;agent-id&gt;.&lt;secret&gt;</c>; false when the header is not of that form.</summary>
    public static bool TryParseAuthorization(string? header, out string agentId, out string secret)
    {
        agentId = "";
        secret = "";
        const string prefix = "Bearer ";
        if (header is null || !header.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) || header.Length > 512)
        {
            return false;
        }

        var token = header.AsSpan(prefix.Length).Trim();
        var dot = token.IndexOf('.');
        if (dot <= 0 || dot == token.Length - 1)
        {
            return false;
        }

        agentId = token[..dot].ToString();
        secret = token[(dot + 1)..].ToString();
        return AgentIds.IsValid(agentId);
    }
}

/// <summary>Agent id rules, shared by enrollment and the endpoint.</summary>
internal static partial class AgentIds
{
    [System.Text.RegularExpressions.GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]
    private static partial System.Text.RegularExpressions.Regex Pattern();

    public static bool IsValid(string? id) => id is not null && Pattern().IsMatch(id);
}
