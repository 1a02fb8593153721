using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Docker.DotNet;
using Docker.DotNet.Models;
using EdgeAgent.Protocol;
using EdgeAgent.Protocol.Contracts.Stacks;
using Microsoft.Extensions.Logging;

namespace EdgeAgent.Agent.Stacks;

/// <summary>
/// Deploys, inspects and removes compose stacks on the local engine, without a compose CLI.
/// A deployment is a desired state: it is validated completely before anything changes, then
/// reconciled — only services whose configuration hash changed are recreated, in dependency
/// order, and services no longer in the file are removed. Deployments of one stack are
/// serialised; different stacks proceed in parallel.
/// </summary>
internal sealed class StackManager
{
    private static readonly IReadOnlyDictionary<string, string> NoVariables = new Dictionary<string, string>();
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);

    private readonly IDockerClient _docker;
    private readonly StackStateStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly TimeSpan _dependencyTimeout;
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _locks = new(StringComparer.Ordinal);

    public StackManager(IDockerClient docker, StackStateStore store, TimeProvider time, ILogger logger, TimeSpan dependencyTimeout)
    {
        _docker = docker;
        _store = store;
        _time = time;
        _logger = logger;
        _dependencyTimeout = dependencyTimeout;
    }

    public StackStateStore Store => _store;

    // ---- deploy ------------------------------------------------------------------------------------

    public async Task<StackStatus> DeployAsync(StackDeployRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ComposeProject project;
        try
        {
            project = ComposeParser.Parse(request.ComposeYaml ?? "", request.Variables ?? NoVariables);
        }
        catch (ComposeValidationException ex)
        {
            StacksLog.Rejected(_logger, request.ProjectName, ex.Message);
            throw new EdgeCommandException(EdgeErrorCodes.InvalidArgument, ex.Message);
        }

        var name = string.IsNullOrEmpty(request.ProjectName) ? project.Name ?? "" : request.ProjectName;
        ValidateProjectName(name);

        using var held = await LockAsync(name, cancellationToken);
        return await Guard(async () =>
        {
            var record = _store.Load(name);
            var names = StackNames.For(name, project);
            IReadOnlyDictionary<string, string> imageIds;
            try
            {
                await CheckExternalResourcesAsync(project, names, cancellationToken);
                imageIds = await EnsureImagesAsync(project, request.PullPolicy, cancellationToken);
            }
            catch (EdgeCommandException ex) when (record is not null)
            {
                // Nothing was changed; remember why the deployment was refused.
                record.LastError = ex.Message;
                _store.Save(record);
                throw;
            }

            record ??= new StackRecord { ProjectName = name };
            record.DesiredVersion = request.Version ?? "";
            record.Services = new SortedDictionary<string, int>(project.Services.ToDictionary(s => s.Name, _ => 1), StringComparer.Ordinal);
            record.ServiceErrors.Clear();
            record.LastError = "";
            _store.Save(record, request.ComposeYaml);

            StacksLog.Deploying(_logger, name, record.DesiredVersion);
            var (stackError, serviceErrors) = await ApplyAsync(project, names, imageIds, cancellationToken);
            record.ServiceErrors = serviceErrors;
            record.LastError = stackError
                ?? (serviceErrors.Count == 0 ? "" : string.Join("; ", serviceErrors.Select(e => $"{e.Key}: {e.Value}")));
            if (record.LastError.Length == 0)
            {
                record.AppliedVersion = record.DesiredVersion;
                StacksLog.Deployed(_logger, name, record.DesiredVersion);
            }
            else
            {
                StacksLog.DeployFailed(_logger, name, record.DesiredVersion, record.LastError);
            }

            record.UpdatedAt = _time.GetUtcNow();
            _store.Save(record);
            return await StatusAsync(name, record, cancellationToken);
        });
    }

    /// <summary>External networks and volumes must exist: checked before anything changes.</summary>
    private async Task CheckExternalResourcesAsync(ComposeProject project, StackNames names, CancellationToken cancellationToken)
    {
        var used = project.Services.SelectMany(s => s.EffectiveNetworks).ToHashSet(StringComparer.Ordinal);
        foreach (var (key, network) in project.Networks)
        {
            if (network.External && used.Contains(key) && !await NetworkExistsAsync(names.Networks[key], cancellationToken))
            {
                throw new EdgeCommandException(EdgeErrorCodes.NotFound, $"Network '{names.Networks[key]}' is declared as external but does not exist on the engine.");
            }
        }

        foreach (var (key, volume) in project.Volumes)
        {
            if (volume.External && !await VolumeExistsAsync(names.Volumes[key], cancellationToken))
            {
                throw new EdgeCommandException(EdgeErrorCodes.NotFound, $"Volume '{names.Volumes[key]}' is declared as external but does not exist on the engine.");
            }
        }
    }

    /// <summary>Applies the pull policy and returns each image's id. Fails before any change when an image is missing and may not be pulled.</summary>
    private async Task<IReadOnlyDictionary<string, string>> EnsureImagesAsync(ComposeProject project, StackPullPolicy policy, CancellationToken cancellationToken)
    {
        var ids = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var service in project.Services)
        {
            var image = service.Image!;
            if (ids.ContainsKey(image))
            {
                continue;
            }

            var id = policy == StackPullPolicy.Always ? null : await ImageIdAsync(image, cancellationToken);
            if (id is null)
            {
                if (policy == StackPullPolicy.Never)
                {
                    throw new EdgeCommandException(
                        EdgeErrorCodes.NotFound,
                        $"Service '{service.Name}': image '{image}' is not on the engine and the pull policy is 'never'. Nothing was changed.");
                }

                await PullAsync(service.Name, image, cancellationToken);
                id = await ImageIdAsync(image, cancellationToken)
                    ?? throw new EdgeCommandException(EdgeErrorCodes.NotFound, $"Service '{service.Name}': image '{image}' is still missing after pulling it.");
            }

            ids[image] = id;
        }

        return ids;
    }

    /// <summary>The registries images may be pulled from (the agent's policy); empty allows all.</summary>
    internal IReadOnlyCollection<string> AllowedRegistries { get; init; } = [];

    private async Task PullAsync(string service, string image, CancellationToken cancellationToken)
    {
        Policy.RegistryPolicy.EnsureAllowed(image, AllowedRegistries);
        var (repository, tag) = SplitImage(image);
        StacksLog.Pulling(_logger, image);
        string? failure = null;
        try
        {
            await _docker.Images.CreateImageAsync(
                new ImagesCreateParameters { FromImage = repository, Tag = tag },
                null!,
                new Progress<JSONMessage>(m => failure = m.Error?.Message ?? failure),
                cancellationToken);
        }
        catch (DockerApiException ex)
        {
            failure = EngineMessage(ex);
        }

        if (!string.IsNullOrEmpty(failure))
        {
            throw new EdgeCommandException(EdgeErrorCodes.Unavailable, $"Service '{service}': pulling image '{image}' failed: {failure}. Nothing was changed.");
        }
    }

    /// <summary>Splits a reference into what the pull API wants: repository and tag (or digest); no tag means <c>latest</c>.</summary>
    internal static (string Repository, string Tag) SplitImage(string image)
    {
        var at = image.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
        {
            return (image[..at], image[(at + 1)..]);
        }

        var slash = image.LastIndexOf('/');
        var colon = image.LastIndexOf(':');
        return colon > slash ? (image[..colon], image[(colon + 1)..]) : (image, "latest");
    }

    /// <summary>Creates what is missing and recreates what changed. Returns a stack-level error (nothing touched) or per-service errors.</summary>
    private async Task<(string? StackError, SortedDictionary<string, string> ServiceErrors)> ApplyAsync(
        ComposeProject project, StackNames names, IReadOnlyDictionary<string, string> imageIds, CancellationToken cancellationToken)
    {
        var errors = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var workingDir = _store.ProjectDirectory(names.ProjectName);

        // Networks and volumes first: a failure here leaves every container as it was.
        try
        {
            var used = project.Services.SelectMany(s => s.EffectiveNetworks).ToHashSet(StringComparer.Ordinal);
            foreach (var key in used.Order(StringComparer.Ordinal))
            {
                var network = project.Networks.GetValueOrDefault(key);
                if (network is { External: true })
                {
                    continue;
                }

                await EnsureNetworkAsync(names, key, network, cancellationToken);
            }

            foreach (var (key, volume) in project.Volumes)
            {
                if (!volume.External)
                {
                    await EnsureVolumeAsync(names, key, volume, cancellationToken);
                }
            }
        }
        catch (DockerApiException ex)
        {
            return ($"Creating the stack's networks and volumes failed: {EngineMessage(ex)}", errors);
        }

        var containers = await ListContainersAsync(names.ProjectName, cancellationToken);

        // Services no longer in the file go first, freeing their names and ports.
        foreach (var orphan in containers.Where(c => project.FindService(ServiceOf(c)) is null))
        {
            try
            {
                await StopAndRemoveAsync(orphan.ID, removeVolumes: false, cancellationToken);
                StacksLog.Removed(_logger, names.ProjectName, ServiceOf(orphan), Name(orphan));
            }
            catch (DockerApiException ex)
            {
                errors[ServiceOf(orphan)] = $"removing container '{Name(orphan)}' failed: {EngineMessage(ex)}";
            }
        }

        var failed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var service in ComposeParser.StartOrder(project))
        {
            var current = containers
                .Where(c => ServiceOf(c) == service.Name)
                .OrderBy(c => NumberOf(c))
                .ThenBy(c => c.Created)
                .ToList();
            var hash = StackConfigHash.Compute(service, names.ProjectName, imageIds[service.Image!], names.Networks, names.Volumes);
            var upToDate = current.Count == 1 && Label(current[0], ComposeLabels.ConfigHash) == hash;
            try
            {
                if (service.DependsOn.Keys.FirstOrDefault(failed.Contains) is { } failedDependency)
                {
                    if (!upToDate)
                    {
                        throw new StackServiceException($"not updated: its dependency '{failedDependency}' failed");
                    }

                    continue;
                }

                if (upToDate)
                {
                    if (!string.Equals(current[0].State, "running", StringComparison.Ordinal))
                    {
                        await WaitForDependenciesAsync(service, names.ProjectName, cancellationToken);
                        await _docker.Containers.StartContainerAsync(current[0].ID, new ContainerStartParameters(), cancellationToken);
                    }

                    continue;
                }

                await WaitForDependenciesAsync(service, names.ProjectName, cancellationToken);
                await ReplaceAsync(service, names, hash, workingDir, current, cancellationToken);
            }
            catch (DockerApiException ex)
            {
                failed.Add(service.Name);
                errors[service.Name] = EngineMessage(ex);
            }
            catch (StackServiceException ex)
            {
                failed.Add(service.Name);
                errors[service.Name] = ex.Message;
            }
        }

        await RemoveUnusedNetworksAsync(project, names, cancellationToken);
        return (null, errors);
    }

    /// <summary>
    /// Replaces a service's containers with one new container. The old one is renamed out of the
    /// way, not removed, until the new one runs: if creating or starting the new one fails, the
    /// old one gets its name back and runs again.
    /// </summary>
    private async Task ReplaceAsync(ComposeService service, StackNames names, string hash, string workingDir, List<ContainerListResponse> current, CancellationToken cancellationToken)
    {
        var old = current.FirstOrDefault();
        var number = old is null ? 1 : Math.Max(NumberOf(old), 1);
        var spec = StackContainerSpec.Build(service, names, number, hash, workingDir);
        var oldName = old is null ? null : Name(old);
        var oldRunning = old is not null && string.Equals(old.State, "running", StringComparison.Ordinal);
        if (old is not null && oldName == spec.Name)
        {
            await _docker.Containers.RenameContainerAsync(old.ID, new ContainerRenameParameters { NewName = $"{old.ID[..12]}_{oldName}" }, cancellationToken);
        }

        string? createdId = null;
        try
        {
            createdId = (await _docker.Containers.CreateContainerAsync(spec, cancellationToken)).ID;
            foreach (var network in service.EffectiveNetworks.Skip(1))
            {
                await _docker.Networks.ConnectNetworkAsync(
                    names.Networks[network],
                    new NetworkConnectParameters { Container = createdId, EndpointConfig = StackContainerSpec.Endpoint(service, network) },
                    cancellationToken);
            }

            if (old is not null && oldRunning)
            {
                await _docker.Containers.StopContainerAsync(old.ID, new ContainerStopParameters(), cancellationToken);
            }

            await _docker.Containers.StartContainerAsync(createdId, new ContainerStartParameters(), cancellationToken);
        }
        catch
        {
            // Whatever failed (the engine's refusal, a cancellation, a lost connection to the
            // engine): put the previous container back as it was, as far as the engine answers.
            if (createdId is not null)
            {
                await TryRollbackAsync(() => _docker.Containers.RemoveContainerAsync(createdId, new ContainerRemoveParameters { Force = true }, CancellationToken.None));
            }

            if (old is not null)
            {
                if (oldName == spec.Name)
                {
                    await TryRollbackAsync(() => _docker.Containers.RenameContainerAsync(old.ID, new ContainerRenameParameters { NewName = oldName }, CancellationToken.None));
                }

                if (oldRunning)
                {
                    await TryRollbackAsync(() => _docker.Containers.StartContainerAsync(old.ID, new ContainerStartParameters(), CancellationToken.None));
                }
            }

            throw;
        }

        StacksLog.Created(_logger, names.ProjectName, service.Name, spec.Name ?? "");
        foreach (var previous in current)
        {
            await StopAndRemoveAsync(previous.ID, removeVolumes: false, cancellationToken);
        }
    }

    /// <summary>Waits until the service's dependencies meet their condition (healthy, completed), up to the dependency timeout.</summary>
    private async Task WaitForDependenciesAsync(ComposeService service, string projectName, CancellationToken cancellationToken)
    {
        foreach (var (dependency, info) in service.DependsOn)
        {
            if (info.Condition == "service_started")
            {
                continue;
            }

            var deadline = _time.GetUtcNow() + _dependencyTimeout;
            while (true)
            {
                var containers = (await ListContainersAsync(projectName, cancellationToken)).Where(c => ServiceOf(c) == dependency).ToList();
                var states = new List<State>();
                foreach (var container in containers)
                {
                    states.Add((await _docker.Containers.InspectContainerAsync(container.ID, cancellationToken)).State ?? new State());
                }

                if (info.Condition == "service_healthy")
                {
                    if (states.Any(s => s.Health is null))
                    {
                        throw new StackServiceException($"dependency '{dependency}' has no health check, so it cannot become healthy");
                    }

                    if (states.Any(s => s.Health?.Status == "unhealthy"))
                    {
                        throw new StackServiceException($"dependency '{dependency}' is unhealthy");
                    }

                    if (states.Count > 0 && states.All(s => s.Health?.Status == "healthy"))
                    {
                        break;
                    }
                }
                else
                {
                    if (states.Any(s => !s.Running && s.Status == "exited" && s.ExitCode != 0))
                    {
                        throw new StackServiceException($"dependency '{dependency}' exited with an error");
                    }

                    if (states.Count > 0 && states.All(s => s.Status == "exited" && s.ExitCode == 0))
                    {
                        break;
                    }
                }

                if (_time.GetUtcNow() >= deadline)
                {
                    throw new StackServiceException($"timed out waiting for dependency '{dependency}' ({info.Condition})");
                }

                await Task.Delay(PollInterval, _time, cancellationToken);
            }
        }
    }

    private async Task EnsureNetworkAsync(StackNames names, string key, ComposeNetwork? network, CancellationToken cancellationToken)
    {
        var name = names.Networks[key];
        if (await NetworkExistsAsync(name, cancellationToken))
        {
            return;
        }

        var labels = new Dictionary<string, string>(network?.Labels ?? [], StringComparer.Ordinal)
        {
            [ComposeLabels.Project] = names.ProjectName,
            [ComposeLabels.Network] = key,
            [ComposeLabels.Version] = ComposeLabels.ComposeVersion,
        };
        await _docker.Networks.CreateNetworkAsync(
            new NetworksCreateParameters { Name = name, Driver = network?.Driver ?? "bridge", Labels = labels, Attachable = true },
            cancellationToken);
    }

    private async Task EnsureVolumeAsync(StackNames names, string key, ComposeVolume volume, CancellationToken cancellationToken)
    {
        var name = names.Volumes[key];
        if (await VolumeExistsAsync(name, cancellationToken))
        {
            return;
        }

        var labels = new Dictionary<string, string>(volume.Labels, StringComparer.Ordinal)
        {
            [ComposeLabels.Project] = names.ProjectName,
            [ComposeLabels.Volume] = key,
            [ComposeLabels.Version] = ComposeLabels.ComposeVersion,
        };
        await _docker.Volumes.CreateAsync(new VolumesCreateParameters { Name = name, Driver = volume.Driver ?? "local", Labels = labels }, cancellationToken);
    }

    /// <summary>Removes the project's networks that the file no longer uses (best effort: one still in use stays).</summary>
    private async Task RemoveUnusedNetworksAsync(ComposeProject project, StackNames names, CancellationToken cancellationToken)
    {
        var wanted = project.Services.SelectMany(s => s.EffectiveNetworks).Select(n => names.Networks[n]).ToHashSet(StringComparer.Ordinal);
        foreach (var network in await ListNetworksAsync(names.ProjectName, cancellationToken))
        {
            if (!wanted.Contains(network.Name))
            {
                await TryAsync(() => _docker.Networks.DeleteNetworkAsync(network.ID, cancellationToken));
            }
        }
    }

    // ---- status and list -----------------------------------------------------------------------------

    public async Task<StackStatus> GetStatusAsync(string projectName, CancellationToken cancellationToken)
    {
        ValidateProjectName(projectName);
        return await Guard(async () =>
        {
            var record = _store.Load(projectName);
            var containers = await ListContainersAsync(projectName, cancellationToken);
            if (record is null && containers.Count == 0)
            {
                throw new EdgeCommandException(EdgeErrorCodes.NotFound, $"Stack '{projectName}' does not exist.");
            }

            return BuildStatus(projectName, record, containers);
        });
    }

    public async Task<IReadOnlyList<StackStatus>> ListAsync(CancellationToken cancellationToken)
    {
        return await Guard(async () =>
        {
            var all = await _docker.Containers.ListContainersAsync(
                new ContainersListParameters { All = true, Filters = LabelFilter(ComposeLabels.Project) },
                cancellationToken);
            var byProject = all
                .Where(c => !IsOneOff(c))
                .GroupBy(c => c.Labels[ComposeLabels.Project], StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => (IList<ContainerListResponse>)[.. g], StringComparer.Ordinal);
            var projects = new SortedSet<string>(byProject.Keys, StringComparer.Ordinal);
            projects.UnionWith(_store.ListProjects());
            return (IReadOnlyList<StackStatus>)[.. projects.Select(p => BuildStatus(p, _store.Load(p), byProject.GetValueOrDefault(p) ?? []))];
        });
    }

    private async Task<StackStatus> StatusAsync(string projectName, StackRecord record, CancellationToken cancellationToken) =>
        BuildStatus(projectName, record, await ListContainersAsync(projectName, cancellationToken));

    private static StackStatus BuildStatus(string projectName, StackRecord? record, IList<ContainerListResponse> containers)
    {
        var byService = containers.GroupBy(ServiceOf, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);

        // The agent's record says what should run; for a stack it did not deploy, what exists is what should run.
        var desired = record?.Services ?? new SortedDictionary<string, int>(byService.ToDictionary(s => s.Key, s => s.Value.Count), StringComparer.Ordinal);
        var names = new SortedSet<string>(desired.Keys, StringComparer.Ordinal);
        names.UnionWith(byService.Keys);
        var services = new List<StackServiceStatus>();
        foreach (var service in names)
        {
            var list = byService.GetValueOrDefault(service) ?? [];
            services.Add(new StackServiceStatus
            {
                Name = service,
                DesiredReplicas = desired.GetValueOrDefault(service),
                RunningReplicas = list.Count(c => string.Equals(c.State, "running", StringComparison.Ordinal)),
                Health = Health(list),
                Error = record?.ServiceErrors.GetValueOrDefault(service) ?? "",
                ContainerIds = [.. list.Select(c => c.ID)],
            });
        }

        var converged = record is not null
            && record.LastError.Length == 0
            && record.AppliedVersion == record.DesiredVersion
            && services.All(s => s.RunningReplicas == s.DesiredReplicas && s.ContainerIds.Count == s.DesiredReplicas && s.Health != "unhealthy");
        return new StackStatus
        {
            ProjectName = projectName,
            DesiredVersion = record?.DesiredVersion ?? "",
            AppliedVersion = record?.AppliedVersion ?? "",
            IsManaged = record is not null,
            IsConverged = converged,
            Services = services,
            LastError = record?.LastError ?? "",
            UpdatedAt = record?.UpdatedAt,
        };
    }

    /// <summary>The worst health of the containers, from the engine's status text ("Up 3 minutes (healthy)").</summary>
    private static string Health(List<ContainerListResponse> containers)
    {
        var health = "";
        foreach (var container in containers)
        {
            var status = container.Status ?? "";
            var value = status.Contains("(unhealthy)", StringComparison.Ordinal) ? "unhealthy"
                : status.Contains("(health: starting)", StringComparison.Ordinal) ? "starting"
                : status.Contains("(healthy)", StringComparison.Ordinal) ? "healthy"
                : "";
            if (Rank(value) > Rank(health))
            {
                health = value;
            }
        }

        return health;

        static int Rank(string value) => value switch { "unhealthy" => 3, "starting" => 2, "healthy" => 1, _ => 0 };
    }

    // ---- remove --------------------------------------------------------------------------------------

    public async Task<StackRemoveResult> RemoveAsync(StackRemoveRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var name = request.ProjectName ?? "";
        ValidateProjectName(name);
        using var held = await LockAsync(name, cancellationToken);
        return await Guard(async () =>
        {
            var removedContainers = new List<string>();
            var all = await _docker.Containers.ListContainersAsync(
                new ContainersListParameters { All = true, Filters = LabelFilter($"{ComposeLabels.Project}={name}") },
                cancellationToken);
            foreach (var container in all)
            {
                await StopAndRemoveAsync(container.ID, request.RemoveVolumes, cancellationToken);
                removedContainers.Add(Name(container));
            }

            var removedNetworks = new List<string>();
            foreach (var network in await ListNetworksAsync(name, cancellationToken))
            {
                await IgnoreNotFound(_docker.Networks.DeleteNetworkAsync(network.ID, cancellationToken));
                removedNetworks.Add(network.Name);
            }

            var removedVolumes = new List<string>();
            if (request.RemoveVolumes)
            {
                var volumes = await _docker.Volumes.ListAsync(new VolumesListParameters { Filters = LabelFilter($"{ComposeLabels.Project}={name}") }, cancellationToken);
                foreach (var volume in volumes.Volumes ?? [])
                {
                    await IgnoreNotFound(_docker.Volumes.RemoveAsync(volume.Name, false, cancellationToken));
                    removedVolumes.Add(volume.Name);
                }
            }

            _store.Delete(name);
            StacksLog.StackRemoved(_logger, name, removedContainers.Count, removedNetworks.Count, removedVolumes.Count);
            return new StackRemoveResult
            {
                ProjectName = name,
                Containers = [.. removedContainers.Order(StringComparer.Ordinal)],
                Networks = [.. removedNetworks.Order(StringComparer.Ordinal)],
                Volumes = [.. removedVolumes.Order(StringComparer.Ordinal)],
            };
        });
    }

    // ---- engine helpers ------------------------------------------------------------------------------

    private async Task<IList<ContainerListResponse>> ListContainersAsync(string projectName, CancellationToken cancellationToken)
    {
        var list = await _docker.Containers.ListContainersAsync(
            new ContainersListParameters { All = true, Filters = LabelFilter($"{ComposeLabels.Project}={projectName}", $"{ComposeLabels.OneOff}=False") },
            cancellationToken);
        return list;
    }

    private async Task<IList<NetworkResponse>> ListNetworksAsync(string projectName, CancellationToken cancellationToken) =>
        await _docker.Networks.ListNetworksAsync(new NetworksListParameters { Filters = LabelFilter($"{ComposeLabels.Project}={projectName}") }, cancellationToken);

    private async Task StopAndRemoveAsync(string id, bool removeVolumes, CancellationToken cancellationToken)
    {
        // Without a timeout the engine uses the container's own stop timeout (stop_grace_period).
        try
        {
            await _docker.Containers.StopContainerAsync(id, new ContainerStopParameters(), cancellationToken);
        }
        catch (DockerContainerNotFoundException)
        {
            return;
        }

        await IgnoreNotFound(_docker.Containers.RemoveContainerAsync(id, new ContainerRemoveParameters { Force = true, RemoveVolumes = removeVolumes }, cancellationToken));
    }

    private async Task<string?> ImageIdAsync(string image, CancellationToken cancellationToken)
    {
        try
        {
            return (await _docker.Images.InspectImageAsync(image, cancellationToken)).ID;
        }
        catch (DockerApiException ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    private async Task<bool> NetworkExistsAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            var network = await _docker.Networks.InspectNetworkAsync(name, cancellationToken);

            // Inspect matches id prefixes too; only an exact name counts.
            return network.Name == name;
        }
        catch (DockerApiException ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }
    }

    private async Task<bool> VolumeExistsAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            await _docker.Volumes.InspectAsync(name, cancellationToken);
            return true;
        }
        catch (DockerApiException ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }
    }

    private static Dictionary<string, IDictionary<string, bool>> LabelFilter(params string[] labels) =>
        new(StringComparer.Ordinal) { ["label"] = labels.ToDictionary(l => l, _ => true, StringComparer.Ordinal) };

    private static string? Label(ContainerListResponse container, string key) =>
        container.Labels is { } labels && labels.TryGetValue(key, out var value) ? value : null;

    private static string ServiceOf(ContainerListResponse container) => Label(container, ComposeLabels.Service) ?? "";

    private static bool IsOneOff(ContainerListResponse container) =>
        string.Equals(Label(container, ComposeLabels.OneOff), "True", StringComparison.Ordinal);

    private static int NumberOf(ContainerListResponse container) =>
        int.TryParse(Label(container, ComposeLabels.ContainerNumber), out var number) ? number : int.MaxValue;

    private static string Name(ContainerListResponse container) => container.Names?.FirstOrDefault()?.TrimStart('/') ?? container.ID;

    /// <summary>The engine's own message from an API error (its JSON body's <c>message</c>).</summary>
    internal static string EngineMessage(DockerApiException ex)
    {
        var body = ex.ResponseBody?.Trim() ?? "";
        if (body.StartsWith('{'))
        {
            try
            {
                using var document = JsonDocument.Parse(body);
                if (document.RootElement.TryGetProperty("message", out var message) && message.GetString() is { Length: > 0 } text)
                {
                    return text;
                }
            }
            catch (JsonException)
            {
            }
        }

        return body.Length > 0 ? body : ex.Message;
    }

    private static async Task IgnoreNotFound(Task task)
    {
        try
        {
            await task;
        }
        catch (DockerApiException ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
        }
    }

    /// <summary>One step of putting things back: the original failure is what the caller hears, so this step's own is dropped.</summary>
    private static async Task TryRollbackAsync(Func<Task> action)
    {
        try
        {
            await action();
        }
        catch (Exception ex) when (ex is DockerApiException or HttpRequestException or IOException or TimeoutException or OperationCanceledException)
        {
        }
    }

    private static async Task TryAsync(Func<Task> action)
    {
        try
        {
            await action();
        }
        catch (DockerApiException)
        {
        }
    }

    private static void ValidateProjectName(string name)
    {
        if (string.IsNullOrEmpty(name))
        {
            throw new EdgeCommandException(EdgeErrorCodes.InvalidArgument, "The stack needs a project name (in the request or as the compose file's top-level 'name').");
        }

        if (name.Length > 200 || !ComposeParser.IsValidProjectName(name))
        {
            throw new EdgeCommandException(EdgeErrorCodes.InvalidArgument, $"Invalid project name '{(name.Length > 200 ? name[..200] + "…" : name)}': use lowercase letters, digits, '-' and '_', starting with a letter or digit.");
        }
    }

    private async Task<IDisposable> LockAsync(string projectName, CancellationToken cancellationToken)
    {
        var gate = _locks.GetOrAdd(projectName, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken);
        return new Releaser(gate);
    }

    /// <summary>Maps engine failures that escape the per-service handling to typed command errors.</summary>
    private static async Task<T> Guard<T>(Func<Task<T>> action)
    {
        try
        {
            return await action();
        }
        catch (DockerApiException ex)
        {
            var code = ex.StatusCode switch
            {
                HttpStatusCode.NotFound => EdgeErrorCodes.NotFound,
                HttpStatusCode.Conflict => EdgeErrorCodes.Conflict,
                HttpStatusCode.BadRequest => EdgeErrorCodes.InvalidArgument,
                _ => EdgeErrorCodes.Internal,
            };
            throw new EdgeCommandException(code, $"The Docker engine refused: {EngineMessage(ex)}", ex);
        }
        catch (Exception ex) when (ex is HttpRequestException or SocketException or IOException or TimeoutException)
        {
            throw new EdgeCommandException(EdgeErrorCodes.Unavailable, $"The Docker engine is not reachable: {ex.Message}", ex);
        }
    }

    private sealed class Releaser(SemaphoreSlim gate) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                gate.Release();
            }
        }
    }
}

/// <summary>A service could not be deployed for a reason that is not an engine error.</summary>
internal sealed class StackServiceException(string message) : Exception(message);
