using EdgeAgent.Agent.Policy;
using EdgeAgent.Protocol;

namespace EdgeAgent.Agent.Tests.Policy;

public sealed class RegistryPolicyTests
{
    [Theory]
    [InlineData("nginx", "docker.io")]
    [InlineData("library/nginx:1.27", "docker.io")]
    [InlineData("ghcr.io/acme/app:2", "ghcr.io")]
    [InlineData("registry.example.com:5000/team/app", "registry.example.com:5000")]
    [InlineData("localhost/app", "localhost")]
    [InlineData("acme/app@sha256:abc", "docker.io")]
    public void The_registry_of_an_image_is_resolved_as_docker_does(string image, string registry) =>
        RegistryPolicy.RegistryOf(image).Should().Be(registry);

    [Fact]
    public void Pulls_from_registries_outside_the_allowlist_are_denied_naming_the_setting()
    {
        RegistryPolicy.EnsureAllowed("ghcr.io/acme/app", []);
        RegistryPolicy.EnsureAllowed("GHCR.io/acme/app", ["ghcr.io"]);
        var denied = FluentActions.Invoking(() => RegistryPolicy.EnsureAllowed("nginx", ["ghcr.io"])).Should().Throw<EdgeCommandException>().Which;
        denied.Code.Should().Be(EdgeErrorCodes.Denied);
        denied.Message.Should().Contain("docker.io").And.Contain("Policy:AllowedRegistries");
    }
}
