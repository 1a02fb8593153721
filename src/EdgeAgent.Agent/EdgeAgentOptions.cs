namespace EdgeAgent.Agent;

/// <summary>
/// Settings of an embedded agent. Bind them from configuration (section <c>EdgeAgent</c>) or set
/// them in code; the environment variables <c>CONTROL_PLANE_URL</c>, <c>AGENT_TOKEN</c>,
/// <c>EDGE_ID</c>, <c>EDGE_KEY</c> and <c>LOG_LEVEL</c> are honoured as well.
/// </summary>
public sealed class EdgeAgentOptions
{
    /// <summary>The control plane's base URL, e.g. <c>https://fleet.example.com</c> (env <c>CONTROL_PLANE_URL</c>). Required.</summary>
    public string? ControlPlaneUrl { get; set; }

    /// <summary>The path of the agent endpoint on the control plane. Default <c>/agent/connect</c>.</summary>
    public string ConnectPath { get; set; } = "/agent/connect";

    /// <summary>
    /// The agent's id (env <c>EDGE_ID</c>). May be left empty when <see cref="Token"/> is the
    /// combined <c>&lt;agent-id&gt;.&lt;secret&gt;</c> form the control plane hands out.
    /// </summary>
    public string? AgentId { get; set; }

    /// <summary>
    /// The agent's credential (env <c>AGENT_TOKEN</c>, or <c>EDGE_KEY</c> for the secret alone).
    /// Sent only in the <c>Authorization</c> header; never logged. Required.
    /// </summary>
    public string? Token { get; set; }

    /// <summary>Allows <c>ws://</c> URLs and unvalidated TLS. Off by default; a warning is logged at every connect.</summary>
    public bool AllowInsecureTransport { get; set; }

    /// <summary>A PEM file of CA certificates that are trusted for the control plane's certificate, in addition to the system store.</summary>
    public string? TrustedCaCertificatesPath { get; set; }

    /// <summary>
    /// Base64 SHA-256 hashes of the SubjectPublicKeyInfo of accepted server keys. When set, the
    /// server certificate must carry one of them (the chain may then be self-signed).
    /// </summary>
    public IList<string> ServerPublicKeyPins { get; } = [];

    /// <summary>An HTTP proxy for the outbound connection, e.g. <c>http://proxy:3128</c>. Empty uses the system default proxy.</summary>
    public string? Proxy { get; set; }

    /// <summary>The first reconnect delay's upper bound (full jitter). Default 1 s.</summary>
    public TimeSpan ReconnectInitialDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The largest reconnect delay. Default 60 s.</summary>
    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>A connection that stayed up this long resets the backoff. Default 30 s.</summary>
    public TimeSpan StableConnectionThreshold { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long connecting (TCP, TLS, upgrade and handshake) may take. Default 15 s.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>The keepalive ping interval; a dead control plane is detected within about two. Default 15 s.</summary>
    public TimeSpan KeepaliveInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>On host shutdown, how long running commands may finish before the connection closes. Default 10 s.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Where the agent keeps its state (idempotency records, applied stacks). Default: a per-agent folder under the user's local application data.</summary>
    public string? StateDirectory { get; set; }

    /// <summary>How many command results are remembered for idempotent retries. Default 10,000.</summary>
    public int IdempotencyCapacity { get; set; } = 10_000;

    /// <summary>How long command results are remembered for idempotent retries. Default 24 h.</summary>
    public TimeSpan IdempotencyRetention { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Labels sent to the control plane in the handshake (site, region, role, …).</summary>
    public IDictionary<string, string> Labels { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>The Docker engine endpoint. Default: <c>DOCKER_HOST</c>, else <c>unix:///var/run/docker.sock</c>.</summary>
    public string? DockerEndpoint { get; set; }

    /// <summary>The largest frame accepted from the control plane. Default 1 MiB.</summary>
    public int MaxFrameSize { get; set; } = 1024 * 1024;

    /// <summary>The receive window of each channel. Default 1 MiB.</summary>
    public int ChannelWindow { get; set; } = 1024 * 1024;

    /// <summary>
    /// The connection-level receive window: how many bytes of bulk data the control plane may have
    /// in flight towards this agent across all channels at once. It bounds the bulk data a command,
    /// a heartbeat or an interactive stream can be queued behind, and with it the bulk throughput
    /// towards this agent: at most this many bytes per network round trip (256 KiB at 50 ms ≈
    /// 5 MB/s). Raise it on high-latency links where bulk transfers (logs, forwarded copies, image
    /// uploads) matter more than command latency during them; 0 turns it off (then only
    /// <see cref="ChannelWindow"/> limits a stream). 0, or 64 KiB to 1 GiB. Default 256 KiB.
    /// </summary>
    public int ConnectionWindow { get; set; } = Protocol.Session.SessionOptions.DefaultConnectionWindow;

    /// <summary>
    /// The largest command response message accepted from the control plane (for the agent's own
    /// calls, such as status snapshots): one result, or one item of a stream. A larger message fails
    /// that call with <see cref="Protocol.EdgeErrorCodes.TooLarge"/> before any of it is buffered; the
    /// session carries on. 1 KiB to 1 GiB. Default 64 MiB.
    /// </summary>
    public int MaxMessageSize { get; set; } = Protocol.Rpc.RpcMessages.DefaultMaxMessageSize;

    /// <summary>What the control plane may do on this host (command groups, exec, forwarding, passthrough, registries).</summary>
    public EdgeAgentPolicy Policy { get; } = new();

    /// <summary>The most channels (commands, streams) the control plane may have open at once. Default 1,024.</summary>
    public int MaxConcurrentChannels { get; set; } = 1024;
}
