namespace EdgeAgent.Agent.Tests.Docker;

[Trait("Category", "Docker")]
public sealed class StatsTests : DockerTestBase
{
    [Fact]
    public async Task One_shot_stats_report_memory_processes_and_time()
    {
        var id = await CreateSleeperAsync();

        var stats = await Docker.Containers.GetStatsAsync(id, cancellationToken: Ct);

        stats.Id.Should().Be(id);
        stats.Name.Should().NotBeEmpty();
        stats.MemoryUsedBytes.Should().BePositive();
        stats.MemoryLimitBytes.Should().BeGreaterThan(stats.MemoryUsedBytes);
        stats.Pids.Should().BePositive();
        stats.OnlineCpus.Should().BePositive();
        stats.CpuPercent.Should().BeGreaterThanOrEqualTo(0);
        stats.ReadAt.Should().BeCloseTo(DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5));
    }

    [Fact]
    public async Task Streaming_stats_keep_coming_with_cpu_usage_of_a_busy_container()
    {
        var id = await CreateContainerAsync(["sh", "-c", "while true; do :; done"]);

        var samples = new List<EdgeAgent.Protocol.Contracts.Docker.ContainerStats>();
        await foreach (var sample in Docker.Containers.StreamStatsAsync(id, cancellationToken: Ct))
        {
            samples.Add(sample);
            if (samples.Count == 3)
            {
                break;
            }
        }

        samples.Select(s => s.ReadAt).Should().BeInAscendingOrder().And.OnlyHaveUniqueItems();
        samples[^1].CpuPercent.Should().BePositive("the container spins");
    }
}
