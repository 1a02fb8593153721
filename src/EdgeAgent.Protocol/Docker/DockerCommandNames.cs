namespace EdgeAgent.Protocol.Docker;

/// <summary>The wire names of the Docker commands. Stable: they travel between versions.</summary>
internal static class DockerCommandNames
{
    public const string SystemPing = "docker.system.ping";
    public const string SystemVersion = "docker.system.version";
    public const string SystemInfo = "docker.system.info";
    public const string SystemDiskUsage = "docker.system.df";

    public const string ContainersList = "docker.containers.list";
    public const string ContainersInspect = "docker.containers.inspect";
    public const string ContainersStart = "docker.containers.start";
    public const string ContainersStop = "docker.containers.stop";
    public const string ContainersRestart = "docker.containers.restart";
    public const string ContainersKill = "docker.containers.kill";
    public const string ContainersPause = "docker.containers.pause";
    public const string ContainersUnpause = "docker.containers.unpause";
    public const string ContainersRemove = "docker.containers.remove";
    public const string ContainersRename = "docker.containers.rename";
    public const string ContainersLogs = "docker.containers.logs";
    public const string ContainersLogsFollow = "docker.containers.logs.follow";
    public const string ContainersStats = "docker.containers.stats";
    public const string ContainersStatsStream = "docker.containers.stats.stream";

    public const string ExecRun = "docker.exec.run";
    public const string ExecCreate = "docker.exec.create";
    public const string ExecAttach = "docker.exec.attach";
    public const string ExecResize = "docker.exec.resize";
    public const string ExecInspect = "docker.exec.inspect";

    public const string ImagesList = "docker.images.list";
    public const string ImagesInspect = "docker.images.inspect";
    public const string ImagesPull = "docker.images.pull";
    public const string ImagesTag = "docker.images.tag";
    public const string ImagesRemove = "docker.images.remove";
    public const string ImagesPrune = "docker.images.prune";

    public const string VolumesList = "docker.volumes.list";
    public const string VolumesInspect = "docker.volumes.inspect";
    public const string VolumesCreate = "docker.volumes.create";
    public const string VolumesRemove = "docker.volumes.remove";
    public const string VolumesPrune = "docker.volumes.prune";
    public const string VolumesBrowse = "docker.volumes.browse";
    public const string VolumesReadFile = "docker.volumes.read";

    public const string NetworksList = "docker.networks.list";
    public const string NetworksInspect = "docker.networks.inspect";
    public const string NetworksCreate = "docker.networks.create";
    public const string NetworksRemove = "docker.networks.remove";
    public const string NetworksConnect = "docker.networks.connect";
    public const string NetworksDisconnect = "docker.networks.disconnect";
}
