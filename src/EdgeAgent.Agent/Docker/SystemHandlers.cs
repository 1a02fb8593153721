using Docker.DotNet;
using Docker.DotNet.Models;
using EdgeAgent.Protocol.Contracts.Docker;
using EdgeAgent.Protocol.Docker;

namespace EdgeAgent.Agent.Docker;

internal sealed class SystemPingHandler(DockerClientProvider docker) : DockerCommandHandler<DockerEmpty, DockerEmpty>(docker)
{
    public override string Name => DockerCommandNames.SystemPing;

    public override string Group => EdgeCommandGroups.System;

    public override bool IsReadOnly => true;

    protected override async Task<DockerEmpty> ExecuteAsync(IDockerClient client, DockerEmpty request, CancellationToken cancellationToken)
    {
        await client.System.PingAsync(cancellationToken);
        return DockerEmpty.Instance;
    }
}

internal sealed class SystemVersionHandler(DockerClientProvider docker) : DockerCommandHandler<DockerEmpty, EngineVersion>(docker)
{
    public override string Name => DockerCommandNames.SystemVersion;

    public override string Group => EdgeCommandGroups.System;

    public override bool IsReadOnly => true;

    protected override async Task<EngineVersion> ExecuteAsync(IDockerClient client, DockerEmpty request, CancellationToken cancellationToken)
    {
        var v = await client.System.GetVersionAsync(cancellationToken);
        return new EngineVersion
        {
            Version = v.Version ?? "",
            ApiVersion = v.APIVersion ?? "",
            MinApiVersion = v.MinAPIVersion ?? "",
            Os = v.Os ?? "",
            Architecture = v.Arch ?? "",
            KernelVersion = v.KernelVersion ?? "",
            GitCommit = v.GitCommit ?? "",
            GoVersion = v.GoVersion ?? "",
        };
    }
}

internal sealed class SystemInfoHandler(DockerClientProvider docker) : DockerCommandHandler<DockerEmpty, EngineInfo>(docker)
{
    public override string Name => DockerCommandNames.SystemInfo;

    public override string Group => EdgeCommandGroups.System;

    public override bool IsReadOnly => true;

    protected override async Task<EngineInfo> ExecuteAsync(IDockerClient client, DockerEmpty request, CancellationToken cancellationToken) =>
        ToInfo(await client.System.GetSystemInfoAsync(cancellationToken));

    internal static EngineInfo ToInfo(SystemInfoResponse i) => new()
    {
        Id = i.ID ?? "",
        Hostname = i.Name ?? "",
        OperatingSystem = i.OperatingSystem ?? "",
        OsType = i.OSType ?? "",
        KernelVersion = i.KernelVersion ?? "",
        Architecture = i.Architecture ?? "",
        Cpus = i.NCPU,
        MemoryBytes = i.MemTotal,
        StorageDriver = i.Driver ?? "",
        DockerRootDir = i.DockerRootDir ?? "",
        ServerVersion = i.ServerVersion ?? "",
        Containers = i.Containers,
        ContainersRunning = i.ContainersRunning,
        ContainersPaused = i.ContainersPaused,
        ContainersStopped = i.ContainersStopped,
        Images = i.Images,
        CgroupVersion = i.CgroupVersion ?? "",
        Warnings = i.Warnings?.ToArray() ?? [],
    };
}

internal sealed class SystemDiskUsageHandler(DockerClientProvider docker) : DockerCommandHandler<DockerEmpty, DiskUsage>(docker)
{
    public override string Name => DockerCommandNames.SystemDiskUsage;

    public override string Group => EdgeCommandGroups.System;

    public override bool IsReadOnly => true;

    protected override async Task<DiskUsage> ExecuteAsync(IDockerClient client, DockerEmpty request, CancellationToken cancellationToken)
    {
        var df = await client.System.GetDataUsageInfoAsync(new SytemDataUsageInfoParameters(), cancellationToken);
        if (df.ImageUsage is { TotalCount: { } } && df.ContainerUsage is not null && df.VolumeUsage is not null)
        {
            return new DiskUsage
            {
                ImageCount = df.ImageUsage.TotalCount ?? 0,
                ImagesBytes = df.ImageUsage.TotalSize ?? 0,
                ContainerCount = df.ContainerUsage.TotalCount ?? 0,
                ContainersBytes = df.ContainerUsage.TotalSize ?? 0,
                VolumeCount = df.VolumeUsage.TotalCount ?? 0,
                VolumesBytes = df.VolumeUsage.TotalSize,
                BuildCacheBytes = df.BuildCacheUsage?.TotalSize,
            };
        }

        // Engines before API 1.52 answer /system/df in a shape the client does not read: count from the lists.
        var images = await client.Images.ListImagesAsync(new ImagesListParameters { All = false }, cancellationToken);
        var containers = await client.Containers.ListContainersAsync(new ContainersListParameters { All = true, Size = true }, cancellationToken);
        var volumes = await client.Volumes.ListAsync(cancellationToken);
        return new DiskUsage
        {
            ImageCount = images.Count,
            ImagesBytes = images.Sum(i => i.Size),
            ContainerCount = containers.Count,
            ContainersBytes = containers.Sum(c => c.SizeRw ?? 0),
            VolumeCount = volumes.Volumes?.Count ?? 0,
            VolumesBytes = null,
            BuildCacheBytes = null,
        };
    }
}
