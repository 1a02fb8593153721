namespace EdgeAgent.Protocol;

/// <summary>The error codes a command can fail with. They travel on the wire and are stable.</summary>
public static class EdgeErrorCodes
{
    /// <summary>The command, or the resource it names (container, image, volume, network, stack), does not exist.</summary>
    public const string NotFound = "not_found";

    /// <summary>Authorization on the control plane or the agent's policy refused the command.</summary>
    public const string Denied = "denied";

    /// <summary>The request is malformed or names something invalid.</summary>
    public const string InvalidArgument = "invalid_argument";

    /// <summary>The agent or its engine is not reachable right now; retrying later may succeed.</summary>
    public const string Unavailable = "unavailable";

    /// <summary>The command's deadline passed.</summary>
    public const string Timeout = "timeout";

    /// <summary>The command conflicts with the current state (name in use, container running, …).</summary>
    public const string Conflict = "conflict";

    /// <summary>The caller cancelled the command.</summary>
    public const string Cancelled = "cancelled";

    /// <summary>
    /// A message was larger than the receiving side allows (for a command's result or streamed item,
    /// the caller's <c>MaxMessageSize</c>); the command is abandoned, the session carries on.
    /// </summary>
    public const string TooLarge = "too_large";

    /// <summary>An unexpected failure inside the agent; the message is safe to show.</summary>
    public const string Internal = "internal";
}
