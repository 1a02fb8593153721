using EdgeAgent.ControlPlane;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace EdgeAgent.ControlPlane.Tests;

public sealed class ControlPlaneHostingTests
{
    [Fact]
    public async Task AddEdgeControlPlane_binds_the_hosts_EdgeControlPlane_section_and_code_runs_after_it()
    {
        // What appsettings.json or EdgeControlPlane__* environment variables give a web host.
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["EdgeControlPlane:ConnectPath"] = "/fleet/connect",
            ["EdgeControlPlane:KeepaliveInterval"] = "00:00:07",
            ["EdgeControlPlane:MaxHandshakesPerSecond"] = "123.5",
            ["EdgeControlPlane:PublicUrl"] = "https://from-config.example",
        });
        builder.Services.AddEdgeControlPlane(o => o.PublicUrl = "https://from-code.example");
        await using var app = builder.Build();
        var options = app.Services.GetRequiredService<IOptions<EdgeControlPlaneOptions>>().Value;
        options.ConnectPath.Should().Be("/fleet/connect");
        options.KeepaliveInterval.Should().Be(TimeSpan.FromSeconds(7));
        options.MaxHandshakesPerSecond.Should().Be(123.5);
        options.PublicUrl.Should().Be("https://from-code.example", "code runs after the configuration");
    }

    [Fact]
    public async Task An_explicit_section_is_bound_after_the_hosts_own_and_a_bad_value_stops_the_host_naming_the_setting()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["EdgeControlPlane:ConnectPath"] = "/from-host",
            ["EdgeControlPlane:ServerName"] = "host-name",
            ["Fleet:ConnectPath"] = "/from-fleet",
        });
        builder.Services.AddEdgeControlPlane(builder.Configuration.GetSection("Fleet"));
        await using (var app = builder.Build())
        {
            var options = app.Services.GetRequiredService<IOptions<EdgeControlPlaneOptions>>().Value;
            options.ConnectPath.Should().Be("/from-fleet");
            options.ServerName.Should().Be("host-name", "the host's section fills what the explicit one leaves out");
        }

        // A value from configuration is validated like one set in code.
        var bad = WebApplication.CreateSlimBuilder();
        bad.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["EdgeControlPlane:ConnectPath"] = "no-slash" });
        bad.Services.AddEdgeControlPlane();
        await using var badApp = bad.Build();
        var error = await FluentActions.Awaiting(() => badApp.StartAsync()).Should().ThrowAsync<OptionsValidationException>();
        error.Which.Message.Should().Contain("EdgeControlPlane:ConnectPath must start with '/'");
    }

    [Fact]
    public void A_service_collection_without_a_configuration_still_builds_the_options()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddEdgeControlPlane(o => o.ConnectPath = "/code");
        using var provider = services.BuildServiceProvider();
        provider.GetRequiredService<IOptions<EdgeControlPlaneOptions>>().Value.ConnectPath.Should().Be("/code");
    }
}
