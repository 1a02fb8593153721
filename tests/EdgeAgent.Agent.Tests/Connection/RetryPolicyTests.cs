using EdgeAgent.Agent;

namespace EdgeAgent.Agent.Tests.Connection;

public sealed class RetryPolicyTests
{
    private static readonly TimeSpan Initial = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Max = TimeSpan.FromSeconds(60);

    [Fact]
    public void Delays_are_full_jitter_between_zero_and_the_exponential_ceiling_and_respect_the_cap()
    {
        var policy = new ExponentialBackoffRetryPolicy(Initial, Max, new Random(42));
        for (var attempt = 0; attempt < 20; attempt++)
        {
            var ceiling = policy.Ceiling(attempt);
            ceiling.Should().Be(TimeSpan.FromTicks(Math.Min(Max.Ticks, Initial.Ticks << Math.Min(attempt, 20))));
            var samples = Enumerable.Range(0, 2000).Select(_ => policy.NextRetryDelay(new EdgeRetryContext { PreviousRetryCount = attempt })!.Value).ToArray();
            samples.Should().OnlyContain(d => d >= TimeSpan.Zero && d <= ceiling && d <= Max);

            // Full jitter: uniform over [0, ceiling] — the mean is near half the ceiling and the
            // samples reach both ends of the range (plain exponential backoff would sit at the ceiling).
            var mean = samples.Average(d => d.TotalMilliseconds);
            mean.Should().BeApproximately(ceiling.TotalMilliseconds / 2, ceiling.TotalMilliseconds * 0.05);
            samples.Min().Should().BeLessThan(ceiling * 0.05);
            samples.Max().Should().BeGreaterThan(ceiling * 0.95);
        }
    }

    [Fact]
    public void A_refused_credential_waits_the_full_cap_and_retry_after_is_honoured()
    {
        var policy = new ExponentialBackoffRetryPolicy(Initial, Max, new Random(1));
        policy.NextRetryDelay(new EdgeRetryContext { CredentialRejected = true }).Should().Be(Max);
        var delay = policy.NextRetryDelay(new EdgeRetryContext { ServerRequestedDelay = TimeSpan.FromSeconds(30) })!.Value;
        delay.Should().BeGreaterThanOrEqualTo(TimeSpan.FromSeconds(30)).And.BeLessThanOrEqualTo(TimeSpan.FromSeconds(60));
    }

    [Fact]
    public void A_herd_refused_with_the_same_retry_after_is_spread_over_a_window_as_wide_as_the_requested_delay()
    {
        // 2,000 agents shed together with Retry-After: 30 right after they lost their connection
        // (retry 0, ceiling 1 s). Honoured exactly, they would all return in the same second.
        var policy = new ExponentialBackoffRetryPolicy(Initial, Max, new Random(7));
        var requested = TimeSpan.FromSeconds(30);
        var delays = Enumerable.Range(0, 2000)
            .Select(_ => policy.NextRetryDelay(new EdgeRetryContext { ServerRequestedDelay = requested })!.Value)
            .ToArray();

        delays.Should().OnlyContain(d => d >= requested && d <= requested * 2, "never earlier than asked, never more than a window beyond it");
        var busiestSecond = delays.GroupBy(d => (int)d.TotalSeconds).Max(g => g.Count());
        busiestSecond.Should().BeLessThan(150, "about 1/30 of the herd returns in each second of the window");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    [InlineData(10)]
    public void A_short_retry_after_is_a_floor_under_the_jittered_delay_and_the_window_stays_capped(int retries)
    {
        var policy = new ExponentialBackoffRetryPolicy(Initial, Max, new Random(3));
        var requested = TimeSpan.FromSeconds(1);
        var ceiling = policy.Ceiling(retries);
        var delays = Enumerable.Range(0, 2000)
            .Select(_ => policy.NextRetryDelay(new EdgeRetryContext { PreviousRetryCount = retries, ServerRequestedDelay = requested })!.Value)
            .ToArray();

        delays.Should().OnlyContain(d => d >= requested && d <= requested + ceiling && d <= requested + Max);
        delays.Max().Should().BeGreaterThan(ceiling * 0.9, "the spread follows the backoff window, not just the base delay");
    }

    [Fact]
    public void Invalid_bounds_are_refused()
    {
        FluentActions.Invoking(() => new ExponentialBackoffRetryPolicy(TimeSpan.Zero, Max)).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => new ExponentialBackoffRetryPolicy(Max, Initial)).Should().Throw<ArgumentOutOfRangeException>();
    }
}
