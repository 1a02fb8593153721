using System.Runtime.CompilerServices;
using System.Text.Json;
using Docker.DotNet;
using Docker.DotNet.Models;
using EdgeAgent.Protocol.Contracts.Docker;
using EdgeAgent.Protocol.Docker;

// The Stream overload of GetContainerStatsAsync is marked obsolete in favour of an IProgress
// callback, but only the stream lets a slow consumer hold back the engine (backpressure).
#pragma warning disable CS0618

namespace EdgeAgent.Agent.Docker;

/// <summary>Samples a container's resource usage once.</summary>
internal sealed class ContainerStatsHandler(DockerClientProvider docker) : DockerCommandHandler<ContainerRef, ContainerStats>(docker)
{
    public override string Name => DockerCommandNames.ContainersStats;

    public override string Group => EdgeCommandGroups.Containers;

    public override bool IsReadOnly => true;

    protected override Task<ContainerStats> ExecuteAsync(IDockerClient client, ContainerRef request, CancellationToken cancellationToken) =>
        DockerStats.SampleAsync(client, DockerArguments.Required(request.Id), cancellationToken);
}

/// <summary>Streams a container's resource usage; the engine's stream is read only as fast as the caller consumes.</summary>
internal sealed class ContainerStatsStreamHandler(DockerClientProvider docker) : DockerStreamingCommandHandler<ContainerRef, ContainerStats>(docker)
{
    public override string Name => DockerCommandNames.ContainersStatsStream;

    public override string Group => EdgeCommandGroups.Containers;

    public override bool IsReadOnly => true;

    protected override async IAsyncEnumerable<ContainerStats> ExecuteAsync(IDockerClient client, ContainerRef request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var id = DockerArguments.Required(request.Id);
        await using var stream = await client.Containers.GetContainerStatsAsync(id, new ContainerStatsParameters { Stream = true }, cancellationToken);
        using var reader = new StreamReader(stream);
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length > 0)
            {
                yield return DockerStats.Parse(line);
            }
        }
    }
}

/// <summary>Reads the engine's stats JSON (only the fields the contract needs; no reflection).</summary>
internal static class DockerStats
{
    public static async Task<ContainerStats> SampleAsync(IDockerClient client, string id, CancellationToken cancellationToken)
    {
        await using var stream = await client.Containers.GetContainerStatsAsync(id, new ContainerStatsParameters { Stream = false }, cancellationToken);
        using var reader = new StreamReader(stream);
        return Parse(await reader.ReadToEndAsync(cancellationToken));
    }

    public static ContainerStats Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        var stats = new ContainerStats
        {
            Id = String(root, "id"),
            Name = DockerMapper.TrimName(String(root, "name")),
            ReadAt = root.TryGetProperty("read", out var read) && read.TryGetDateTimeOffset(out var at) ? at : default,
        };

        if (root.TryGetProperty("cpu_stats", out var cpu) && root.TryGetProperty("precpu_stats", out var precpu))
        {
            var total = Number(Child(cpu, "cpu_usage"), "total_usage");
            var previousTotal = Number(Child(precpu, "cpu_usage"), "total_usage");
            var system = Number(cpu, "system_cpu_usage");
            var previousSystem = Number(precpu, "system_cpu_usage");
            var online = (int)Number(cpu, "online_cpus");
            if (online == 0 && Child(cpu, "cpu_usage") is { ValueKind: JsonValueKind.Object } usage
                && usage.TryGetProperty("percpu_usage", out var perCpu) && perCpu.ValueKind == JsonValueKind.Array)
            {
                online = perCpu.GetArrayLength();
            }

            stats.OnlineCpus = online;
            var cpuDelta = total - previousTotal;
            var systemDelta = system - previousSystem;
            if (cpuDelta > 0 && systemDelta > 0)
            {
                stats.CpuPercent = (double)cpuDelta / systemDelta * Math.Max(online, 1) * 100.0;
            }
        }

        if (root.TryGetProperty("memory_stats", out var memory))
        {
            var used = Number(memory, "usage");
            var details = Child(memory, "stats");

            // As docker stats: cgroup v2 subtracts inactive_file, v1 total_inactive_file.
            var cache = Number(details, "inactive_file");
            if (cache == 0)
            {
                cache = Number(details, "total_inactive_file");
            }

            stats.MemoryUsedBytes = Math.Max(0, used - (cache < used ? cache : 0));
            stats.MemoryLimitBytes = Number(memory, "limit");
        }

        if (root.TryGetProperty("networks", out var networks) && networks.ValueKind == JsonValueKind.Object)
        {
            foreach (var network in networks.EnumerateObject())
            {
                stats.NetworkRxBytes += Number(network.Value, "rx_bytes");
                stats.NetworkTxBytes += Number(network.Value, "tx_bytes");
            }
        }

        if (Child(Child(root, "blkio_stats"), "io_service_bytes_recursive") is { ValueKind: JsonValueKind.Array } io)
        {
            foreach (var entry in io.EnumerateArray())
            {
                var op = String(entry, "op");
                if (op.Equals("read", StringComparison.OrdinalIgnoreCase))
                {
                    stats.BlockReadBytes += Number(entry, "value");
                }
                else if (op.Equals("write", StringComparison.OrdinalIgnoreCase))
                {
                    stats.BlockWriteBytes += Number(entry, "value");
                }
            }
        }

        stats.Pids = Number(Child(root, "pids_stats"), "current");
        return stats;
    }

    private static JsonElement Child(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var child) ? child : default;

    private static long Number(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number
            ? (value.TryGetInt64(out var number) ? number : (long)value.GetDouble())
            : 0;

    private static string String(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString() ?? ""
            : "";
}
