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
        policy.NextRetryDelay(new EdgeRetryContext { CredentialRejected = true, PreviousRetryCount = 40, ServerRequestedDelay = TimeSpan.FromSeconds(1) })
            .Should().Be(Max, "a refused credential is the agent's failure and always waits the cap");
        var delay = policy.NextRetryDelay(new EdgeRetryContext { ServerRequestedDelay = TimeSpan.FromSeconds(30) })!.Value;
        delay.Should().BeGreaterThanOrEqualTo(TimeSpan.FromSeconds(30)).And.BeLessThanOrEqualTo(TimeSpan.FromSeconds(37.5));
    }

    [Fact]
    public void A_herd_refused_with_the_same_retry_after_is_spread_over_a_quarter_of_the_requested_delay()
    {
        // 2,000 agents shed together with Retry-After: 30 (the connected-agent limit's answer).
        // Honoured exactly, they would all return in the same second.
        var policy = new ExponentialBackoffRetryPolicy(Initial, Max, new Random(7));
        var requested = TimeSpan.FromSeconds(30);
        var delays = Enumerable.Range(0, 2000)
            .Select(_ => policy.NextRetryDelay(new EdgeRetryContext { ServerRequestedDelay = requested })!.Value)
            .ToArray();

        delays.Should().OnlyContain(d => d >= requested && d <= requested * 1.25, "never earlier than asked, at most a quarter beyond it");
        var perSecond = delays.GroupBy(d => (int)d.TotalSeconds).Select(g => g.Count()).ToArray();
        perSecond.Should().HaveCountGreaterThanOrEqualTo(7, "the herd covers the whole 7.5 s window");
        perSecond.Max().Should().BeLessThan(400, "about 2000 / 7.5 = 267 agents return in each second of the window");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    [InlineData(10)]
    public void A_shed_does_not_escalate_the_backoff(int retries)
    {
        // However often the agent failed before, a control plane that asks for 1 s gets it back
        // within 1-2 s: a shed is a schedule, not a failure of the agent.
        var policy = new ExponentialBackoffRetryPolicy(Initial, Max, new Random(3));
        var requested = TimeSpan.FromSeconds(1);
        var delays = Enumerable.Range(0, 2000)
            .Select(_ => policy.NextRetryDelay(new EdgeRetryContext { PreviousRetryCount = retries, ElapsedTime = TimeSpan.FromSeconds(20), ServerRequestedDelay = requested })!.Value)
            .ToArray();

        delays.Should().OnlyContain(d => d >= requested && d <= requested + Initial);
        delays.Max().Should().BeGreaterThan(requested + (Initial * 0.9), "the spread covers the whole window");
    }

    [Fact]
    public void After_the_cap_has_passed_disconnected_the_backoff_is_a_floor_under_a_short_retry_after_again()
    {
        // A server (or a proxy in front of it) that keeps answering "Retry-After: 1" for minutes is
        // not polled every 1-2 s for ever: once the agent has been disconnected for longer than the
        // cap, the larger of the server's delay and the jittered backoff wins.
        var policy = new ExponentialBackoffRetryPolicy(Initial, Max, new Random(5));
        var requested = TimeSpan.FromSeconds(1);
        var delays = Enumerable.Range(0, 2000)
            .Select(_ => policy.NextRetryDelay(new EdgeRetryContext { PreviousRetryCount = 10, ElapsedTime = TimeSpan.FromMinutes(2), ServerRequestedDelay = requested })!.Value)
            .ToArray();

        delays.Should().OnlyContain(d => d >= requested && d <= Max);
        delays.Average(d => d.TotalSeconds).Should().BeGreaterThan(25, "most draws from the 60 s window exceed the 1-2 s the server asked for");
    }

    [Fact]
    public void A_herd_given_spread_retry_afters_returns_at_about_the_rate_they_were_handed_out()
    {
        // What the control plane's admission limit does at 500/s: the first 500 refusals are told
        // 1 s, the next 500 2 s, ... The herd must come back at about 500/s, not in bursts, and no
        // later than a quarter beyond the last slot.
        var policy = new ExponentialBackoffRetryPolicy(Initial, Max, new Random(11));
        var delays = Enumerable.Range(0, 10_000)
            .Select(i => policy.NextRetryDelay(new EdgeRetryContext { PreviousRetryCount = 3, ServerRequestedDelay = TimeSpan.FromSeconds(1 + (i / 500)) })!.Value)
            .ToArray();

        var perSecond = delays.GroupBy(d => (int)d.TotalSeconds).Select(g => g.Count()).ToArray();
        perSecond.Max().Should().BeLessThan(650, "each second sees about one slot's worth");
        delays.Max().Should().BeLessThanOrEqualTo(TimeSpan.FromSeconds(20 * 1.25));
    }

    [Fact]
    public void Invalid_bounds_are_refused()
    {
        FluentActions.Invoking(() => new ExponentialBackoffRetryPolicy(TimeSpan.Zero, Max)).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => new ExponentialBackoffRetryPolicy(Max, Initial)).Should().Throw<ArgumentOutOfRangeException>();
    }
}
