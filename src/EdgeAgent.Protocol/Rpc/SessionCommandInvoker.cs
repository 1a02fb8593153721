using System.Runtime.CompilerServices;
using EdgeAgent.Protocol.Session;

namespace EdgeAgent.Protocol.Rpc;

/// <summary>An <see cref="IEdgeCommandInvoker"/> over one tunnel session.</summary>
/// <param name="session">The session the commands go through.</param>
/// <param name="defaultTimeout">The timeout of a call that states none.</param>
/// <param name="time">The clock of deadlines.</param>
/// <param name="maxMessageSize">The largest response message (a result or one streamed item) accepted; larger ones fail the call with <see cref="EdgeErrorCodes.TooLarge"/>.</param>
internal sealed class SessionCommandInvoker(TunnelSession session, TimeSpan defaultTimeout, TimeProvider time, int maxMessageSize = RpcMessages.DefaultMaxMessageSize) : IEdgeCommandInvoker
{
    public TunnelSession Session => session;

    public async Task<TResponse> InvokeAsync<TRequest, TResponse>(string command, TRequest request, EdgeCommandOptions? options = null, CancellationToken cancellationToken = default)
    {
        var payload = ContractSerializer.Serialize(request);
        var result = await RpcClient.InvokeAsync(session, CallOptions(command, options), payload, time, cancellationToken);
        return ContractSerializer.DeserializeResponse<TResponse>(result, command);
    }

    public async IAsyncEnumerable<TItem> StreamAsync<TRequest, TItem>(string command, TRequest request, EdgeCommandOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var payload = ContractSerializer.Serialize(request);
        await foreach (var item in RpcClient.StreamAsync(session, CallOptions(command, options, keyed: false), payload, time, cancellationToken))
        {
            yield return ContractSerializer.DeserializeResponse<TItem>(item, command);
        }
    }

    public async Task<Stream> OpenStreamAsync<TRequest>(string command, TRequest request, EdgeCommandOptions? options = null, CancellationToken cancellationToken = default)
    {
        var payload = ContractSerializer.Serialize(request);
        var channel = await RpcClient.OpenDuplexAsync(session, CallOptions(command, options, keyed: false), payload, time, cancellationToken);
        return new ChannelStream(channel);
    }

    internal RpcCallOptions CallOptions(string command, EdgeCommandOptions? options, bool keyed = true) =>
        RpcCallOptions.For(command, keyed ? options?.IdempotencyKey ?? IdempotencyKeys.New() : options?.IdempotencyKey ?? "", options, defaultTimeout, maxMessageSize);
}
