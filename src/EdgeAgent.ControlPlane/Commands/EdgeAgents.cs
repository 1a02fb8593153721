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
            return new EdgeAgentHandle(agentId, registry, gate, options.Value.DefaultCommandTimeout, time, caller, maxMessageSize: options.Value.MaxMessageSize);
        }
    }

    public IEdgeAgents As(ClaimsPrincipal caller)
    {
        ArgumentNullException.ThrowIfNull(caller);
        return new EdgeAgents(registry, gate, options, time, caller);
    }

    /// <summary>A handle whose commands are authorized and audited as <paramref name="caller"/> (null: the control plane itself), with its own timeout.</summary>
    internal IEdgeAgent For(ClaimsPrincipal? caller, string agentId, TimeSpan timeout) =>
        new EdgeAgentHandle(agentId, registry, gate, timeout, time, caller, maxMessageSize: options.Value.MaxMessageSize);

    /// <summary>A handle the control plane itself uses (stack reconciliation): audited as <c>system</c>, not authorized again.</summary>
    internal IEdgeAgent System(string agentId, TimeSpan? timeout = null) =>
        new EdgeAgentHandle(agentId, registry, gate, timeout ?? options.Value.DefaultCommandTimeout, time, null, trusted: true, maxMessageSize: options.Value.MaxMessageSize);
}

/// <summary>A handle to one agent, resolving its live session at each call.</summary>
internal sealed class EdgeAgentHandle(string agentId, AgentRegistry registry, CommandGate gate, TimeSpan defaultTimeout, TimeProvider time, ClaimsPrincipal? caller, bool trusted = false, int maxMessageSize = RpcMessages.DefaultMaxMessageSize) : IEdgeAgent
{
    public string Id => agentId;

    public bool IsConnected => registry.IsConnected(agentId);

    /// <summary>The agent's live session, resolved at each call.</summary>
    /// <exception cref="EdgeAgentNotConnectedException">The agent has no live session.</exception>
    private Protocol.Session.TunnelSession Session() =>
        registry.GetSession(agentId) ?? throw new EdgeAgentNotConnectedException(agentId);

    /// <summary>How a call goes out: its key, the caller's timeout or the default, this handle's message limit.</summary>
    private RpcCallOptions CallOptions(string command, string idempotencyKey, EdgeCommandOptions? options) =>
        RpcCallOptions.For(command, idempotencyKey, options, defaultTimeout, maxMessageSize);

    public async Task<TResponse> InvokeAsync<TRequest, TResponse>(string command, TRequest request, EdgeCommandOptions? options = null, CancellationToken cancellationToken = default)
    {
        var payload = ContractSerializer.Serialize(request);
        var invocation = await gate.BeginAsync(caller, agentId, command, payload, options, trusted, cancellationToken);
        try
        {
            var result = await RpcClient.InvokeAsync(Session(), CallOptions(command, invocation.IdempotencyKey, options), payload, time, cancellationToken);
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
        IAsyncEnumerator<ReadOnlyMemory<byte>>? items = null;
        try
        {
            while (true)
            {
                // Every failure is the command's outcome in the audit: the agent not connected, the
                // stream failing, or an item that does not deserialize.
                TItem item;
                try
                {
                    items ??= RpcClient.StreamAsync(Session(), CallOptions(command, options?.IdempotencyKey ?? "", options), payload, time, cancellationToken).GetAsyncEnumerator(cancellationToken);
                    if (!await items.MoveNextAsync())
                    {
                        break;
                    }

                    item = ContractSerializer.DeserializeResponse<TItem>(items.Current, command);
                }
                catch (Exception ex)
                {
                    failure = ex;
                    throw;
                }

                yield return item;
            }
        }
        finally
        {
            if (items is not null)
            {
                await items.DisposeAsync();
            }

            await invocation.CompleteAsync(failure);
        }
    }

    public async Task<Stream> OpenStreamAsync<TRequest>(string command, TRequest request, EdgeCommandOptions? options = null, CancellationToken cancellationToken = default)
    {
        var payload = ContractSerializer.Serialize(request);
        var invocation = await gate.BeginAsync(caller, agentId, command, payload, options, trusted, cancellationToken);
        try
        {
            var channel = await RpcClient.OpenDuplexAsync(Session(), CallOptions(command, options?.IdempotencyKey ?? "", options), payload, time, cancellationToken);
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

    /// <summary>
    /// Authorizes the command (unless <paramref name="trusted"/>) and starts its audit. Completes
    /// synchronously when every authorizer does (always when no policy is configured).
    /// </summary>
    public ValueTask<Invocation> BeginAsync(ClaimsPrincipal? caller, string agentId, string command, byte[] payload, EdgeCommandOptions? options, bool trusted, CancellationToken cancellationToken)
    {
        var invocation = new Invocation(
            this,
            caller?.Identity?.Name ?? (caller is null ? "system" : "anonymous"),
            agentId,
            command,
            Digest(payload),
            options?.IdempotencyKey ?? IdempotencyKeys.New(),
            time.GetTimestamp());
        var authorizers = trusted ? [] : _authorizers;
        for (var i = 0; i < authorizers.Length; i++)
        {
            var decision = authorizers[i].AuthorizeAsync(caller, agentId, command, cancellationToken);
            if (!decision.IsCompletedSuccessfully)
            {
                return AuthorizeSlowAsync(authorizers, i, decision, caller, invocation, cancellationToken);
            }

            if (decision.Result is { } denial)
            {
                return new ValueTask<Invocation>(DenyAsync(invocation, denial));
            }
        }

        return new ValueTask<Invocation>(invocation);
    }

    /// <summary>
    /// Authorizes a command without sending it (a change recorded now and applied later): a denial
    /// is audited and thrown as it is for a command; an allowed call leaves no record of its own.
    /// </summary>
    public async ValueTask AuthorizeAsync(ClaimsPrincipal? caller, string agentId, string command, byte[] payload, CancellationToken cancellationToken) =>
        _ = await BeginAsync(caller, agentId, command, payload, options: null, trusted: false, cancellationToken);

    private async ValueTask<Invocation> AuthorizeSlowAsync(ICommandAuthorizer[] authorizers, int index, ValueTask<string?> pending, ClaimsPrincipal? caller, Invocation invocation, CancellationToken cancellationToken)
    {
        for (var i = index; i < authorizers.Length; i++)
        {
            var denial = i == index ? await pending : await authorizers[i].AuthorizeAsync(caller, invocation.AgentId, invocation.Command, cancellationToken);
            if (denial is not null)
            {
                return await DenyAsync(invocation, denial);
            }
        }

        return invocation;
    }

    private async Task<Invocation> DenyAsync(Invocation invocation, string denial)
    {
        metrics.Command(invocation.Command, EdgeErrorCodes.Denied, TimeSpan.Zero);
        await audit.RecordAsync(new EdgeAuditRecord
        {
            Timestamp = time.GetUtcNow(), Event = AuditEvents.Denied, Caller = invocation.Caller, AgentId = invocation.AgentId, Command = invocation.Command,
            ArgumentsDigest = invocation.Digest, IdempotencyKey = invocation.IdempotencyKey, Outcome = EdgeErrorCodes.Denied, Detail = denial,
        }, CancellationToken.None);
        throw new EdgeCommandException(EdgeErrorCodes.Denied, $"Command '{invocation.Command}' on agent '{invocation.AgentId}' was denied: {denial}");
    }

    /// <summary>The first 128 bits of the SHA-256 of the arguments, as 32 lower-case hex digits.</summary>
    internal static string Digest(ReadOnlySpan<byte> payload)
    {
        Span<byte> hash = stackalloc byte[System.Security.Cryptography.SHA256.HashSizeInBytes];
        System.Security.Cryptography.SHA256.HashData(payload, hash);
        return Convert.ToHexStringLower(hash[..16]);
    }

    /// <summary>One command between authorization and its audit record.</summary>
    internal readonly struct Invocation(CommandGate gate, string caller, string agentId, string command, string digest, string key, long started)
    {
        public string IdempotencyKey => key;

        public string Caller => caller;

        public string AgentId => agentId;

        public string Command => command;

        public string Digest => digest;

        public Task CompleteAsync(Exception? failure)
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
            return gate.Audit.RecordAsync(new EdgeAuditRecord
            {
                Timestamp = gate.Now, Event = AuditEvents.Command, Caller = caller, AgentId = agentId, Command = command,
                ArgumentsDigest = digest, IdempotencyKey = key, Outcome = outcome, DurationMs = elapsed.TotalMilliseconds,
            }, CancellationToken.None);
        }
    }

    private DateTimeOffset Now => time.GetUtcNow();

    private IEdgeAuditSink Audit => audit;

    private ControlPlaneMetrics Metrics => metrics;

    private TimeSpan Elapsed(long started) => time.GetElapsedTime(started);
}

/// <summary>Decides whether a caller may run a command on an agent; returns a reason to deny, or null.</summary>
internal interface ICommandAuthorizer
{
    ValueTask<string?> AuthorizeAsync(ClaimsPrincipal? caller, string agentId, string command, CancellationToken cancellationToken);
}
