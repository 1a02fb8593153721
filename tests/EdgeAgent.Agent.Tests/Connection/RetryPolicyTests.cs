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
        delay.Should().BeGreaterThanOrEqualTo(TimeSpan.FromSeconds(30)).And.BeLessThanOrEqualTo(TimeSpan.FromSeconds(31));
    }

    [Fact]
    public void Invalid_bounds_are_refused()
    {
        FluentActions.Invoking(() => new ExponentialBackoffRetryPolicy(TimeSpan.Zero, Max)).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => new ExponentialBackoffRetryPolicy(Max, Initial)).Should().Throw<ArgumentOutOfRangeException>();
    }
}
