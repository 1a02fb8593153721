using System.Security.Cryptography;
using EdgeAgent.ControlPlane.Internal;
using EdgeAgent.ControlPlane.Registry;
using EdgeAgent.Protocol;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeAgent.ControlPlane.Agents;

/// <summary>Why a credential was refused.</summary>
internal enum CredentialCheck
{
    Valid,
    Malformed,
    UnknownAgent,
    WrongSecret,
    Revoked,
}

/// <summary>Enrollment, rotation, revocation and credential verification.</summary>
internal sealed class AgentEnrollment(
    IEdgeAgentStore store,
    AgentRegistry registry,
    IEdgeAuditSink audit,
    IOptions<EdgeControlPlaneOptions> options,
    TimeProvider time,
    ILogger<AgentEnrollment> logger) : IEdgeAgentEnrollment
{
    private const string DefaultConnectPath = "/agent/connect";
    private const string ConnectPathVariable = "EdgeAgent__ConnectPath";
    private const string InsecureTransportVariable = "EdgeAgent__AllowInsecureTransport";

    private readonly SemaphoreSlim[] _recordGates = [.. Enumerable.Range(0, 64).Select(_ => new SemaphoreSlim(1, 1))];

    public async Task<EdgeAgentEnrollment> EnrollAsync(EnrollAgentRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var id = request.Id ?? "agent-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(5)).ToLowerInvariant();
        if (!AgentIds.IsValid(id))
        {
            throw new ArgumentException("An agent id must be 1-64 letters, digits, '-' or '_', starting with a letter or digit.", nameof(request));
        }

        var secret = AgentSecrets.NewSecret();
        var record = new EdgeAgentRecord
        {
            Id = id,
            Name = request.Name,
            Labels = request.Labels is null ? new Dictionary<string, string>() : new Dictionary<string, string>(request.Labels),
            CreatedAt = time.GetUtcNow(),
            SecretHash = AgentSecrets.Hash(secret),
        };
        if (!await store.TryAddAsync(record, cancellationToken))
        {
            throw new InvalidOperationException($"An agent with id '{id}' is already enrolled.");
        }

        ControlPlaneLog.AgentEnrolled(logger, id);
        await audit.RecordAsync(AuditEvents.Enrolled, id, null, cancellationToken);
        return CreateEnrollment(id, secret);
    }

    public async Task<EdgeAgentEnrollment> RotateSecretAsync(string agentId, CancellationToken cancellationToken = default)
    {
        var secret = AgentSecrets.NewSecret();
        var gate = RecordGate(agentId);
        await gate.WaitAsync(cancellationToken);
        try
        {
            var record = await store.GetAsync(agentId, cancellationToken) ?? throw new KeyNotFoundException($"No agent '{agentId}' is enrolled.");
            if (record.RevokedAt is not null)
            {
                throw new InvalidOperationException($"Agent '{agentId}' is revoked; enroll a new agent instead.");
            }

            await store.UpdateAsync(record with
            {
                SecretHash = AgentSecrets.Hash(secret),
                PreviousSecretHash = record.SecretHash,
                PreviousSecretExpiresAt = time.GetUtcNow() + options.Value.RotationOverlap,
            }, cancellationToken);
        }
        finally
        {
            gate.Release();
        }

        ControlPlaneLog.SecretRotated(logger, agentId, options.Value.RotationOverlap.TotalMinutes);
        await audit.RecordAsync(AuditEvents.Rotated, agentId, null, cancellationToken);
        return CreateEnrollment(agentId, secret);
    }

    public async Task RevokeAsync(string agentId, CancellationToken cancellationToken = default)
    {
        var gate = RecordGate(agentId);
        await gate.WaitAsync(cancellationToken);
        try
        {
            var record = await store.GetAsync(agentId, cancellationToken) ?? throw new KeyNotFoundException($"No agent '{agentId}' is enrolled.");
            if (record.RevokedAt is null)
            {
                await store.UpdateAsync(record with { RevokedAt = time.GetUtcNow(), PreviousSecretHash = null, PreviousSecretExpiresAt = null }, cancellationToken);
            }
        }
        finally
        {
            gate.Release();
        }

        // Marked before the live session is closed: a handshake that passed the credential check
        // before the revocation and registers after it is refused by the registry (Attach).
        registry.MarkRevoked(agentId);
        ControlPlaneLog.AgentRevoked(logger, agentId);
        await registry.CloseSessionAsync(agentId, ProtocolErrorCode.Revoked, "The agent's credential was revoked.");
        await audit.RecordAsync(AuditEvents.Revoked, agentId, null, cancellationToken);
    }

    /// <summary>
    /// Stores the time of a successful connection. Read and written under the agent's record gate,
    /// like every change of a record here: a whole-record write from a stale read would undo a
    /// revocation or a rotation made in between.
    /// </summary>
    internal async Task RecordConnectedAsync(string agentId)
    {
        var gate = RecordGate(agentId);
        await gate.WaitAsync(CancellationToken.None);
        try
        {
            if (await store.GetAsync(agentId, CancellationToken.None) is { } latest)
            {
                await store.UpdateAsync(latest with { LastConnectedAt = time.GetUtcNow() }, CancellationToken.None);
            }
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>One of a fixed set of gates, chosen by the agent id: read-modify-writes of one record never interleave.</summary>
    private SemaphoreSlim RecordGate(string agentId) => _recordGates[(uint)StringComparer.Ordinal.GetHashCode(agentId) % (uint)_recordGates.Length];

    /// <summary>Checks a presented credential against the stored hashes (constant-time comparisons).</summary>
    public async Task<(CredentialCheck Result, EdgeAgentRecord? Record)> VerifyAsync(string agentId, string secret, CancellationToken cancellationToken)
    {
        var record = await store.GetAsync(agentId, cancellationToken);
        if (record is null)
        {
            // Spend the same hashing work as a known agent, so timing does not reveal which ids exist.
            AgentSecrets.Matches(secret, "sha256:0000000000000000000000000000000000000000000000000000000000000000");
            return (CredentialCheck.UnknownAgent, null);
        }

        if (record.RevokedAt is not null)
        {
            return (CredentialCheck.Revoked, record);
        }

        var current = AgentSecrets.Matches(secret, record.SecretHash);
        var previous = record.PreviousSecretExpiresAt > time.GetUtcNow() && AgentSecrets.Matches(secret, record.PreviousSecretHash);
        return (current || previous ? CredentialCheck.Valid : CredentialCheck.WrongSecret, record);
    }

    private EdgeAgentEnrollment CreateEnrollment(string agentId, string secret)
    {
        var value = options.Value;
        var url = string.IsNullOrWhiteSpace(value.PublicUrl) ? "https://<control-plane-host>" : value.PublicUrl.TrimEnd('/');
        var token = $"{agentId}.{secret}";
        var environment = new Dictionary<string, string>
        {
            ["CONTROL_PLANE_URL"] = url,
            ["AGENT_TOKEN"] = token,
        };
        var extra = "";
        if (value.ConnectPath != DefaultConnectPath)
        {
            // The agent's own default is the same path: only a different one needs saying.
            environment[ConnectPathVariable] = value.ConnectPath;
            extra += $" -e {ConnectPathVariable}={value.ConnectPath}";
        }

        if (url.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || url.StartsWith("ws://", StringComparison.OrdinalIgnoreCase))
        {
            // The control plane's operator chose an unencrypted URL (development): without this the
            // agent refuses it at start. The agent logs a warning on every connection.
            environment[InsecureTransportVariable] = "true";
            extra += $" -e {InsecureTransportVariable}=true";
        }

        var run = $"docker run -d --name edgeagent --restart always -v /var/run/docker.sock:/var/run/docker.sock -v edgeagent-state:/var/lib/edgeagent -e CONTROL_PLANE_URL={url} -e AGENT_TOKEN={token}{extra} {value.AgentImage}";
        return new EdgeAgentEnrollment { AgentId = agentId, Token = token, Environment = environment, DockerRunCommand = run };
    }
}
