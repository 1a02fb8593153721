namespace EdgeAgent.PeerBenchmark;

/// <summary>One stack (EdgeAgent or SignalR): a server and one connected client in this process, over loopback WebSocket.</summary>
internal interface IPeer : IAsyncDisposable
{
    string Name { get; }

    /// <summary>The server invokes a command on the client and awaits its result.</summary>
    Task<PeerResponse> InvokeAsync(PeerRequest request, CancellationToken cancellationToken);

    /// <summary>The client streams <paramref name="totalBytes"/> to the server; returns the bytes the server received.</summary>
    Task<long> UploadAsync(long totalBytes, int chunkSize, CancellationToken cancellationToken);
}
