using System.Collections.Concurrent;
using EdgeAgent.Agent;
using EdgeAgent.Protocol;
using MessagePack;

namespace EdgeAgent.FunctionalTests.Agents;

[MessagePackObject]
public sealed class EchoRequest
{
    [Key(0)]
    public string Text { get; set; } = "";

    [Key(1)]
    public int DelayMs { get; set; }
}

[MessagePackObject]
public sealed class EchoResponse
{
    [Key(0)]
    public string Text { get; set; } = "";

    [Key(1)]
    public long Execution { get; set; }
}

/// <summary>Counts its executions per text, so tests can prove "ran once".</summary>
public sealed class ExecutionCounter
{
    private long _total;

    public ConcurrentDictionary<string, int> ByText { get; } = new();

    public long Total => Interlocked.Read(ref _total);

    public TaskCompletionSource<CancellationToken> Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource Cancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public long Next(string text)
    {
        ByText.AddOrUpdate(text, 1, (_, n) => n + 1);
        return Interlocked.Increment(ref _total);
    }
}

public sealed class EchoHandler(ExecutionCounter counter) : EdgeCommandHandler<EchoRequest, EchoResponse>
{
    public override string Name => "test.echo";

    public override async ValueTask<EchoResponse> HandleAsync(EchoRequest request, EdgeCommandContext context)
    {
        var execution = counter.Next(request.Text);
        counter.Started.TrySetResult(context.CancellationToken);
        if (request.DelayMs > 0)
        {
            try
            {
                await Task.Delay(request.DelayMs, context.CancellationToken);
            }
            catch (OperationCanceledException)
            {
                counter.Cancelled.TrySetResult();
                throw;
            }
        }

        return new EchoResponse { Text = request.Text, Execution = execution };
    }
}

public sealed class FailingHandler : EdgeCommandHandler<EchoRequest, EchoResponse>
{
    public override string Name => "test.fail";

    public override ValueTask<EchoResponse> HandleAsync(EchoRequest request, EdgeCommandContext context) => request.Text switch
    {
        "typed" => throw new EdgeCommandException(EdgeErrorCodes.Conflict, "The thing is busy."),
        _ => throw new InvalidOperationException("secret internal detail"),
    };
}
