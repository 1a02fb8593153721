using System.Net;
using System.Net.Sockets;
using EdgeAgent.Protocol;
using EdgeAgent.Protocol.Contracts.Forwarding;
using EdgeAgent.Protocol.Forwarding;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeAgent.Agent.Forwarding;

/// <summary>
/// <c>forward.tcp</c>: connects to a target that <c>Policy:ForwardingAllowlist</c> allows and joins
/// the connection to the command's stream, with half-close and reset passed on both ways.
/// </summary>
internal sealed class TcpForwardHandler(IOptions<EdgeAgentOptions> options, TimeProvider time, ILogger<TcpForwardHandler> logger)
    : EdgeDuplexCommandHandler<TcpForwardRequest>
{
    internal static readonly TimeSpan DefaultConnectTimeout = TimeSpan.FromSeconds(10);

    public override string Name => EdgeForwardingCommands.Tcp;

    public override string Group => EdgeCommandGroups.Forwarding;

    public override async ValueTask HandleAsync(TcpForwardRequest request, EdgeCommandContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var host = request.Host?.Trim() ?? "";
        if (host.Length == 0 || host.Length > 255 || request.Port is < 1 or > 65535 || request.ConnectTimeoutMs < 0)
        {
            throw new EdgeCommandException(EdgeErrorCodes.InvalidArgument, "forward.tcp needs a host (at most 255 characters), a port from 1 to 65535 and a connect timeout of at least 0 ms.");
        }

        var target = FormatTarget(host, request.Port);
        var allowlist = ForwardingAllowlist.Parse(options.Value.Policy.ForwardingAllowlist, out _);
        IReadOnlyList<IPAddress> addresses;
        try
        {
            addresses = await allowlist.AuthorizeAsync(host, request.Port, Dns.GetHostAddressesAsync, context.CancellationToken);
        }
        catch (SocketException ex)
        {
            throw new EdgeCommandException(EdgeErrorCodes.Unavailable, $"Could not resolve {target}: {ex.SocketErrorCode}.");
        }

        if (addresses.Count == 0)
        {
            ForwardingLog.TcpForwardDenied(logger, target);
            throw new EdgeCommandException(EdgeErrorCodes.Denied, $"Forwarding to {target} is not allowed by Policy:ForwardingAllowlist ({allowlist.Description}).");
        }

        var timeout = request.ConnectTimeoutMs > 0 ? TimeSpan.FromMilliseconds(request.ConnectTimeoutMs) : DefaultConnectTimeout;
        var socket = await ConnectAsync(addresses, request.Port, target, timeout, time, context.CancellationToken);
        ForwardingLog.TcpForwardOpened(logger, target, socket.RemoteEndPoint?.ToString() ?? "");
        try
        {
            await context.Call.AcceptAsync();
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        // From here the stream lives as long as both sides keep it open: the command's deadline
        // applied to connecting only, and the channel's reset ends it.
        var outcome = await SocketChannelPump.RunAsync(context.Channel, socket, ProtocolErrorCode.Refused, "The target");
        ForwardingLog.TcpForwardClosed(logger, target, outcome);
    }

    internal static string FormatTarget(string host, int port) =>
        host.Contains(':', StringComparison.Ordinal) && !host.StartsWith('[') ? $"[{host}]:{port}" : $"{host}:{port}";

    /// <summary>Connects to the first address that answers; all failures become <c>unavailable</c> with the socket error.</summary>
    internal static async Task<Socket> ConnectAsync(IReadOnlyList<IPAddress> addresses, int port, string target, TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        using var deadline = new CancellationTokenSource(timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        SocketException? last = null;
        foreach (var address in addresses)
        {
            var endPoint = new IPEndPoint(address, port);
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(endPoint, linked.Token);
                return socket;
            }
            catch (SocketException ex)
            {
                socket.Dispose();
                last = ex;
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                socket.Dispose();
                throw new EdgeCommandException(EdgeErrorCodes.Unavailable, $"Could not connect to {target} ({endPoint}) within {timeout.TotalSeconds:0.###} s.");
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        throw new EdgeCommandException(EdgeErrorCodes.Unavailable, $"Could not connect to {target}: {last?.SocketErrorCode} ({last?.Message}).");
    }
}
