namespace EdgeAgent.Testing.ProtocolTestHelpers;

/// <summary>Polls a condition until it holds or a (generous, real-time) deadline passes. It never waits for time to pass in the code under test.</summary>
public static class Poll
{
    /// <summary>The default deadline: long enough for a loaded 2-core machine, short enough to fail a hang.</summary>
    public static readonly TimeSpan DefaultDeadline = TimeSpan.FromSeconds(15);

    /// <summary>Returns once <paramref name="condition"/> holds; throws <see cref="TimeoutException"/> at the deadline.</summary>
    public static async Task UntilAsync(Func<bool> condition, string because, TimeSpan? deadline = null)
    {
        var until = DateTime.UtcNow + (deadline ?? DefaultDeadline);
        while (!condition())
        {
            if (DateTime.UtcNow > until)
            {
                throw new TimeoutException($"Timed out waiting until {because}.");
            }

            await Task.Delay(1);
        }
    }

    /// <summary>Awaits <paramref name="task"/> with the deadline (a hang fails the test instead of stalling the run).</summary>
    public static Task<T> Within<T>(Task<T> task, TimeSpan? deadline = null) => task.WaitAsync(deadline ?? DefaultDeadline);

    /// <summary>Awaits <paramref name="task"/> with the deadline.</summary>
    public static Task Within(Task task, TimeSpan? deadline = null) => task.WaitAsync(deadline ?? DefaultDeadline);
}
