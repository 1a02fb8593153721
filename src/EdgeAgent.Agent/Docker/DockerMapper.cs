using System.Globalization;
using Docker.DotNet.Models;
using EdgeAgent.Protocol.Contracts.Docker;

namespace EdgeAgent.Agent.Docker;

/// <summary>Converts Docker.DotNet models into the wire contracts (engine models are never sent as they are).</summary>
internal static class DockerMapper
{
    /// <summary>The label compose puts on every object of a project.</summary>
    public const string ComposeProjectLabel = "com.docker.compose.project";

    public static ContainerSummary ToSummary(ContainerListResponse c)
    {
        var labels = Labels(c.Labels);
        return new ContainerSummary
        {
            Id = c.ID ?? "",
            Names = c.Names?.Select(TrimName).ToArray() ?? [],
            Image = c.Image ?? "",
            ImageId = c.ImageID ?? "",
            Command = c.Command ?? "",
            Created = ToOffset(c.Created),
            State = c.State ?? "",
            Status = c.Status ?? "",
            Health = c.Health?.Status is { } health && health != "none" ? health : HealthFromStatus(c.Status),
            Ports = c.Ports?
                .Select(p => new PortMapping { PrivatePort = p.PrivatePort, PublicPort = p.PublicPort is > 0 ? p.PublicPort : null, Protocol = p.Type ?? "", HostIp = p.IP ?? "" })
                .OrderBy(p => p.PrivatePort).ThenBy(p => p.Protocol, StringComparer.Ordinal).ThenBy(p => p.HostIp, StringComparer.Ordinal)
                .ToArray() ?? [],
            Labels = labels,
            Stack = labels.GetValueOrDefault(ComposeProjectLabel, ""),
        };
    }

    public static ContainerDetails ToDetails(ContainerInspectResponse c)
    {
        var labels = Labels(c.Config?.Labels);
        var command = new List<string>();
        if (!string.IsNullOrEmpty(c.Path))
        {
            command.Add(c.Path);
        }

        command.AddRange(c.Args ?? []);
        return new ContainerDetails
        {
            Id = c.ID ?? "",
            Name = TrimName(c.Name ?? ""),
            Image = c.Config?.Image ?? "",
            ImageId = c.Image ?? "",
            Created = ToOffset(c.Created),
            State = new ContainerStateInfo
            {
                Status = c.State?.Status ?? "",
                Running = c.State?.Running ?? false,
                Paused = c.State?.Paused ?? false,
                Restarting = c.State?.Restarting ?? false,
                OomKilled = c.State?.OOMKilled ?? false,
                Pid = c.State?.Pid ?? 0,
                ExitCode = c.State?.ExitCode ?? 0,
                Error = c.State?.Error ?? "",
                StartedAt = ParseTime(c.State?.StartedAt),
                FinishedAt = ParseTime(c.State?.FinishedAt),
                Health = c.State?.Health?.Status is { } health && health != "none" ? health : "",
            },
            Command = command,
            Env = c.Config?.Env?.ToArray() ?? [],
            Labels = labels,
            RestartCount = c.RestartCount,
            RestartPolicy = c.HostConfig?.RestartPolicy?.Name.ToString()?.ToLowerInvariant() ?? "",
            Ports = PortsFromSettings(c.NetworkSettings?.Ports),
            Mounts = c.Mounts?.Select(m => new ContainerMount { Type = m.Type ?? "", Name = m.Name ?? "", Source = m.Source ?? "", Destination = m.Destination ?? "", ReadWrite = m.RW }).ToArray() ?? [],
            Networks = c.NetworkSettings?.Networks?
                .OrderBy(n => n.Key, StringComparer.Ordinal)
                .Select(n => new ContainerNetwork
                {
                    Name = n.Key,
                    NetworkId = n.Value?.NetworkID ?? "",
                    IpAddress = n.Value?.IPAddress ?? "",
                    Gateway = n.Value?.Gateway ?? "",
                    MacAddress = n.Value?.MacAddress ?? "",
                    Aliases = n.Value?.Aliases?.ToArray() ?? [],
                }).ToArray() ?? [],
            Tty = c.Config?.Tty ?? false,
            WorkingDir = c.Config?.WorkingDir ?? "",
            User = c.Config?.User ?? "",
            Hostname = c.Config?.Hostname ?? "",
            Stack = labels.GetValueOrDefault(ComposeProjectLabel, ""),
        };
    }

    public static ImageSummary ToSummary(ImagesListResponse i) => new()
    {
        Id = i.ID ?? "",
        RepoTags = i.RepoTags?.Where(t => t != "<none>:<none>").ToArray() ?? [],
        RepoDigests = i.RepoDigests?.Where(d => d != "<none>@<none>").ToArray() ?? [],
        Created = ToOffset(i.Created),
        Size = i.Size,
        Containers = i.Containers,
        Labels = Labels(i.Labels),
    };

    public static ImageDetails ToDetails(ImageInspectResponse i) => new()
    {
        Id = i.ID ?? "",
        RepoTags = i.RepoTags?.ToArray() ?? [],
        RepoDigests = i.RepoDigests?.ToArray() ?? [],
        Created = i.Created is { } created ? ToOffset(created) : null,
        Size = i.Size,
        Architecture = i.Architecture ?? "",
        Os = i.Os ?? "",
        Author = i.Author ?? "",
        Labels = Labels(i.Config?.Labels),
        Env = i.Config?.Env?.ToArray() ?? [],
        Entrypoint = i.Config?.Entrypoint?.ToArray() ?? [],
        Cmd = i.Config?.Cmd?.ToArray() ?? [],
        ExposedPorts = i.Config?.ExposedPorts?.Keys.Order(StringComparer.Ordinal).ToArray() ?? [],
        WorkingDir = i.Config?.WorkingDir ?? "",
        User = i.Config?.User ?? "",
        Layers = i.RootFS?.Layers?.Count ?? 0,
    };

    public static VolumeSummary ToSummary(VolumeResponse v)
    {
        var labels = Labels(v.Labels);
        return new VolumeSummary
        {
            Name = v.Name ?? "",
            Driver = v.Driver ?? "",
            Mountpoint = v.Mountpoint ?? "",
            CreatedAt = v.CreatedAt ?? "",
            Labels = labels,
            Scope = v.Scope ?? "",
            Options = Labels(v.Options),
            Stack = labels.GetValueOrDefault(ComposeProjectLabel, ""),
        };
    }

    public static NetworkSummary ToSummary(NetworkResponse n)
    {
        var labels = Labels(n.Labels);
        return new NetworkSummary
        {
            Id = n.ID ?? "",
            Name = n.Name ?? "",
            Driver = n.Driver ?? "",
            Scope = n.Scope ?? "",
            Internal = n.Internal,
            Attachable = n.Attachable,
            Created = ToOffset(n.Created),
            Labels = labels,
            Subnets = n.IPAM?.Config?.Select(c => new NetworkSubnet { Subnet = c.Subnet ?? "", Gateway = c.Gateway ?? "" }).ToArray() ?? [],
            Containers = n.Containers?
                .OrderBy(c => c.Key, StringComparer.Ordinal)
                .Select(c => new NetworkEndpoint { ContainerId = c.Key, Name = c.Value?.Name ?? "", IPv4Address = c.Value?.IPv4Address ?? "", MacAddress = c.Value?.MacAddress ?? "" })
                .ToArray() ?? [],
            Stack = labels.GetValueOrDefault(ComposeProjectLabel, ""),
        };
    }

    /// <summary>Builds engine filters: <c>label</c> entries from a label map, plus any extra key/value pairs.</summary>
    public static IDictionary<string, IDictionary<string, bool>> Filters(IReadOnlyDictionary<string, string>? labels, params (string Key, string? Value)[] extra)
    {
        var filters = new Dictionary<string, IDictionary<string, bool>>(StringComparer.Ordinal);
        if (labels is { Count: > 0 })
        {
            filters["label"] = labels.ToDictionary(l => string.IsNullOrEmpty(l.Value) ? l.Key : $"{l.Key}={l.Value}", _ => true, StringComparer.Ordinal);
        }

        foreach (var (key, value) in extra)
        {
            if (!string.IsNullOrEmpty(value))
            {
                filters[key] = new Dictionary<string, bool>(StringComparer.Ordinal) { [value] = true };
            }
        }

        return filters;
    }

    public static DateTimeOffset ToOffset(DateTime time) =>
        time.Kind switch
        {
            DateTimeKind.Utc => new DateTimeOffset(time),
            DateTimeKind.Local => new DateTimeOffset(time.ToUniversalTime()),
            _ => new DateTimeOffset(DateTime.SpecifyKind(time, DateTimeKind.Utc)),
        };

    public static DateTimeOffset? ParseTime(string? text) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time) && time.Year > 1
            ? time
            : null;

    public static string TrimName(string name) => name.StartsWith('/') ? name[1..] : name;

    /// <summary>Copies labels into a dictionary ordered by key, so equal labels serialise equally.</summary>
    public static IReadOnlyDictionary<string, string> Labels(IDictionary<string, string>? labels)
    {
        var ordered = new Dictionary<string, string>(StringComparer.Ordinal);
        if (labels is not null)
        {
            foreach (var label in labels.OrderBy(l => l.Key, StringComparer.Ordinal))
            {
                ordered[label.Key] = label.Value ?? "";
            }
        }

        return ordered;
    }

    private static string HealthFromStatus(string? status) =>
        status switch
        {
            null => "",
            _ when status.Contains("(healthy)", StringComparison.Ordinal) => "healthy",
            _ when status.Contains("(unhealthy)", StringComparison.Ordinal) => "unhealthy",
            _ when status.Contains("(health: starting)", StringComparison.Ordinal) => "starting",
            _ => "",
        };

    private static IReadOnlyList<PortMapping> PortsFromSettings(IDictionary<string, IList<PortBinding>>? ports)
    {
        if (ports is null)
        {
            return [];
        }

        var result = new List<PortMapping>();
        foreach (var (key, bindings) in ports)
        {
            var slash = key.IndexOf('/', StringComparison.Ordinal);
            _ = int.TryParse(slash < 0 ? key : key[..slash], NumberStyles.Integer, CultureInfo.InvariantCulture, out var privatePort);
            var protocol = slash < 0 ? "tcp" : key[(slash + 1)..];
            if (bindings is null || bindings.Count == 0)
            {
                result.Add(new PortMapping { PrivatePort = privatePort, Protocol = protocol });
                continue;
            }

            foreach (var binding in bindings)
            {
                _ = int.TryParse(binding?.HostPort, NumberStyles.Integer, CultureInfo.InvariantCulture, out var hostPort);
                result.Add(new PortMapping { PrivatePort = privatePort, PublicPort = hostPort > 0 ? hostPort : null, Protocol = protocol, HostIp = binding?.HostIP ?? "" });
            }
        }

        return result.OrderBy(p => p.PrivatePort).ThenBy(p => p.Protocol, StringComparer.Ordinal).ThenBy(p => p.HostIp, StringComparer.Ordinal).ToArray();
    }
}
