using System.IO.Pipelines;
using EdgeAgent.Protocol.Transports;

namespace EdgeAgent.Testing.ProtocolTestHelpers;

/// <summary>
/// Two transport ends joined through a relay that can go silent: once <see cref="Silent"/> is set,
/// every byte in both directions is dropped and no end-of-stream is passed on, like a peer whose
/// host froze or a NAT that forgot the connection. Keepalive must notice it from both sides.
/// </summary>
internal sealed class SilenceableLink : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _pumps;
    private volatile bool _silent;

    public SilenceableLink()
    {
        var (left, leftInner) = InMemoryTransport.CreatePair();
        var (rightInner, right) = InMemoryTransport.CreatePair();
        Left = left;
        Right = right;
        _pumps = Task.WhenAll(PumpAsync(leftInner.Input, rightInner.Output), PumpAsync(rightInner.Input, leftInner.Output));
    }

    public IDuplexPipe Left { get; }

    public IDuplexPipe Right { get; }

    /// <summary>When true, the link drops everything.</summary>
    public bool Silent
    {
        get => _silent;
        set => _silent = value;
    }

    private async Task PumpAsync(PipeReader from, PipeWriter to)
    {
        try
        {
            while (true)
            {
                var result = await from.ReadAsync(_stop.Token);
                var buffer = result.Buffer;
                if (!_silent)
                {
                    foreach (var segment in buffer)
                    {
                        await to.WriteAsync(segment, _stop.Token);
                    }
                }

                from.AdvanceTo(buffer.End);
                if (result.IsCompleted)
                {
                    if (!_silent)
                    {
                        await to.CompleteAsync();
                    }

                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _pumps;
        _stop.Dispose();
    }
}
