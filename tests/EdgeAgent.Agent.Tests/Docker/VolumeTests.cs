using System.Text;
using Docker.DotNet.Models;
using EdgeAgent.Agent.Docker;
using EdgeAgent.Protocol;
using EdgeAgent.Protocol.Contracts.Docker;

namespace EdgeAgent.Agent.Tests.Docker;

[Trait("Category", "Docker")]
public sealed class VolumeTests : DockerTestBase
{
    [Fact]
    public async Task Create_inspect_list_remove()
    {
        var name = UniqueName("vol");
        TrackVolume(name);

        var created = await Docker.Volumes.CreateAsync(new() { Name = name, Labels = Labels(("tier", "data")) }, cancellationToken: Ct);
        var inspected = await Docker.Volumes.InspectAsync(name, cancellationToken: Ct);
        var listed = await Docker.Volumes.ListAsync(new() { Labels = new Dictionary<string, string> { ["tier"] = "data", [TestLabel] = "1" } }, cancellationToken: Ct);
        await Docker.Volumes.RemoveAsync(name, cancellationToken: Ct);
        var missing = async () => await Docker.Volumes.InspectAsync(name, cancellationToken: Ct);

        created.Name.Should().Be(name);
        created.Driver.Should().Be("local");
        inspected.Labels.Should().Contain("tier", "data");
        listed.Should().Contain(v => v.Name == name);
        (await missing.Should().ThrowAsync<EdgeCommandException>()).Which.Code.Should().Be(EdgeErrorCodes.NotFound);
    }

    [Fact]
    public async Task Remove_of_a_volume_in_use_is_a_conflict()
    {
        var name = await CreateVolumeAsync();
        await CreateContainerAsync(["true"], start: false, mounts: [new Mount { Type = "volume", Source = name, Target = "/data" }]);

        var remove = async () => await Docker.Volumes.RemoveAsync(name, cancellationToken: Ct);

        (await remove.Should().ThrowAsync<EdgeCommandException>()).Which.Code.Should().Be(EdgeErrorCodes.Conflict);
    }

    [Fact]
    public async Task Prune_removes_unused_volumes_with_the_labels()
    {
        var scope = Guid.NewGuid().ToString("N");
        var unused = await CreateVolumeAsync(labels: Labels(("scope", scope)));
        var used = await CreateVolumeAsync(labels: Labels(("scope", scope)));
        await CreateContainerAsync(["true"], start: false, mounts: [new Mount { Type = "volume", Source = used, Target = "/data" }]);

        var pruned = await Docker.Volumes.PruneAsync(new() { Labels = new Dictionary<string, string> { ["scope"] = scope } }, cancellationToken: Ct);

        pruned.Deleted.Should().Equal(unused);
    }

    [Fact]
    public async Task Browse_lists_files_directories_and_links()
    {
        var volume = await CreatePopulatedVolumeAsync();

        var root = await Docker.Volumes.BrowseAsync(volume, "", cancellationToken: Ct);
        var dir = await Docker.Volumes.BrowseAsync(volume, "dir", cancellationToken: Ct);

        root.Entries.Select(e => e.Name).Should().Equal("dir", "escape-dir", "escape-file", "inside", "top.txt");
        root.Entries.Single(e => e.Name == "dir").Kind.Should().Be(VolumeEntryKind.Directory);
        root.Entries.Single(e => e.Name == "top.txt").Should().Match<VolumeEntry>(e => e.Kind == VolumeEntryKind.File && e.Size == 4);
        root.Entries.Single(e => e.Name == "escape-file").Should().Match<VolumeEntry>(e => e.Kind == VolumeEntryKind.Symlink && e.LinkTarget == "/etc/passwd");
        dir.Path.Should().Be("dir");
        dir.Entries.Select(e => e.Name).Should().Equal("a.txt", "sub");
    }

    [Fact]
    public async Task Read_file_returns_content_and_caps_it()
    {
        var volume = await CreatePopulatedVolumeAsync();

        var file = await Docker.Volumes.ReadFileAsync(volume, "dir/a.txt", cancellationToken: Ct);
        var capped = await Docker.Volumes.ReadFileAsync(volume, "./dir//a.txt", maxBytes: 5, cancellationToken: Ct);

        Encoding.UTF8.GetString(file.Content).Should().Be("hello volume\n");
        file.Truncated.Should().BeFalse();
        file.Size.Should().Be(13);
        capped.Path.Should().Be("dir/a.txt");
        Encoding.UTF8.GetString(capped.Content).Should().Be("hello");
        capped.Truncated.Should().BeTrue();
        capped.Size.Should().Be(13);
    }

    [Fact]
    public async Task A_symlink_that_stays_inside_the_volume_is_followed()
    {
        var volume = await CreatePopulatedVolumeAsync();

        var file = await Docker.Volumes.ReadFileAsync(volume, "inside/a.txt", cancellationToken: Ct);
        var listing = await Docker.Volumes.BrowseAsync(volume, "inside", cancellationToken: Ct);

        Encoding.UTF8.GetString(file.Content).Should().Be("hello volume\n");
        listing.Entries.Select(e => e.Name).Should().Equal("a.txt", "sub");
    }

    [Theory]
    [InlineData("../etc/passwd")]
    [InlineData("dir/../../etc/passwd")]
    [InlineData("/etc/passwd")]
    public async Task Traversal_and_absolute_paths_are_refused(string path)
    {
        var volume = await CreatePopulatedVolumeAsync();

        var read = async () => await Docker.Volumes.ReadFileAsync(volume, path, cancellationToken: Ct);

        var error = (await read.Should().ThrowAsync<EdgeCommandException>()).Which;
        error.Code.Should().Be(EdgeErrorCodes.InvalidArgument);
        error.Message.Should().Contain(path);
    }

    [Theory]
    [InlineData("escape-file")]
    [InlineData("escape-dir/passwd")]
    public async Task Symlinks_that_lead_outside_the_volume_are_denied(string path)
    {
        var volume = await CreatePopulatedVolumeAsync();

        var read = async () => await Docker.Volumes.ReadFileAsync(volume, path, cancellationToken: Ct);
        var browse = async () => await Docker.Volumes.BrowseAsync(volume, "escape-dir", cancellationToken: Ct);

        (await read.Should().ThrowAsync<EdgeCommandException>()).Which.Code.Should().Be(EdgeErrorCodes.Denied);
        (await browse.Should().ThrowAsync<EdgeCommandException>()).Which.Message.Should().Contain("outside the volume");
    }

    [Fact]
    public async Task Missing_volume_and_missing_path_are_not_found_and_helpers_are_removed()
    {
        var volume = await CreatePopulatedVolumeAsync();

        var missingVolume = async () => await Docker.Volumes.BrowseAsync(UniqueName("missing"), "", cancellationToken: Ct);
        var missingPath = async () => await Docker.Volumes.ReadFileAsync(volume, "dir/nope.txt", cancellationToken: Ct);
        var directory = async () => await Docker.Volumes.ReadFileAsync(volume, "dir", cancellationToken: Ct);

        (await missingVolume.Should().ThrowAsync<EdgeCommandException>()).Which.Code.Should().Be(EdgeErrorCodes.NotFound);
        (await missingPath.Should().ThrowAsync<EdgeCommandException>()).Which.Code.Should().Be(EdgeErrorCodes.NotFound);
        (await directory.Should().ThrowAsync<EdgeCommandException>()).Which.Code.Should().Be(EdgeErrorCodes.InvalidArgument);
        var helpers = await Engine.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>>
            {
                ["label"] = new Dictionary<string, bool> { [VolumeBrowser.HelperLabel] = true },
                ["volume"] = new Dictionary<string, bool> { [volume] = true },
            },
        }, Ct);
        helpers.Should().BeEmpty("the helper container is removed after each browse");
    }

    /// <summary>
    /// A volume with top.txt, dir/a.txt, dir/sub/, inside -> dir, escape-file -> /etc/passwd,
    /// escape-dir -> /etc (written by a container that ran and exited).
    /// </summary>
    private async Task<string> CreatePopulatedVolumeAsync()
    {
        var volume = await CreateVolumeAsync();
        var writer = await CreateContainerAsync(
            ["sh", "-c", "cd /v && printf top > top.txt && echo >> top.txt && mkdir -p dir/sub && echo 'hello volume' > dir/a.txt && ln -s dir inside && ln -s /etc/passwd escape-file && ln -s ../../../../etc escape-dir"],
            mounts: [new Mount { Type = "volume", Source = volume, Target = "/v" }]);
        await WaitForExitAsync(writer);
        (await Engine.Containers.InspectContainerAsync(writer, Ct)).State!.ExitCode.Should().Be(0);
        await Engine.Containers.RemoveContainerAsync(writer, new ContainerRemoveParameters(), Ct);
        return volume;
    }
}
