using System.Collections.Concurrent;
using EdgeAgent.Agent;
using EdgeAgent.Protocol;
using MessagePack;
using Microsoft.Extensions.DependencyInjection;

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

/// <summary>A scoped service that counts its instances and disposals.</summary>
public sealed class PerCommandService : IAsyncDisposable
{
    private static int s_created;

    public PerCommandService(PerCommandLedger ledger)
    {
        Ledger = ledger;
        Number = Interlocked.Increment(ref s_created);
    }

    public PerCommandLedger Ledger { get; }

    public int Number { get; }

    public ValueTask DisposeAsync()
    {
        Ledger.Disposed.Add(Number);
        return ValueTask.CompletedTask;
    }
}

/// <summary>What the scoped service saw, shared with the test.</summary>
public sealed class PerCommandLedger
{
    public System.Collections.Concurrent.ConcurrentBag<int> Disposed { get; } = [];
}

/// <summary><c>test.scope</c>: resolves the scoped service twice and answers its instance numbers.</summary>
public sealed class ScopeHandler : EdgeCommandHandler<EchoRequest, EchoResponse>
{
    public override string Name => "test.scope";

    public override ValueTask<EchoResponse> HandleAsync(EchoRequest request, EdgeCommandContext context)
    {
        var first = context.Services.GetRequiredService<PerCommandService>();
        var second = context.Services.GetRequiredService<PerCommandService>();
        first.Ledger.Disposed.Should().NotContain(first.Number, "the scope lives while the command runs");
        return ValueTask.FromResult(new EchoResponse { Text = $"{first.Number}/{second.Number}", Execution = first.Number });
    }
}
