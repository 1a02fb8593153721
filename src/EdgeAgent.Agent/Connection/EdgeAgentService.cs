using System.Net;
using System.Net.Security;
using System.Net.WebSockets;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using EdgeAgent.Agent.Internal;
using EdgeAgent.Protocol;
using EdgeAgent.Protocol.Contracts;
using EdgeAgent.Protocol.Frames;
using EdgeAgent.Protocol.Rpc;
using EdgeAgent.Protocol.Session;
using EdgeAgent.Protocol.Transports;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeAgent.Agent.Connection;

/// <summary>
/// The agent's outbound connector: connects to the control plane, authenticates in the upgrade
/// request, runs the tunnel session with the command dispatcher, and reconnects forever with
/// the retry policy (exponential backoff with full jitter by default).
/// </summary>
internal sealed partial class EdgeAgentService : BackgroundService, IEdgeAgentConnection
{
    private readonly EdgeAgentOptions _options;
    private readonly AgentCommandRegistry _commands;
    private readonly IEdgeRetryPolicy _retryPolicy;
    private readonly IEnumerable<IAgentSessionObserver> _observers;
    private readonly IEngineVersionProvider _engine;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ILoggerFactory _loggers;
    private readonly object _gate = new();
    private TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private EdgeAgentState _state = EdgeAgentState.Connecting;
    private DateTimeOffset? _connectedSince;
    private TunnelSession? _session;
    private string? _lastError;
    private bool _credentialRejected;
    private string? _certificateProblem;

    public EdgeAgentService(
        IOptions<EdgeAgentOptions> options,
        AgentCommandRegistry commands,
        IEdgeRetryPolicy retryPolicy,
        IEnumerable<IAgentSessionObserver> observers,
        IEngineVersionProvider engine,
        TimeProvider time,
        ILoggerFactory loggers)
    {
        _options = options.Value;
        _commands = commands;
        _retryPolicy = retryPolicy;
        _observers = observers;
        _engine = engine;
        _time = time;
        _loggers = loggers;
        _logger = loggers.CreateLogger("EdgeAgent.Agent");
    }

    public EdgeAgentState State
    {
        get
        {
            lock (_gate)
            {
                return _state;
            }
        }
    }

    public DateTimeOffset? ConnectedSince
    {
        get
        {
            lock (_gate)
            {
                return _connectedSince;
            }
        }
    }

    public bool CredentialRejected => Volatile.Read(ref _credentialRejected);

    public string? LastError => Volatile.Read(ref _lastError);

    /// <summary>The live session, when connected (for agent → control plane calls).</summary>
    internal TunnelSession? Session => Volatile.Read(ref _session);

    public event EventHandler<EdgeAgentStateChangedEventArgs>? StateChanged;

    public Task WaitUntilConnectedAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return _connected.Task.WaitAsync(cancellationToken);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var credential = AgentCredential.TryCreate(_options.AgentId, _options.Token, out var error)
            ?? throw new OptionsValidationException(nameof(EdgeAgentOptions), typeof(EdgeAgentOptions), [error!]);
        var endpoint = BuildEndpoint(_options);
        var retries = 0;
        var disconnectedAt = _time.GetUtcNow();
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                Exception? failure = null;
                var credentialRejected = false;
                TimeSpan? retryAfter = null;
                try
                {
                    var connectedFor = await RunConnectionAsync(endpoint, credential, stoppingToken);
                    if (connectedFor >= _options.StableConnectionThreshold)
                    {
                        retries = 0;
                    }

                    disconnectedAt = _time.GetUtcNow();
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    break;
                }
                catch (ConnectRefusedException ex)
                {
                    failure = ex;
                    credentialRejected = ex.CredentialRejected;
                    retryAfter = ex.RetryAfter;
                }
                catch (Exception ex) when (ex is WebSocketException or HttpRequestException or IOException or ProtocolException or OperationCanceledException or System.Security.Authentication.AuthenticationException or TimeoutException)
                {
                    failure = ex;
                }

                var delay = _retryPolicy.NextRetryDelay(new EdgeRetryContext
                {
                    PreviousRetryCount = retries,
                    ElapsedTime = _time.GetUtcNow() - disconnectedAt,
                    RetryReason = failure,
                    CredentialRejected = credentialRejected,
                    ServerRequestedDelay = retryAfter,
                });

                // The state moves first, then what says why (the error and its log entry), then the
                // flag: an observer that sees CredentialRejected must never still read Connected,
                // nor miss the error and the log entry behind it.
                SetState(delay is null ? EdgeAgentState.Stopped : EdgeAgentState.Reconnecting, failure is null ? "The connection closed." : Describe(failure));
                if (failure is not null)
                {
                    var message = Describe(failure);
                    Volatile.Write(ref _lastError, message);
                    if (credentialRejected)
                    {
                        AgentLog.CredentialRefused(_logger, credential.AgentId, endpoint.GetLeftPart(UriPartial.Authority));
                    }
                    else
                    {
                        AgentLog.ConnectFailed(_logger, endpoint.GetLeftPart(UriPartial.Authority), message);
                    }
                }

                Volatile.Write(ref _credentialRejected, credentialRejected);

                if (delay is null)
                {
                    AgentLog.RetryPolicyGaveUp(_logger, retries);
                    break;
                }

                retries++;
                AgentLog.Reconnecting(_logger, delay.Value.TotalSeconds, retries);
                await Task.Delay(delay.Value, _time, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            SetState(EdgeAgentState.Stopped, stoppingToken.IsCancellationRequested ? "The host is stopping." : "The agent ended unexpectedly; the host's log has the error.");
        }
    }

    /// <summary>One connection: connect, handshake, serve until it ends. Returns how long it was up.</summary>
    private async Task<TimeSpan> RunConnectionAsync(Uri endpoint, AgentCredential credential, CancellationToken stoppingToken)
    {
        if (endpoint.Scheme == "ws" || _options.AllowInsecureTransport)
        {
            AgentLog.InsecureTransport(_logger, endpoint.GetLeftPart(UriPartial.Authority));
        }

        using var socket = CreateSocket(credential);
        using var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        connectTimeout.CancelAfter(_options.ConnectTimeout);
        try
        {
            await socket.ConnectAsync(endpoint, connectTimeout.Token);
        }
        catch (WebSocketException ex) when (socket.HttpStatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
        {
            throw new ConnectRefusedException($"The control plane refused the agent's credential (HTTP {(int)socket.HttpStatusCode}).", ex, credentialRejected: true, null);
        }
        catch (WebSocketException ex) when (socket.HttpStatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable)
        {
            throw new ConnectRefusedException($"The control plane asked the agent to back off (HTTP {(int)socket.HttpStatusCode}).", ex, credentialRejected: false, RetryAfter(socket));
        }
        catch (WebSocketException ex) when (_certificateProblem is { } problem)
        {
            throw new System.Security.Authentication.AuthenticationException(problem, ex);
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            throw new TimeoutException($"Connecting to the control plane took longer than {_options.ConnectTimeout.TotalSeconds:0.#} s.");
        }

        var transport = new WebSocketTransport(socket, TimeSpan.FromSeconds(5), _loggers.CreateLogger("EdgeAgent.Transport"));
        var pumping = transport.RunAsync(CancellationToken.None);
        TunnelSession? session = null;
        try
        {
            var request = new HandshakeRequest(0, 0, credential.AgentId, await GetInfoAsync(connectTimeout.Token), ["commands", "streams", "duplex"], default);
            var sessionOptions = new SessionOptions
            {
                KeepaliveInterval = _options.KeepaliveInterval,
                MaxFrameSize = _options.MaxFrameSize,
                InitialWindow = _options.ChannelWindow,
                ConnectionWindow = _options.ConnectionWindow,
                MaxChannels = _options.MaxConcurrentChannels,
                HandshakeTimeout = _options.ConnectTimeout,
                CloseTimeout = _options.ShutdownTimeout,
            };
            try
            {
                (session, _) = await TunnelSession.ConnectAsync(transport, request, sessionOptions, _commands.Dispatcher.HandleChannelAsync, _time, _loggers.CreateLogger("EdgeAgent.Session"), connectTimeout.Token);
            }
            catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
            {
                // The connect timeout also bounds the handshake: say so, not "operation canceled".
                throw new ProtocolException(ProtocolErrorCode.HandshakeFailed, $"The control plane did not complete the handshake within {_options.ConnectTimeout.TotalSeconds:0.#} s.");
            }
            var since = _time.GetUtcNow();
            lock (_gate)
            {
                _connectedSince = since;
                _session = session;
            }

            // A refusal before this connection (say, an agent started before it was enrolled) no
            // longer holds: a connected agent never reports its credential rejected.
            Volatile.Write(ref _lastError, null);
            Volatile.Write(ref _credentialRejected, false);
            SetState(EdgeAgentState.Connected, null);
            AgentLog.Connected(_logger, endpoint.GetLeftPart(UriPartial.Authority), credential.AgentId);
            foreach (var observer in _observers)
            {
                observer.OnConnected(session);
            }

            var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            await using (stoppingToken.Register(() => stopped.TrySetResult()))
            {
                var first = await Task.WhenAny(session.Completion, stopped.Task);
                if (first == stopped.Task)
                {
                    // Graceful stop: go-away, let running commands finish up to the deadline.
                    await session.CloseAsync(ProtocolErrorCode.Shutdown, "The agent is stopping.", _options.ShutdownTimeout);
                }
            }

            var close = await session.Completion;
            if (!close.ClosedLocally)
            {
                AgentLog.Disconnected(_logger, close.Code, close.Reason);
                if (close.Code is ProtocolErrorCode.Revoked)
                {
                    throw new ConnectRefusedException($"The control plane closed the session: {close.Reason}", null, credentialRejected: true, null);
                }
            }

            stoppingToken.ThrowIfCancellationRequested();
            return _time.GetUtcNow() - since;
        }
        finally
        {
            lock (_gate)
            {
                _connectedSince = null;
                _session = null;
            }

            // The session is over: say so now, not after closing the transport, which against a
            // dead peer takes up to the close timeout. (Stopping ends in Stopped instead.)
            if (session is { Completion.IsCompleted: true } && !stoppingToken.IsCancellationRequested)
            {
                var ended = session.Completion.Result;
                SetState(EdgeAgentState.Reconnecting, $"{ended.Code}: {ended.Reason}");
            }

            foreach (var observer in _observers)
            {
                observer.OnDisconnected();
            }

            if (session is not null)
            {
                await session.DisposeAsync();
            }
            else
            {
                await transport.Output.CompleteAsync();
                await transport.Input.CompleteAsync();
            }

            await pumping.WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None).ContinueWith(static _ => { }, TaskScheduler.Default);
        }
    }

    private ClientWebSocket CreateSocket(AgentCredential credential)
    {
        var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", credential.AuthorizationHeader);
        socket.Options.KeepAliveInterval = TimeSpan.Zero; // the tunnel has its own keepalive
        socket.Options.CollectHttpResponseDetails = true;
        if (!string.IsNullOrWhiteSpace(_options.Proxy))
        {
            socket.Options.Proxy = new WebProxy(new Uri(_options.Proxy));
        }

        _certificateProblem = null;
        socket.Options.RemoteCertificateValidationCallback = ValidateServerCertificate;
        return socket;
    }

    private bool ValidateServerCertificate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (_options.AllowInsecureTransport)
        {
            return true;
        }

        if (certificate is null)
        {
            _certificateProblem = "The control plane presented no TLS certificate.";
            return false;
        }

        using var leaf = new X509Certificate2(certificate);
        if (_options.ServerPublicKeyPins.Count > 0)
        {
            var pin = Convert.ToBase64String(SHA256.HashData(leaf.PublicKey.ExportSubjectPublicKeyInfo()));
            if (_options.ServerPublicKeyPins.Contains(pin, StringComparer.Ordinal))
            {
                return true;
            }

            _certificateProblem = "The control plane's TLS public key matches none of EdgeAgent:ServerPublicKeyPins.";
            return false;
        }

        if (errors == SslPolicyErrors.None)
        {
            return true;
        }

        if (errors == SslPolicyErrors.RemoteCertificateChainErrors && !string.IsNullOrEmpty(_options.TrustedCaCertificatesPath))
        {
            using var custom = new X509Chain();
            custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            custom.ChainPolicy.CustomTrustStore.ImportFromPemFile(_options.TrustedCaCertificatesPath);
            if (chain is not null)
            {
                foreach (var element in chain.ChainElements)
                {
                    custom.ChainPolicy.ExtraStore.Add(element.Certificate);
                }
            }

            if (custom.Build(leaf))
            {
                return true;
            }
        }

        _certificateProblem = $"The control plane's TLS certificate is not trusted ({errors}). Trust its CA with EdgeAgent:TrustedCaCertificatesPath or pin its key with EdgeAgent:ServerPublicKeyPins.";
        return false;
    }

    private Task<AgentInfo> GetInfoAsync(CancellationToken cancellationToken) => AgentInfoFactory.CreateAsync(_options, _engine, cancellationToken);

    internal static Uri BuildEndpoint(EdgeAgentOptions options)
    {
        var baseUri = new Uri(options.ControlPlaneUrl!, UriKind.Absolute);
        var scheme = baseUri.Scheme switch
        {
            "https" or "wss" => "wss",
            _ => "ws",
        };
        var builder = new UriBuilder(baseUri) { Scheme = scheme, Port = baseUri.IsDefaultPort ? -1 : baseUri.Port };
        builder.Path = builder.Path.TrimEnd('/') + "/" + options.ConnectPath.TrimStart('/');
        return builder.Uri;
    }

    private static TimeSpan? RetryAfter(ClientWebSocket socket)
    {
        if (socket.HttpResponseHeaders is { } headers && headers.TryGetValue("Retry-After", out var values) && int.TryParse(values.FirstOrDefault(), out var seconds))
        {
            return TimeSpan.FromSeconds(Math.Clamp(seconds, 0, 3600));
        }

        return null;
    }

    private static string Describe(Exception ex) => ex switch
    {
        ConnectRefusedException refused => refused.Message,
        System.Security.Authentication.AuthenticationException auth => auth.Message,
        ProtocolException protocol => $"{protocol.Code}: {protocol.Message}",
        _ => ex.InnerException is { } inner && ex is WebSocketException ? $"{ex.Message} ({inner.Message})" : ex.Message,
    };

    private void SetState(EdgeAgentState state, string? reason)
    {
        EdgeAgentState previous;
        lock (_gate)
        {
            previous = _state;
            if (previous == state)
            {
                return;
            }

            _state = state;
            if (previous is EdgeAgentState.Connected or EdgeAgentState.Stopped)
            {
                _connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            if (state == EdgeAgentState.Connected)
            {
                _connected.TrySetResult();
            }
            else if (state == EdgeAgentState.Stopped)
            {
                // Nothing will connect any more: waiters learn it instead of waiting for ever.
                _connected.TrySetException(new InvalidOperationException($"The agent has stopped and will not connect: {reason}"));
            }
        }

        // A handler that throws is logged; it neither stops the agent nor keeps the others from running.
        if (StateChanged is { } handlers)
        {
            Protocol.Internal.EventRaiser.Raise(
                handlers, this, new EdgeAgentStateChangedEventArgs(previous, state, reason), (Logger: _logger, Previous: previous, Current: state),
                static (ex, s) => AgentLog.StateHandlerFailed(s.Logger, s.Previous, s.Current, ex));
        }
    }

    private sealed class ConnectRefusedException(string message, Exception? inner, bool credentialRejected, TimeSpan? retryAfter) : Exception(message, inner)
    {
        public bool CredentialRejected { get; } = credentialRejected;

        public TimeSpan? RetryAfter { get; } = retryAfter;
    }
}

/// <summary>Told when the agent connects and disconnects (status snapshots, stack reconciliation).</summary>
internal interface IAgentSessionObserver
{
    void OnConnected(TunnelSession session);

    void OnDisconnected();
}

/// <summary>Reports the local engine's version for the handshake.</summary>
internal interface IEngineVersionProvider
{
    Task<string> GetEngineVersionAsync(CancellationToken cancellationToken);
}

/// <summary>Describes this agent for the handshake.</summary>
internal static class AgentInfoFactory
{
    public static string AgentVersion { get; } =
        typeof(AgentInfoFactory).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    public static async Task<AgentInfo> CreateAsync(EdgeAgentOptions options, IEngineVersionProvider engine, CancellationToken cancellationToken)
    {
        string engineVersion;
        try
        {
            engineVersion = await engine.GetEngineVersionAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            engineVersion = "";
        }

        return new AgentInfo
        {
            Hostname = Environment.MachineName,
            OperatingSystem = RuntimeInformation.OSDescription,
            Architecture = RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant(),
            AgentVersion = AgentVersion,
            EngineVersion = engineVersion,
            Labels = new Dictionary<string, string>(options.Labels, StringComparer.Ordinal),
        };
    }
}

/// <summary>Used when no Docker integration is registered.</summary>
internal sealed class NoEngineVersionProvider : IEngineVersionProvider
{
    public Task<string> GetEngineVersionAsync(CancellationToken cancellationToken) => Task.FromResult("");
}
