using System.Globalization;
using EdgeAgent.ControlPlane.Endpoint;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeAgent.ControlPlane.Security;

/// <summary>
/// Global admission control for agent handshakes: one token bucket for the whole control plane
/// (<see cref="EdgeControlPlaneOptions.MaxHandshakesPerSecond"/>, a burst of one second's worth),
/// checked before any credential, store or WebSocket work. When a fleet reconnects at once (a
/// control-plane restart), the attempts beyond the handshake capacity are refused cheaply with
/// HTTP 503 and <c>Retry-After</c> instead of queueing in the kernel and timing out.
/// </summary>
/// <remarks>
/// <para>
/// <c>Retry-After</c> tracks the demand being refused: every refusal is given the next free
/// return slot, one slot per token (<c>1 / rate</c> apart), starting when the bucket next holds a
/// token. The first second's worth of refusals is told 1 s, the next second's worth 2 s, and so
/// on, so a refused herd comes back at about the admission rate instead of all in the next second
/// (and instead of each agent guessing the size of the herd). The slots only shape the hint:
/// tokens still go to whoever asks first. Slots that nobody uses expire with time (the next slot
/// is never earlier than now), and no agent is told more than <see cref="MaxRetryAfter"/>; beyond
/// that every refusal is told the maximum and the agents' own jitter spreads them.
/// </para>
/// <para>
/// Refusals are logged at most once per second, with the number refused since the last message.
/// </para>
/// </remarks>
internal sealed partial class HandshakeAdmissionLimiter : IHandshakeGate
{
    /// <summary>The longest <c>Retry-After</c> handed out (the agents' default backoff cap).</summary>
    internal static readonly TimeSpan MaxRetryAfter = TimeSpan.FromSeconds(60);

    private static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(1);
    private readonly object _gate = new();
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly double _rate;
    private readonly double _burst;
    private double _tokens;
    private long _refilledAt;
    private double _nextSlot; // seconds since _origin: when the next refused attempt is told to come back
    private readonly long _origin;
    private long _loggedAt;
    private long _refusedSinceLog;

    public HandshakeAdmissionLimiter(IOptions<EdgeControlPlaneOptions> options, TimeProvider time, ILogger<HandshakeAdmissionLimiter> logger)
    {
        _time = time;
        _logger = logger;
        _rate = Math.Max(0, options.Value.MaxHandshakesPerSecond);
        _burst = Math.Max(1, Math.Ceiling(_rate));
        _tokens = _burst;
        _refilledAt = time.GetTimestamp();
        _origin = _refilledAt;
        _loggedAt = _refilledAt - (long)(LogInterval.TotalSeconds * time.TimestampFrequency);
    }

    public ValueTask<bool> AllowAsync(HttpContext context)
    {
        if (_rate <= 0)
        {
            return ValueTask.FromResult(true);
        }

        int retryAfterSeconds;
        long refused = 0;
        lock (_gate)
        {
            var now = _time.GetTimestamp();
            _tokens = Math.Min(_burst, _tokens + (_time.GetElapsedTime(_refilledAt, now).TotalSeconds * _rate));
            _refilledAt = now;
            if (_tokens >= 1)
            {
                _tokens -= 1;
                return ValueTask.FromResult(true);
            }

            retryAfterSeconds = NextReturnSlot(now);
            _refusedSinceLog++;
            if (_time.GetElapsedTime(_loggedAt, now) >= LogInterval)
            {
                refused = _refusedSinceLog;
                _refusedSinceLog = 0;
                _loggedAt = now;
            }
        }

        if (refused > 0)
        {
            HandshakesShed(_logger, refused, _rate, retryAfterSeconds);
        }

        context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        context.Response.Headers.RetryAfter = retryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        return ValueTask.FromResult(false);
    }

    /// <summary>
    /// Hands out the next return slot: never before the bucket next holds a token, one token's
    /// time after the previous slot, at most <see cref="MaxRetryAfter"/> ahead. Caller holds the lock.
    /// </summary>
    private int NextReturnSlot(long now)
    {
        var nowSeconds = _time.GetElapsedTime(_origin, now).TotalSeconds;
        var max = MaxRetryAfter.TotalSeconds;
        var slot = Math.Min(Math.Max(_nextSlot, nowSeconds + ((1 - _tokens) / _rate)), nowSeconds + max);
        _nextSlot = slot + (1 / _rate);
        return (int)Math.Clamp(Math.Ceiling(slot - nowSeconds - 1e-9), 1, max);
    }

    [LoggerMessage(3020, LogLevel.Warning, "Refused {Count} agent connection attempts with 503: more than {Rate} handshakes per second (EdgeControlPlane:MaxHandshakesPerSecond); Retry-After {RetryAfterSeconds} s")]
    private static partial void HandshakesShed(ILogger logger, long count, double rate, int retryAfterSeconds);
}
