using EdgeAgent.Agent.Internal;
using EdgeAgent.Protocol;
using EdgeAgent.Protocol.Rpc;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeAgent.Agent;

/// <summary>
/// All command handlers registered in the agent's services, bound to one dispatcher with the
/// agent's idempotency cache and policy. Built once, when the agent starts.
/// </summary>
internal sealed class AgentCommandRegistry : IDisposable
{
    private readonly Dictionary<string, CommandInvoker> _invokers;
    private readonly FileIdempotencyCache _cache;

    public AgentCommandRegistry(
        IEnumerable<EdgeCommandHandler> handlers,
        IServiceProvider services,
        IOptions<EdgeAgentOptions> options,
        IEnumerable<IAgentCommandFilter> filters,
        TimeProvider time,
        ILoggerFactory loggers)
    {
        _invokers = new Dictionary<string, CommandInvoker>(StringComparer.Ordinal);
        foreach (var handler in handlers)
        {
            if (!_invokers.TryAdd(handler.Name, handler.CreateInvoker(services)))
            {
                throw new InvalidOperationException($"Two command handlers are registered for command '{handler.Name}'.");
            }
        }

        var value = options.Value;
        _cache = new FileIdempotencyCache(ResolveStateDirectory(value), value.IdempotencyCapacity, value.IdempotencyRetention, time);
        var policy = new Policy.AgentPolicyFilter(options);
        IAgentCommandFilter[] filterList = [policy, .. filters];
        Dispatcher = new CommandDispatcher(
            name => _invokers.GetValueOrDefault(name),
            _cache,
            (call, invoker) => Authorize(filterList, call, invoker),
            time,
            loggers.CreateLogger("EdgeAgent.Commands"),
            policy.TryEnter);
    }

    public CommandDispatcher Dispatcher { get; }

    public IReadOnlyCollection<string> CommandNames => _invokers.Keys;

    internal FileIdempotencyCache Cache => _cache;

    private static EdgeCommandException? Authorize(IAgentCommandFilter[] filters, CommandCall call, CommandInvoker invoker)
    {
        foreach (var filter in filters)
        {
            if (filter.Authorize(call.Name, invoker.Group, IsReadOnly(invoker)) is { } refusal)
            {
                return refusal;
            }
        }

        return null;
    }

    private static bool IsReadOnly(CommandInvoker invoker) => invoker is IReadOnlyAware aware && aware.IsReadOnly;

    /// <summary>The state directory: configured, or a per-agent folder under local application data.</summary>
    internal static string ResolveStateDirectory(EdgeAgentOptions options)
    {
        if (!string.IsNullOrWhiteSpace(options.StateDirectory))
        {
            return options.StateDirectory;
        }

        var id = Connection.AgentCredential.TryCreate(options.AgentId, options.Token, out _)?.AgentId ?? "default";
        var root = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create);
        if (string.IsNullOrEmpty(root))
        {
            root = Path.GetTempPath();
        }

        return Path.Combine(root, "EdgeAgent", id);
    }

    public void Dispose() => _cache.Dispose();
}

/// <summary>Exposes a handler's read-only flag to the policy.</summary>
internal interface IReadOnlyAware
{
    bool IsReadOnly { get; }
}

/// <summary>Refuses commands before they run (the agent's policy).</summary>
internal interface IAgentCommandFilter
{
    /// <summary>Returns an exception describing the refusal, or null to allow.</summary>
    EdgeCommandException? Authorize(string command, string group, bool isReadOnly);
}
