namespace EdgeAgent.Protocol.Session;

/// <summary>
/// The <see cref="EdgeTunnelStream"/> over one <see cref="TunnelChannel"/>; the name stays for the
/// code that creates channel streams (duplex commands on both sides).
/// </summary>
internal sealed class ChannelStream(TunnelChannel channel) : EdgeTunnelStream(channel);
