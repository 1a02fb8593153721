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
/// HTTP 503 and <c>Retry-After</c> instead of queueing in the kernel and timing out; the agents'
/// jittered backoff spreads the herd over the following seconds.
/// </summary>
/// <remarks>
/// <c>Retry-After</c> is the time until the bucket holds a token again, in whole seconds (at least
/// 1): the same value for every refused agent, so the agent must add its own jitter above it
/// (the default <c>ExponentialBackoffRetryPolicy</c> does). Refusals are logged at most once per
/// second, with the number refused since the last message.
/// </remarks>
internal sealed partial class HandshakeAdmissionLimiter : IHandshakeGate
{
    private static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(1);
    private readonly object _gate = new();
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly double _rate;
    private readonly double _burst;
    private double _tokens;
    private long _refilledAt;
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

            retryAfterSeconds = Math.Max(1, (int)Math.Ceiling((1 - _tokens) / _rate));
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

    [LoggerMessage(3020, LogLevel.Warning, "Refused {Count} agent connection attempts with 503: more than {Rate} handshakes per second (EdgeControlPlane:MaxHandshakesPerSecond); Retry-After {RetryAfterSeconds} s")]
    private static partial void HandshakesShed(ILogger logger, long count, double rate, int retryAfterSeconds);
}
