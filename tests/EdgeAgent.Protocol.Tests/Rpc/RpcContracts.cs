using MessagePack;

namespace EdgeAgent.Protocol.Tests.Rpc;

[MessagePackObject]
public sealed class AnyValueRequest
{
    [Key(0)]
    public object? Value { get; set; }
}

[MessagePackObject]
public sealed class NamedRequest
{
    [Key(0)]
    public string Name { get; set; } = "";
}
