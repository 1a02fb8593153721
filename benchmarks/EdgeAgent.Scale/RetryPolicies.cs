using System.Net.Sockets;
using System.Net.WebSockets;
using EdgeAgent.Agent;

namespace EdgeAgent.Scale;

/// <summary>
/// Plain exponential backoff of the same base and cap as the SDK's
/// <see cref="ExponentialBackoffRetryPolicy"/>: <c>min(max, initial × 2^attempt)</c> where the SDK
/// draws uniformly from <c>[0, that]</c>, and a server-requested delay (<c>Retry-After</c>) honoured
/// as a floor, exactly — what a plain client that respects <c>Retry-After</c> does; a refused
/// credential waits the cap in both. It escalates on every failed attempt, sheds included (the
/// SDK's policy does not escalate on a shed: that, like the jitter, is part of what is compared).
/// The control plane is the same for both: its spread <c>Retry-After</c> values reach this policy
/// too. Only here to show what the SDK's policy buys.
/// </summary>
public sealed class PlainExponentialRetryPolicy(TimeSpan initial, TimeSpan max) : IEdgeRetryPolicy
{
    public TimeSpan? NextRetryDelay(EdgeRetryContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.CredentialRejected)
        {
            return max;
        }

        var ticks = Math.Min((double)max.Ticks, initial.Ticks * Math.Pow(2, Math.Clamp(context.PreviousRetryCount, 0, 30)));
        var delay = TimeSpan.FromTicks((long)ticks);
        return context.ServerRequestedDelay is { } requested && requested > delay ? requested : delay;
    }
}

/// <summary>Counts what the agents of this process did, across every agent.</summary>
internal static class AgentCounters
{
    public static long Attempts;
    public static long Refused;
    public static long Timeouts;
    public static long Throttled;
    public static long Rejected;
    public static long Handshake;
    public static long Other;

    public static void Reset()
    {
        Interlocked.Exchange(ref Attempts, 0);
        Interlocked.Exchange(ref Refused, 0);
        Interlocked.Exchange(ref Timeouts, 0);
        Interlocked.Exchange(ref Throttled, 0);
        Interlocked.Exchange(ref Rejected, 0);
        Interlocked.Exchange(ref Handshake, 0);
        Interlocked.Exchange(ref Other, 0);
    }

    public static string Format() =>
        $"attempts={Interlocked.Read(ref Attempts)} refused={Interlocked.Read(ref Refused)} timeouts={Interlocked.Read(ref Timeouts)} throttled={Interlocked.Read(ref Throttled)} rejected={Interlocked.Read(ref Rejected)} handshake={Interlocked.Read(ref Handshake)} other={Interlocked.Read(ref Other)}";
}

/// <summary>
/// The policy every agent of the process uses: full jitter (the SDK's
/// <see cref="ExponentialBackoffRetryPolicy"/>) or plain exponential, switched by the
/// coordinator between storms. Every call is one more connection attempt; its reason is
/// counted as a refusal of some kind.
/// </summary>
internal sealed class SwitchableRetryPolicy(TimeSpan initial, TimeSpan max) : IEdgeRetryPolicy
{
    private readonly ExponentialBackoffRetryPolicy _jitter = new(initial, max);
    private readonly PlainExponentialRetryPolicy _plain = new(initial, max);

    public static volatile bool UsePlain;

    public TimeSpan? NextRetryDelay(EdgeRetryContext context)
    {
        Interlocked.Increment(ref AgentCounters.Attempts);
        switch (context.RetryReason)
        {
            case null:
                break; // the session ended; the next attempt is a reconnect, not a refusal
            case TimeoutException:
                Interlocked.Increment(ref AgentCounters.Timeouts);
                break;
            case { } when context.CredentialRejected:
                Interlocked.Increment(ref AgentCounters.Rejected);
                break;
            case { } when context.ServerRequestedDelay is not null:
                Interlocked.Increment(ref AgentCounters.Throttled); // shed by admission control: 503/429 + Retry-After
                break;
            case WebSocketException { InnerException: HttpRequestException { InnerException: SocketException } }:
            case WebSocketException { InnerException: SocketException }:
            case HttpRequestException:
                Interlocked.Increment(ref AgentCounters.Refused);
                break;
            case EdgeAgent.Protocol.ProtocolException:
                Interlocked.Increment(ref AgentCounters.Handshake);
                break;
            default:
                Interlocked.Increment(ref AgentCounters.Other);
                break;
        }

        return UsePlain ? _plain.NextRetryDelay(context) : _jitter.NextRetryDelay(context);
    }
}
