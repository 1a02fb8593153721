namespace EdgeAgent.Protocol.Session;

/// <summary>Limits and timings of one side of a tunnel session.</summary>
internal sealed record SessionOptions
{
    /// <summary>The largest frame this side reads; a larger length prefix closes the session.</summary>
    public int MaxFrameSize { get; init; } = 1024 * 1024;

    /// <summary>The receive window of each channel: the most bytes buffered for it at once.</summary>
    public int InitialWindow { get; init; } = 1024 * 1024;

    /// <summary>
    /// The connection-level receive window: the most data-frame bytes the peer may have in flight
    /// towards this side across all channels (returned as soon as the read loop has handed them to
    /// their channels, not when the application consumes them). It bounds the bulk bytes queued in
    /// the transports and socket buffers ahead of a command or a heartbeat; channel windows still
    /// bound memory. Zero turns connection-level flow control off.
    /// </summary>
    public int ConnectionWindow { get; init; } = DefaultConnectionWindow;

    /// <summary>The default <see cref="ConnectionWindow"/>: 256 KiB.</summary>
    public const int DefaultConnectionWindow = 256 * 1024;

    /// <summary>The smallest non-zero <see cref="ConnectionWindow"/>: 64 KiB.</summary>
    public const int MinConnectionWindow = 64 * 1024;

    /// <summary>The largest <see cref="ConnectionWindow"/>: 1 GiB.</summary>
    public const int MaxConnectionWindow = 1024 * 1024 * 1024;

    /// <summary>Checks a configured connection window; returns a message naming <paramref name="setting"/>, or null.</summary>
    public static string? ValidateConnectionWindow(string setting, int value) =>
        value == 0 || value is >= MinConnectionWindow and <= MaxConnectionWindow
            ? null
            : $"{setting} must be 0 (connection-level flow control off) or between {MinConnectionWindow} and {MaxConnectionWindow} bytes (it is {value}).";

    /// <summary>The most channels the peer may open towards this side at once.</summary>
    public int MaxChannels { get; init; } = 1024;

    /// <summary>The most local opens that may wait for a free channel slot before opening fails.</summary>
    public int MaxPendingOpens { get; init; } = 4096;

    /// <summary>The largest data frame payload this side sends.</summary>
    public int MaxDataChunk { get; init; } = 64 * 1024;

    /// <summary>How often a ping is sent; a peer that has not answered by the next tick is dead.</summary>
    public TimeSpan KeepaliveInterval { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>How long the handshake may take.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a graceful close waits for channels to drain before aborting.</summary>
    public TimeSpan CloseTimeout { get; init; } = TimeSpan.FromSeconds(5);

    internal Frames.SessionLimits ToLimits() => new(MaxFrameSize, InitialWindow, MaxChannels, ConnectionWindow);

    /// <summary>Checks that every value is usable.</summary>
    public void Validate()
    {
        if (MaxFrameSize < 1024)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxFrameSize), MaxFrameSize, "MaxFrameSize must be at least 1024 bytes.");
        }

        if (InitialWindow < 1024)
        {
            throw new ArgumentOutOfRangeException(nameof(InitialWindow), InitialWindow, "InitialWindow must be at least 1024 bytes.");
        }

        if (ValidateConnectionWindow(nameof(ConnectionWindow), ConnectionWindow) is { } connectionWindow)
        {
            throw new ArgumentOutOfRangeException(nameof(ConnectionWindow), ConnectionWindow, connectionWindow);
        }

        if (MaxChannels < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxChannels), MaxChannels, "MaxChannels must be positive.");
        }

        if (KeepaliveInterval <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(KeepaliveInterval), KeepaliveInterval, "KeepaliveInterval must be positive.");
        }
    }
}

/// <summary>How a session ended.</summary>
/// <param name="Code">The close code.</param>
/// <param name="Reason">A description (never a secret).</param>
/// <param name="ClosedLocally">True when this side initiated the close.</param>
internal sealed record SessionCloseInfo(ProtocolErrorCode Code, string Reason, bool ClosedLocally);
