using EdgeAgent.Agent.Docker;
using EdgeAgent.Protocol;
using EdgeAgent.Protocol.Docker;
using EdgeAgent.Testing;
using Microsoft.Extensions.Options;

namespace EdgeAgent.Agent.Tests.Docker;

[Trait("Category", "Docker")]
public sealed class SystemTests : DockerTestBase
{
    [Fact]
    public async Task Ping_answers_through_the_tunnel()
    {
        await Docker.System.PingAsync(cancellationToken: Ct);
    }

    [Fact]
    public async Task Version_reports_the_engine()
    {
        var version = await Docker.System.GetVersionAsync(cancellationToken: Ct);
        var direct = await Engine.System.GetVersionAsync(Ct);

        version.Version.Should().Be(direct.Version).And.NotBeEmpty();
        version.ApiVersion.Should().NotBeEmpty();
        version.Os.Should().Be("linux");
    }

    [Fact]
    public async Task Info_reports_host_and_storage()
    {
        var info = await Docker.System.GetInfoAsync(cancellationToken: Ct);

        info.OperatingSystem.Should().NotBeEmpty();
        info.KernelVersion.Should().NotBeEmpty();
        info.Cpus.Should().BePositive();
        info.MemoryBytes.Should().BePositive();
        info.StorageDriver.Should().NotBeEmpty();
        info.Images.Should().BePositive("the test image exists");
    }

    [Fact]
    public async Task Disk_usage_counts_images_and_containers()
    {
        await CreateContainerAsync(["true"], start: false);

        var usage = await Docker.System.GetDiskUsageAsync(cancellationToken: Ct);

        usage.ImageCount.Should().BePositive();
        usage.ImagesBytes.Should().BePositive();
        usage.ContainerCount.Should().BePositive();
    }
}

/// <summary>Handlers pointed at a socket where no engine listens answer <c>unavailable</c> and keep working.</summary>
public sealed class EngineUnavailableTests
{
    [Fact]
    public async Task Commands_fail_with_unavailable_when_the_socket_does_not_answer()
    {
        var path = Path.Combine(Path.GetTempPath(), $"edgeagent-no-engine-{Guid.NewGuid():N}.sock");
        using var provider = new DockerClientProvider(Options.Create(new DockerEngineOptions { Endpoint = "unix://" + path }));
        await using var pair = await TunnelPair.StartAsync(DockerHandlerRegistration.CreateHandlers(provider));
        var docker = new DockerCommands(pair.Invoker);
        var ct = TestContext.Current.CancellationToken;

        var ping = async () => await docker.System.PingAsync(cancellationToken: ct);
        var list = async () => await docker.Containers.ListAsync(cancellationToken: ct);
        var logs = async () =>
        {
            await foreach (var _ in docker.Containers.FollowLogsAsync(new() { Id = "x" }, cancellationToken: ct))
            {
            }
        };

        (await ping.Should().ThrowAsync<EdgeCommandException>()).Which.Code.Should().Be(EdgeErrorCodes.Unavailable);
        (await list.Should().ThrowAsync<EdgeCommandException>()).Which.Code.Should().Be(EdgeErrorCodes.Unavailable);
        (await logs.Should().ThrowAsync<EdgeCommandException>()).Which.Code.Should().Be(EdgeErrorCodes.Unavailable);

        // The agent side is still serving.
        (await ping.Should().ThrowAsync<EdgeCommandException>()).Which.Message.Should().Contain("not reachable");
    }
}
