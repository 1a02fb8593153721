namespace EdgeAgent.Agent;

/// <summary>Decides how long the agent waits before the next connection attempt.</summary>
public interface IEdgeRetryPolicy
{
    /// <summary>Returns the delay before the next attempt, or null to stop reconnecting.</summary>
    /// <param name="context">What happened so far.</param>
    /// <returns>The delay, or null to give up.</returns>
    TimeSpan? NextRetryDelay(EdgeRetryContext context);
}

/// <summary>What a retry policy knows when it decides.</summary>
public sealed class EdgeRetryContext
{
    /// <summary>Attempts that failed since the last stable connection (0 before the first retry).</summary>
    public int PreviousRetryCount { get; init; }

    /// <summary>Time since the connection was lost or the first attempt started.</summary>
    public TimeSpan ElapsedTime { get; init; }

    /// <summary>Why the last attempt or connection ended.</summary>
    public Exception? RetryReason { get; init; }

    /// <summary>True when the control plane refused the agent's credential (HTTP 401 or 403).</summary>
    public bool CredentialRejected { get; init; }

    /// <summary>A delay the control plane asked for (HTTP 429/503 <c>Retry-After</c>), if any.</summary>
    public TimeSpan? ServerRequestedDelay { get; init; }
}

/// <summary>
/// The default policy: retry forever with exponential backoff and full jitter — each delay is
/// uniformly random between zero and <c>min(max, initial × 2^attempt)</c> — so a control-plane
/// restart does not become a thundering herd. A refused credential waits the full maximum.
/// </summary>
/// <remarks>
/// A server-requested delay (HTTP 429/503 <c>Retry-After</c>) is the control plane scheduling the
/// agent's return, not a failure of the agent, so it does not escalate the backoff: the agent waits
/// the requested delay plus a random share of a quarter of it (at least <c>initial</c>, at most
/// <c>max</c>) — never earlier than asked, and agents told the same delay do not return in the same
/// second. Only once the agent has been disconnected for longer than <c>max</c> is the jittered
/// backoff a floor again, so a server that keeps answering with short delays is not polled at that
/// pace for ever.
/// </remarks>
public sealed class ExponentialBackoffRetryPolicy : IEdgeRetryPolicy
{
    private readonly TimeSpan _initial;
    private readonly TimeSpan _max;
    private readonly Random _random;

    /// <summary>Creates the policy.</summary>
    /// <param name="initial">The first delay's upper bound.</param>
    /// <param name="max">The cap.</param>
    /// <param name="random">The random source; null uses a shared one.</param>
    public ExponentialBackoffRetryPolicy(TimeSpan initial, TimeSpan max, Random? random = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(initial, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(max, initial);
        _initial = initial;
        _max = max;
        _random = random ?? Random.Shared;
    }

    /// <inheritdoc />
    public TimeSpan? NextRetryDelay(EdgeRetryContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.CredentialRejected)
        {
            return _max;
        }

        var ceiling = Ceiling(context.PreviousRetryCount);
        var jittered = TimeSpan.FromTicks((long)(_random.NextDouble() * ceiling.Ticks));
        if (context.ServerRequestedDelay is not { } requested || requested <= TimeSpan.Zero)
        {
            return jittered;
        }

        // Never earlier than the server asked, and spread above it: a control plane may give many
        // agents the same delay. A shed does not widen the window: the agents shed during a storm
        // would otherwise draw their next attempt from 16-60 s windows while the control plane
        // already has room for them.
        var window = Math.Clamp(requested.Ticks / 4, _initial.Ticks, _max.Ticks);
        var delay = requested + TimeSpan.FromTicks((long)(_random.NextDouble() * window));
        return context.ElapsedTime > _max && jittered > delay ? jittered : delay;
    }

    /// <summary>The upper bound of the delay after <paramref name="retryCount"/> failed attempts.</summary>
    /// <param name="retryCount">Failed attempts so far.</param>
    /// <returns><c>min(max, initial × 2^retryCount)</c>.</returns>
    public TimeSpan Ceiling(int retryCount)
    {
        var exponent = Math.Min(Math.Max(retryCount, 0), 30);
        var ticks = Math.Min((double)_max.Ticks, _initial.Ticks * Math.Pow(2, exponent));
        return TimeSpan.FromTicks((long)ticks);
    }
}
