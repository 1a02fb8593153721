using MessagePack;

namespace EdgeAgent.PeerBenchmark;

/// <summary>The command both stacks carry: ~64 bytes each way.</summary>
[MessagePackObject]
public sealed class PeerRequest
{
    [Key(0)]
    public byte[] Payload { get; set; } = [];
}

[MessagePackObject]
public sealed class PeerResponse
{
    [Key(0)]
    public byte[] Payload { get; set; } = [];
}

/// <summary>Asks the client side to stream <see cref="TotalBytes"/> in chunks of <see cref="ChunkSize"/>.</summary>
[MessagePackObject]
public sealed class UploadRequest
{
    [Key(0)]
    public long TotalBytes { get; set; }

    [Key(1)]
    public int ChunkSize { get; set; }
}
