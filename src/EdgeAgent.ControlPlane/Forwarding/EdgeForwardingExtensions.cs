using System.Buffers;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using EdgeAgent.Protocol;
using EdgeAgent.Protocol.Contracts.Forwarding;

namespace EdgeAgent.ControlPlane;

/// <summary>
/// TCP forwarding through an agent's tunnel: open a stream to a target on the agent's side (an
/// SSH server, a container's port, the Docker API), or run a local listener that forwards every
/// connection, so standard clients (ssh, curl, the docker CLI) work unchanged. Every open is a
/// command (<c>forward.tcp</c>, <c>forward.docker</c>): authorized and audited like any other, and
/// checked by the agent's own policy (<c>Policy:ForwardingAllowlist</c>, <c>Policy:DockerApiPassthrough</c>).
/// </summary>
public static class EdgeForwardingExtensions
{
    /// <summary>
    /// Opens a TCP connection from the agent to <paramref name="host"/>:<paramref name="port"/> and
    /// returns it as a stream. <see cref="EdgeTunnelStream.CompleteWritesAsync"/> half-closes it (the
    /// target reads end-of-stream); <see cref="EdgeTunnelStream.Abort"/> resets it.
    /// </summary>
    /// <param name="agent">The agent.</param>
    /// <param name="host">The target as the agent sees it: an IP address or a host name it resolves.</param>
    /// <param name="port">The target port.</param>
    /// <param name="cancellationToken">Cancels the open.</param>
    /// <returns>The connected stream.</returns>
    /// <exception cref="EdgeCommandException">
    /// <c>denied</c> when the agent's allowlist or the control plane's authorization refuses the target;
    /// <c>unavailable</c> when the agent cannot connect (the message carries the socket error) or is not connected.
    /// </exception>
    public static async Task<EdgeTunnelStream> OpenTcpStreamAsync(this IEdgeAgent agent, string host, int port, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(agent);
        ArgumentException.ThrowIfNullOrWhiteSpace(host);
        ArgumentOutOfRangeException.ThrowIfLessThan(port, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        var stream = await agent.OpenStreamAsync(EdgeForwardingCommands.Tcp, new TcpForwardRequest { Host = host, Port = port }, cancellationToken: cancellationToken);
        return AsTunnelStream(stream);
    }

    /// <summary>
    /// Opens a raw connection to the agent's Docker Engine API (HTTP/1.1), when the agent's
    /// <c>Policy:DockerApiPassthrough</c> is ReadOnly (GET and HEAD only) or Full.
    /// </summary>
    /// <param name="agent">The agent.</param>
    /// <param name="cancellationToken">Cancels the open.</param>
    /// <returns>The connected stream.</returns>
    /// <exception cref="EdgeCommandException"><c>denied</c> when passthrough is Off; <c>unavailable</c> when the engine does not answer.</exception>
    public static async Task<EdgeTunnelStream> OpenDockerApiStreamAsync(this IEdgeAgent agent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(agent);
        var stream = await agent.OpenStreamAsync(EdgeForwardingCommands.DockerApi, new DockerApiForwardRequest(), cancellationToken: cancellationToken);
        return AsTunnelStream(stream);
    }

    /// <summary>
    /// Listens on <paramref name="localEndPoint"/> (default <c>127.0.0.1:0</c>, a free loopback port)
    /// and forwards every accepted connection to <paramref name="host"/>:<paramref name="port"/> on the
    /// agent's side, with half-close and reset passed on both ways. A connection whose open fails
    /// is reset; <see cref="EdgeTcpListener.LastError"/> says why.
    /// </summary>
    /// <param name="agent">The agent.</param>
    /// <param name="host">The target as the agent sees it.</param>
    /// <param name="port">The target port.</param>
    /// <param name="localEndPoint">Where to listen; default 127.0.0.1 on a free port.</param>
    /// <param name="cancellationToken">Cancels starting.</param>
    /// <returns>The running listener; dispose it to stop accepting and close its connections.</returns>
    public static Task<EdgeTcpListener> StartTcpListenerAsync(this IEdgeAgent agent, string host, int port, IPEndPoint? localEndPoint = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(agent);
        ArgumentException.ThrowIfNullOrWhiteSpace(host);
        ArgumentOutOfRangeException.ThrowIfLessThan(port, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        cancellationToken.ThrowIfCancellationRequested();
        var listener = EdgeTcpListener.Start(
            ct => agent.OpenTcpStreamAsync(host, port, ct),
            localEndPoint,
            failureResponse: null);
        return Task.FromResult(listener);
    }

    /// <summary>
    /// Listens on <paramref name="localEndPoint"/> (default <c>127.0.0.1:0</c>) and forwards every
    /// connection to the agent's Docker Engine API, so that <c>docker -H tcp://127.0.0.1:PORT …</c>
    /// works. When an open fails (passthrough Off, engine down), the client gets an HTTP error whose
    /// JSON <c>message</c> the docker CLI prints.
    /// </summary>
    /// <param name="agent">The agent.</param>
    /// <param name="localEndPoint">Where to listen; default 127.0.0.1 on a free port.</param>
    /// <param name="cancellationToken">Cancels starting.</param>
    /// <returns>The running listener; dispose it to stop accepting and close its connections.</returns>
    public static Task<EdgeTcpListener> StartDockerApiListenerAsync(this IEdgeAgent agent, IPEndPoint? localEndPoint = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(agent);
        cancellationToken.ThrowIfCancellationRequested();
        var listener = EdgeTcpListener.Start(
            agent.OpenDockerApiStreamAsync,
            localEndPoint,
            HttpErrorResponse);
        return Task.FromResult(listener);
    }

    private static EdgeTunnelStream AsTunnelStream(Stream stream)
    {
        if (stream is EdgeTunnelStream tunnel)
        {
            return tunnel;
        }

        stream.Dispose();
        throw new InvalidOperationException($"The agent handle returned a {stream.GetType().Name}; forwarding needs the {nameof(EdgeTunnelStream)} of a tunnel session.");
    }

    /// <summary>An HTTP/1.1 error response in the Docker Engine API's shape, for a passthrough that could not open.</summary>
    internal static byte[] HttpErrorResponse(Exception failure)
    {
        var (status, reason) = failure is EdgeCommandException { Code: EdgeErrorCodes.Denied } ? (403, "Forbidden") : (502, "Bad Gateway");
        var message = failure is EdgeCommandException ? failure.Message : "The Docker API passthrough could not be opened.";
        var body = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(body))
        {
            writer.WriteStartObject();
            writer.WriteString("message", message);
            writer.WriteEndObject();
        }

        var json = body.WrittenSpan.ToArray();
        var head = Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {json.Length}\r\nConnection: close\r\n\r\n"));
        return [.. head, .. json];
    }
}
