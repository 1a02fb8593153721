using EdgeAgent.Agent.Forwarding;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeAgent.Agent.Tests.Forwarding;

public sealed class DockerApiEndpointTests
{
    private const string Token = "store-1.0123456789abcdefghijklmnop";

    [Fact]
    public void The_passthrough_reaches_the_engine_the_Docker_operations_use()
    {
        // The endpoint set for the Docker operations, not another one from the agent's options.
        using (var provider = Build(o => o.DockerEndpoint = "unix:///from-agent-options.sock", builder => builder.AddDocker(e => e.Endpoint = "unix:///from-engine-options.sock")))
        {
            Handler(provider).Endpoint.Should().Be("unix:///from-engine-options.sock");
        }

        // By default both come from EdgeAgentOptions.DockerEndpoint.
        using (var provider = Build(o => o.DockerEndpoint = "unix:///from-agent-options.sock", builder => builder.AddDocker()))
        {
            Handler(provider).Endpoint.Should().Be("unix:///from-agent-options.sock");
            provider.GetRequiredService<Microsoft.Extensions.Options.IOptions<DockerEngineOptions>>().Value.Endpoint.Should().Be("unix:///from-agent-options.sock");
        }

        // Without the Docker operations, the passthrough still has its engine.
        using (var provider = Build(o => o.DockerEndpoint = "tcp://127.0.0.1:2375", _ => { }))
        {
            Handler(provider).Endpoint.Should().Be("tcp://127.0.0.1:2375");
        }
    }

    [Fact]
    public void AddDocker_sets_the_engine_options_a_volume_browse_error_names()
    {
        using var provider = Build(_ => { }, builder => builder.AddDocker(e =>
        {
            e.HelperImage = "my/helper:1";
            e.RequestTimeout = TimeSpan.FromSeconds(300);
        }));
        var engine = provider.GetRequiredService<Microsoft.Extensions.Options.IOptions<DockerEngineOptions>>().Value;
        engine.HelperImage.Should().Be("my/helper:1");
        engine.RequestTimeout.Should().Be(TimeSpan.FromSeconds(300));
    }

    private static ServiceProvider Build(Action<EdgeAgentOptions> configure, Action<IEdgeAgentBuilder> docker)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        var builder = services.AddEdgeAgent(o =>
        {
            o.ControlPlaneUrl = "https://cp.example";
            o.Token = Token;
            configure(o);
        });
        docker(builder);
        return services.BuildServiceProvider();
    }

    private static DockerApiForwardHandler Handler(IServiceProvider provider) =>
        provider.GetServices<EdgeCommandHandler>().OfType<DockerApiForwardHandler>().Single();
}
