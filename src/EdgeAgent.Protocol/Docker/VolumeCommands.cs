using EdgeAgent.Protocol.Contracts.Docker;

namespace EdgeAgent.Protocol.Docker;

/// <summary>The volumes of the agent's engine.</summary>
/// <param name="invoker">Sends the commands to the agent.</param>
public sealed class VolumeCommands(IEdgeCommandInvoker invoker)
{
    /// <summary>Lists volumes.</summary>
    /// <param name="request">Filters; null lists all.</param>
    /// <param name="options">Timeout and idempotency key.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>The volumes.</returns>
    public Task<IReadOnlyList<VolumeSummary>> ListAsync(VolumeListRequest? request = null, EdgeCommandOptions? options = null, CancellationToken cancellationToken = default) =>
        invoker.InvokeAsync<VolumeListRequest, IReadOnlyList<VolumeSummary>>(DockerCommandNames.VolumesList, request ?? new(), options, cancellationToken);

    /// <summary>Inspects a volume.</summary>
    /// <param name="name">The volume name.</param>
    /// <param name="options">Timeout and idempotency key.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>The volume.</returns>
    /// <exception cref="EdgeCommandException">Code <c>not_found</c> when there is no such volume.</exception>
    public Task<VolumeSummary> InspectAsync(string name, EdgeCommandOptions? options = null, CancellationToken cancellationToken = default) =>
        invoker.InvokeAsync<VolumeRef, VolumeSummary>(DockerCommandNames.VolumesInspect, new() { Name = name }, options, cancellationToken);

    /// <summary>Creates a volume.</summary>
    /// <param name="request">The volume.</param>
    /// <param name="options">Timeout and idempotency key.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>The volume as created.</returns>
    public Task<VolumeSummary> CreateAsync(VolumeCreateRequest request, EdgeCommandOptions? options = null, CancellationToken cancellationToken = default) =>
        invoker.InvokeAsync<VolumeCreateRequest, VolumeSummary>(DockerCommandNames.VolumesCreate, request, options, cancellationToken);

    /// <summary>Removes a volume.</summary>
    /// <param name="name">The volume name.</param>
    /// <param name="force">Remove even when the driver reports an error.</param>
    /// <param name="options">Timeout and idempotency key.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>A task that completes when it is gone.</returns>
    /// <exception cref="EdgeCommandException">Code <c>conflict</c> when a container uses it.</exception>
    public Task RemoveAsync(string name, bool force = false, EdgeCommandOptions? options = null, CancellationToken cancellationToken = default) =>
        invoker.InvokeAsync<VolumeRemoveRequest, DockerEmpty>(DockerCommandNames.VolumesRemove, new() { Name = name, Force = force }, options, cancellationToken);

    /// <summary>Removes volumes no container uses.</summary>
    /// <param name="request">Filters; null prunes every unused volume the engine prunes by default.</param>
    /// <param name="options">Timeout and idempotency key.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>What was removed.</returns>
    public Task<PruneResult> PruneAsync(VolumePruneRequest? request = null, EdgeCommandOptions? options = null, CancellationToken cancellationToken = default) =>
        invoker.InvokeAsync<VolumePruneRequest, PruneResult>(DockerCommandNames.VolumesPrune, request ?? new(), options, cancellationToken);

    /// <summary>Lists a directory inside a volume, confined to the volume.</summary>
    /// <param name="name">The volume name.</param>
    /// <param name="path">The directory relative to the volume's root; <c>""</c> for the root.</param>
    /// <param name="options">Timeout and idempotency key.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>The entries.</returns>
    /// <exception cref="EdgeCommandException">
    /// Code <c>invalid_argument</c> for absolute paths or <c>..</c>; <c>denied</c> for a symbolic
    /// link that leads outside the volume; <c>not_found</c> when the path does not exist.
    /// </exception>
    public Task<VolumeDirectory> BrowseAsync(string name, string path = "", EdgeCommandOptions? options = null, CancellationToken cancellationToken = default) =>
        invoker.InvokeAsync<VolumeBrowseRequest, VolumeDirectory>(DockerCommandNames.VolumesBrowse, new() { Name = name, Path = path }, options, cancellationToken);

    /// <summary>Reads a file inside a volume, confined to the volume, up to a size cap.</summary>
    /// <param name="name">The volume name.</param>
    /// <param name="path">The file relative to the volume's root.</param>
    /// <param name="maxBytes">The most bytes returned.</param>
    /// <param name="options">Timeout and idempotency key.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>The file.</returns>
    /// <exception cref="EdgeCommandException">As <see cref="BrowseAsync"/>; <c>invalid_argument</c> when the path is a directory.</exception>
    public Task<VolumeFile> ReadFileAsync(string name, string path, int maxBytes = 1024 * 1024, EdgeCommandOptions? options = null, CancellationToken cancellationToken = default) =>
        invoker.InvokeAsync<VolumeReadFileRequest, VolumeFile>(DockerCommandNames.VolumesReadFile, new() { Name = name, Path = path, MaxBytes = maxBytes }, options, cancellationToken);
}
