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
/// <remarks>
/// One bucket per address that tried recently. The partitioned limiter removes and disposes a
/// bucket once it has been full (unused) for 10 s, on its own 100 ms heartbeat, which also refills
/// the buckets: they do not run a timer each (<c>AutoReplenishment = false</c>), so an address
/// costs one small object for about <c>burst / rate + 10 s</c> after its last attempt.
/// An IPv6 address counts by its /64 prefix (what one host or site usually holds, so a peer cannot
/// get a fresh bucket per address), and the buckets are bounded: while
/// <see cref="DefaultMaxTrackedAddresses"/> are alive, attempts from every address share one overflow
/// bucket until idle buckets have been removed.
/// </remarks>
internal sealed class HandshakeRateLimiter : IHandshakeGate, IDisposable
{
    /// <summary>The most per-address buckets kept at once (a few hundred bytes each).</summary>
    internal const int DefaultMaxTrackedAddresses = 65_536;

    private const string OverflowKey = "(address flood)";

    private readonly PartitionedRateLimiter<string>? _limiter;
    private readonly ILogger _logger;
    private readonly int _retryAfterSeconds;
    private readonly int _maxTrackedAddresses;
    private int _buckets;

    /// <summary>Per-address buckets alive now (created and not yet removed as idle).</summary>
    internal int Buckets => Volatile.Read(ref _buckets);

    public HandshakeRateLimiter(IOptions<EdgeControlPlaneOptions> options, ILogger<HandshakeRateLimiter> logger)
        : this(options, logger, DefaultMaxTrackedAddresses)
    {
    }

    internal HandshakeRateLimiter(IOptions<EdgeControlPlaneOptions> options, ILogger<HandshakeRateLimiter> logger, int maxTrackedAddresses)
    {
        _logger = logger;
        _maxTrackedAddresses = maxTrackedAddresses;
        var value = options.Value;
        if (value.HandshakesPerSecondPerAddress <= 0)
        {
            return;
        }

        _retryAfterSeconds = Math.Max(1, (int)Math.Ceiling(1 / value.HandshakesPerSecondPerAddress));
        var bucket = new TokenBucketRateLimiterOptions
        {
            TokenLimit = Math.Max(1, value.HandshakeBurstPerAddress),
            TokensPerPeriod = Math.Max(1, (int)Math.Ceiling(value.HandshakesPerSecondPerAddress)),
            ReplenishmentPeriod = TimeSpan.FromSeconds(Math.Max(1, Math.Ceiling(value.HandshakesPerSecondPerAddress)) / value.HandshakesPerSecondPerAddress),
            QueueLimit = 0,
            AutoReplenishment = false,
        };
        _limiter = PartitionedRateLimiter.Create<string, string>(address => RateLimitPartition.Get(address, _ =>
        {
            Interlocked.Increment(ref _buckets);
            return new CountedBucket(new TokenBucketRateLimiter(bucket), this);
        }));
    }

    public ValueTask<bool> AllowAsync(HttpContext context)
    {
        if (_limiter is null)
        {
            return ValueTask.FromResult(true);
        }

        var address = PartitionKey(context.Connection.RemoteIpAddress);
        var flood = Buckets >= _maxTrackedAddresses;
        using var lease = _limiter.AttemptAcquire(flood ? OverflowKey : address);
        if (lease.IsAcquired)
        {
            return ValueTask.FromResult(true);
        }

        ControlPlaneLog.ConnectionRefused(_logger, address, flood ? "too many connection attempts from too many addresses" : "too many connection attempts from this address");
        context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
        context.Response.Headers.RetryAfter = _retryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return ValueTask.FromResult(false);
    }

    public void Dispose() => _limiter?.Dispose();

    /// <summary>The bucket an address counts in: an IPv4 address itself, an IPv6 address its /64 prefix.</summary>
    internal static string PartitionKey(System.Net.IPAddress? address)
    {
        if (address is null)
        {
            return "unknown";
        }

        if (address.IsIPv4MappedToIPv6)
        {
            return address.MapToIPv4().ToString();
        }

        if (address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
        {
            return address.ToString();
        }

        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new System.Net.IPAddress(bytes) + "/64";
    }

    /// <summary>A token bucket that tells its owner when the partitioned limiter disposes it.</summary>
    private sealed class CountedBucket(TokenBucketRateLimiter inner, HandshakeRateLimiter owner) : ReplenishingRateLimiter
    {
        private int _disposed;

        public override bool IsAutoReplenishing => inner.IsAutoReplenishing;

        public override TimeSpan ReplenishmentPeriod => inner.ReplenishmentPeriod;

        public override TimeSpan? IdleDuration => inner.IdleDuration;

        public override bool TryReplenish() => inner.TryReplenish();

        public override RateLimiterStatistics? GetStatistics() => inner.GetStatistics();

        protected override RateLimitLease AttemptAcquireCore(int permitCount) => inner.AttemptAcquire(permitCount);

        protected override ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken) => inner.AcquireAsync(permitCount, cancellationToken);

        protected override void Dispose(bool disposing)
        {
            if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                inner.Dispose();
                Interlocked.Decrement(ref owner._buckets);
            }

            base.Dispose(disposing);
        }

        protected override async ValueTask DisposeAsyncCore()
        {
            Dispose(true);
            await base.DisposeAsyncCore();
        }
    }
}
