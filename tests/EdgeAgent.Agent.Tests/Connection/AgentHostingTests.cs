using System.Net;
using System.Net.Sockets;
using EdgeAgent.Agent;
using EdgeAgent.Testing.Logging;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace EdgeAgent.Agent.Tests.Connection;

public sealed class AgentHostingTests
{
    private const string Token = "store-1.0123456789abcdefghijklmnop";

    private static IHost Build(Action<EdgeAgentOptions> configure, Action<IServiceCollection>? services = null, Dictionary<string, string?>? config = null)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(config ?? []);
        builder.Logging.ClearProviders();
        services?.Invoke(builder.Services);
        builder.Services.AddEdgeAgent(o =>
        {
            o.StateDirectory = Path.Combine(Path.GetTempPath(), "edgeagent-tests", Guid.NewGuid().ToString("N"));
            configure(o);
        });
        return builder.Build();
    }

    [Theory]
    [InlineData(null, Token, "ControlPlaneUrl (CONTROL_PLANE_URL) is required")]
    [InlineData("not a url", Token, "must be an absolute https:// or wss:// URL")]
    [InlineData("ftp://cp.example", Token, "must be an absolute https:// or wss:// URL")]
    [InlineData("http://cp.example", Token, "unencrypted scheme 'http'")]
    [InlineData("https://cp.example/?token=x", Token, "must not carry credentials or a query string")]
    [InlineData("https://cp.example", null, "Token (AGENT_TOKEN or EDGE_KEY) is required")]
    [InlineData("https://cp.example", "secret-only-0123456789", "AgentId (EDGE_ID) is required")]
    [InlineData("https://cp.example", "store-1.short", "too short")]
    [InlineData("https://cp.example", "bad id!.0123456789abcdefghij", "1-64 letters")]
    public async Task Bad_settings_stop_the_host_at_start_with_a_message_naming_the_setting(string? url, string? token, string expected)
    {
        using var host = Build(o =>
        {
            o.ControlPlaneUrl = url;
            o.Token = token;
        });
        var error = await FluentActions.Awaiting(() => host.StartAsync()).Should().ThrowAsync<OptionsValidationException>();
        error.Which.Message.Should().Contain(expected);
        error.Which.Message.Should().NotContain("0123456789abcdefghij", "a secret never appears in an exception message");
    }

    [Theory]
    [InlineData("MaxMessageSize", 100, "between 1024 and 1073741824 bytes")]
    [InlineData("MaxMessageSize", int.MaxValue, "between 1024 and 1073741824 bytes")]
    [InlineData("ConnectionWindow", 1000, "0 (connection-level flow control off) or between 65536 and 1073741824 bytes")]
    [InlineData("ConnectionWindow", -1, "0 (connection-level flow control off) or between 65536 and 1073741824 bytes")]
    [InlineData("ConnectionWindow", int.MaxValue, "0 (connection-level flow control off) or between 65536 and 1073741824 bytes")]
    public async Task A_size_outside_its_range_stops_the_host_at_start_naming_the_setting(string setting, int value, string range)
    {
        using var host = Build(o =>
        {
            o.ControlPlaneUrl = "https://cp.example";
            o.Token = Token;
            if (setting == "MaxMessageSize")
            {
                o.MaxMessageSize = value;
            }
            else
            {
                o.ConnectionWindow = value;
            }
        });

        var error = await FluentActions.Awaiting(() => host.StartAsync()).Should().ThrowAsync<OptionsValidationException>();
        error.Which.Message.Should().Contain($"EdgeAgent:{setting} must be {range} (it is {value})");
    }

    [Fact]
    public async Task An_unknown_LOG_LEVEL_stops_the_host_at_start_naming_the_valid_values()
    {
        using var host = Build(o =>
        {
            o.ControlPlaneUrl = "https://cp.example";
            o.Token = Token;
        }, config: new() { ["LOG_LEVEL"] = "verbose" });

        var error = await FluentActions.Awaiting(() => host.StartAsync()).Should().ThrowAsync<OptionsValidationException>();
        error.Which.Message.Should().Contain("LOG_LEVEL must be trace, debug, info, warn, error or critical; got 'verbose'.");
    }

    [Fact]
    public void Environment_variable_names_used_by_edge_agents_map_to_the_options()
    {
        using var host = Build(_ => { }, config: new()
        {
            ["CONTROL_PLANE_URL"] = "https://fleet.example",
            ["EDGE_ID"] = "store-9",
            ["EDGE_KEY"] = "0123456789abcdefghijklmnop",
            ["LOG_LEVEL"] = "warn",
        });
        var options = host.Services.GetRequiredService<IOptions<EdgeAgentOptions>>().Value;
        options.ControlPlaneUrl.Should().Be("https://fleet.example");
        options.AgentId.Should().Be("store-9");
        options.Token.Should().Be("0123456789abcdefghijklmnop");
        host.Services.GetRequiredService<IOptions<LoggerFilterOptions>>().Value.MinLevel.Should().Be(LogLevel.Warning);

        using var withToken = Build(_ => { }, config: new() { ["CONTROL_PLANE_URL"] = "https://fleet.example", ["AGENT_TOKEN"] = Token });
        withToken.Services.GetRequiredService<IOptions<EdgeAgentOptions>>().Value.Token.Should().Be(Token);
    }

    [Theory]
    [InlineData("debug", true, true)]
    [InlineData("warn", false, false)]
    [InlineData("", false, true)]
    public void LOG_LEVEL_replaces_the_default_level_from_configuration_and_named_categories_keep_theirs(string level, bool debugLogged, bool informationLogged)
    {
        // What the sample's appsettings.json holds: a default level and one named category.
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Logging:LogLevel:Default"] = "Information",
            ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Warning",
            ["LOG_LEVEL"] = level,
        });
        builder.Logging.ClearProviders();
        using var logs = new CapturingLoggerProvider();
        builder.Logging.AddProvider(logs);
        builder.Services.AddEdgeAgent(o => o.StateDirectory = Path.Combine(Path.GetTempPath(), "edgeagent-tests", Guid.NewGuid().ToString("N")));
        using var host = builder.Build();
        var factory = host.Services.GetRequiredService<ILoggerFactory>();

        var logger = factory.CreateLogger("EdgeAgent.Agent.Connection");
        logger.IsEnabled(LogLevel.Debug).Should().Be(debugLogged);
        logger.IsEnabled(LogLevel.Information).Should().Be(informationLogged, "an empty LOG_LEVEL leaves the configured default");
        logger.IsEnabled(LogLevel.Error).Should().BeTrue();
        factory.CreateLogger("Microsoft.Hosting.Lifetime").IsEnabled(LogLevel.Information).Should().BeFalse("a rule for a named category still applies");
    }

    [Fact]
    public void Options_bind_from_a_configuration_section_and_code_runs_last()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["EdgeAgent:ControlPlaneUrl"] = "https://from-config.example",
            ["EdgeAgent:Token"] = Token,
            ["EdgeAgent:Labels:site"] = "berlin",
            ["EdgeAgent:ServerPublicKeyPins:0"] = Convert.ToBase64String(new byte[32]),
            ["EdgeAgent:ReconnectMaxDelay"] = "00:00:30",
            ["EdgeAgent:MaxMessageSize"] = "65536",
            ["EdgeAgent:ConnectionWindow"] = "4194304",
        }).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddEdgeAgent(configuration.GetSection("EdgeAgent"));
        services.AddEdgeAgent(o => o.ConnectPath = "/custom");
        using var provider = services.BuildServiceProvider();
        var options = provider.GetRequiredService<IOptions<EdgeAgentOptions>>().Value;
        options.ControlPlaneUrl.Should().Be("https://from-config.example");
        options.Labels.Should().Contain("site", "berlin");
        options.ServerPublicKeyPins.Should().HaveCount(1);
        options.ReconnectMaxDelay.Should().Be(TimeSpan.FromSeconds(30));
        options.MaxMessageSize.Should().Be(65536);
        options.ConnectionWindow.Should().Be(4 * 1024 * 1024);
        new EdgeAgentOptions().ConnectionWindow.Should().Be(256 * 1024);
        new EdgeAgentOptions().MaxMessageSize.Should().Be(64 * 1024 * 1024);
        options.ConnectPath.Should().Be("/custom");
        provider.GetServices<IHostedService>().OfType<EdgeAgent.Agent.Connection.EdgeAgentService>().Should().HaveCount(1, "AddEdgeAgent is safe to call twice");
    }

    [Fact]
    public void AddEdgeAgent_binds_the_hosts_EdgeAgent_section_and_an_explicit_section_wins_over_it()
    {
        // What appsettings.json or EdgeAgent__* environment variables give a generic host.
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["EdgeAgent:ControlPlaneUrl"] = "https://from-host.example",
            ["EdgeAgent:Token"] = Token,
            ["EdgeAgent:ConnectPath"] = "/from-host",
            ["EdgeAgent:Labels:site"] = "berlin",
            ["EdgeAgent:ReconnectMaxDelay"] = "00:00:30",
            ["Other:ConnectPath"] = "/from-other",
        });
        builder.Services.AddEdgeAgent();
        using (var host = builder.Build())
        {
            var options = host.Services.GetRequiredService<IOptions<EdgeAgentOptions>>().Value;
            options.ControlPlaneUrl.Should().Be("https://from-host.example");
            options.Token.Should().Be(Token);
            options.ConnectPath.Should().Be("/from-host");
            options.Labels.Should().Contain("site", "berlin");
            options.ReconnectMaxDelay.Should().Be(TimeSpan.FromSeconds(30));
        }

        // A section given explicitly is bound after the host's own, whichever overload ran first.
        builder = Host.CreateApplicationBuilder();
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["EdgeAgent:ConnectPath"] = "/from-host",
            ["EdgeAgent:ControlPlaneUrl"] = "https://from-host.example",
            ["EdgeAgent:Token"] = Token,
            ["Other:ConnectPath"] = "/from-other",
        });
        builder.Services.AddEdgeAgent(builder.Configuration.GetSection("Other"));
        builder.Services.AddEdgeAgent();
        using (var host = builder.Build())
        {
            var options = host.Services.GetRequiredService<IOptions<EdgeAgentOptions>>().Value;
            options.ConnectPath.Should().Be("/from-other");
            options.ControlPlaneUrl.Should().Be("https://from-host.example", "the host's section still fills what the explicit one leaves out");
        }

        // A service collection without a configuration (no host) still builds.
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddEdgeAgent(o =>
        {
            o.ControlPlaneUrl = "https://from-code.example";
            o.Token = Token;
            o.ConnectPath = "/code";
        });
        using var provider = services.BuildServiceProvider();
        provider.GetRequiredService<IOptions<EdgeAgentOptions>>().Value.ConnectPath.Should().Be("/code");
    }

    [Fact]
    public async Task Reconnect_waits_follow_the_policy_on_the_injected_clock_without_sleeping()
    {
        // A port with nothing listening: every attempt fails at once.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var policy = new RecordingPolicy();
        using var host = Build(
            o =>
            {
                o.ControlPlaneUrl = $"http://127.0.0.1:{port}";
                o.AllowInsecureTransport = true;
                o.Token = Token;
            },
            services =>
            {
                services.AddSingleton<TimeProvider>(time);
                services.AddSingleton<IEdgeRetryPolicy>(policy);
            });
        await host.StartAsync();

        await WaitForAsync(() => policy.Contexts.Count >= 1);
        policy.Contexts.Should().HaveCount(1, "the agent waits on the injected clock before the next attempt");

        // The agent may not have started its delay yet when the policy returns: advance the fake
        // clock in steps until the next attempt happens (no real time is waited for).
        await AdvanceUntilAsync(time, () => policy.Contexts.Count >= 2);
        policy.Contexts.Should().HaveCount(2);
        await AdvanceUntilAsync(time, () => policy.Contexts.Count >= 3);
        policy.Contexts.Select(c => c.PreviousRetryCount).Should().Equal(0, 1, 2);
        policy.Contexts.Should().OnlyContain(c => c.RetryReason != null && !c.CredentialRejected);
        host.Services.GetRequiredService<IEdgeAgentConnection>().State.Should().Be(EdgeAgentState.Reconnecting);
        await host.StopAsync();
        host.Services.GetRequiredService<IEdgeAgentConnection>().State.Should().Be(EdgeAgentState.Stopped);
    }

    private static async Task AdvanceUntilAsync(FakeTimeProvider time, Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException();
            }

            time.Advance(TimeSpan.FromMilliseconds(500));
            await Task.Delay(10);
        }
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException();
            }

            await Task.Delay(10);
        }
    }

    [Fact]
    public async Task WaitUntilConnectedAsync_fails_with_the_reason_once_the_retry_policy_gives_up()
    {
        var port = FreePort();
        using var host = Build(
            o =>
            {
                o.ControlPlaneUrl = $"http://127.0.0.1:{port}";
                o.AllowInsecureTransport = true;
                o.Token = Token;
            },
            services => services.AddSingleton<IEdgeRetryPolicy>(new GiveUpPolicy()));
        var connection = host.Services.GetRequiredService<IEdgeAgentConnection>();
        var waiting = connection.WaitUntilConnectedAsync();
        await host.StartAsync();

        // Nothing listens, the policy gives up: the wait ends with why, instead of never.
        var error = await FluentActions.Awaiting(() => waiting.WaitAsync(TimeSpan.FromSeconds(30)))
            .Should().ThrowAsync<InvalidOperationException>();
        error.Which.Message.Should().StartWith("The agent has stopped and will not connect: ").And.NotContain(Token);
        connection.State.Should().Be(EdgeAgentState.Stopped);

        // A wait that starts after the stop fails at once, the same way.
        await FluentActions.Awaiting(() => connection.WaitUntilConnectedAsync().WaitAsync(TimeSpan.FromSeconds(5)))
            .Should().ThrowAsync<InvalidOperationException>().WithMessage("The agent has stopped*");
        await host.StopAsync();
    }

    [Fact]
    public async Task A_StateChanged_handler_that_throws_is_logged_and_neither_stops_the_host_nor_the_other_handlers()
    {
        var port = FreePort();
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.Sources.Clear();
        builder.Logging.ClearProviders();
        using var logs = new CapturingLoggerProvider();
        builder.Logging.AddProvider(logs);
        builder.Services.AddSingleton<IEdgeRetryPolicy>(new RecordingPolicy());
        builder.Services.AddEdgeAgent(o =>
        {
            o.StateDirectory = Path.Combine(Path.GetTempPath(), "edgeagent-tests", Guid.NewGuid().ToString("N"));
            o.ControlPlaneUrl = $"http://127.0.0.1:{port}";
            o.AllowInsecureTransport = true;
            o.Token = Token;
        });
        using var host = builder.Build();
        var connection = host.Services.GetRequiredService<IEdgeAgentConnection>();
        var seen = new List<EdgeAgentState>();
        connection.StateChanged += (_, _) => throw new InvalidOperationException("handler bug");
        connection.StateChanged += (_, e) =>
        {
            lock (seen)
            {
                seen.Add(e.Current);
            }
        };
        await host.StartAsync();

        await WaitForAsync(() =>
        {
            lock (seen)
            {
                return seen.Contains(EdgeAgentState.Reconnecting);
            }
        });
        connection.State.Should().Be(EdgeAgentState.Reconnecting, "the agent goes on retrying");
        host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.IsCancellationRequested
            .Should().BeFalse("a throwing handler does not stop the host");
        logs.Entries.Should().Contain(e => e.EventId.Id == 2007 && e.Exception is InvalidOperationException);
        await host.StopAsync();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private sealed class GiveUpPolicy : IEdgeRetryPolicy
    {
        public TimeSpan? NextRetryDelay(EdgeRetryContext context) => null;
    }

    private sealed class RecordingPolicy : IEdgeRetryPolicy
    {
        public List<EdgeRetryContext> Contexts { get; } = [];

        public TimeSpan? NextRetryDelay(EdgeRetryContext context)
        {
            lock (Contexts)
            {
                Contexts.Add(context);
                return TimeSpan.FromSeconds(1 << Contexts.Count);
            }
        }
    }
}
