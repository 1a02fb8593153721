using System.IO.Pipelines;
using EdgeAgent.ControlPlane.Agents;
using EdgeAgent.ControlPlane.Internal;
using EdgeAgent.ControlPlane.Registry;
using EdgeAgent.Protocol;
using EdgeAgent.Protocol.Contracts;
using EdgeAgent.Protocol.Frames;
using EdgeAgent.Protocol.Rpc;
using EdgeAgent.Protocol.Session;
using EdgeAgent.Protocol.Transports;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeAgent.ControlPlane.Endpoint;

/// <summary>
/// The agent endpoint: authenticates the upgrade request (a bad credential costs no WebSocket),
/// accepts the WebSocket, runs the handshake and the session, and keeps the registry current.
/// </summary>
internal sealed class AgentEndpoint(
    AgentEnrollment credentials,
    AgentRegistry registry,
    ControlPlaneDispatcher dispatcher,
    IEdgeAuditSink audit,
    ControlPlaneMetrics metrics,
    IEnumerable<IHandshakeGate> gates,
    IOptions<EdgeControlPlaneOptions> options,
    TimeProvider time,
    ILoggerFactory loggers)
{
    private readonly ILogger _logger = loggers.CreateLogger("EdgeAgent.ControlPlane");

    public async Task HandleAsync(HttpContext context)
    {
        var remote = context.Connection.RemoteIpAddress?.ToString();
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsync("This endpoint accepts EdgeAgent WebSocket connections only.");
            return;
        }

        foreach (var gate in gates)
        {
            if (!await gate.AllowAsync(context))
            {
                metrics.Handshake("throttled");
                return;
            }
        }

        if (!AgentSecrets.TryParseAuthorization(context.Request.Headers.Authorization.ToString(), out var agentId, out var secret))
        {
            await RefuseAsync(context, null, remote, "missing or malformed Authorization header");
            return;
        }

        var (check, verified) = await credentials.VerifyAsync(agentId, secret, context.RequestAborted);
        if (check != CredentialCheck.Valid || verified is null)
        {
            var reason = check switch
            {
                CredentialCheck.UnknownAgent => "unknown agent",
                CredentialCheck.Revoked => "agent revoked",
                _ => "wrong or expired secret",
            };
            await RefuseAsync(context, agentId, remote, reason);
            return;
        }

        var value = options.Value;
        if (registry.ConnectedCount >= value.MaxConnectedAgents && registry.GetSession(agentId) is null)
        {
            metrics.Handshake("capacity");
            ControlPlaneLog.ConnectionRefused(_logger, remote, "the control plane is at its connected-agent limit");
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            context.Response.Headers.RetryAfter = "30";
            return;
        }

        using var socket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext { KeepAliveInterval = TimeSpan.Zero });
        var transport = new WebSocketTransport(socket, TimeSpan.FromSeconds(5), loggers.CreateLogger("EdgeAgent.Transport"));
        var pumping = transport.RunAsync(CancellationToken.None);
        var record = verified;
        verified = null; // not kept alive by this method for the session's lifetime
        try
        {
            await RunSessionAsync(transport, agentId, record, remote, context.RequestAborted);
        }
        finally
        {
            await pumping;
        }
    }

    /// <summary>Runs one session on any transport (the WebSocket endpoint and the integrated local agent).</summary>
    internal async Task RunSessionAsync(IDuplexPipe transport, string agentId, EdgeAgentRecord record, string? remote, CancellationToken cancellationToken)
    {
        var value = options.Value;
        var sessionOptions = new SessionOptions
        {
            KeepaliveInterval = value.KeepaliveInterval,
            HandshakeTimeout = value.HandshakeTimeout,
            MaxFrameSize = value.MaxFrameSize,
            InitialWindow = value.ChannelWindow,
            ConnectionWindow = value.ConnectionWindow,
            MaxChannels = value.MaxChannelsPerAgent,
            MaxPendingOpens = value.MaxPendingCommandsPerAgent,
        };

        TunnelSession session;
        AgentInfo? info = null;
        TunnelSession? attached = null;
        try
        {
            (session, _) = await TunnelSession.AcceptAsync(
                transport,
                sessionOptions,
                value.ServerName,
                r => string.Equals(r.AgentId, agentId, StringComparison.Ordinal)
                    ? null
                    : (ProtocolErrorCode.HandshakeFailed, "The handshake's agent id does not match the credential."),
                channel => dispatcher.HandleChannelAsync(agentId, channel),
                time,
                loggers.CreateLogger("EdgeAgent.Session"),
                cancellationToken,
                accepted: (s, r) =>
                {
                    // In the registry before the agent reads the answer: an agent that sees itself
                    // connected can be commanded at once.
                    info = FleetStrings.Shared.Share(r.Info);
                    registry.Attach(agentId, s, info, FleetStrings.Shared.Share(remote));
                    attached = s;
                });
        }
        catch (Exception ex) when (ex is ProtocolException or OperationCanceledException)
        {
            // The answer could not be sent after the session was registered: take it out again.
            if (attached is not null)
            {
                registry.Detach(agentId, attached, ex is ProtocolException p ? $"{p.Code}: {p.Message}" : "the handshake was cancelled");
            }

            if (ex is ProtocolException protocol)
            {
                metrics.Handshake("failed");
                ControlPlaneLog.HandshakeFailed(_logger, agentId, remote, protocol.Code, protocol.Message);
                await audit.RecordAsync(AuditEvents.HandshakeRefused, agentId, $"{protocol.Code} from {remote}", CancellationToken.None);
            }

            await transport.Output.CompleteAsync();
            return;
        }

        await using (session)
        {
            metrics.Handshake("accepted");
            if (record.LastConnectedAt is not null)
            {
                metrics.Reconnect();
            }

            ControlPlaneLog.AgentConnected(_logger, agentId, remote, info!.AgentVersion, info.EngineVersion);
            await RecordConnectedAsync(agentId);

            // The agent has its answer and the store its time: now tell the application (not
            // from inside the handshake, where a handler would delay or break the answer).
            registry.NotifyConnected(agentId, session);

            // This method waits for the whole session: drop the record, or its state machine keeps
            // the credential record alive per connected agent.
            record = null!;
            var close = await session.Completion;
            registry.Detach(agentId, session, $"{close.Code}: {close.Reason}");
            ControlPlaneLog.AgentDisconnected(_logger, agentId, close.Code, close.Reason);
        }
    }

    private async Task RecordConnectedAsync(string agentId)
    {
        try
        {
            await credentials.RecordConnectedAsync(agentId);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The session works without it; the durable last-connected time is best effort.
        }
    }

    private async Task RefuseAsync(HttpContext context, string? agentId, string? remote, string reason)
    {
        metrics.Handshake("unauthorized");
        ControlPlaneLog.HandshakeRefused(_logger, agentId ?? "(none)", remote, reason);
        await audit.RecordAsync(AuditEvents.HandshakeRefused, agentId, $"{reason} from {remote}", CancellationToken.None);
        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        context.Response.Headers.WWWAuthenticate = "Bearer error=\"invalid_token\"";
    }
}

/// <summary>Runs before authentication (rate limits); returns false after writing a refusal.</summary>
internal interface IHandshakeGate
{
    ValueTask<bool> AllowAsync(HttpContext context);
}

/// <summary>Commands agents send to the control plane (status snapshots).</summary>
internal sealed class ControlPlaneDispatcher(IEnumerable<IControlPlaneCommand> commands, TimeProvider time, ILoggerFactory loggers)
{
    private readonly Dictionary<string, IControlPlaneCommand> _commands = commands.ToDictionary(c => c.Name, StringComparer.Ordinal);
    private readonly ILogger _logger = loggers.CreateLogger("EdgeAgent.ControlPlane.Commands");

    public Task HandleChannelAsync(string agentId, TunnelChannel channel)
    {
        var dispatcher = new CommandDispatcher(
            name => _commands.TryGetValue(name, out var command) ? command.CreateInvoker(agentId) : null,
            null,
            null,
            time,
            _logger);
        return dispatcher.HandleChannelAsync(channel);
    }
}

/// <summary>A command the control plane answers for agents.</summary>
internal interface IControlPlaneCommand
{
    string Name { get; }

    CommandInvoker CreateInvoker(string agentId);
}
