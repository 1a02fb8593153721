using System.Globalization;
using Docker.DotNet.Models;

namespace EdgeAgent.Agent.Stacks;

/// <summary>The engine names of one deployment's networks and volumes, by their keys in the file.</summary>
internal sealed record StackNames(string ProjectName, IReadOnlyDictionary<string, string> Networks, IReadOnlyDictionary<string, string> Volumes)
{
    public static StackNames For(string projectName, ComposeProject project)
    {
        var networks = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [ComposeLabels.DefaultNetwork] = $"{projectName}_{ComposeLabels.DefaultNetwork}",
        };
        foreach (var (key, network) in project.Networks)
        {
            networks[key] = network.CustomName ?? (network.External ? key : $"{projectName}_{key}");
        }

        var volumes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, volume) in project.Volumes)
        {
            volumes[key] = volume.CustomName ?? (volume.External ? key : $"{projectName}_{key}");
        }

        return new StackNames(projectName, networks, volumes);
    }

    public static string ContainerName(string projectName, string service, int number) =>
        $"{projectName}-{service}-{number.ToString(CultureInfo.InvariantCulture)}";
}

/// <summary>Turns a compose service into the engine's container create parameters, with the labels docker compose uses.</summary>
internal static class StackContainerSpec
{
    public static CreateContainerParameters Build(ComposeService service, StackNames names, int number, string configHash, string workingDir)
    {
        var labels = new Dictionary<string, string>(service.Labels, StringComparer.Ordinal)
        {
            [ComposeLabels.Project] = names.ProjectName,
            [ComposeLabels.Service] = service.Name,
            [ComposeLabels.ContainerNumber] = number.ToString(CultureInfo.InvariantCulture),
            [ComposeLabels.OneOff] = "False",
            [ComposeLabels.ConfigHash] = configHash,
            [ComposeLabels.Version] = ComposeLabels.ComposeVersion,
            [ComposeLabels.WorkingDir] = workingDir,
            [ComposeLabels.ConfigFiles] = Path.Combine(workingDir, StackStateStore.ComposeFileName),
        };

        var exposed = new Dictionary<string, EmptyStruct>(StringComparer.Ordinal);
        var bindings = new Dictionary<string, IList<PortBinding>>(StringComparer.Ordinal);
        foreach (var port in service.Ports)
        {
            var key = $"{port.ContainerPort.ToString(CultureInfo.InvariantCulture)}/{port.Protocol}";
            exposed[key] = default;
            if (!bindings.TryGetValue(key, out var list))
            {
                bindings[key] = list = [];
            }

            list.Add(new PortBinding { HostIP = port.HostIp, HostPort = port.HostPort });
        }

        var binds = new List<string>();
        var mounts = new List<Mount>();
        foreach (var mount in service.Mounts)
        {
            switch (mount.Type)
            {
                case "bind":
                    // Binds (not Mounts) so a missing host directory is created, as compose's short syntax does.
                    binds.Add(mount.ReadOnly ? $"{mount.Source}:{mount.Target}:ro" : $"{mount.Source}:{mount.Target}");
                    break;
                case "tmpfs":
                    mounts.Add(new Mount { Type = "tmpfs", Target = mount.Target, ReadOnly = mount.ReadOnly, TmpfsOptions = mount.TmpfsSize is { } size ? new TmpfsOptions { SizeBytes = size } : null! });
                    break;
                default:
                    mounts.Add(new Mount
                    {
                        Type = "volume",
                        Source = mount.Source is { } volume ? names.Volumes[volume] : null!,
                        Target = mount.Target,
                        ReadOnly = mount.ReadOnly,
                        VolumeOptions = mount.NoCopy ? new VolumeOptions { NoCopy = true } : null!,
                    });
                    break;
            }
        }

        var primary = service.EffectiveNetworks.First();
        var host = new HostConfig
        {
            NetworkMode = names.Networks[primary],
            PortBindings = bindings,
            Binds = binds,
            Mounts = mounts,
            RestartPolicy = RestartPolicy(service.Restart),
            Privileged = service.Privileged,
            CapAdd = service.CapAdd,
            CapDrop = service.CapDrop,
            ExtraHosts = service.ExtraHosts,
            Memory = service.MemoryLimit ?? 0,
            NanoCPUs = service.NanoCpus ?? 0,
            LogConfig = service.LoggingDriver is null && service.LoggingOptions.Count == 0
                ? null!
                : new LogConfig { Type = service.LoggingDriver ?? "", Config = new Dictionary<string, string>(service.LoggingOptions) },
        };

        return new CreateContainerParameters
        {
            Name = StackNames.ContainerName(names.ProjectName, service.Name, number),
            Image = service.Image!,
            Cmd = service.Command!,
            Entrypoint = service.Entrypoint!,
            Env = [.. service.Environment.Where(e => e.Value is not null).Select(e => $"{e.Key}={e.Value}")],
            Labels = labels,
            ExposedPorts = exposed,
            WorkingDir = service.WorkingDir!,
            User = service.User!,
            Hostname = service.Hostname!,
            StopSignal = service.StopSignal!,
            StopTimeout = service.StopGracePeriod,
            Healthcheck = service.Healthcheck is { } check
                ? new HealthcheckConfig { Test = check.Test, Interval = check.Interval, Timeout = check.Timeout, StartPeriod = check.StartPeriod, Retries = check.Retries }
                : null!,
            HostConfig = host,
            NetworkingConfig = new NetworkingConfig
            {
                EndpointsConfig = new Dictionary<string, EndpointSettings> { [names.Networks[primary]] = Endpoint(service, primary) },
            },
        };
    }

    /// <summary>The endpoint of the service on one of its networks: the service name and its aliases as DNS aliases.</summary>
    public static EndpointSettings Endpoint(ComposeService service, string network) =>
        new() { Aliases = [service.Name, .. service.Networks.GetValueOrDefault(network) ?? []] };

    private static RestartPolicy RestartPolicy(string? restart)
    {
        switch (restart)
        {
            case null or "no":
                return new RestartPolicy { Name = RestartPolicyKind.No };
            case "always":
                return new RestartPolicy { Name = RestartPolicyKind.Always };
            case "unless-stopped":
                return new RestartPolicy { Name = RestartPolicyKind.UnlessStopped };
            default:
                var colon = restart.IndexOf(':', StringComparison.Ordinal);
                var retries = colon < 0 ? 0 : long.Parse(restart[(colon + 1)..], CultureInfo.InvariantCulture);
                return new RestartPolicy { Name = RestartPolicyKind.OnFailure, MaximumRetryCount = retries };
        }
    }
}
