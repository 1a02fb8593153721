using EdgeAgent.Agent.Connection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeAgent.Agent.Hosting;

internal sealed class EdgeAgentBuilder(IServiceCollection services) : IEdgeAgentBuilder
{
    public IServiceCollection Services { get; } = services;
}

/// <summary>Binds <see cref="EdgeAgentOptions"/> from a configuration section.</summary>
internal sealed class ConfigureEdgeAgentFromSection(IConfiguration section) : IConfigureOptions<EdgeAgentOptions>
{
    public void Configure(EdgeAgentOptions options)
    {
        section.Bind(options);
        foreach (var label in section.GetSection("Labels").GetChildren())
        {
            options.Labels[label.Key] = label.Value ?? "";
        }

        foreach (var pin in section.GetSection("ServerPublicKeyPins").GetChildren())
        {
            if (!string.IsNullOrWhiteSpace(pin.Value) && !options.ServerPublicKeyPins.Contains(pin.Value))
            {
                options.ServerPublicKeyPins.Add(pin.Value);
            }
        }
    }
}

/// <summary>Binds the host configuration's <c>EdgeAgent</c> section, when the host has a configuration.</summary>
internal sealed class ConfigureEdgeAgentFromHostConfiguration(IConfiguration? configuration = null) : IConfigureOptions<EdgeAgentOptions>
{
    public const string SectionName = "EdgeAgent";

    public void Configure(EdgeAgentOptions options)
    {
        if (configuration is not null)
        {
            new ConfigureEdgeAgentFromSection(configuration.GetSection(SectionName)).Configure(options);
        }
    }
}

/// <summary>
/// Reads the environment variables operators of edge agents already use, where the setting was
/// not given otherwise: <c>CONTROL_PLANE_URL</c>, <c>AGENT_TOKEN</c>, <c>EDGE_ID</c>, <c>EDGE_KEY</c>.
/// </summary>
internal sealed class ConfigureEdgeAgentFromEnvironment(IConfiguration? configuration = null) : IPostConfigureOptions<EdgeAgentOptions>
{
    public void PostConfigure(string? name, EdgeAgentOptions options)
    {
        options.ControlPlaneUrl = FirstNonEmpty(options.ControlPlaneUrl, Read("CONTROL_PLANE_URL"));
        options.Token = FirstNonEmpty(options.Token, Read("AGENT_TOKEN"), Read("EDGE_KEY"));
        options.AgentId = FirstNonEmpty(options.AgentId, Read("EDGE_ID"));
    }

    private string? Read(string variable) => configuration?[variable] ?? Environment.GetEnvironmentVariable(variable);

    private static string? FirstNonEmpty(params string?[] values) => values.FirstOrDefault(v => !string.IsNullOrWhiteSpace(v));
}

/// <summary>
/// Maps <c>LOG_LEVEL</c> (trace, debug, info, warn, error, critical) to the default log level. It
/// replaces <c>Logging:LogLevel:Default</c> from configuration (a rule for every category and
/// provider, added after the configuration's rules, so it wins over theirs); rules for a named
/// category or provider still apply.
/// </summary>
internal sealed class ConfigureLogLevelFromEnvironment(IConfiguration? configuration = null) : IConfigureOptions<LoggerFilterOptions>
{
    public void Configure(LoggerFilterOptions options)
    {
        if (Parse(Read(configuration)) is { } level)
        {
            options.MinLevel = level;
            options.Rules.Add(new LoggerFilterRule(providerName: null, categoryName: null, logLevel: level, filter: null));
        }
    }

    /// <summary>The valid values, for error messages.</summary>
    internal const string Values = "trace, debug, info, warn, error or critical";

    internal static string? Read(IConfiguration? configuration) => configuration?["LOG_LEVEL"] ?? Environment.GetEnvironmentVariable("LOG_LEVEL");

    internal static LogLevel? Parse(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        "trace" => LogLevel.Trace,
        "debug" => LogLevel.Debug,
        "info" or "information" => LogLevel.Information,
        "warn" or "warning" => LogLevel.Warning,
        "error" => LogLevel.Error,
        "critical" or "fatal" => LogLevel.Critical,
        _ => null,
    };
}

/// <summary>Validates the options at host start, naming the setting that is wrong.</summary>
internal sealed class EdgeAgentOptionsValidator(IConfiguration? configuration = null) : IValidateOptions<EdgeAgentOptions>
{
    public ValidateOptionsResult Validate(string? name, EdgeAgentOptions options)
    {
        var failures = new List<string>();
        var logLevel = ConfigureLogLevelFromEnvironment.Read(configuration);
        if (!string.IsNullOrWhiteSpace(logLevel) && ConfigureLogLevelFromEnvironment.Parse(logLevel) is null)
        {
            failures.Add($"LOG_LEVEL must be {ConfigureLogLevelFromEnvironment.Values}; got '{(logLevel.Length > 20 ? logLevel[..20] + "…" : logLevel)}'.");
        }

        if (string.IsNullOrWhiteSpace(options.ControlPlaneUrl))
        {
            failures.Add("EdgeAgent:ControlPlaneUrl (CONTROL_PLANE_URL) is required.");
        }
        else if (!Uri.TryCreate(options.ControlPlaneUrl, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "wss" or "http" or "ws"))
        {
            failures.Add($"EdgeAgent:ControlPlaneUrl (CONTROL_PLANE_URL) must be an absolute https:// or wss:// URL; got '{Redact(options.ControlPlaneUrl)}'.");
        }
        else if (uri.Scheme is "http" or "ws" && !options.AllowInsecureTransport)
        {
            failures.Add($"EdgeAgent:ControlPlaneUrl uses the unencrypted scheme '{uri.Scheme}'. Use https:// or set EdgeAgent:AllowInsecureTransport=true.");
        }
        else if (!string.IsNullOrEmpty(uri.UserInfo) || !string.IsNullOrEmpty(uri.Query))
        {
            failures.Add("EdgeAgent:ControlPlaneUrl must not carry credentials or a query string; the credential travels in the Authorization header.");
        }

        if (AgentCredential.TryCreate(options.AgentId, options.Token, out var credentialError) is null)
        {
            failures.Add(credentialError!);
        }

        if (string.IsNullOrWhiteSpace(options.ConnectPath) || !options.ConnectPath.StartsWith('/'))
        {
            failures.Add("EdgeAgent:ConnectPath must start with '/'.");
        }

        if (options.ReconnectInitialDelay <= TimeSpan.Zero)
        {
            failures.Add("EdgeAgent:ReconnectInitialDelay must be positive.");
        }

        if (options.ReconnectMaxDelay < options.ReconnectInitialDelay)
        {
            failures.Add("EdgeAgent:ReconnectMaxDelay must be at least EdgeAgent:ReconnectInitialDelay.");
        }

        if (options.KeepaliveInterval <= TimeSpan.Zero || options.ConnectTimeout <= TimeSpan.Zero)
        {
            failures.Add("EdgeAgent:KeepaliveInterval and EdgeAgent:ConnectTimeout must be positive.");
        }

        foreach (var pin in options.ServerPublicKeyPins)
        {
            if (!IsSha256Base64(pin))
            {
                failures.Add("EdgeAgent:ServerPublicKeyPins entries must be base64 SHA-256 hashes (44 characters).");
                break;
            }
        }

        if (!string.IsNullOrEmpty(options.TrustedCaCertificatesPath) && !File.Exists(options.TrustedCaCertificatesPath))
        {
            failures.Add($"EdgeAgent:TrustedCaCertificatesPath '{options.TrustedCaCertificatesPath}' does not exist.");
        }

        if (!string.IsNullOrEmpty(options.Proxy) && !Uri.TryCreate(options.Proxy, UriKind.Absolute, out _))
        {
            failures.Add("EdgeAgent:Proxy must be an absolute URL such as http://proxy:3128.");
        }

        if (options.MaxFrameSize < 1024 || options.ChannelWindow < 1024 || options.MaxConcurrentChannels < 1 || options.IdempotencyCapacity < 1)
        {
            failures.Add("EdgeAgent:MaxFrameSize and ChannelWindow must be at least 1024; MaxConcurrentChannels and IdempotencyCapacity at least 1.");
        }

        if (Protocol.Session.SessionOptions.ValidateConnectionWindow("EdgeAgent:ConnectionWindow", options.ConnectionWindow) is { } connectionWindow)
        {
            failures.Add(connectionWindow);
        }

        if (Protocol.Rpc.RpcMessages.ValidateMaxMessageSize("EdgeAgent:MaxMessageSize", options.MaxMessageSize) is { } messageSize)
        {
            failures.Add(messageSize);
        }

        Forwarding.ForwardingAllowlist.Parse(options.Policy.ForwardingAllowlist, out var allowlistErrors);
        foreach (var error in allowlistErrors)
        {
            failures.Add($"EdgeAgent:Policy:ForwardingAllowlist entry {error}.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static bool IsSha256Base64(string value)
    {
        Span<byte> bytes = stackalloc byte[32];
        return Convert.TryFromBase64String(value, bytes, out var written) && written == 32;
    }

    /// <summary>Shows a malformed URL without anything that could be a secret in it.</summary>
    private static string Redact(string value) => value.Length > 64 ? value[..64] + "…" : value.Split('?')[0];
}

/// <summary>Healthy while connected, Degraded while reconnecting, Unhealthy when the credential is refused or the agent stopped.</summary>
internal sealed class EdgeAgentHealthCheck(IEdgeAgentConnection connection) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object> { ["state"] = connection.State.ToString() };
        var result = connection.State switch
        {
            _ when connection.CredentialRejected => HealthCheckResult.Unhealthy("The control plane refused the agent's credential; check AGENT_TOKEN.", data: data),
            EdgeAgentState.Connected => HealthCheckResult.Healthy("Connected to the control plane.", data),
            EdgeAgentState.Stopped => HealthCheckResult.Unhealthy("The agent is stopped.", data: data),
            _ => HealthCheckResult.Degraded($"Not connected: {connection.LastError ?? "connecting"}", data: data),
        };
        return Task.FromResult(result);
    }
}
