namespace EdgeAgent.ControlPlane;

/// <summary>Settings of the control plane.</summary>
public sealed class EdgeControlPlaneOptions
{
    /// <summary>The name the control plane gives itself in handshakes. Default: the machine name.</summary>
    public string ServerName { get; set; } = Environment.MachineName;

    /// <summary>
    /// The public base URL agents connect to (e.g. <c>https://fleet.example.com</c>), used in the
    /// run settings that enrollment returns. Empty leaves a placeholder.
    /// </summary>
    public string? PublicUrl { get; set; }

    /// <summary>
    /// The path agents connect to: where <c>MapEdgeAgents()</c> maps the endpoint unless given a
    /// pattern, and, when not the default, part of the run settings enrollment returns
    /// (<c>EdgeAgent__ConnectPath</c>). Default <c>/agent/connect</c>.
    /// </summary>
    public string ConnectPath { get; set; } = "/agent/connect";

    /// <summary>The keepalive ping interval of agent sessions. Default 15 s.</summary>
    public TimeSpan KeepaliveInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// How long after its last heartbeat an agent still counts as Connected. Default 45 s
    /// (three keepalive intervals).
    /// </summary>
    public TimeSpan HeartbeatGracePeriod { get; set; } = TimeSpan.FromSeconds(45);

    /// <summary>After a rotation, how long the previous secret keeps working. Default 1 h.</summary>
    public TimeSpan RotationOverlap { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long a command waits for its answer unless the caller says otherwise. Default 30 s.</summary>
    public TimeSpan DefaultCommandTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a stack deployment may take on the agent (pulls, health waits). Default 10 min.</summary>
    public TimeSpan StackDeployTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How long an agent has to complete the handshake after the upgrade. Default 10 s.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The most agents connected at once; further handshakes get HTTP 503. Default 50,000.</summary>
    public int MaxConnectedAgents { get; set; } = 50_000;

    /// <summary>The largest frame accepted from an agent. Default 1 MiB.</summary>
    public int MaxFrameSize { get; set; } = 1024 * 1024;

    /// <summary>The receive window of each channel. Default 1 MiB.</summary>
    public int ChannelWindow { get; set; } = 1024 * 1024;

    /// <summary>
    /// The connection-level receive window: how many bytes of bulk data each agent may have in
    /// flight towards the control plane across all channels at once. It bounds the bulk data a
    /// command's answer, a heartbeat or an interactive stream can be queued behind, and with it the
    /// bulk throughput towards the control plane: at most this many bytes per network round trip
    /// per agent (256 KiB at 50 ms ≈ 5 MB/s). Raise it on high-latency links where bulk transfers
    /// (logs, forwarded copies, uploads) matter more than command latency during them; 0 turns it
    /// off (then only <see cref="ChannelWindow"/> limits a stream). 0, or 64 KiB to 1 GiB. Default
    /// 256 KiB.
    /// </summary>
    public int ConnectionWindow { get; set; } = Protocol.Session.SessionOptions.DefaultConnectionWindow;

    /// <summary>
    /// The largest command response message accepted from an agent: one result, or one item of a
    /// stream (a message may span many frames; this bounds what the control plane assembles for it).
    /// A larger message fails that command with <see cref="Protocol.EdgeErrorCodes.TooLarge"/> before
    /// any of it is buffered; the session and other commands carry on. 1 KiB to 1 GiB. Default 64 MiB.
    /// </summary>
    public int MaxMessageSize { get; set; } = Protocol.Rpc.RpcMessages.DefaultMaxMessageSize;

    /// <summary>The most channels an agent may have open towards the control plane. Default 64.</summary>
    public int MaxChannelsPerAgent { get; set; } = 64;

    /// <summary>The most commands waiting for a free channel to one agent; beyond it commands fail fast. Default 1,024.</summary>
    public int MaxPendingCommandsPerAgent { get; set; } = 1024;

    /// <summary>
    /// An ASP.NET Core authorization policy every command must pass, evaluated with the caller's
    /// principal and an <see cref="EdgeCommandResource"/>. Null (the default) authorizes nothing
    /// beyond what the host application does before calling.
    /// </summary>
    public string? CommandAuthorizationPolicy { get; set; }

    /// <summary>
    /// Admission control for the whole control plane: the most agent connection attempts it
    /// admits per second (a token bucket with a burst of one second's worth), counted before any
    /// credential check. Attempts beyond it get HTTP 503 with a <c>Retry-After</c> that tracks the
    /// refused demand (each refusal is given the next free second at this rate, up to 60 s), so a
    /// fleet reconnecting after a restart comes back at about this rate instead of overrunning the
    /// handshake capacity (TLS, credential checks, store updates) and timing out.
    /// Size it to what the host can handshake while it keeps serving the agents already connected;
    /// 0 disables the limit. Default: 250 per processor (500 on a 2-core host), a conservative
    /// share of what a core can do with TLS handshakes.
    /// </summary>
    public double MaxHandshakesPerSecond { get; set; } = 250.0 * Environment.ProcessorCount;

    /// <summary>
    /// Sustained connection attempts allowed per remote address and second (an IPv6 address counts by
    /// its /64 prefix); 0 disables the limit. Default 5.
    /// </summary>
    public double HandshakesPerSecondPerAddress { get; set; } = 5;

    /// <summary>Connection attempts a remote address may make in a burst. Default 50.</summary>
    public int HandshakeBurstPerAddress { get; set; } = 50;

    /// <summary>The image the enrollment's <c>docker run</c> line uses for the sample agent.</summary>
    public string AgentImage { get; set; } = "edgeagent/agent:latest";
}
