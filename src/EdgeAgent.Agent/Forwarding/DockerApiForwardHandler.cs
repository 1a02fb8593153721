using System.Net;
using System.Net.Sockets;
using EdgeAgent.Protocol;
using EdgeAgent.Protocol.Contracts.Forwarding;
using EdgeAgent.Protocol.Forwarding;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeAgent.Agent.Forwarding;

/// <summary>
/// <c>forward.docker</c>: a raw connection to the local Docker Engine API, as allowed by
/// <c>Policy:DockerApiPassthrough</c> (Off refuses; ReadOnly passes only GET and HEAD requests;
/// Full passes everything, which is root on the host).
/// </summary>
internal sealed class DockerApiForwardHandler(IOptions<EdgeAgentOptions> options, IOptions<DockerEngineOptions> engine, TimeProvider time, ILogger<DockerApiForwardHandler> logger)
    : EdgeDuplexCommandHandler<DockerApiForwardRequest>
{
    private const string DefaultEndpoint = "unix:///var/run/docker.sock";

    public override string Name => EdgeForwardingCommands.DockerApi;

    public override string Group => EdgeCommandGroups.Forwarding;

    /// <summary>The engine the passthrough reaches: the one the Docker operations use (<c>AddDocker</c>), else the agent's <see cref="EdgeAgentOptions.DockerEndpoint"/>.</summary>
    internal string Endpoint => ResolveEndpoint(engine.Value.Endpoint ?? options.Value.DockerEndpoint);

    public override async ValueTask HandleAsync(DockerApiForwardRequest request, EdgeCommandContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var value = options.Value;
        var mode = value.Policy.DockerApiPassthrough;
        if (mode == DockerApiPassthrough.Off)
        {
            ForwardingLog.DockerPassthroughDenied(logger);
            throw new EdgeCommandException(EdgeErrorCodes.Denied, "Docker API passthrough is disabled on this agent (Policy:DockerApiPassthrough=Off); set it to ReadOnly or Full to allow it.");
        }

        if (request.ConnectTimeoutMs < 0)
        {
            throw new EdgeCommandException(EdgeErrorCodes.InvalidArgument, "The connect timeout must be at least 0 ms.");
        }

        var endpoint = Endpoint;
        var timeout = request.ConnectTimeoutMs > 0 ? TimeSpan.FromMilliseconds(request.ConnectTimeoutMs) : TcpForwardHandler.DefaultConnectTimeout;
        var socket = await ConnectAsync(endpoint, timeout, context.CancellationToken);
        ForwardingLog.DockerPassthroughOpened(logger, mode, endpoint);
        try
        {
            await context.Call.AcceptAsync();
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        ChannelInputFilter? filter = mode == DockerApiPassthrough.ReadOnly ? new ReadOnlyDockerApiFilter(logger).RunAsync : null;
        var outcome = await SocketChannelPump.RunAsync(context.Channel, socket, ProtocolErrorCode.Refused, "The Docker engine", filter);
        ForwardingLog.DockerPassthroughClosed(logger, outcome);
    }

    /// <summary>The engine endpoint: the option, else <c>DOCKER_HOST</c>, else the local Unix socket.</summary>
    internal static string ResolveEndpoint(string? configured) =>
        !string.IsNullOrWhiteSpace(configured) ? configured
        : Environment.GetEnvironmentVariable("DOCKER_HOST") is { Length: > 0 } host ? host
        : DefaultEndpoint;

    private async Task<Socket> ConnectAsync(string endpoint, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri))
        {
            throw new EdgeCommandException(EdgeErrorCodes.Unavailable, $"The Docker endpoint '{endpoint}' is not a URL such as unix:///var/run/docker.sock or tcp://127.0.0.1:2375.");
        }

        switch (uri.Scheme)
        {
            case "unix":
                return await ConnectUnixAsync(uri.LocalPath, timeout, cancellationToken);
            case "tcp" or "http" when uri.Port > 0:
                var addresses = IPAddress.TryParse(uri.Host.Trim('[', ']'), out var address) ? [address] : await Dns.GetHostAddressesAsync(uri.Host, cancellationToken);
                var socket = await TcpForwardHandler.ConnectAsync(addresses, uri.Port, $"the Docker engine at {uri.Host}:{uri.Port}", timeout, time, cancellationToken);
                return socket;
            default:
                throw new EdgeCommandException(EdgeErrorCodes.Unavailable, $"Docker API passthrough supports unix:// and tcp:// engine endpoints (plain HTTP); '{uri.Scheme}://' is not supported.");
        }
    }

    private async Task<Socket> ConnectUnixAsync(string path, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = new CancellationTokenSource(timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), linked.Token);
            return socket;
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            throw new EdgeCommandException(EdgeErrorCodes.Unavailable, $"Could not connect to the Docker engine at unix://{path}: {ex.SocketErrorCode} ({ex.Message}).");
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            socket.Dispose();
            throw new EdgeCommandException(EdgeErrorCodes.Unavailable, $"Could not connect to the Docker engine at unix://{path} within {timeout.TotalSeconds:0.###} s.");
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
