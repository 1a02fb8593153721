using System.Runtime.CompilerServices;
using EdgeAgent.Protocol.Rpc.Generated;
using MessagePack;
using MessagePack.Formatters;
using MessagePack.Resolvers;

namespace EdgeAgent.Protocol.Rpc;

/// <summary>
/// Finds the formatter of a payload type without generating code, so that command payloads work on
/// Native AOT: first the formatters generated for the SDK's contracts and the types they use
/// (<c>Generated/ContractFormatters.g.cs</c>), then the resolvers the application added with
/// <see cref="EdgeContractSerializer.AddResolver"/>, and last — only where the runtime can generate code —
/// MessagePack's <see cref="StandardResolver"/>, so that any other <c>[MessagePackObject]</c> type keeps
/// working under the JIT. Native AOT compiles that last branch away (the feature switch is constant false).
/// </summary>
internal sealed class ContractResolver : IFormatterResolver
{
    public static readonly ContractResolver Instance = new();

    private ContractResolver()
    {
    }

    public IMessagePackFormatter<T>? GetFormatter<T>()
    {
        if (Generated<T>.Formatter is { } generated)
        {
            return generated;
        }

        foreach (var resolver in EdgeContractSerializer.Resolvers)
        {
            if (resolver.GetFormatter<T>() is { } formatter)
            {
                return formatter;
            }
        }

        if (RuntimeFeature.IsDynamicCodeSupported)
        {
            return StandardResolver.Instance.GetFormatter<T>();
        }

        return null;
    }

    private static class Generated<T>
    {
        public static readonly IMessagePackFormatter<T>? Formatter = ContractFormatters.Find(typeof(T)) as IMessagePackFormatter<T>;
    }
}
