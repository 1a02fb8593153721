using EdgeAgent.Agent;
using MessagePack;

namespace EdgeAgent.Scale;

/// <summary>The tiny command used at load: a few bytes each way.</summary>
[MessagePackObject]
public sealed class ScaleEchoRequest
{
    [Key(0)]
    public long Sequence { get; set; }
}

[MessagePackObject]
public sealed class ScaleEchoResponse
{
    [Key(0)]
    public long Sequence { get; set; }
}

public sealed class ScaleEchoHandler : EdgeCommandHandler<ScaleEchoRequest, ScaleEchoResponse>
{
    public const string CommandName = "scale.echo";

    public override string Name => CommandName;

    public override bool IsReadOnly => true;

    public override ValueTask<ScaleEchoResponse> HandleAsync(ScaleEchoRequest request, EdgeCommandContext context) =>
        ValueTask.FromResult(new ScaleEchoResponse { Sequence = request.Sequence });
}
