using System.Globalization;

namespace EdgeAgent.Scale;

/// <summary>Minimal <c>--key value</c> / <c>--flag</c> command-line parsing.</summary>
internal sealed class Args
{
    private readonly Dictionary<string, string> _values = new(StringComparer.OrdinalIgnoreCase);

    public Args(string[] args)
    {
        for (var i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal))
            {
                throw new ArgumentException($"Unexpected argument '{args[i]}'.");
            }

            var key = args[i][2..];
            if (i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                _values[key] = args[++i];
            }
            else
            {
                _values[key] = "true";
            }
        }
    }

    public string? this[string key] => _values.GetValueOrDefault(key);

    public bool Flag(string key) => _values.TryGetValue(key, out var value) && value != "false";

    public string String(string key, string fallback) => _values.GetValueOrDefault(key) ?? fallback;

    public int Int(string key, int fallback) => _values.TryGetValue(key, out var value) ? int.Parse(value, CultureInfo.InvariantCulture) : fallback;

    public double Double(string key, double fallback) => _values.TryGetValue(key, out var value) ? double.Parse(value, CultureInfo.InvariantCulture) : fallback;

    public TimeSpan Seconds(string key, double fallback) => TimeSpan.FromSeconds(Double(key, fallback));

    public int[] Ints(string key, int[] fallback) => _values.TryGetValue(key, out var value)
        ? [.. value.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(v => int.Parse(v, CultureInfo.InvariantCulture))]
        : fallback;
}
