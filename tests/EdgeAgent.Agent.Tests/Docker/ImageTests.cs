using System.Formats.Tar;
using Docker.DotNet.Models;
using EdgeAgent.Protocol;
using EdgeAgent.Protocol.Contracts.Docker;

namespace EdgeAgent.Agent.Tests.Docker;

[Trait("Category", "Docker")]
public sealed class ImageTests : DockerTestBase
{
    [Fact]
    public async Task List_and_inspect_the_test_image()
    {
        var listed = await Docker.Images.ListAsync(new() { Reference = TestImage }, cancellationToken: Ct);
        var details = await Docker.Images.InspectAsync(TestImage, cancellationToken: Ct);

        listed.Should().ContainSingle().Which.RepoTags.Should().Contain(TestImage);
        details.Id.Should().Be(listed[0].Id);
        details.Os.Should().Be("linux");
        details.Cmd.Should().Equal("/bin/sh");
        details.Layers.Should().BePositive();
    }

    [Fact]
    public async Task Tag_then_remove_the_tag()
    {
        var repository = $"edgeagent-test/tagged-{Guid.NewGuid():N}";
        TrackImage(repository + ":v1");

        await Docker.Images.TagAsync(TestImage, repository, "v1", cancellationToken: Ct);
        var tagged = await Docker.Images.InspectAsync(repository + ":v1", cancellationToken: Ct);
        var removed = await Docker.Images.RemoveAsync(new() { Image = repository + ":v1" }, cancellationToken: Ct);

        tagged.Id.Should().Be((await Docker.Images.InspectAsync(TestImage, cancellationToken: Ct)).Id);
        removed.Untagged.Should().Contain(repository + ":v1");
        removed.Deleted.Should().BeEmpty("the test image keeps its other tag");
        var gone = async () => await Docker.Images.InspectAsync(repository + ":v1", cancellationToken: Ct);
        (await gone.Should().ThrowAsync<EdgeCommandException>()).Which.Code.Should().Be(EdgeErrorCodes.NotFound);
    }

    [Fact]
    public async Task Remove_of_an_image_a_container_uses_is_a_conflict()
    {
        var repository = $"edgeagent-test/inuse-{Guid.NewGuid():N}";
        var scope = Guid.NewGuid().ToString("N");
        await ImportAsync(repository, "v1", scope, "in use");
        var created = await Engine.Containers.CreateContainerAsync(new CreateContainerParameters { Image = repository + ":v1", Cmd = ["true"], Labels = Labels() }, Ct);
        TrackContainer(created.ID);

        var remove = async () => await Docker.Images.RemoveAsync(new() { Image = repository + ":v1" }, cancellationToken: Ct);

        (await remove.Should().ThrowAsync<EdgeCommandException>()).Which.Code.Should().Be(EdgeErrorCodes.Conflict);
    }

    [Fact]
    public async Task Prune_removes_dangling_images_and_on_request_all_unused_ones()
    {
        var scope = Guid.NewGuid().ToString("N");
        var repository = $"edgeagent-test/prune-{Guid.NewGuid():N}";
        var dangling = await ImportAsync(repository, "v1", scope, "first");
        var tagged = await ImportAsync(repository, "v1", scope, "second"); // takes the tag: the first dangles
        var filter = new Dictionary<string, string> { ["scope"] = scope };

        var danglingOnly = await Docker.Images.PruneAsync(new() { Labels = filter }, cancellationToken: Ct);
        var stillThere = await Docker.Images.InspectAsync(tagged, cancellationToken: Ct);
        var allUnused = await Docker.Images.PruneAsync(new() { AllUnused = true, Labels = filter }, cancellationToken: Ct);

        danglingOnly.Deleted.Should().Contain(dangling).And.NotContain(tagged);
        stillThere.RepoTags.Should().Contain(repository + ":v1");
        allUnused.Deleted.Should().Contain(tagged);
    }

    [Fact]
    public async Task Pull_from_an_unreachable_registry_fails_cleanly_as_unavailable()
    {
        var pull = async () =>
        {
            await foreach (var _ in Docker.Images.PullAsync(new()
            {
                Image = "127.0.0.1:1/edgeagent/unreachable",
                Tag = "latest",
                Credentials = new RegistryCredentials { Username = "user", Password = "secret-password", ServerAddress = "127.0.0.1:1" },
            }, cancellationToken: Ct))
            {
            }
        };

        var error = (await pull.Should().ThrowAsync<EdgeCommandException>()).Which;
        error.Code.Should().Be(EdgeErrorCodes.Unavailable);
        error.Message.Should().Contain("127.0.0.1:1").And.NotContain("secret-password");
    }

    [Fact]
    public async Task Inspect_of_a_missing_image_is_not_found()
    {
        var inspect = async () => await Docker.Images.InspectAsync($"edgeagent-test/missing-{Guid.NewGuid():N}:v1", cancellationToken: Ct);

        (await inspect.Should().ThrowAsync<EdgeCommandException>()).Which.Code.Should().Be(EdgeErrorCodes.NotFound);
    }

    /// <summary>Imports a one-file image (no registry needed) and returns its id.</summary>
    private async Task<string> ImportAsync(string repository, string tag, string scope, string content)
    {
        var tar = new MemoryStream();
        await using (var writer = new TarWriter(tar, leaveOpen: true))
        {
            var entry = new PaxTarEntry(TarEntryType.RegularFile, "marker.txt") { DataStream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(content + Guid.NewGuid())) };
            await writer.WriteEntryAsync(entry, Ct);
        }

        tar.Position = 0;
        TrackImage(repository + ":" + tag);
        await Engine.Images.CreateImageAsync(
            new ImagesCreateParameters { FromSrc = "-", Repo = repository, Tag = tag, Changes = [$"LABEL {TestLabel}=1 scope={scope}"] },
            tar,
            null!,
            new Progress<JSONMessage>(),
            Ct);
        var id = (await Engine.Images.InspectImageAsync(repository + ":" + tag, Ct)).ID;
        TrackImage(id);
        return id;
    }
}
