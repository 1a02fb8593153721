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

        time.Advance(TimeSpan.FromSeconds(4));
        (await limiter.AllowAsync(new DefaultHttpContext())).Should().BeTrue();
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
