using MessagePack;

namespace EdgeAgent.Protocol.Contracts.Forwarding;

/// <summary>The names of the forwarding commands (group <c>forwarding</c> of the agent's policy).</summary>
public static class EdgeForwardingCommands
{
    /// <summary>Duplex: a TCP connection from the agent to a target allowed by the agent's <c>Policy:ForwardingAllowlist</c>.</summary>
    public const string Tcp = "forward.tcp";

    /// <summary>Duplex: a raw connection to the agent's Docker Engine API, when <c>Policy:DockerApiPassthrough</c> allows it.</summary>
    public const string DockerApi = "forward.docker";
}

/// <summary>Asks the agent to connect to a TCP target and join the connection to the command's stream.</summary>
[MessagePackObject]
public sealed class TcpForwardRequest
{
    /// <summary>The target host: an IPv4 or IPv6 address or a host name the agent resolves.</summary>
    [Key(0)]
    public string Host { get; set; } = "";

    /// <summary>The target port (1–65535).</summary>
    [Key(1)]
    public int Port { get; set; }

    /// <summary>How long the agent tries to connect, in milliseconds; 0 uses the agent's default (10 s).</summary>
    [Key(2)]
    public int ConnectTimeoutMs { get; set; }
}

/// <summary>Asks the agent for a raw connection to its Docker Engine API (HTTP/1.1 on the engine's socket).</summary>
[MessagePackObject]
public sealed class DockerApiForwardRequest
{
    /// <summary>How long the agent tries to connect to the engine, in milliseconds; 0 uses the agent's default (10 s).</summary>
    [Key(0)]
    public int ConnectTimeoutMs { get; set; }
}
