using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Security.Claims;
using EdgeAgent.ControlPlane.Internal;
using EdgeAgent.ControlPlane.Registry;
using EdgeAgent.Protocol;
using EdgeAgent.Protocol.Rpc;
using Microsoft.Extensions.Options;

namespace EdgeAgent.ControlPlane.Commands;

/// <summary>Resolves agent handles; commands go through the gate (authorization, audit, metrics).</summary>
internal sealed class EdgeAgents(AgentRegistry registry, CommandGate gate, IOptions<EdgeControlPlaneOptions> options, TimeProvider time, ClaimsPrincipal? caller = null) : IEdgeAgents
{
    public IEdgeAgent this[string agentId]
    {
        get
        {
            ArgumentException.ThrowIfNullOrEmpty(agentId);
            return new EdgeAgentHandle(agentId, registry, gate, options.Value.DefaultCommandTimeout, time, caller);
        }
    }

    public IEdgeAgents As(ClaimsPrincipal caller)
    {
        ArgumentNullException.ThrowIfNull(caller);
        return new EdgeAgents(registry, gate, options, time, caller);
    }

    /// <summary>A handle the control plane itself uses (stack reconciliation): audited as <c>system</c>, not authorized again.</summary>
    internal IEdgeAgent System(string agentId, TimeSpan? timeout = null) =>
        new EdgeAgentHandle(agentId, registry, gate, timeout ?? options.Value.DefaultCommandTimeout, time, null, trusted: true);
}

/// <summary>A handle to one agent, resolving its live session at each call.</summary>
internal sealed class EdgeAgentHandle(string agentId, AgentRegistry registry, CommandGate gate, TimeSpan defaultTimeout, TimeProvider time, ClaimsPrincipal? caller, bool trusted = false) : IEdgeAgent
{
    public string Id => agentId;

    public bool IsConnected => registry.IsConnected(agentId);

    /// <summary>The agent's live session, resolved at each call.</summary>
    /// <exception cref="EdgeAgentNotConnectedException">The agent has no live session.</exception>
    private SessionCommandInvoker Connect() =>
        new(registry.GetSession(agentId) ?? throw new EdgeAgentNotConnectedException(agentId), defaultTimeout, time);

    public async Task<TResponse> InvokeAsync<TRequest, TResponse>(string command, TRequest request, EdgeCommandOptions? options = null, CancellationToken cancellationToken = default)
    {
        var payload = ContractSerializer.Serialize(request);
        var invocation = await gate.BeginAsync(caller, agentId, command, payload, options, trusted, cancellationToken);
        try
        {
            var invoker = Connect();
            var session = invoker.Session;
            var call = invoker.CallOptions(command, (options ?? new EdgeCommandOptions()) with { IdempotencyKey = invocation.IdempotencyKey });
            var result = await RpcClient.InvokeAsync(session, call, payload, time, cancellationToken);
            var response = ContractSerializer.DeserializeResponse<TResponse>(result, command);
            await invocation.CompleteAsync(null);
            return response;
        }
        catch (Exception ex)
        {
            await invocation.CompleteAsync(ex);
            throw;
        }
    }

    public async IAsyncEnumerable<TItem> StreamAsync<TRequest, TItem>(string command, TRequest request, EdgeCommandOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var payload = ContractSerializer.Serialize(request);
        var invocation = await gate.BeginAsync(caller, agentId, command, payload, options, trusted, cancellationToken);
        Exception? failure = null;
        try
        {
            var invoker = Connect();
            var session = invoker.Session;
            await using var items = RpcClient.StreamAsync(session, invoker.CallOptions(command, options, keyed: false), payload, time, cancellationToken).GetAsyncEnumerator(cancellationToken);
            while (true)
            {
                try
                {
                    if (!await items.MoveNextAsync())
                    {
                        break;
                    }
                }
                catch (Exception ex)
                {
                    failure = ex;
                    throw;
                }

                yield return ContractSerializer.DeserializeResponse<TItem>(items.Current, command);
            }
        }
        finally
        {
            await invocation.CompleteAsync(failure);
        }
    }

    public async Task<Stream> OpenStreamAsync<TRequest>(string command, TRequest request, EdgeCommandOptions? options = null, CancellationToken cancellationToken = default)
    {
        var payload = ContractSerializer.Serialize(request);
        var invocation = await gate.BeginAsync(caller, agentId, command, payload, options, trusted, cancellationToken);
        try
        {
            var invoker = Connect();
            var session = invoker.Session;
            var channel = await RpcClient.OpenDuplexAsync(session, invoker.CallOptions(command, options, keyed: false), payload, time, cancellationToken);
            await invocation.CompleteAsync(null);
            return new Protocol.Session.ChannelStream(channel);
        }
        catch (Exception ex)
        {
            await invocation.CompleteAsync(ex);
            throw;
        }
    }
}

/// <summary>
/// Every command passes here before it is sent: authorization (a denied command never reaches
/// the agent), then audit and metrics when it completes.
/// </summary>
internal sealed class CommandGate(IEnumerable<ICommandAuthorizer> authorizers, IEdgeAuditSink audit, ControlPlaneMetrics metrics, TimeProvider time)
{
    private readonly ICommandAuthorizer[] _authorizers = [.. authorizers];

    public async Task<Invocation> BeginAsync(ClaimsPrincipal? caller, string agentId, string command, byte[] payload, EdgeCommandOptions? options, bool trusted, CancellationToken cancellationToken)
    {
        var key = options?.IdempotencyKey ?? Guid.NewGuid().ToString("N");
        var callerName = caller?.Identity?.Name ?? (caller is null ? "system" : "anonymous");
        var digest = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(payload))[..32].ToLowerInvariant();
        foreach (var authorizer in trusted ? [] : _authorizers)
        {
            if (await authorizer.AuthorizeAsync(caller, agentId, command, cancellationToken) is { } denial)
            {
                metrics.Command(command, EdgeErrorCodes.Denied, TimeSpan.Zero);
                await audit.RecordAsync(new EdgeAuditRecord
                {
                    Event = AuditEvents.Denied, Caller = callerName, AgentId = agentId, Command = command,
                    ArgumentsDigest = digest, IdempotencyKey = key, Outcome = EdgeErrorCodes.Denied, Detail = denial,
                }, CancellationToken.None);
                throw new EdgeCommandException(EdgeErrorCodes.Denied, $"Command '{command}' on agent '{agentId}' was denied: {denial}");
            }
        }

        return new Invocation(this, callerName, agentId, command, digest, key, time.GetTimestamp());
    }

    internal sealed class Invocation(CommandGate gate, string caller, string agentId, string command, string digest, string key, long started)
    {
        public string IdempotencyKey => key;

        public async Task CompleteAsync(Exception? failure)
        {
            var outcome = failure switch
            {
                null => "ok",
                EdgeCommandException command => command.Code,
                OperationCanceledException => EdgeErrorCodes.Cancelled,
                _ => EdgeErrorCodes.Internal,
            };
            var elapsed = gate.Elapsed(started);
            gate.Metrics.Command(command, outcome, elapsed);
            await gate.Audit.RecordAsync(new EdgeAuditRecord
            {
                Event = AuditEvents.Command, Caller = caller, AgentId = agentId, Command = command,
                ArgumentsDigest = digest, IdempotencyKey = key, Outcome = outcome, DurationMs = elapsed.TotalMilliseconds,
            }, CancellationToken.None);
        }
    }

    private IEdgeAuditSink Audit => audit;

    private ControlPlaneMetrics Metrics => metrics;

    private TimeSpan Elapsed(long started) => time.GetElapsedTime(started);
}

/// <summary>Decides whether a caller may run a command on an agent; returns a reason to deny, or null.</summary>
internal interface ICommandAuthorizer
{
    ValueTask<string?> AuthorizeAsync(ClaimsPrincipal? caller, string agentId, string command, CancellationToken cancellationToken);
}
