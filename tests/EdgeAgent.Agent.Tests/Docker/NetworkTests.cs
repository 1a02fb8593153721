using EdgeAgent.Protocol;

namespace EdgeAgent.Agent.Tests.Docker;

[Trait("Category", "Docker")]
public sealed class NetworkTests : DockerTestBase
{
    [Fact]
    public async Task Create_list_inspect_remove()
    {
        var name = UniqueName("net");
        TrackNetwork(name);

        var created = await Docker.Networks.CreateAsync(new() { Name = name, Labels = Labels(("com.docker.compose.project", "shop")), Internal = true }, cancellationToken: Ct);
        var listed = await Docker.Networks.ListAsync(new() { Name = name }, cancellationToken: Ct);
        var inspected = await Docker.Networks.InspectAsync(name, cancellationToken: Ct);
        await Docker.Networks.RemoveAsync(created.Id, cancellationToken: Ct);
        var afterRemove = await Docker.Networks.ListAsync(new() { Name = name }, cancellationToken: Ct);

        listed.Should().ContainSingle().Which.Id.Should().Be(created.Id);
        inspected.Driver.Should().Be("bridge");
        inspected.Internal.Should().BeTrue();
        inspected.Stack.Should().Be("shop");
        inspected.Subnets.Should().NotBeEmpty();
        afterRemove.Should().BeEmpty();
    }

    [Fact]
    public async Task Connect_and_disconnect_a_container()
    {
        var name = UniqueName("net");
        TrackNetwork(name);
        var network = await Docker.Networks.CreateAsync(new() { Name = name, Labels = Labels() }, cancellationToken: Ct);
        var container = await CreateContainerAsync(["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"], networkMode: "bridge");

        await Docker.Networks.ConnectAsync(name, container, ["web"], cancellationToken: Ct);
        var connected = await Docker.Networks.InspectAsync(network.Id, cancellationToken: Ct);
        var details = await Docker.Containers.InspectAsync(container, cancellationToken: Ct);
        await Docker.Networks.DisconnectAsync(name, container, cancellationToken: Ct);
        var disconnected = await Docker.Networks.InspectAsync(network.Id, cancellationToken: Ct);

        connected.Containers.Should().ContainSingle().Which.ContainerId.Should().Be(container);
        details.Networks.Should().Contain(n => n.Name == name && n.Aliases.Contains("web"));
        disconnected.Containers.Should().BeEmpty();
    }

    [Fact]
    public async Task Duplicate_name_is_a_conflict_and_missing_network_is_not_found()
    {
        var name = UniqueName("net");
        TrackNetwork(name);
        await Docker.Networks.CreateAsync(new() { Name = name, Labels = Labels() }, cancellationToken: Ct);

        var duplicate = async () => await Docker.Networks.CreateAsync(new() { Name = name, Labels = Labels() }, cancellationToken: Ct);
        var missing = async () => await Docker.Networks.RemoveAsync(UniqueName("missing"), cancellationToken: Ct);

        (await duplicate.Should().ThrowAsync<EdgeCommandException>()).Which.Code.Should().Be(EdgeErrorCodes.Conflict);
        (await missing.Should().ThrowAsync<EdgeCommandException>()).Which.Code.Should().Be(EdgeErrorCodes.NotFound);
    }
}
