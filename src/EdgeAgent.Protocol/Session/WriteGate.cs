namespace EdgeAgent.Protocol.Session;

/// <summary>
/// The session's single-writer lock, with two queues: control frames, command opens and small
/// messages go ahead of bulk data, so a saturated stream delays a command by at most the bulk
/// frame being written, not by every bulk frame queued behind the lock.
/// </summary>
internal sealed class WriteGate
{
    private readonly object _sync = new();
    private readonly Queue<TaskCompletionSource> _priority = new();
    private readonly Queue<TaskCompletionSource> _bulk = new();
    private bool _held;

    /// <summary>Takes the lock; <paramref name="bulk"/> writers wait behind every priority writer.</summary>
    public ValueTask EnterAsync(bool bulk, CancellationToken cancellationToken)
    {
        TaskCompletionSource waiter;
        lock (_sync)
        {
            if (!_held)
            {
                _held = true;
                return ValueTask.CompletedTask;
            }

            waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            (bulk ? _bulk : _priority).Enqueue(waiter);
        }

        return cancellationToken.CanBeCanceled ? new ValueTask(WaitAsync(waiter, cancellationToken)) : new ValueTask(waiter.Task);
    }

    /// <summary>Takes the lock as a priority writer if it becomes free within <paramref name="timeout"/>.</summary>
    public async Task<bool> TryEnterAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await EnterAsync(bulk: false, cts.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Hands the lock to the next priority waiter, else the next bulk waiter, else frees it.</summary>
    public void Release()
    {
        while (true)
        {
            TaskCompletionSource? next;
            lock (_sync)
            {
                if (!_priority.TryDequeue(out next) && !_bulk.TryDequeue(out next))
                {
                    _held = false;
                    return;
                }
            }

            // A waiter that was cancelled has already completed: skip it.
            if (next.TrySetResult())
            {
                return;
            }
        }
    }

    private async Task WaitAsync(TaskCompletionSource waiter, CancellationToken cancellationToken)
    {
        using (cancellationToken.Register(static state => ((TaskCompletionSource)state!).TrySetCanceled(), waiter))
        {
            try
            {
                await waiter.Task;
            }
            catch (OperationCanceledException) when (!waiter.Task.IsCompletedSuccessfully)
            {
                throw new OperationCanceledException(cancellationToken);
            }
        }

        if (cancellationToken.IsCancellationRequested && waiter.Task.IsCanceled)
        {
            throw new OperationCanceledException(cancellationToken);
        }
    }
}
