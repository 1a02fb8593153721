using MessagePack;

namespace EdgeAgent.Protocol.Contracts.Docker;

/// <summary>Which networks to list.</summary>
[MessagePackObject]
public sealed class NetworkListRequest
{
    /// <summary>A name filter (substring match, as the engine does).</summary>
    [Key(0)] public string? Name { get; set; }

    /// <summary>Label filters, as in <see cref="ContainerListRequest.Labels"/>.</summary>
    [Key(1)] public IReadOnlyDictionary<string, string>? Labels { get; set; }
}

/// <summary>One network.</summary>
[MessagePackObject]
public sealed class NetworkSummary
{
    /// <summary>The network id.</summary>
    [Key(0)] public string Id { get; set; } = "";

    /// <summary>The name.</summary>
    [Key(1)] public string Name { get; set; } = "";

    /// <summary>The driver, e.g. <c>bridge</c>.</summary>
    [Key(2)] public string Driver { get; set; } = "";

    /// <summary><c>local</c>, <c>global</c> or <c>swarm</c>.</summary>
    [Key(3)] public string Scope { get; set; } = "";

    /// <summary>No outside connectivity.</summary>
    [Key(4)] public bool Internal { get; set; }

    /// <summary>Containers can be attached manually (swarm networks).</summary>
    [Key(5)] public bool Attachable { get; set; }

    /// <summary>When it was created.</summary>
    [Key(6)] public DateTimeOffset Created { get; set; }

    /// <summary>The labels.</summary>
    [Key(7)] public IReadOnlyDictionary<string, string> Labels { get; set; } = new Dictionary<string, string>();

    /// <summary>The address ranges.</summary>
    [Key(8)] public IReadOnlyList<NetworkSubnet> Subnets { get; set; } = [];

    /// <summary>The attached containers (filled by inspect; lists may leave it empty).</summary>
    [Key(9)] public IReadOnlyList<NetworkEndpoint> Containers { get; set; } = [];

    /// <summary>The compose project (stack) it belongs to, or empty.</summary>
    [Key(10)] public string Stack { get; set; } = "";
}

/// <summary>An address range of a network.</summary>
[MessagePackObject]
public sealed class NetworkSubnet
{
    /// <summary>The subnet in CIDR form.</summary>
    [Key(0)] public string Subnet { get; set; } = "";

    /// <summary>The gateway, or empty.</summary>
    [Key(1)] public string Gateway { get; set; } = "";
}

/// <summary>A container attached to a network.</summary>
[MessagePackObject]
public sealed class NetworkEndpoint
{
    /// <summary>The container id.</summary>
    [Key(0)] public string ContainerId { get; set; } = "";

    /// <summary>The container name.</summary>
    [Key(1)] public string Name { get; set; } = "";

    /// <summary>The IPv4 address in CIDR form, or empty.</summary>
    [Key(2)] public string IPv4Address { get; set; } = "";

    /// <summary>The MAC address, or empty.</summary>
    [Key(3)] public string MacAddress { get; set; } = "";
}

/// <summary>Names one network.</summary>
[MessagePackObject]
public sealed class NetworkRef
{
    /// <summary>The network id or name.</summary>
    [Key(0)] public string Id { get; set; } = "";
}

/// <summary>Creates a network.</summary>
[MessagePackObject]
public sealed class NetworkCreateRequest
{
    /// <summary>The name.</summary>
    [Key(0)] public string Name { get; set; } = "";

    /// <summary>The driver; null for <c>bridge</c>.</summary>
    [Key(1)] public string? Driver { get; set; }

    /// <summary>No outside connectivity.</summary>
    [Key(2)] public bool Internal { get; set; }

    /// <summary>Allow manual attachment (swarm networks).</summary>
    [Key(3)] public bool Attachable { get; set; }

    /// <summary>The labels.</summary>
    [Key(4)] public IReadOnlyDictionary<string, string>? Labels { get; set; }

    /// <summary>A subnet in CIDR form; null lets the engine choose.</summary>
    [Key(5)] public string? Subnet { get; set; }

    /// <summary>The gateway within <see cref="Subnet"/>; null lets the engine choose.</summary>
    [Key(6)] public string? Gateway { get; set; }
}

/// <summary>A network that was created.</summary>
[MessagePackObject]
public sealed class NetworkCreated
{
    /// <summary>The network id.</summary>
    [Key(0)] public string Id { get; set; } = "";

    /// <summary>The engine's warning, or empty.</summary>
    [Key(1)] public string Warning { get; set; } = "";
}

/// <summary>Connects a container to a network.</summary>
[MessagePackObject]
public sealed class NetworkConnectRequest
{
    /// <summary>The network id or name.</summary>
    [Key(0)] public string Network { get; set; } = "";

    /// <summary>The container id or name.</summary>
    [Key(1)] public string Container { get; set; } = "";

    /// <summary>Extra DNS aliases of the container on this network.</summary>
    [Key(2)] public IReadOnlyList<string>? Aliases { get; set; }
}

/// <summary>Disconnects a container from a network.</summary>
[MessagePackObject]
public sealed class NetworkDisconnectRequest
{
    /// <summary>The network id or name.</summary>
    [Key(0)] public string Network { get; set; } = "";

    /// <summary>The container id or name.</summary>
    [Key(1)] public string Container { get; set; } = "";

    /// <summary>Disconnect even if the container is not running cleanly.</summary>
    [Key(2)] public bool Force { get; set; }
}
