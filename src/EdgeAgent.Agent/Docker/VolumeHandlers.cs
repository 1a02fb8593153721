using Docker.DotNet;
using Docker.DotNet.Models;
using EdgeAgent.Protocol.Contracts.Docker;
using EdgeAgent.Protocol.Docker;

namespace EdgeAgent.Agent.Docker;

internal sealed class VolumeListHandler(DockerClientProvider docker) : DockerCommandHandler<VolumeListRequest, IReadOnlyList<VolumeSummary>>(docker)
{
    public override string Name => DockerCommandNames.VolumesList;

    public override string Group => EdgeCommandGroups.Volumes;

    public override bool IsReadOnly => true;

    protected override async Task<IReadOnlyList<VolumeSummary>> ExecuteAsync(IDockerClient client, VolumeListRequest request, CancellationToken cancellationToken)
    {
        var filters = DockerMapper.Filters(request.Labels, ("dangling", request.Dangling is { } dangling ? (dangling ? "true" : "false") : null));
        var volumes = await client.Volumes.ListAsync(new VolumesListParameters { Filters = filters }, cancellationToken);
        return volumes.Volumes?.Select(DockerMapper.ToSummary).OrderBy(v => v.Name, StringComparer.Ordinal).ToArray() ?? [];
    }
}

internal sealed class VolumeInspectHandler(DockerClientProvider docker) : DockerCommandHandler<VolumeRef, VolumeSummary>(docker)
{
    public override string Name => DockerCommandNames.VolumesInspect;

    public override string Group => EdgeCommandGroups.Volumes;

    public override bool IsReadOnly => true;

    protected override async Task<VolumeSummary> ExecuteAsync(IDockerClient client, VolumeRef request, CancellationToken cancellationToken) =>
        DockerMapper.ToSummary(await client.Volumes.InspectAsync(DockerArguments.Required(request.Name), cancellationToken));
}

internal sealed class VolumeCreateHandler(DockerClientProvider docker) : DockerCommandHandler<VolumeCreateRequest, VolumeSummary>(docker)
{
    public override string Name => DockerCommandNames.VolumesCreate;

    public override string Group => EdgeCommandGroups.Volumes;

    protected override async Task<VolumeSummary> ExecuteAsync(IDockerClient client, VolumeCreateRequest request, CancellationToken cancellationToken)
    {
        var created = await client.Volumes.CreateAsync(new VolumesCreateParameters
        {
            Name = request.Name ?? "",
            Driver = request.Driver ?? "local",
            Labels = request.Labels?.ToDictionary(l => l.Key, l => l.Value)!,
            DriverOpts = request.DriverOptions?.ToDictionary(o => o.Key, o => o.Value)!,
        }, cancellationToken);
        return DockerMapper.ToSummary(created);
    }
}

internal sealed class VolumeRemoveHandler(DockerClientProvider docker) : DockerCommandHandler<VolumeRemoveRequest, DockerEmpty>(docker)
{
    public override string Name => DockerCommandNames.VolumesRemove;

    public override string Group => EdgeCommandGroups.Volumes;

    protected override async Task<DockerEmpty> ExecuteAsync(IDockerClient client, VolumeRemoveRequest request, CancellationToken cancellationToken)
    {
        await client.Volumes.RemoveAsync(DockerArguments.Required(request.Name), request.Force, cancellationToken);
        return DockerEmpty.Instance;
    }
}

internal sealed class VolumePruneHandler(DockerClientProvider docker) : DockerCommandHandler<VolumePruneRequest, PruneResult>(docker)
{
    public override string Name => DockerCommandNames.VolumesPrune;

    public override string Group => EdgeCommandGroups.Volumes;

    protected override async Task<PruneResult> ExecuteAsync(IDockerClient client, VolumePruneRequest request, CancellationToken cancellationToken)
    {
        var pruned = await client.Volumes.PruneAsync(new VolumesPruneParameters { Filters = DockerMapper.Filters(request.Labels) }, cancellationToken);
        return new PruneResult { Deleted = pruned.VolumesDeleted?.ToArray() ?? [], SpaceReclaimed = (long)pruned.SpaceReclaimed };
    }
}

internal sealed class VolumeBrowseHandler(DockerClientProvider docker) : DockerCommandHandler<VolumeBrowseRequest, VolumeDirectory>(docker)
{
    private readonly VolumeBrowser _browser = new(docker);

    public override string Name => DockerCommandNames.VolumesBrowse;

    public override string Group => EdgeCommandGroups.Volumes;

    public override bool IsReadOnly => true;

    protected override Task<VolumeDirectory> ExecuteAsync(IDockerClient client, VolumeBrowseRequest request, CancellationToken cancellationToken) =>
        _browser.ListAsync(client, request, cancellationToken);
}

internal sealed class VolumeReadFileHandler(DockerClientProvider docker) : DockerCommandHandler<VolumeReadFileRequest, VolumeFile>(docker)
{
    private readonly VolumeBrowser _browser = new(docker);

    public override string Name => DockerCommandNames.VolumesReadFile;

    public override string Group => EdgeCommandGroups.Volumes;

    public override bool IsReadOnly => true;

    protected override Task<VolumeFile> ExecuteAsync(IDockerClient client, VolumeReadFileRequest request, CancellationToken cancellationToken) =>
        _browser.ReadAsync(client, request, cancellationToken);
}
