using EdgeAgent.Agent.Stacks;

namespace EdgeAgent.Agent.Tests.Stacks;

public sealed class StackStateStoreTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "edgeagent-store-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Fact]
    public void SavesLoadsListsAndDeletes()
    {
        var store = new StackStateStore(_directory);
        store.Load("shop").Should().BeNull();
        store.ListProjects().Should().BeEmpty();

        var record = new StackRecord { ProjectName = "shop", DesiredVersion = "2", AppliedVersion = "1", LastError = "boom", UpdatedAt = DateTimeOffset.UnixEpoch };
        record.Services["web"] = 1;
        record.ServiceErrors["web"] = "engine said no";
        store.Save(record, "services: {}\n");
        store.Save(new StackRecord { ProjectName = "blog" });

        // A new store over the same directory (an agent restart) sees the same state.
        var reopened = new StackStateStore(_directory);
        reopened.ListProjects().Should().Equal("blog", "shop");
        reopened.Load("shop").Should().BeEquivalentTo(record);
        File.ReadAllText(Path.Combine(_directory, "shop", StackStateStore.ComposeFileName)).Should().Be("services: {}\n");
        Directory.EnumerateFiles(_directory, "*.tmp", SearchOption.AllDirectories).Should().BeEmpty("writes go through a temporary file that is renamed");

        reopened.Delete("shop");
        reopened.ListProjects().Should().Equal("blog");
    }

    [Fact]
    public void ADamagedStateFileReadsAsUnknown()
    {
        var store = new StackStateStore(_directory);
        store.Save(new StackRecord { ProjectName = "shop", AppliedVersion = "1" });
        File.WriteAllText(Path.Combine(_directory, "shop", StackStateStore.StateFileName), "{ not json");

        store.Load("shop").Should().BeNull();
    }

    [Theory]
    [InlineData("busybox", "busybox", "latest")]
    [InlineData("busybox:1.36", "busybox", "1.36")]
    [InlineData("registry:5000/team/app", "registry:5000/team/app", "latest")]
    [InlineData("registry:5000/team/app:v2", "registry:5000/team/app", "v2")]
    [InlineData("app@sha256:abcd", "app", "sha256:abcd")]
    public void ImageReferencesSplitIntoRepositoryAndTag(string image, string repository, string tag)
    {
        StackManager.SplitImage(image).Should().Be((repository, tag));
    }
}
