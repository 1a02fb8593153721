using EdgeAgent.Protocol;
using Microsoft.Extensions.Options;

namespace EdgeAgent.Agent.Policy;

/// <summary>Applies <see cref="EdgeAgentPolicy"/> to every command before it runs; a refusal names the rule.</summary>
internal sealed class AgentPolicyFilter(IOptions<EdgeAgentOptions> options) : IAgentCommandFilter
{
    private int _running;

    public EdgeCommandException? Authorize(string command, string group, bool isReadOnly)
    {
        var policy = options.Value.Policy;
        if (policy.ReadOnly && !isReadOnly)
        {
            return Denied(command, "the agent is in read-only mode (Policy:ReadOnly)");
        }

        if (policy.AllowedGroups.Count > 0 && !policy.AllowedGroups.Contains(group))
        {
            return Denied(command, $"command group '{group}' is not in Policy:AllowedGroups");
        }

        if (!policy.AllowExec && group == EdgeCommandGroups.Exec)
        {
            return Denied(command, "exec is disabled (Policy:AllowExec=false)");
        }

        return null;
    }

    /// <summary>Takes a slot of Policy:MaxConcurrentCommands; null when none is free.</summary>
    public IDisposable? TryEnter()
    {
        if (Interlocked.Increment(ref _running) > options.Value.Policy.MaxConcurrentCommands)
        {
            Interlocked.Decrement(ref _running);
            return null;
        }

        return new Slot(this);
    }

    private static EdgeCommandException Denied(string command, string rule) =>
        new(EdgeErrorCodes.Denied, $"Command '{command}' was refused by the agent's policy: {rule}.");

    private sealed class Slot(AgentPolicyFilter owner) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                Interlocked.Decrement(ref owner._running);
            }
        }
    }
}
