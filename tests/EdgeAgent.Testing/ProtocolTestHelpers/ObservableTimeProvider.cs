using Microsoft.Extensions.Time.Testing;

namespace EdgeAgent.Testing.ProtocolTestHelpers;

/// <summary>
/// A <see cref="FakeTimeProvider"/> that counts the timers created on it, so a test can wait until
/// a background loop has armed its next delay before advancing the clock (instead of sleeping).
/// Give each session its own instance to tell their timers apart.
/// </summary>
public sealed class ObservableTimeProvider : FakeTimeProvider
{
    private int _timersCreated;

    /// <summary>Timers created so far (each <c>Task.Delay(…, this)</c> creates one).</summary>
    public int TimersCreated => Volatile.Read(ref _timersCreated);

    /// <inheritdoc />
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = base.CreateTimer(callback, state, dueTime, period);
        Interlocked.Increment(ref _timersCreated);
        return timer;
    }
}
