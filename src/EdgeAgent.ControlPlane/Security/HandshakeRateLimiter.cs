using System.Threading.RateLimiting;
using EdgeAgent.ControlPlane.Endpoint;
using EdgeAgent.ControlPlane.Internal;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeAgent.ControlPlane.Security;

/// <summary>
/// Limits connection attempts per remote address (token bucket) before any credential work; a
/// refusal is HTTP 429 with <c>Retry-After</c>, which agents honour in their backoff.
/// </summary>
internal sealed class HandshakeRateLimiter : IHandshakeGate, IDisposable
{
    private readonly PartitionedRateLimiter<string>? _limiter;
    private readonly ILogger _logger;
    private readonly int _retryAfterSeconds;

    public HandshakeRateLimiter(IOptions<EdgeControlPlaneOptions> options, ILogger<HandshakeRateLimiter> logger)
    {
        _logger = logger;
        var value = options.Value;
        if (value.HandshakesPerSecondPerAddress <= 0)
        {
            return;
        }

        _retryAfterSeconds = Math.Max(1, (int)Math.Ceiling(1 / value.HandshakesPerSecondPerAddress));
        _limiter = PartitionedRateLimiter.Create<string, string>(address => RateLimitPartition.GetTokenBucketLimiter(address, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = Math.Max(1, value.HandshakeBurstPerAddress),
            TokensPerPeriod = Math.Max(1, (int)Math.Ceiling(value.HandshakesPerSecondPerAddress)),
            ReplenishmentPeriod = TimeSpan.FromSeconds(Math.Max(1, Math.Ceiling(value.HandshakesPerSecondPerAddress)) / value.HandshakesPerSecondPerAddress),
            QueueLimit = 0,
            AutoReplenishment = true,
        }));
    }

    public ValueTask<bool> AllowAsync(HttpContext context)
    {
        if (_limiter is null)
        {
            return ValueTask.FromResult(true);
        }

        var address = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        using var lease = _limiter.AttemptAcquire(address);
        if (lease.IsAcquired)
        {
            return ValueTask.FromResult(true);
        }

        ControlPlaneLog.ConnectionRefused(_logger, address, "too many connection attempts from this address");
        context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
        context.Response.Headers.RetryAfter = _retryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return ValueTask.FromResult(false);
    }

    public void Dispose() => _limiter?.Dispose();
}
