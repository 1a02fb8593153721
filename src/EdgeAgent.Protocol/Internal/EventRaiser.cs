namespace EdgeAgent.Protocol.Internal;

/// <summary>Raises an event so that one handler that throws neither stops the others nor reaches the raiser.</summary>
internal static class EventRaiser
{
    /// <summary>
    /// Runs every handler in turn; a handler's exception goes to <paramref name="failed"/> with
    /// <paramref name="state"/> (to be logged). Allocates nothing when no handler is attached.
    /// </summary>
    public static void Raise<TArgs, TState>(EventHandler<TArgs>? handlers, object sender, TArgs args, TState state, Action<Exception, TState> failed)
    {
        if (handlers is null)
        {
            return;
        }

        foreach (var handler in handlers.GetInvocationList())
        {
            try
            {
                ((EventHandler<TArgs>)handler)(sender, args);
            }
            catch (Exception ex)
            {
                failed(ex, state);
            }
        }
    }
}
