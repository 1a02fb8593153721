using MessagePack;

namespace EdgeAgent.Protocol.Contracts;

/// <summary>Sets how often the agent samples container resource usage (<c>agent.sampling</c>).</summary>
[MessagePackObject]
public sealed class SamplingIntervalRequest
{
    /// <summary>Seconds between samples; 0 turns sampling off.</summary>
    [Key(0)]
    public int IntervalSeconds { get; set; }
}
