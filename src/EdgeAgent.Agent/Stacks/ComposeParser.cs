using System.Globalization;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace EdgeAgent.Agent.Stacks;

/// <summary>
/// Reads a compose file into a <see cref="ComposeProject"/>: YAML through the representation model
/// (so every error can name its line), variable interpolation on every value, and validation of
/// everything the agent cannot or will not do. All problems are collected and reported together
/// in a <see cref="ComposeValidationException"/>, before anything touches the engine.
/// </summary>
internal sealed partial class ComposeParser
{
    /// <summary>The largest compose file accepted (the peer controls it).</summary>
    public const int MaxYamlLength = 1024 * 1024;

    /// <summary>The deepest nesting of mappings and lists accepted.</summary>
    public const int MaxNestingDepth = 64;

    /// <summary>The most nodes a compose file may have, counting what each alias refers to as a copy (billion laughs).</summary>
    public const int MaxExpandedNodes = 1_000_000;

    /// <summary>The most characters all values together may have, after aliases and interpolation.</summary>
    public const int MaxValueCharacters = 16 * 1024 * 1024;

    /// <summary>The most published ports (a range counts each port) in a compose file.</summary>
    public const int MaxPublishedPorts = 2 * 65536;

    private static readonly string[] TopLevelKeys = ["version", "name", "services", "networks", "volumes"];

    private static readonly string[] ServiceKeys =
    [
        "image", "command", "entrypoint", "environment", "ports", "volumes", "networks", "restart", "labels",
        "depends_on", "healthcheck", "working_dir", "user", "hostname", "stop_signal", "stop_grace_period",
        "deploy", "privileged", "cap_add", "cap_drop", "extra_hosts", "logging",
    ];

    private static readonly string[] NetworkKeys = ["external", "name", "driver", "labels"];
    private static readonly string[] VolumeKeys = ["external", "name", "driver", "labels"];
    private static readonly string[] HealthcheckKeys = ["test", "interval", "timeout", "retries", "start_period", "disable"];
    private static readonly string[] PortKeys = ["target", "published", "host_ip", "protocol", "mode", "name", "app_protocol"];
    private static readonly string[] MountKeys = ["type", "source", "target", "read_only", "volume", "bind", "tmpfs"];
    private static readonly string[] DependsOnKeys = ["condition", "required", "restart"];
    private static readonly string[] DependencyConditions = ["service_started", "service_healthy", "service_completed_successfully"];

    private readonly IReadOnlyDictionary<string, string> _variables;
    private readonly List<ComposeError> _errors = [];
    private long _valueCharacters;
    private int _publishedPorts;

    private ComposeParser(IReadOnlyDictionary<string, string> variables)
    {
        _variables = variables;
    }

    /// <summary>Parses and validates a compose file.</summary>
    /// <exception cref="ComposeValidationException">The file is not valid or uses something the agent does not support.</exception>
    public static ComposeProject Parse(string yaml, IReadOnlyDictionary<string, string> variables)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        ArgumentNullException.ThrowIfNull(variables);
        var parser = new ComposeParser(variables);
        var project = parser.ParseDocument(yaml);
        if (parser._errors.Count > 0)
        {
            throw new ComposeValidationException(parser._errors);
        }

        return project!;
    }

    /// <summary>True when <paramref name="name"/> is a valid compose project name.</summary>
    public static bool IsValidProjectName(string name) => ProjectNameRegex().IsMatch(name);

    private ComposeProject? ParseDocument(string yaml)
    {
        if (yaml.Length > MaxYamlLength)
        {
            _errors.Add(new ComposeError(0, 0, $"the compose file is larger than {MaxYamlLength} characters"));
            return null;
        }

        var stream = new YamlStream();
        try
        {
            // The representation model loads recursively and shares aliased nodes, and the merge
            // keys are applied recursively here: both are checked on the event stream first.
            if (CheckStructure(yaml) is { } structureError)
            {
                _errors.Add(structureError);
                return null;
            }

            stream.Load(new StringReader(yaml));
        }
        catch (YamlException ex)
        {
            // YamlDotNet's messages start with "(Line: …)"; the line is reported separately.
            var message = ex.InnerException is YamlException inner ? inner.Message : ex.Message;
            message = YamlPositionRegex().Replace(message, "").Trim();
            _errors.Add(new ComposeError((int)ex.Start.Line, (int)ex.Start.Column, $"invalid YAML: {message}"));
            return null;
        }

        if (stream.Documents.Count != 1)
        {
            _errors.Add(new ComposeError(0, 0, stream.Documents.Count == 0 ? "the compose file is empty" : "the compose file holds more than one YAML document"));
            return null;
        }

        if (stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            Error(stream.Documents[0].RootNode, "the compose file must be a mapping with a 'services' key");
            return null;
        }

        var project = new ComposeProject();
        YamlNode? services = null;
        foreach (var (key, keyNode, value) in Entries(root))
        {
            if (key.StartsWith("x-", StringComparison.Ordinal))
            {
                continue;
            }

            switch (key)
            {
                case "version":
                    break; // obsolete, ignored as compose does
                case "name":
                    project.Name = Scalar(value, "name");
                    if (project.Name is { } name && !IsValidProjectName(name))
                    {
                        Error(value, $"invalid project name '{name}': use lowercase letters, digits, '-' and '_', starting with a letter or digit");
                    }

                    break;
                case "services":
                    services = value;
                    break;
                case "networks":
                    ParseNetworks(value, project);
                    break;
                case "volumes":
                    ParseVolumes(value, project);
                    break;
                default:
                    Unsupported(keyNode, key, TopLevelKeys);
                    break;
            }
        }

        if (services is null)
        {
            Error(root, "the compose file has no 'services'");
        }
        else if (services is not YamlMappingNode serviceMap)
        {
            Error(services, "'services' must be a mapping of service names to services");
        }
        else
        {
            foreach (var (name, keyNode, value) in Entries(serviceMap))
            {
                if (name.StartsWith("x-", StringComparison.Ordinal))
                {
                    continue;
                }

                if (!ResourceNameRegex().IsMatch(name))
                {
                    Error(keyNode, $"invalid service name '{name}': use letters, digits, '.', '-' and '_', starting with a letter or digit");
                    continue;
                }

                project.Services.Add(ParseService(name, keyNode, value, project));
            }
        }

        Validate(project);
        return project;
    }

    /// <summary>
    /// Walks the YAML events (without building nodes, so without recursion) and refuses nesting
    /// deeper than <see cref="MaxNestingDepth"/>, an alias inside the node it refers to, and more
    /// than <see cref="MaxExpandedNodes"/> nodes once every alias is counted as a copy.
    /// </summary>
    private static ComposeError? CheckStructure(string yaml)
    {
        var parser = new Parser(new StringReader(yaml));
        var open = new List<(long Nodes, string? Anchor)>();
        var sizes = new Dictionary<string, long>(StringComparer.Ordinal);
        while (parser.MoveNext())
        {
            var current = parser.Current!;
            long size;
            switch (current)
            {
                case NodeEvent start and (SequenceStart or MappingStart):
                    var anchor = start.Anchor.IsEmpty ? null : start.Anchor.Value;
                    if (anchor is not null)
                    {
                        sizes.Remove(anchor); // until it ends, an alias of this name is inside it
                    }

                    open.Add((1, anchor));
                    if (open.Count > MaxNestingDepth)
                    {
                        return new ComposeError((int)current.Start.Line, (int)current.Start.Column, $"the compose file nests mappings and lists more than {MaxNestingDepth} levels deep");
                    }

                    continue;
                case SequenceEnd or MappingEnd:
                    var ended = open[^1];
                    open.RemoveAt(open.Count - 1);
                    size = ended.Nodes;
                    if (ended.Anchor is not null)
                    {
                        sizes[ended.Anchor] = size;
                    }

                    break;
                case YamlDotNet.Core.Events.Scalar scalar:
                    size = 1;
                    if (!scalar.Anchor.IsEmpty)
                    {
                        sizes[scalar.Anchor.Value] = 1;
                    }

                    break;
                case AnchorAlias alias when sizes.TryGetValue(alias.Value.Value, out var aliased):
                    size = aliased;
                    break;
                case AnchorAlias alias when open.Any(o => o.Anchor == alias.Value.Value):
                    return new ComposeError((int)current.Start.Line, (int)current.Start.Column, $"'*{alias.Value.Value}' is a recursive alias: it refers to a node that contains it");
                case AnchorAlias:
                    size = 1; // unknown: loading reports it
                    break;
                default:
                    continue;
            }

            // A node is never larger than the document: a count over the limit anywhere is enough.
            if (open.Count > 0)
            {
                size += open[^1].Nodes;
                open[^1] = (size, open[^1].Anchor);
            }

            if (size > MaxExpandedNodes)
            {
                return new ComposeError((int)current.Start.Line, (int)current.Start.Column, $"the compose file expands to more than {MaxExpandedNodes} values through its aliases");
            }
        }

        return null;
    }

    // ---- services ------------------------------------------------------------------------------

    private ComposeService ParseService(string name, YamlNode keyNode, YamlNode node, ComposeProject project)
    {
        var service = new ComposeService { Name = name, Line = Line(keyNode) };
        if (node is not YamlMappingNode map)
        {
            Error(node, $"service '{name}' must be a mapping");
            return service;
        }

        var path = $"services.{name}";
        foreach (var (key, k, value) in Entries(map))
        {
            if (key.StartsWith("x-", StringComparison.Ordinal))
            {
                continue;
            }

            var at = $"{path}.{key}";
            switch (key)
            {
                case "image":
                    _imageDeclared.Add(name);
                    service.Image = Scalar(value, at);
                    break;
                case "command":
                    service.Command = Words(value, at);
                    break;
                case "entrypoint":
                    service.Entrypoint = Words(value, at);
                    break;
                case "environment":
                    foreach (var (envKey, envValue, _) in ListOrMap(value, at, '=', allowNullValues: true))
                    {
                        // A variable without a value takes the deployment variable of that name, if any.
                        service.Environment[envKey] = envValue ?? _variables.GetValueOrDefault(envKey);
                    }

                    break;
                case "ports":
                    ParsePorts(value, at, service);
                    break;
                case "volumes":
                    ParseMounts(value, at, service, project);
                    break;
                case "networks":
                    ParseServiceNetworks(value, at, service);
                    break;
                case "restart":
                    service.Restart = Scalar(value, at);
                    if (service.Restart is { } restart && !RestartRegex().IsMatch(restart))
                    {
                        Error(value, $"invalid '{at}' value '{restart}': use no, always, on-failure[:max-retries] or unless-stopped");
                    }

                    break;
                case "labels":
                    foreach (var (labelKey, labelValue, _) in ListOrMap(value, at, '=', allowNullValues: false))
                    {
                        service.Labels[labelKey] = labelValue ?? "";
                    }

                    break;
                case "depends_on":
                    ParseDependsOn(value, at, service);
                    break;
                case "healthcheck":
                    service.Healthcheck = ParseHealthcheck(value, at);
                    break;
                case "working_dir":
                    service.WorkingDir = Scalar(value, at);
                    break;
                case "user":
                    service.User = Scalar(value, at);
                    break;
                case "hostname":
                    service.Hostname = Scalar(value, at);
                    break;
                case "stop_signal":
                    service.StopSignal = Scalar(value, at);
                    break;
                case "stop_grace_period":
                    service.StopGracePeriod = Duration(value, at);
                    break;
                case "deploy":
                    ParseDeploy(value, at, service);
                    break;
                case "privileged":
                    service.Privileged = Bool(value, at) ?? false;
                    break;
                case "cap_add":
                    service.CapAdd.AddRange(StringList(value, at));
                    break;
                case "cap_drop":
                    service.CapDrop.AddRange(StringList(value, at));
                    break;
                case "extra_hosts":
                    foreach (var (host, address, entry) in ListOrMap(value, at, '=', allowNullValues: false, alternativeSeparator: ':'))
                    {
                        if (string.IsNullOrEmpty(address))
                        {
                            Error(entry, $"invalid '{at}' entry '{host}': use host:ip or host=ip");
                            continue;
                        }

                        service.ExtraHosts.Add($"{host}:{address}");
                    }

                    break;
                case "logging":
                    ParseLogging(value, at, service);
                    break;
                default:
                    Unsupported(k, at, ServiceKeys);
                    break;
            }
        }

        return service;
    }

    private void ParsePorts(YamlNode node, string at, ComposeService service)
    {
        if (node is not YamlSequenceNode list)
        {
            Error(node, $"'{at}' must be a list");
            return;
        }

        foreach (var item in list)
        {
            if (item is YamlMappingNode map)
            {
                ParseLongPort(map, at, service);
            }
            else if (Scalar(item, at) is { } text)
            {
                var before = service.Ports.Count;
                if (!TryParseShortPort(text, service.Ports, MaxPublishedPorts - _publishedPorts, out var error))
                {
                    Error(item, $"invalid port '{text}' in '{at}': {error}");
                }

                _publishedPorts += service.Ports.Count - before;
            }
        }
    }

    /// <summary>Parses <c>[HOST_IP:][HOST_PORT[-END]:]CONTAINER_PORT[-END][/PROTOCOL]</c>; the host IP may be <c>[v6]</c>.</summary>
    internal static bool TryParseShortPort(string text, List<ComposePort> ports, int room, out string? error)
    {
        error = null;
        var spec = text.Trim();
        var protocol = "tcp";
        var slash = spec.LastIndexOf('/');
        if (slash >= 0)
        {
            protocol = spec[(slash + 1)..].ToLowerInvariant();
            spec = spec[..slash];
            if (protocol is not ("tcp" or "udp" or "sctp"))
            {
                error = $"unknown protocol '{protocol}' (use tcp, udp or sctp)";
                return false;
            }
        }

        var hostIp = "";
        if (spec.StartsWith('['))
        {
            var close = spec.IndexOf(']', StringComparison.Ordinal);
            if (close < 0 || close + 1 >= spec.Length || spec[close + 1] != ':')
            {
                error = "an IPv6 host address must be written [address]:port:port";
                return false;
            }

            hostIp = spec[1..close];
            spec = spec[(close + 2)..];
            if (spec.Split(':').Length != 2)
            {
                error = "expected [address]:host-port:container-port";
                return false;
            }
        }

        var parts = spec.Split(':');
        string hostPart;
        string containerPart;
        switch (parts.Length)
        {
            case 1:
                hostPart = "";
                containerPart = parts[0];
                break;
            case 2:
                hostPart = parts[0];
                containerPart = parts[1];
                break;
            case 3 when hostIp.Length == 0:
                hostIp = parts[0];
                hostPart = parts[1];
                containerPart = parts[2];
                if (hostIp.Length == 0)
                {
                    error = "the host address is empty";
                    return false;
                }

                break;
            default:
                error = "too many ':' (write an IPv6 host address in brackets)";
                return false;
        }

        return TryAddPorts(containerPart, hostPart, hostIp, protocol, ports, room, out error);
    }

    /// <summary>Adds the ports of one entry; at most <paramref name="room"/> of them (a range counts each port).</summary>
    private static bool TryAddPorts(string containerPart, string hostPart, string hostIp, string protocol, List<ComposePort> ports, int room, out string? error)
    {
        if (!TryParseRange(containerPart, out var containerStart, out var containerEnd, out error))
        {
            return false;
        }

        if (containerEnd - containerStart + 1 > room)
        {
            error = $"too many published ports: a compose file may publish at most {MaxPublishedPorts} (a range counts each of its ports)";
            return false;
        }

        if (hostPart.Length == 0)
        {
            for (var p = containerStart; p <= containerEnd; p++)
            {
                ports.Add(new ComposePort(p, protocol, hostIp, ""));
            }

            return true;
        }

        if (!TryParseRange(hostPart, out var hostStart, out var hostEnd, out error))
        {
            return false;
        }

        if (containerStart == containerEnd)
        {
            // One container port published on one host port, or on any free port of a host range.
            ports.Add(new ComposePort(containerStart, protocol, hostIp, hostStart == hostEnd ? hostStart.ToString(CultureInfo.InvariantCulture) : $"{hostStart}-{hostEnd}"));
            return true;
        }

        if (hostEnd - hostStart != containerEnd - containerStart)
        {
            error = "the host and container port ranges differ in size";
            return false;
        }

        for (var i = 0; i <= containerEnd - containerStart; i++)
        {
            ports.Add(new ComposePort(containerStart + i, protocol, hostIp, (hostStart + i).ToString(CultureInfo.InvariantCulture)));
        }

        return true;
    }

    private static bool TryParseRange(string text, out int start, out int end, out string? error)
    {
        error = null;
        var dash = text.IndexOf('-', StringComparison.Ordinal);
        var first = dash < 0 ? text : text[..dash];
        var last = dash < 0 ? text : text[(dash + 1)..];
        if (!TryParsePort(first, out start) || !TryParsePort(last, out end))
        {
            start = end = 0;
            error = $"'{text}' is not a port number (1-65535) or range";
            return false;
        }

        if (end < start)
        {
            error = $"the range '{text}' ends before it starts";
            return false;
        }

        return true;
    }

    private static bool TryParsePort(string text, out int port) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is >= 1 and <= 65535;

    private void ParseLongPort(YamlMappingNode map, string at, ComposeService service)
    {
        string? target = null;
        string published = "";
        var hostIp = "";
        var protocol = "tcp";
        foreach (var (key, k, value) in Entries(map))
        {
            switch (key)
            {
                case "target":
                    target = Scalar(value, $"{at}.target");
                    break;
                case "published":
                    published = Scalar(value, $"{at}.published") ?? "";
                    break;
                case "host_ip":
                    hostIp = Scalar(value, $"{at}.host_ip") ?? "";
                    break;
                case "protocol":
                    protocol = (Scalar(value, $"{at}.protocol") ?? "tcp").ToLowerInvariant();
                    if (protocol is not ("tcp" or "udp" or "sctp"))
                    {
                        Error(value, $"unknown protocol '{protocol}' in '{at}' (use tcp, udp or sctp)");
                        return;
                    }

                    break;
                case "mode":
                    if (Scalar(value, $"{at}.mode") is { } mode && mode is not ("host" or "ingress"))
                    {
                        Error(value, $"invalid '{at}.mode' value '{mode}': use host or ingress");
                    }

                    break;
                case "name" or "app_protocol":
                    Scalar(value, $"{at}.{key}");
                    break;
                default:
                    Unsupported(k, $"{at}.{key}", PortKeys);
                    break;
            }
        }

        if (target is null)
        {
            Error(map, $"a port in '{at}' has no 'target'");
            return;
        }

        if (target.Contains('-', StringComparison.Ordinal))
        {
            Error(map, $"invalid port in '{at}': 'target' must be one port, not '{target}'");
        }
        else
        {
            var before = service.Ports.Count;
            if (!TryAddPorts(target, published, hostIp, protocol, service.Ports, MaxPublishedPorts - _publishedPorts, out var error))
            {
                Error(map, $"invalid port in '{at}': {error}");
            }

            _publishedPorts += service.Ports.Count - before;
        }
    }

    private void ParseMounts(YamlNode node, string at, ComposeService service, ComposeProject project)
    {
        if (node is not YamlSequenceNode list)
        {
            Error(node, $"'{at}' must be a list");
            return;
        }

        foreach (var item in list)
        {
            ComposeMount? mount;
            if (item is YamlMappingNode map)
            {
                mount = ParseLongMount(map, at);
            }
            else if (Scalar(item, at) is { } text)
            {
                mount = ParseShortMount(item, text, at);
            }
            else
            {
                continue;
            }

            if (mount is null)
            {
                continue;
            }

            if (!mount.Target.StartsWith('/'))
            {
                Error(item, $"invalid mount in '{at}': the container path '{mount.Target}' is not absolute");
                continue;
            }

            service.Mounts.Add(mount);
            _mountLines[mount] = item;
        }
    }

    private readonly Dictionary<ComposeMount, YamlNode> _mountLines = new(ReferenceEqualityComparer.Instance);

    private ComposeMount? ParseShortMount(YamlNode node, string text, string at)
    {
        var parts = text.Split(':');
        var readOnly = false;
        if (parts.Length == 3)
        {
            foreach (var option in parts[2].Split(','))
            {
                switch (option)
                {
                    case "ro":
                        readOnly = true;
                        break;
                    case "rw":
                        break;
                    default:
                        Error(node, $"invalid mount '{text}' in '{at}': unsupported mode '{option}' (use ro or rw)");
                        return null;
                }
            }
        }
        else if (parts.Length > 3 || parts.Any(p => p.Length == 0))
        {
            Error(node, $"invalid mount '{text}' in '{at}': use [source:]target[:ro|rw]");
            return null;
        }

        if (parts.Length == 1)
        {
            return new ComposeMount("volume", null, parts[0], false);
        }

        var source = parts[0];
        var target = parts[1];
        if (source.StartsWith('/'))
        {
            return new ComposeMount("bind", source, target, readOnly);
        }

        if (source.StartsWith('.') || source.StartsWith('~'))
        {
            Error(node, $"invalid mount '{text}' in '{at}': relative host paths are not supported (the agent has no project directory); use an absolute path or a named volume");
            return null;
        }

        return new ComposeMount("volume", source, target, readOnly);
    }

    private ComposeMount? ParseLongMount(YamlMappingNode map, string at)
    {
        string? type = null;
        string? source = null;
        string? target = null;
        var readOnly = false;
        var noCopy = false;
        long? tmpfsSize = null;
        foreach (var (key, k, value) in Entries(map))
        {
            var path = $"{at}.{key}";
            switch (key)
            {
                case "type":
                    type = Scalar(value, path);
                    break;
                case "source":
                    source = Scalar(value, path);
                    break;
                case "target":
                    target = Scalar(value, path);
                    break;
                case "read_only":
                    readOnly = Bool(value, path) ?? false;
                    break;
                case "volume":
                    foreach (var (optionKey, optionKeyNode, optionValue) in Entries(value, path))
                    {
                        if (optionKey == "nocopy")
                        {
                            noCopy = Bool(optionValue, $"{path}.nocopy") ?? false;
                        }
                        else
                        {
                            Unsupported(optionKeyNode, $"{path}.{optionKey}", ["nocopy"]);
                        }
                    }

                    break;
                case "bind":
                    foreach (var (optionKey, optionKeyNode, optionValue) in Entries(value, path))
                    {
                        if (optionKey == "create_host_path")
                        {
                            Bool(optionValue, $"{path}.create_host_path");
                        }
                        else
                        {
                            Unsupported(optionKeyNode, $"{path}.{optionKey}", ["create_host_path"]);
                        }
                    }

                    break;
                case "tmpfs":
                    foreach (var (optionKey, optionKeyNode, optionValue) in Entries(value, path))
                    {
                        if (optionKey == "size")
                        {
                            tmpfsSize = Bytes(optionValue, $"{path}.size");
                        }
                        else
                        {
                            Unsupported(optionKeyNode, $"{path}.{optionKey}", ["size"]);
                        }
                    }

                    break;
                default:
                    Unsupported(k, path, MountKeys);
                    break;
            }
        }

        if (target is null)
        {
            Error(map, $"a mount in '{at}' has no 'target'");
            return null;
        }

        switch (type)
        {
            case "volume":
                return new ComposeMount("volume", source, target, readOnly, noCopy);
            case "bind":
                if (source is null || !source.StartsWith('/'))
                {
                    Error(map, $"a bind mount in '{at}' needs an absolute 'source' (relative host paths are not supported)");
                    return null;
                }

                return new ComposeMount("bind", source, target, readOnly);
            case "tmpfs":
                return new ComposeMount("tmpfs", null, target, readOnly, TmpfsSize: tmpfsSize);
            case null:
                Error(map, $"a mount in '{at}' has no 'type'");
                return null;
            default:
                Error(map, $"unsupported mount type '{type}' in '{at}' (use volume, bind or tmpfs)");
                return null;
        }
    }

    private void ParseServiceNetworks(YamlNode node, string at, ComposeService service)
    {
        if (node is YamlSequenceNode list)
        {
            foreach (var item in list)
            {
                if (Scalar(item, at) is { } name)
                {
                    service.Networks[name] = [];
                    _networkLines[(service.Name, name)] = item;
                }
            }

            return;
        }

        foreach (var (name, keyNode, value) in Entries(node, at))
        {
            var aliases = new List<string>();
            _networkLines[(service.Name, name)] = keyNode;
            if (!IsNull(value))
            {
                foreach (var (key, k, option) in Entries(value, $"{at}.{name}"))
                {
                    if (key == "aliases")
                    {
                        aliases.AddRange(StringList(option, $"{at}.{name}.aliases"));
                    }
                    else
                    {
                        Unsupported(k, $"{at}.{name}.{key}", ["aliases"]);
                    }
                }
            }

            service.Networks[name] = aliases;
        }
    }

    private readonly Dictionary<(string Service, string Network), YamlNode> _networkLines = [];

    /// <summary>Services with an <c>image</c> key: when its value failed, that error is enough.</summary>
    private readonly HashSet<string> _imageDeclared = new(StringComparer.Ordinal);

    private void ParseDependsOn(YamlNode node, string at, ComposeService service)
    {
        if (node is YamlSequenceNode list)
        {
            foreach (var item in list)
            {
                if (Scalar(item, at) is { } name)
                {
                    service.DependsOn[name] = new ComposeDependency("service_started", Line(item));
                }
            }

            return;
        }

        foreach (var (name, keyNode, value) in Entries(node, at))
        {
            var condition = "service_started";
            foreach (var (key, k, option) in Entries(value, $"{at}.{name}"))
            {
                switch (key)
                {
                    case "condition":
                        condition = Scalar(option, $"{at}.{name}.condition") ?? condition;
                        if (!DependencyConditions.Contains(condition))
                        {
                            Error(option, $"invalid '{at}.{name}.condition' value '{condition}': use {string.Join(", ", DependencyConditions)}");
                        }

                        break;
                    case "required" or "restart":
                        Bool(option, $"{at}.{name}.{key}");
                        break;
                    default:
                        Unsupported(k, $"{at}.{name}.{key}", DependsOnKeys);
                        break;
                }
            }

            service.DependsOn[name] = new ComposeDependency(condition, Line(keyNode));
        }
    }

    private ComposeHealthcheck ParseHealthcheck(YamlNode node, string at)
    {
        var check = new ComposeHealthcheck();
        var disable = false;
        foreach (var (key, k, value) in Entries(node, at))
        {
            var path = $"{at}.{key}";
            switch (key)
            {
                case "test":
                    if (value is YamlSequenceNode)
                    {
                        var test = StringList(value, path);
                        if (test.Count == 0 || test[0] is not ("CMD" or "CMD-SHELL" or "NONE"))
                        {
                            Error(value, $"'{path}' as a list must start with CMD, CMD-SHELL or NONE");
                        }

                        check.Test = test;
                    }
                    else if (Scalar(value, path) is { } shell)
                    {
                        check.Test = ["CMD-SHELL", shell];
                    }

                    break;
                case "interval":
                    check.Interval = Duration(value, path);
                    break;
                case "timeout":
                    check.Timeout = Duration(value, path);
                    break;
                case "start_period":
                    check.StartPeriod = Duration(value, path);
                    break;
                case "retries":
                    check.Retries = Int(value, path, min: 0);
                    break;
                case "disable":
                    disable = Bool(value, path) ?? false;
                    break;
                default:
                    Unsupported(k, path, HealthcheckKeys);
                    break;
            }
        }

        if (disable)
        {
            return new ComposeHealthcheck { Test = ["NONE"] };
        }

        return check;
    }

    private void ParseDeploy(YamlNode node, string at, ComposeService service)
    {
        foreach (var (key, k, value) in Entries(node, at))
        {
            if (key != "resources")
            {
                Unsupported(k, $"{at}.{key}", ["resources"]);
                continue;
            }

            foreach (var (resourceKey, rk, resources) in Entries(value, $"{at}.resources"))
            {
                if (resourceKey != "limits")
                {
                    Unsupported(rk, $"{at}.resources.{resourceKey}", ["limits"]);
                    continue;
                }

                foreach (var (limitKey, lk, limit) in Entries(resources, $"{at}.resources.limits"))
                {
                    var path = $"{at}.resources.limits.{limitKey}";
                    switch (limitKey)
                    {
                        case "memory":
                            service.MemoryLimit = Bytes(limit, path);
                            break;
                        case "cpus":
                            if (Scalar(limit, path) is { } cpus)
                            {
                                if (decimal.TryParse(cpus, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var count) && count > 0)
                                {
                                    service.NanoCpus = (long)(count * 1_000_000_000m);
                                }
                                else
                                {
                                    Error(limit, $"invalid '{path}' value '{cpus}': use a positive number such as 0.5");
                                }
                            }

                            break;
                        default:
                            Unsupported(lk, path, ["memory", "cpus"]);
                            break;
                    }
                }
            }
        }
    }

    private void ParseLogging(YamlNode node, string at, ComposeService service)
    {
        foreach (var (key, k, value) in Entries(node, at))
        {
            switch (key)
            {
                case "driver":
                    service.LoggingDriver = Scalar(value, $"{at}.driver");
                    break;
                case "options":
                    foreach (var (optionKey, optionValue, _) in ListOrMap(value, $"{at}.options", '=', allowNullValues: false, mapOnly: true))
                    {
                        service.LoggingOptions[optionKey] = optionValue ?? "";
                    }

                    break;
                default:
                    Unsupported(k, $"{at}.{key}", ["driver", "options"]);
                    break;
            }
        }
    }

    // ---- top-level networks and volumes ------------------------------------------------------------

    private void ParseNetworks(YamlNode node, ComposeProject project)
    {
        foreach (var (name, keyNode, value) in Entries(node, "networks"))
        {
            if (name.StartsWith("x-", StringComparison.Ordinal))
            {
                continue;
            }

            if (!ResourceNameRegex().IsMatch(name))
            {
                Error(keyNode, $"invalid network name '{name}'");
                continue;
            }

            var network = new ComposeNetwork();
            if (!IsNull(value))
            {
                foreach (var (key, k, option) in Entries(value, $"networks.{name}"))
                {
                    var path = $"networks.{name}.{key}";
                    switch (key)
                    {
                        case "external":
                            network.External = External(option, path, out var externalName);
                            network.CustomName ??= externalName;
                            break;
                        case "name":
                            network.CustomName = Scalar(option, path);
                            break;
                        case "driver":
                            network.Driver = Scalar(option, path);
                            break;
                        case "labels":
                            foreach (var (labelKey, labelValue, _) in ListOrMap(option, path, '=', allowNullValues: false))
                            {
                                network.Labels[labelKey] = labelValue ?? "";
                            }

                            break;
                        default:
                            if (!key.StartsWith("x-", StringComparison.Ordinal))
                            {
                                Unsupported(k, path, NetworkKeys);
                            }

                            break;
                    }
                }
            }

            project.Networks[name] = network;
        }
    }

    private void ParseVolumes(YamlNode node, ComposeProject project)
    {
        foreach (var (name, keyNode, value) in Entries(node, "volumes"))
        {
            if (name.StartsWith("x-", StringComparison.Ordinal))
            {
                continue;
            }

            if (!ResourceNameRegex().IsMatch(name))
            {
                Error(keyNode, $"invalid volume name '{name}'");
                continue;
            }

            var volume = new ComposeVolume();
            if (!IsNull(value))
            {
                foreach (var (key, k, option) in Entries(value, $"volumes.{name}"))
                {
                    var path = $"volumes.{name}.{key}";
                    switch (key)
                    {
                        case "external":
                            volume.External = External(option, path, out var externalName);
                            volume.CustomName ??= externalName;
                            break;
                        case "name":
                            volume.CustomName = Scalar(option, path);
                            break;
                        case "driver":
                            volume.Driver = Scalar(option, path);
                            break;
                        case "labels":
                            foreach (var (labelKey, labelValue, _) in ListOrMap(option, path, '=', allowNullValues: false))
                            {
                                volume.Labels[labelKey] = labelValue ?? "";
                            }

                            break;
                        default:
                            if (!key.StartsWith("x-", StringComparison.Ordinal))
                            {
                                Unsupported(k, path, VolumeKeys);
                            }

                            break;
                    }
                }
            }

            project.Volumes[name] = volume;
        }
    }

    /// <summary><c>external: true</c>, or the legacy <c>external: { name: x }</c>.</summary>
    private bool External(YamlNode node, string at, out string? name)
    {
        name = null;
        if (node is YamlMappingNode)
        {
            foreach (var (key, k, value) in Entries(node, at))
            {
                if (key == "name")
                {
                    name = Scalar(value, $"{at}.name");
                }
                else
                {
                    Unsupported(k, $"{at}.{key}", ["name"]);
                }
            }

            return true;
        }

        return Bool(node, at) ?? false;
    }

    // ---- cross-checks ------------------------------------------------------------------------------

    private void Validate(ComposeProject project)
    {
        foreach (var service in project.Services)
        {
            if (string.IsNullOrWhiteSpace(service.Image) && !(service.Image is null && _imageDeclared.Contains(service.Name) && _errors.Count > 0))
            {
                _errors.Add(new ComposeError(service.Line, 0, $"service '{service.Name}' has no image (building images is not supported)"));
            }

            foreach (var (dependency, info) in service.DependsOn)
            {
                if (project.FindService(dependency) is null)
                {
                    _errors.Add(new ComposeError(info.Line, 0, $"service '{service.Name}' depends on undefined service '{dependency}'"));
                }
                else if (dependency == service.Name)
                {
                    _errors.Add(new ComposeError(info.Line, 0, $"service '{service.Name}' depends on itself"));
                }
            }

            foreach (var network in service.Networks.Keys)
            {
                if (network != ComposeLabels.DefaultNetwork && !project.Networks.ContainsKey(network))
                {
                    var node = _networkLines.GetValueOrDefault((service.Name, network));
                    _errors.Add(new ComposeError(node is null ? service.Line : Line(node), 0, $"service '{service.Name}' refers to undefined network '{network}'"));
                }
            }

            foreach (var mount in service.Mounts)
            {
                if (mount is { Type: "volume", Source: { } volume } && !project.Volumes.ContainsKey(volume))
                {
                    var node = _mountLines.GetValueOrDefault(mount);
                    _errors.Add(new ComposeError(node is null ? service.Line : Line(node), 0, $"service '{service.Name}' refers to undefined volume '{volume}'"));
                }
            }
        }

        if (project.Services.Count == 0 && _errors.Count == 0)
        {
            _errors.Add(new ComposeError(0, 0, "the compose file defines no service"));
        }

        if (FindCycle(project) is { } cycle)
        {
            _errors.Add(new ComposeError(project.FindService(cycle[0])!.Line, 0, $"dependency cycle between services: {string.Join(" -> ", cycle)}"));
        }
    }

    /// <summary>A dependency cycle (first service repeated at the end), or null.</summary>
    private static List<string>? FindCycle(ComposeProject project)
    {
        var state = new Dictionary<string, int>(StringComparer.Ordinal); // 1 visiting, 2 done
        var stack = new List<string>();
        foreach (var service in project.Services)
        {
            if (Visit(service.Name) is { } cycle)
            {
                return cycle;
            }
        }

        return null;

        List<string>? Visit(string name)
        {
            if (state.GetValueOrDefault(name) == 2 || project.FindService(name) is not { } service)
            {
                return null;
            }

            if (state.GetValueOrDefault(name) == 1)
            {
                var start = stack.IndexOf(name);
                return [.. stack.Skip(start), name];
            }

            state[name] = 1;
            stack.Add(name);
            foreach (var dependency in service.DependsOn.Keys)
            {
                if (dependency != name && Visit(dependency) is { } cycle)
                {
                    return cycle;
                }
            }

            stack.RemoveAt(stack.Count - 1);
            state[name] = 2;
            return null;
        }
    }

    /// <summary>The services ordered so that each comes after the services it depends on (file order otherwise).</summary>
    public static List<ComposeService> StartOrder(ComposeProject project)
    {
        var ordered = new List<ComposeService>();
        var placed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var service in project.Services)
        {
            Place(service);
        }

        return ordered;

        void Place(ComposeService service)
        {
            if (!placed.Add(service.Name))
            {
                return;
            }

            foreach (var dependency in service.DependsOn.Keys)
            {
                if (project.FindService(dependency) is { } other)
                {
                    Place(other);
                }
            }

            ordered.Add(service);
        }
    }

    // ---- node helpers ------------------------------------------------------------------------------

    private static int Line(YamlNode node) => (int)node.Start.Line;

    private void Error(YamlNode node, string message) =>
        _errors.Add(new ComposeError((int)node.Start.Line, (int)node.Start.Column, message));

    private void Unsupported(YamlNode keyNode, string path, string[] supported) =>
        Error(keyNode, $"unsupported key '{path}' (supported here: {string.Join(", ", supported)})");

    private static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any, Value: null or "" or "~" or "null" or "Null" or "NULL" };

    /// <summary>The entries of a mapping, with merge keys (<c>&lt;&lt;: *anchor</c>) applied; explicit keys win.</summary>
    private IEnumerable<(string Key, YamlNode KeyNode, YamlNode Value)> Entries(YamlNode node, string at)
    {
        if (node is YamlMappingNode map)
        {
            return Entries(map);
        }

        if (!IsNull(node))
        {
            Error(node, $"'{at}' must be a mapping");
        }

        return [];
    }

    private List<(string Key, YamlNode KeyNode, YamlNode Value)> Entries(YamlMappingNode map)
    {
        var entries = new List<(string Key, YamlNode KeyNode, YamlNode Value)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var merged = new List<YamlMappingNode>();
        foreach (var (keyNode, value) in map.Children)
        {
            if (keyNode is not YamlScalarNode { Value: { } key })
            {
                Error(keyNode, "mapping keys must be strings");
                continue;
            }

            if (key == "<<" && keyNode is YamlScalarNode { Style: ScalarStyle.Plain })
            {
                switch (value)
                {
                    case YamlMappingNode single:
                        merged.Add(single);
                        break;
                    case YamlSequenceNode many:
                        merged.AddRange(many.OfType<YamlMappingNode>());
                        break;
                    default:
                        Error(value, "a merge key '<<' must refer to a mapping");
                        break;
                }

                continue;
            }

            if (seen.Add(key))
            {
                entries.Add((key, keyNode, value));
            }
        }

        foreach (var source in merged)
        {
            foreach (var entry in Entries(source))
            {
                if (seen.Add(entry.Key))
                {
                    entries.Add(entry);
                }
            }
        }

        return entries;
    }

    /// <summary>An interpolated scalar; null for a YAML null (or after an error, which is recorded).</summary>
    private string? Scalar(YamlNode node, string at)
    {
        if (node is not YamlScalarNode scalar)
        {
            Error(node, $"'{at}' must be a single value, not a {(node is YamlSequenceNode ? "list" : "mapping")}");
            return null;
        }

        if (IsNull(scalar))
        {
            return null;
        }

        if (_valueCharacters > MaxValueCharacters)
        {
            return null; // reported once
        }

        // Aliases repeat values and variables can make them grow: all of them together are bounded.
        var raw = scalar.Value ?? "";
        var room = (int)(MaxValueCharacters - _valueCharacters);
        var interpolated = ComposeInterpolation.TryInterpolate(raw, _variables, room, out var value, out var error);
        _valueCharacters += interpolated ? value.Length : raw.Length;
        if (_valueCharacters > MaxValueCharacters || (!interpolated && error == ComposeInterpolation.TooLong(room)))
        {
            _valueCharacters = MaxValueCharacters + 1L;
            Error(node, $"the values of the compose file, with aliases repeated and variables interpolated, exceed {MaxValueCharacters} characters");
            return null;
        }

        if (!interpolated)
        {
            Error(node, $"{error} (in '{at}')");
            return null;
        }

        return value;
    }

    private bool? Bool(YamlNode node, string at)
    {
        var text = Scalar(node, at);
        switch (text?.ToLowerInvariant())
        {
            case null:
                return null;
            case "true" or "yes" or "on":
                return true;
            case "false" or "no" or "off":
                return false;
            default:
                Error(node, $"'{at}' must be true or false, not '{text}'");
                return null;
        }
    }

    private int? Int(YamlNode node, string at, int min)
    {
        var text = Scalar(node, at);
        if (text is null)
        {
            return null;
        }

        if (int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) && value >= min)
        {
            return value;
        }

        Error(node, $"'{at}' must be an integer of at least {min}, not '{text}'");
        return null;
    }

    private TimeSpan? Duration(YamlNode node, string at)
    {
        var text = Scalar(node, at);
        if (text is null)
        {
            return null;
        }

        if (TryParseDuration(text, out var duration))
        {
            return duration;
        }

        Error(node, $"'{at}' must be a duration such as 30s, 1m30s or 500ms, not '{text}'");
        return null;
    }

    /// <summary>Parses a Go-style duration (<c>1h2m3s</c>, <c>1.5s</c>, <c>500ms</c>, <c>10us</c>).</summary>
    internal static bool TryParseDuration(string text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        var match = DurationRegex().Match(text);
        if (!match.Success)
        {
            return false;
        }

        decimal ticks = 0;
        foreach (Capture capture in match.Groups["part"].Captures)
        {
            var part = PartRegex().Match(capture.Value);
            var number = decimal.Parse(part.Groups[1].Value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture);
            ticks += part.Groups[2].Value switch
            {
                "h" => number * TimeSpan.TicksPerHour,
                "m" => number * TimeSpan.TicksPerMinute,
                "s" => number * TimeSpan.TicksPerSecond,
                "ms" => number * TimeSpan.TicksPerMillisecond,
                "us" or "µs" => number * 10,
                _ => number / 100, // ns
            };
        }

        if (ticks > TimeSpan.MaxValue.Ticks)
        {
            return false;
        }

        duration = TimeSpan.FromTicks((long)ticks);
        return true;
    }

    private long? Bytes(YamlNode node, string at)
    {
        var text = Scalar(node, at);
        if (text is null)
        {
            return null;
        }

        if (TryParseBytes(text, out var bytes))
        {
            return bytes;
        }

        Error(node, $"'{at}' must be a size such as 512m, 1g or a number of bytes, not '{text}'");
        return null;
    }

    /// <summary>Parses a size in bytes with an optional binary unit: b, k/kb, m/mb, g/gb (case-insensitive).</summary>
    internal static bool TryParseBytes(string text, out long bytes)
    {
        bytes = 0;
        var match = SizeRegex().Match(text);
        if (!match.Success)
        {
            return false;
        }

        var number = decimal.Parse(match.Groups[1].Value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture);
        var factor = match.Groups[2].Value.ToLowerInvariant().TrimEnd('b') switch
        {
            "" => 1m,
            "k" => 1024m,
            "m" => 1024m * 1024,
            "g" => 1024m * 1024 * 1024,
            _ => 1024m * 1024 * 1024 * 1024,
        };
        var value = number * factor;
        if (value > long.MaxValue || value < 1)
        {
            return false;
        }

        bytes = (long)value;
        return true;
    }

    /// <summary>A string or a list of strings; a string is split into words like a shell would.</summary>
    private List<string>? Words(YamlNode node, string at)
    {
        if (node is YamlSequenceNode)
        {
            return StringList(node, at);
        }

        var text = Scalar(node, at);
        if (text is null)
        {
            return null;
        }

        if (!ShellWords.TrySplit(text, out var words, out var error))
        {
            Error(node, $"invalid '{at}': {error}");
            return null;
        }

        return words;
    }

    private List<string> StringList(YamlNode node, string at)
    {
        var result = new List<string>();
        if (node is not YamlSequenceNode list)
        {
            if (!IsNull(node))
            {
                Error(node, $"'{at}' must be a list");
            }

            return result;
        }

        foreach (var item in list)
        {
            if (Scalar(item, at) is { } value)
            {
                result.Add(value);
            }
        }

        return result;
    }

    /// <summary>A list of <c>KEY=VALUE</c> (or <c>KEY</c>) entries, or a mapping; yields key, value and the entry's node.</summary>
    private List<(string Key, string? Value, YamlNode Node)> ListOrMap(YamlNode node, string at, char separator, bool allowNullValues, char? alternativeSeparator = null, bool mapOnly = false)
    {
        var result = new List<(string Key, string? Value, YamlNode Node)>();
        if (node is YamlSequenceNode list && !mapOnly)
        {
            foreach (var item in list)
            {
                if (Scalar(item, at) is not { } entry)
                {
                    continue;
                }

                var index = entry.IndexOf(separator, StringComparison.Ordinal);
                if (index < 0 && alternativeSeparator is { } alternative)
                {
                    index = entry.IndexOf(alternative, StringComparison.Ordinal);
                }

                var key = index < 0 ? entry : entry[..index];
                if (key.Length == 0)
                {
                    Error(item, $"invalid entry '{entry}' in '{at}': the name is empty");
                    continue;
                }

                result.Add((key, index < 0 ? (allowNullValues ? null : "") : entry[(index + 1)..], item));
            }

            return result;
        }

        if (node is not YamlMappingNode && !IsNull(node))
        {
            Error(node, mapOnly ? $"'{at}' must be a mapping" : $"'{at}' must be a list or a mapping");
            return result;
        }

        foreach (var (key, keyNode, value) in Entries(node, at))
        {
            var text = Scalar(value, $"{at}.{key}");
            result.Add((key, text ?? (allowNullValues ? null : ""), keyNode));
        }

        return result;
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9_-]*$")]
    private static partial Regex ProjectNameRegex();

    [GeneratedRegex("^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")]
    private static partial Regex ResourceNameRegex();

    [GeneratedRegex("^(no|always|unless-stopped|on-failure(:[0-9]+)?)$")]
    private static partial Regex RestartRegex();

    [GeneratedRegex(@"^(?<part>[0-9]+(\.[0-9]+)?(h|ms|m|s|us|µs|ns))+$")]
    private static partial Regex DurationRegex();

    [GeneratedRegex(@"^([0-9]+(?:\.[0-9]+)?)(h|ms|m|s|us|µs|ns)$")]
    private static partial Regex PartRegex();

    [GeneratedRegex(@"^([0-9]+(?:\.[0-9]+)?)\s*([bB]|[kKmMgGtT][bB]?)?$")]
    private static partial Regex SizeRegex();

    [GeneratedRegex(@"^\(Line: \d+, Col: \d+, Idx: \d+\) - \(Line: \d+, Col: \d+, Idx: \d+\):")]
    private static partial Regex YamlPositionRegex();
}
