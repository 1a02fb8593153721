using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace EdgeAgent.Agent.Forwarding;

/// <summary>How a rule names hosts.</summary>
internal enum ForwardingHostKind
{
    /// <summary><c>*</c>: any host.</summary>
    Any,

    /// <summary>A host name, compared case-insensitively and exactly (no wildcards).</summary>
    Name,

    /// <summary>An IPv4 or IPv6 address or CIDR block.</summary>
    Network,
}

/// <summary>One entry of <c>Policy:ForwardingAllowlist</c>: a host pattern and a port range.</summary>
internal sealed class ForwardingRule
{
    private readonly byte[]? _network;
    private readonly int _prefixLength;

    private ForwardingRule(string text, ForwardingHostKind kind, string? name, IPAddress? address, int prefixLength, int fromPort, int toPort)
    {
        Text = text;
        Kind = kind;
        Name = name;
        _network = address?.GetAddressBytes();
        _prefixLength = prefixLength;
        FromPort = fromPort;
        ToPort = toPort;
        if (_network is not null)
        {
            MaskInPlace(_network, prefixLength);
        }
    }

    /// <summary>The entry as configured.</summary>
    public string Text { get; }

    public ForwardingHostKind Kind { get; }

    /// <summary>The host name of a <see cref="ForwardingHostKind.Name"/> rule.</summary>
    public string? Name { get; }

    public int FromPort { get; }

    public int ToPort { get; }

    public bool MatchesPort(int port) => port >= FromPort && port <= ToPort;

    /// <summary>True when <paramref name="address"/> is inside this rule's network.</summary>
    public bool Contains(IPAddress address)
    {
        if (_network is null)
        {
            return false;
        }

        if (address.IsIPv4MappedToIPv6 && _network.Length == 4)
        {
            address = address.MapToIPv4();
        }

        var bytes = address.GetAddressBytes();
        if (bytes.Length != _network.Length)
        {
            return false;
        }

        MaskInPlace(bytes, _prefixLength);
        return bytes.AsSpan().SequenceEqual(_network);
    }

    /// <summary>
    /// Parses <c>host:port</c>, <c>host:from-to</c> or <c>host:*</c>, where host is <c>*</c>, a host
    /// name, an IPv4/IPv6 address or CIDR block (IPv6 may be written in brackets: <c>[::1]:22</c>,
    /// <c>[fd00::/8]:80</c>).
    /// </summary>
    public static bool TryParse(string? entry, [NotNullWhen(true)] out ForwardingRule? rule, [NotNullWhen(false)] out string? error)
    {
        rule = null;
        var text = entry?.Trim() ?? "";
        if (text.Length == 0)
        {
            error = "the entry is empty";
            return false;
        }

        string hostPart;
        string portPart;
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0 || close + 1 >= text.Length || text[close + 1] != ':')
            {
                error = "a bracketed IPv6 host must be followed by ':port', e.g. [::1]:22";
                return false;
            }

            hostPart = text[1..close];
            portPart = text[(close + 2)..];
        }
        else
        {
            var colon = text.LastIndexOf(':');
            if (colon <= 0)
            {
                error = "expected host:port, host:from-to or host:* (e.g. 127.0.0.1:22, 10.0.0.0/8:80-443, localhost:5432, *:8080)";
                return false;
            }

            hostPart = text[..colon];
            portPart = text[(colon + 1)..];
            if (hostPart.Contains(':', StringComparison.Ordinal) && !hostPart.Contains('/', StringComparison.Ordinal))
            {
                error = "write an IPv6 address in brackets, e.g. [::1]:22 (a CIDR block may go without: fd00::/8:80)";
                return false;
            }
        }

        if (!TryParsePorts(portPart, out var from, out var to, out error))
        {
            return false;
        }

        if (hostPart == "*")
        {
            rule = new ForwardingRule(text, ForwardingHostKind.Any, null, null, 0, from, to);
            return true;
        }

        var slash = hostPart.IndexOf('/', StringComparison.Ordinal);
        var addressText = slash >= 0 ? hostPart[..slash] : hostPart;
        if (IPAddress.TryParse(addressText, out var address) && addressText.Contains(address.AddressFamily == AddressFamily.InterNetwork ? '.' : ':', StringComparison.Ordinal))
        {
            var maxPrefix = address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
            var prefix = maxPrefix;
            if (slash >= 0 && (!int.TryParse(hostPart[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out prefix) || prefix > maxPrefix))
            {
                error = $"the prefix length after '/' must be 0-{maxPrefix}";
                return false;
            }

            if (address.IsIPv4MappedToIPv6 && prefix == 128)
            {
                address = address.MapToIPv4();
                prefix = 32;
            }

            rule = new ForwardingRule(text, ForwardingHostKind.Network, null, address, prefix, from, to);
            return true;
        }

        if (slash >= 0)
        {
            error = $"'{hostPart}' is not a valid CIDR block";
            return false;
        }

        if (Uri.CheckHostName(hostPart) != UriHostNameType.Dns)
        {
            error = $"'{hostPart}' is neither '*', an IP address, a CIDR block nor a host name";
            return false;
        }

        rule = new ForwardingRule(text, ForwardingHostKind.Name, hostPart.TrimEnd('.'), null, 0, from, to);
        return true;
    }

    private static bool TryParsePorts(string text, out int from, out int to, [NotNullWhen(false)] out string? error)
    {
        from = to = 0;
        if (text == "*")
        {
            from = 1;
            to = 65535;
            error = null;
            return true;
        }

        var dash = text.IndexOf('-', StringComparison.Ordinal);
        var fromText = dash >= 0 ? text[..dash] : text;
        var toText = dash >= 0 ? text[(dash + 1)..] : text;
        if (!TryParsePort(fromText, out from) || !TryParsePort(toText, out to))
        {
            error = $"'{text}' is not a port (1-65535), a range like 80-443, or '*'";
            return false;
        }

        if (from > to)
        {
            error = $"the port range '{text}' is empty (from > to)";
            return false;
        }

        error = null;
        return true;
    }

    private static bool TryParsePort(string text, out int port) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is >= 1 and <= 65535;

    private static void MaskInPlace(byte[] bytes, int prefixLength)
    {
        for (var i = 0; i < bytes.Length; i++)
        {
            var bits = Math.Clamp(prefixLength - (i * 8), 0, 8);
            bytes[i] &= (byte)(0xFF << (8 - bits));
        }
    }
}

/// <summary>
/// <c>Policy:ForwardingAllowlist</c> parsed: decides which addresses a forward may connect to.
/// A host name target matches a name rule with the same name (case-insensitive, exact); its
/// resolved addresses are checked against address and CIDR rules. An IP target matches address
/// and CIDR rules, and a name rule whose name resolves to that address. The caller connects only
/// to the addresses returned here, so a later DNS answer cannot widen what was checked.
/// </summary>
internal sealed class ForwardingAllowlist
{
    private readonly ForwardingRule[] _rules;

    private ForwardingAllowlist(ForwardingRule[] rules, string description)
    {
        _rules = rules;
        Description = description;
    }

    /// <summary>The rule set as text, for error messages: "[a, b]" or "empty: forwarding is disabled".</summary>
    public string Description { get; }

    public IReadOnlyList<ForwardingRule> Rules => _rules;

    /// <summary>Parses every entry; invalid ones are reported in <paramref name="errors"/> and left out.</summary>
    public static ForwardingAllowlist Parse(IEnumerable<string> entries, out List<string> errors)
    {
        errors = [];
        var rules = new List<ForwardingRule>();
        foreach (var entry in entries)
        {
            if (ForwardingRule.TryParse(entry, out var rule, out var error))
            {
                rules.Add(rule);
            }
            else
            {
                errors.Add($"'{entry}': {error}");
            }
        }

        var description = rules.Count == 0 ? "the list is empty, so no target is allowed" : $"allowed: {string.Join(", ", rules.Select(r => r.Text))}";
        return new ForwardingAllowlist([.. rules], description);
    }

    /// <summary>
    /// Returns the addresses of <paramref name="host"/> that may be connected to on <paramref name="port"/>:
    /// empty when the policy refuses the target.
    /// </summary>
    /// <exception cref="SocketException">A host name (of the target or of a name rule) could not be resolved.</exception>
    public async Task<IReadOnlyList<IPAddress>> AuthorizeAsync(string host, int port, Func<string, CancellationToken, Task<IPAddress[]>> resolve, CancellationToken cancellationToken)
    {
        var candidates = _rules.Where(r => r.MatchesPort(port)).ToArray();
        if (candidates.Length == 0)
        {
            // Refused before anything is resolved: a refused target costs no DNS query.
            return [];
        }

        var literal = TryParseLiteral(host, out var targetAddress);
        var name = literal ? null : host.TrimEnd('.');
        if (!literal && !candidates.Any(r => r.Kind != ForwardingHostKind.Name || string.Equals(r.Name, name, StringComparison.OrdinalIgnoreCase)))
        {
            return [];
        }

        var addresses = literal ? [targetAddress!] : await resolve(host, cancellationToken);
        var allowed = new List<IPAddress>();
        Dictionary<string, IPAddress[]>? ruleNames = null;
        foreach (var address in addresses)
        {
            foreach (var rule in candidates)
            {
                var match = rule.Kind switch
                {
                    ForwardingHostKind.Any => true,
                    ForwardingHostKind.Network => rule.Contains(address),
                    _ when name is not null => string.Equals(rule.Name, name, StringComparison.OrdinalIgnoreCase),
                    _ => await ResolvesToAsync(rule.Name!, address),
                };
                if (match)
                {
                    allowed.Add(address);
                    break;
                }
            }
        }

        return allowed;

        async Task<bool> ResolvesToAsync(string ruleName, IPAddress address)
        {
            ruleNames ??= new Dictionary<string, IPAddress[]>(StringComparer.OrdinalIgnoreCase);
            if (!ruleNames.TryGetValue(ruleName, out var resolved))
            {
                try
                {
                    resolved = await resolve(ruleName, cancellationToken);
                }
                catch (SocketException)
                {
                    // A rule whose name does not resolve matches nothing.
                    resolved = [];
                }

                ruleNames[ruleName] = resolved;
            }

            return resolved.Any(a => Normalize(a).Equals(Normalize(address)));
        }
    }

    private static IPAddress Normalize(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;

    private static bool TryParseLiteral(string host, out IPAddress? address)
    {
        var text = host.StartsWith('[') && host.EndsWith(']') ? host[1..^1] : host;
        if (IPAddress.TryParse(text, out address) && (text.Contains('.', StringComparison.Ordinal) || text.Contains(':', StringComparison.Ordinal)))
        {
            return true;
        }

        address = null;
        return false;
    }
}
