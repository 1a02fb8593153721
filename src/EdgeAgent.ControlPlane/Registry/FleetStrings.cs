using System.Collections.Concurrent;
using EdgeAgent.Protocol.Contracts;

namespace EdgeAgent.ControlPlane.Registry;

/// <summary>
/// Shares the strings that repeat across a fleet (operating system, architecture, versions, label
/// keys and values, the remote address behind a proxy) between the agents' records, so 10,000
/// agents on the same image hold one copy of each instead of 10,000. Bounded: once the table is
/// full, or for long values, strings are kept as they are, so hostile agents cannot grow it.
/// </summary>
internal sealed class FleetStrings(int maxEntries = 4096)
{
    private const int MaxLength = 128;
    private readonly ConcurrentDictionary<string, string> _table = new(StringComparer.Ordinal);

    /// <summary>The process-wide table the control plane uses.</summary>
    public static FleetStrings Shared { get; } = new();

    /// <summary>The shared instance equal to <paramref name="value"/>, or the value itself.</summary>
    public string? Share(string? value)
    {
        if (value is null || value.Length > MaxLength)
        {
            return value;
        }

        if (_table.TryGetValue(value, out var shared))
        {
            return shared;
        }

        return _table.Count < maxEntries ? _table.GetOrAdd(value, value) : value;
    }

    /// <summary>The same information with its repeated strings shared (the host name is left as is: it is usually unique).</summary>
    public AgentInfo Share(AgentInfo info)
    {
        Dictionary<string, string>? labels = null;
        if (info.Labels.Count > 0)
        {
            labels = new Dictionary<string, string>(info.Labels.Count, StringComparer.Ordinal);
            foreach (var (key, value) in info.Labels)
            {
                labels[Share(key)!] = Share(value)!;
            }
        }

        return info with
        {
            OperatingSystem = Share(info.OperatingSystem)!,
            Architecture = Share(info.Architecture)!,
            AgentVersion = Share(info.AgentVersion)!,
            EngineVersion = Share(info.EngineVersion)!,
            Labels = labels ?? info.Labels,
        };
    }
}
