using System.Text.RegularExpressions;

namespace EdgeAgent.Agent.Connection;

/// <summary>The agent id and secret, in the <c>&lt;agent-id&gt;.&lt;secret&gt;</c> token form the control plane issues.</summary>
internal sealed partial class AgentCredential(string agentId, string secret)
{
    public string AgentId { get; } = agentId;

    /// <summary>The secret. Never log it.</summary>
    public string Secret { get; } = secret;

    /// <summary>Only the id: a credential printed by mistake reveals nothing.</summary>
    public override string ToString() => $"AgentCredential({AgentId})";

    /// <summary>The Authorization header value. Never log it.</summary>
    public string AuthorizationHeader => $"Bearer {AgentId}.{Secret}";

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]
    public static partial Regex AgentIdPattern();

    /// <summary>Combines the configured id and token; null with an error message when they do not make a credential.</summary>
    public static AgentCredential? TryCreate(string? agentId, string? token, out string? error)
    {
        error = null;
        token = token?.Trim();
        if (string.IsNullOrEmpty(token))
        {
            error = "EdgeAgent:Token (AGENT_TOKEN or EDGE_KEY) is required.";
            return null;
        }

        var dot = token.IndexOf('.', StringComparison.Ordinal);
        string id, secret;
        if (dot > 0)
        {
            id = token[..dot];
            secret = token[(dot + 1)..];
            if (!string.IsNullOrEmpty(agentId) && !string.Equals(agentId, id, StringComparison.Ordinal))
            {
                error = "EdgeAgent:AgentId (EDGE_ID) does not match the agent id inside EdgeAgent:Token (AGENT_TOKEN).";
                return null;
            }
        }
        else
        {
            id = agentId ?? "";
            secret = token;
        }

        if (!AgentIdPattern().IsMatch(id))
        {
            error = string.IsNullOrEmpty(id)
                ? "EdgeAgent:AgentId (EDGE_ID) is required when EdgeAgent:Token holds only the secret."
                : "EdgeAgent:AgentId must be 1-64 letters, digits, '-' or '_'.";
            return null;
        }

        if (secret.Length < 16)
        {
            error = "EdgeAgent:Token is too short to be a credential issued by the control plane.";
            return null;
        }

        return new AgentCredential(id, secret);
    }
}
