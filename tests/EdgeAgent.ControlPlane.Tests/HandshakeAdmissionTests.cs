using EdgeAgent.ControlPlane.Endpoint;
using EdgeAgent.ControlPlane.Hosting;
using EdgeAgent.ControlPlane.Security;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace EdgeAgent.ControlPlane.Tests;

public sealed class HandshakeAdmissionTests
{
    [Fact]
    public async Task A_burst_of_one_second_is_admitted_then_attempts_are_shed_with_503_and_retry_after()
    {
        var time = new FakeTimeProvider();
        var limiter = Create(time, perSecond: 100);

        for (var i = 0; i < 100; i++)
        {
            (await limiter.AllowAsync(new DefaultHttpContext())).Should().BeTrue($"attempt {i} is within the burst");
        }

        var refused = new DefaultHttpContext();
        (await limiter.AllowAsync(refused)).Should().BeFalse();
        refused.Response.StatusCode.Should().Be(StatusCodes.Status503ServiceUnavailable);
        refused.Response.Headers.RetryAfter.ToString().Should().Be("1");
    }

    [Fact]
    public async Task Tokens_come_back_at_the_configured_rate_and_never_beyond_the_burst()
    {
        var time = new FakeTimeProvider();
        var limiter = Create(time, perSecond: 100);
        await Drain(limiter);

        time.Advance(TimeSpan.FromMilliseconds(50)); // 5 tokens
        (await Admitted(limiter, 10)).Should().Be(5);

        time.Advance(TimeSpan.FromMinutes(5)); // refills to the burst, not to 30,000
        (await Admitted(limiter, 1000)).Should().Be(100);
    }

    [Fact]
    public async Task A_rate_below_one_per_second_asks_for_a_longer_retry_after()
    {
        var time = new FakeTimeProvider();
        var limiter = Create(time, perSecond: 0.25);
        (await limiter.AllowAsync(new DefaultHttpContext())).Should().BeTrue();

        var refused = new DefaultHttpContext();
        (await limiter.AllowAsync(refused)).Should().BeFalse();
        refused.Response.Headers.RetryAfter.ToString().Should().Be("4");
        (await RetryAfters(limiter, 1)).Should().Equal([8], "the next refusal gets the token after that");

        time.Advance(TimeSpan.FromSeconds(4));
        (await limiter.AllowAsync(new DefaultHttpContext())).Should().BeTrue();
    }

    /// <summary>
    /// Many addresses that tried once and went quiet do not stay: the partitioned limiter removes a
    /// bucket after it has been full for 10 s. That clock is the runtime's own (not a TimeProvider), so
    /// the test waits on the count with a generous deadline instead of advancing a fake clock.
    /// </summary>
    [Fact]
    public async Task Per_address_buckets_of_addresses_gone_quiet_are_removed()
    {
        using var limiter = new HandshakeRateLimiter(Options.Create(new EdgeControlPlaneOptions { HandshakesPerSecondPerAddress = 5, HandshakeBurstPerAddress = 50 }), NullLogger<HandshakeRateLimiter>.Instance);
        const int addresses = 2000;

        for (var i = 0; i < addresses; i++)
        {
            var context = new DefaultHttpContext();
            context.Connection.RemoteIpAddress = new System.Net.IPAddress([10, (byte)(i >> 16), (byte)(i >> 8), (byte)i]);
            (await limiter.AllowAsync(context)).Should().BeTrue();
        }

        limiter.Buckets.Should().Be(addresses, "each address has its own bucket while it is in use");

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (limiter.Buckets > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(250, TestContext.Current.CancellationToken);
        }

        limiter.Buckets.Should().Be(0, "a bucket refilled and unused for the idle limit is removed and disposed");
    }

    [Fact]
    public async Task While_the_tracked_addresses_are_at_their_bound_every_further_address_shares_one_bucket()
    {
        using var limiter = new HandshakeRateLimiter(Options.Create(new EdgeControlPlaneOptions { HandshakesPerSecondPerAddress = 0.01, HandshakeBurstPerAddress = 5 }), NullLogger<HandshakeRateLimiter>.Instance, maxTrackedAddresses: 100);
        async Task<bool> AttemptFrom(int i)
        {
            var context = new DefaultHttpContext();
            context.Connection.RemoteIpAddress = new System.Net.IPAddress([10, (byte)(i >> 16), (byte)(i >> 8), (byte)i]);
            return await limiter.AllowAsync(context);
        }

        for (var i = 0; i < 100; i++)
        {
            (await AttemptFrom(i)).Should().BeTrue();
        }

        // A flood of fresh addresses: they share one bucket (burst 5), so the first five pass and the rest are refused.
        var flood = new List<bool>();
        for (var i = 100; i < 1100; i++)
        {
            flood.Add(await AttemptFrom(i));
        }

        flood.Count(allowed => allowed).Should().Be(5);
        limiter.Buckets.Should().Be(101, "100 addresses plus the one shared bucket, however many addresses try");
    }

    [Theory]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:2:ffff:1:2:3", true)]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:3::1", false)]
    [InlineData("::ffff:192.0.2.7", "192.0.2.7", true)]
    [InlineData("192.0.2.7", "192.0.2.8", false)]
    public void IPv6_addresses_count_by_their_64_bit_prefix(string first, string second, bool shared)
    {
        var keys = (HandshakeRateLimiter.PartitionKey(System.Net.IPAddress.Parse(first)), HandshakeRateLimiter.PartitionKey(System.Net.IPAddress.Parse(second)));

        (keys.Item1 == keys.Item2).Should().Be(shared);
    }

    [Fact]
    public async Task A_per_address_bucket_is_refilled_by_the_limiters_heartbeat()
    {
        using var limiter = new HandshakeRateLimiter(Options.Create(new EdgeControlPlaneOptions { HandshakesPerSecondPerAddress = 5, HandshakeBurstPerAddress = 2 }), NullLogger<HandshakeRateLimiter>.Instance);
        var attempt = () =>
        {
            var context = new DefaultHttpContext();
            context.Connection.RemoteIpAddress = System.Net.IPAddress.Parse("192.0.2.7");
            return limiter.AllowAsync(context);
        };

        (await attempt()).Should().BeTrue();
        (await attempt()).Should().BeTrue();
        var refused = new DefaultHttpContext();
        refused.Connection.RemoteIpAddress = System.Net.IPAddress.Parse("192.0.2.7");
        (await limiter.AllowAsync(refused)).Should().BeFalse("the burst is spent");
        refused.Response.StatusCode.Should().Be(StatusCodes.Status429TooManyRequests);

        // No timer per bucket: the partitioned limiter's heartbeat refills it.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        var admitted = false;
        while (!admitted && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100, TestContext.Current.CancellationToken);
            admitted = await attempt();
        }

        admitted.Should().BeTrue("tokens come back after a replenishment period");
    }

    [Fact]
    public async Task A_refused_wave_is_told_to_come_back_at_the_admission_rate()
    {
        var time = new FakeTimeProvider();
        var limiter = Create(time, perSecond: 100);
        await Drain(limiter);

        // 1,000 refused at the same instant: 100 are told 1 s, 100 are told 2 s, ... 10 s.
        var retryAfters = await RetryAfters(limiter, 1000 - 1);
        retryAfters.Should().BeInAscendingOrder();
        retryAfters.GroupBy(r => r).Should().HaveCount(10).And.OnlyContain(g => g.Count() >= 99 && g.Count() <= 100);

        // Half a second later the slots already handed out still stand: the next refusal is told
        // to come after them (9.5 s from now), not 1 s.
        time.Advance(TimeSpan.FromMilliseconds(500));
        await Drain(limiter);
        (await RetryAfters(limiter, 1)).Should().Equal([10]);
    }

    [Fact]
    public async Task Slots_nobody_used_expire_with_time()
    {
        var time = new FakeTimeProvider();
        var limiter = Create(time, perSecond: 100);
        await Drain(limiter);
        (await RetryAfters(limiter, 499)).Max().Should().Be(5);

        time.Advance(TimeSpan.FromSeconds(30));
        (await Admitted(limiter, 100)).Should().Be(100, "the bucket refilled to its burst");
        (await RetryAfters(limiter, 1)).Should().Equal([1], "the old slots lie in the past");
    }

    [Fact]
    public async Task No_refusal_is_told_more_than_a_minute()
    {
        var time = new FakeTimeProvider();
        var limiter = Create(time, perSecond: 10);
        await Drain(limiter);

        var retryAfters = await RetryAfters(limiter, 2000);
        retryAfters.Max().Should().Be(60);
        retryAfters.Count(r => r == 60).Should().BeGreaterThan(2000 - 600, "beyond a minute of slots every refusal is told the maximum");
        retryAfters.Where(r => r < 60).GroupBy(r => r).Should().OnlyContain(g => g.Count() <= 10);
    }

    [Fact]
    public async Task Zero_disables_the_limit()
    {
        var limiter = Create(new FakeTimeProvider(), perSecond: 0);
        (await Admitted(limiter, 10_000)).Should().Be(10_000);
    }

    [Fact]
    public void The_limit_is_on_by_default_runs_after_the_per_address_limit_and_rejects_negative_values()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddEdgeControlPlane();
        using var provider = services.BuildServiceProvider();

        new EdgeControlPlaneOptions().MaxHandshakesPerSecond.Should().Be(250.0 * Environment.ProcessorCount);
        provider.GetServices<IHandshakeGate>().Select(g => g.GetType())
            .Should().Equal(typeof(HandshakeRateLimiter), typeof(HandshakeAdmissionLimiter));

        var validator = new EdgeControlPlaneOptionsValidator();
        validator.Validate(null, new EdgeControlPlaneOptions { MaxHandshakesPerSecond = -1 }).Failed.Should().BeTrue();
        validator.Validate(null, new EdgeControlPlaneOptions { MaxHandshakesPerSecond = double.NaN }).Failed.Should().BeTrue();
        validator.Validate(null, new EdgeControlPlaneOptions { MaxHandshakesPerSecond = 0 }).Succeeded.Should().BeTrue();
    }

    private static HandshakeAdmissionLimiter Create(TimeProvider time, double perSecond) =>
        new(Options.Create(new EdgeControlPlaneOptions { MaxHandshakesPerSecond = perSecond }), time, NullLogger<HandshakeAdmissionLimiter>.Instance);

    private static async Task Drain(HandshakeAdmissionLimiter limiter)
    {
        while (await limiter.AllowAsync(new DefaultHttpContext()))
        {
        }
    }

    private static async Task<List<int>> RetryAfters(HandshakeAdmissionLimiter limiter, int refusals)
    {
        var retryAfters = new List<int>();
        for (var i = 0; i < refusals; i++)
        {
            var context = new DefaultHttpContext();
            (await limiter.AllowAsync(context)).Should().BeFalse();
            context.Response.StatusCode.Should().Be(StatusCodes.Status503ServiceUnavailable);
            retryAfters.Add(int.Parse(context.Response.Headers.RetryAfter.ToString(), System.Globalization.CultureInfo.InvariantCulture));
        }

        return retryAfters;
    }

    private static async Task<int> Admitted(HandshakeAdmissionLimiter limiter, int attempts)
    {
        var admitted = 0;
        for (var i = 0; i < attempts; i++)
        {
            if (await limiter.AllowAsync(new DefaultHttpContext()))
            {
                admitted++;
            }
        }

        return admitted;
    }
}
