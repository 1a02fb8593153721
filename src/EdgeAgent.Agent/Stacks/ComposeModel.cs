namespace EdgeAgent.Agent.Stacks;

/// <summary>A parsed, interpolated and validated compose file. Every map is ordered by key (ordinal), so hashing is stable.</summary>
internal sealed class ComposeProject
{
    /// <summary>The top-level <c>name</c>, if any.</summary>
    public string? Name { get; set; }

    /// <summary>The services, in the order of the file.</summary>
    public List<ComposeService> Services { get; } = [];

    public SortedDictionary<string, ComposeNetwork> Networks { get; } = new(StringComparer.Ordinal);

    public SortedDictionary<string, ComposeVolume> Volumes { get; } = new(StringComparer.Ordinal);

    public ComposeService? FindService(string name) => Services.Find(s => s.Name == name);
}

internal sealed class ComposeService
{
    public required string Name { get; init; }

    /// <summary>Where the service is declared (for errors found later).</summary>
    public int Line { get; init; }

    public string? Image { get; set; }

    public List<string>? Command { get; set; }

    public List<string>? Entrypoint { get; set; }

    /// <summary>Variables; a null value is declared without a value and not set in the container.</summary>
    public SortedDictionary<string, string?> Environment { get; } = new(StringComparer.Ordinal);

    public List<ComposePort> Ports { get; } = [];

    public List<ComposeMount> Mounts { get; } = [];

    /// <summary>The networks the service joins (by their key in the file) with aliases; empty means the <c>default</c> network.</summary>
    public SortedDictionary<string, List<string>> Networks { get; } = new(StringComparer.Ordinal);

    /// <summary><c>no</c>, <c>always</c>, <c>on-failure[:N]</c> or <c>unless-stopped</c>.</summary>
    public string? Restart { get; set; }

    public SortedDictionary<string, string> Labels { get; } = new(StringComparer.Ordinal);

    /// <summary>Dependencies and their condition (<c>service_started</c>, <c>service_healthy</c>, <c>service_completed_successfully</c>).</summary>
    public SortedDictionary<string, ComposeDependency> DependsOn { get; } = new(StringComparer.Ordinal);

    public ComposeHealthcheck? Healthcheck { get; set; }

    public string? WorkingDir { get; set; }

    public string? User { get; set; }

    public string? Hostname { get; set; }

    public string? StopSignal { get; set; }

    public TimeSpan? StopGracePeriod { get; set; }

    /// <summary>deploy.resources.limits.memory in bytes.</summary>
    public long? MemoryLimit { get; set; }

    /// <summary>deploy.resources.limits.cpus in billionths of a CPU.</summary>
    public long? NanoCpus { get; set; }

    public bool Privileged { get; set; }

    public List<string> CapAdd { get; } = [];

    public List<string> CapDrop { get; } = [];

    /// <summary>Entries <c>host:ip</c>.</summary>
    public List<string> ExtraHosts { get; } = [];

    public string? LoggingDriver { get; set; }

    public SortedDictionary<string, string> LoggingOptions { get; } = new(StringComparer.Ordinal);

    /// <summary>The networks the service joins, with <c>default</c> when none is named.</summary>
    public IEnumerable<string> EffectiveNetworks => Networks.Count == 0 ? [ComposeLabels.DefaultNetwork] : Networks.Keys;
}

internal sealed record ComposeDependency(string Condition, int Line);

/// <summary>One published or exposed port, ranges already expanded.</summary>
internal sealed record ComposePort(int ContainerPort, string Protocol, string HostIp, string HostPort);

/// <summary>A mount: <c>volume</c> (named or anonymous), <c>bind</c> or <c>tmpfs</c>.</summary>
internal sealed record ComposeMount(string Type, string? Source, string Target, bool ReadOnly, bool NoCopy = false, long? TmpfsSize = null);

internal sealed class ComposeHealthcheck
{
    /// <summary>The test as the engine wants it (<c>CMD …</c>, <c>CMD-SHELL …</c> or <c>NONE</c>); null inherits the image's.</summary>
    public List<string>? Test { get; set; }

    public TimeSpan? Interval { get; set; }

    public TimeSpan? Timeout { get; set; }

    public TimeSpan? StartPeriod { get; set; }

    public int? Retries { get; set; }
}

internal sealed class ComposeNetwork
{
    public bool External { get; set; }

    /// <summary>The engine's name for it: <c>name</c>, or <c>&lt;project&gt;_&lt;key&gt;</c>, or the key when external.</summary>
    public string? CustomName { get; set; }

    public string? Driver { get; set; }

    public SortedDictionary<string, string> Labels { get; } = new(StringComparer.Ordinal);
}

internal sealed class ComposeVolume
{
    public bool External { get; set; }

    public string? CustomName { get; set; }

    public string? Driver { get; set; }

    public SortedDictionary<string, string> Labels { get; } = new(StringComparer.Ordinal);
}
