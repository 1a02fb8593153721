using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Xunit;

namespace EdgeAgent.Testing.Logging;

/// <summary>One log call as it was captured.</summary>
/// <param name="Category">The logger category.</param>
/// <param name="Level">The log level.</param>
/// <param name="EventId">The event id.</param>
/// <param name="Message">The formatted message.</param>
/// <param name="Exception">The exception passed with the call, if any.</param>
/// <param name="State">The structured state, each value as text.</param>
/// <param name="Scopes">The scopes active at the call, as text.</param>
public sealed record CapturedLogEntry(
    string Category,
    LogLevel Level,
    EventId EventId,
    string Message,
    Exception? Exception,
    IReadOnlyList<KeyValuePair<string, string?>> State,
    IReadOnlyList<string> Scopes)
{
    /// <summary>Everything of the entry that could leak a value: message, state, scopes, exception.</summary>
    public string AllText =>
        string.Join(
            '\n',
            new[] { Message, Exception?.ToString() ?? string.Empty }
                .Concat(State.Select(kv => $"{kv.Key}={kv.Value}"))
                .Concat(Scopes));
}

/// <summary>
/// An <see cref="ILoggerProvider"/> that records every log call at every level (thread-safe), so tests
/// can assert what was logged and, above all, that no secret was.
/// </summary>
/// <example>
/// <code>
/// using var logs = new CapturingLoggerProvider();
/// services.AddLogging(b => b.AddProvider(logs));
/// ...
/// logs.AssertDoesNotContain(token);
/// </code>
/// </example>
public sealed class CapturingLoggerProvider : ILoggerProvider, ISupportExternalScope
{
    private readonly ConcurrentQueue<CapturedLogEntry> _entries = new();
    private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

    /// <summary>The entries in the order they were logged.</summary>
    public IReadOnlyList<CapturedLogEntry> Entries => [.. _entries];

    /// <summary>The formatted messages in the order they were logged.</summary>
    public IReadOnlyList<string> Messages => [.. _entries.Select(e => e.Message)];

    /// <summary>Makes a logger factory that logs everything to this provider only.</summary>
    public ILoggerFactory CreateFactory() =>
        LoggerFactory.Create(builder => builder.SetMinimumLevel(LogLevel.Trace).AddProvider(this));

    /// <inheritdoc />
    public ILogger CreateLogger(string categoryName) => new CapturingLogger(this, categoryName);

    /// <inheritdoc />
    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    /// <summary>Whether any entry (message, state, scope or exception) contains <paramref name="text"/>.</summary>
    public bool Contains(string text) => _entries.Any(e => e.AllText.Contains(text, StringComparison.Ordinal));

    /// <summary>Fails when any entry contains <paramref name="secret"/>, naming the entry (without the secret).</summary>
    public void AssertDoesNotContain(string secret)
    {
        ArgumentException.ThrowIfNullOrEmpty(secret);
        foreach (var entry in _entries)
        {
            if (entry.AllText.Contains(secret, StringComparison.Ordinal))
            {
                Assert.Fail(
                    $"A log entry contains the secret: [{entry.Level}] {entry.Category} event {entry.EventId}: " +
                    entry.AllText.Replace(secret, "<SECRET>", StringComparison.Ordinal));
            }
        }
    }

    /// <summary>Forgets every entry.</summary>
    public void Clear() => _entries.Clear();

    /// <inheritdoc />
    public void Dispose()
    {
    }

    private sealed class CapturingLogger(CapturingLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => provider._scopes.Push(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(
            LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            ArgumentNullException.ThrowIfNull(formatter);
            var values = state is IEnumerable<KeyValuePair<string, object?>> pairs
                ? pairs.Select(kv => new KeyValuePair<string, string?>(kv.Key, Convert.ToString(kv.Value, System.Globalization.CultureInfo.InvariantCulture))).ToList()
                : [];
            var scopes = new List<string>();
            provider._scopes.ForEachScope(
                static (scope, list) => list.Add(scope switch
                {
                    IEnumerable<KeyValuePair<string, object?>> kvs => string.Join(", ", kvs.Select(kv => $"{kv.Key}={kv.Value}")) + " " + scope,
                    _ => scope?.ToString() ?? string.Empty,
                }),
                scopes);
            provider._entries.Enqueue(new CapturedLogEntry(
                category, logLevel, eventId, formatter(state, exception), exception, values, scopes));
        }
    }
}
