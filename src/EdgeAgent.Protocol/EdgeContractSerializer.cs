using MessagePack;

namespace EdgeAgent.Protocol;

/// <summary>
/// Where command payloads find their MessagePack formatters. The SDK's own contracts have formatters
/// made at build time; under the JIT, any other <c>[MessagePackObject]</c> type works without help, with
/// formatters MessagePack generates at run time. A Native AOT application cannot generate code, so the
/// request, response and item types of its own commands need formatters from a resolver added here.
/// </summary>
public static class EdgeContractSerializer
{
    private static readonly Lock Gate = new();
    private static IFormatterResolver[] _resolvers = [];

    /// <summary>The resolvers added with <see cref="AddResolver"/>, in the order they were added.</summary>
    internal static IFormatterResolver[] Resolvers => Volatile.Read(ref _resolvers);

    /// <summary>
    /// Adds a resolver for the payload types of custom commands, asked after the SDK's contracts and before
    /// MessagePack's run-time generated formatters (which exist under the JIT only). It applies to the
    /// whole process, on both ends of the tunnel; add it at startup, before the first command runs.
    /// </summary>
    /// <param name="resolver">
    /// A resolver whose formatters do not need dynamic code on Native AOT, e.g. one returning hand-written
    /// <see cref="MessagePack.Formatters.IMessagePackFormatter{T}"/> implementations. Payloads are read
    /// with <see cref="MessagePackSecurity.UntrustedData"/>: formatters should call
    /// <c>options.Security.DepthStep(ref reader)</c> when they read a nested object.
    /// </param>
    /// <exception cref="ArgumentNullException"><paramref name="resolver"/> is null.</exception>
    public static void AddResolver(IFormatterResolver resolver)
    {
        ArgumentNullException.ThrowIfNull(resolver);
        lock (Gate)
        {
            if (Array.IndexOf(_resolvers, resolver) < 0)
            {
                Volatile.Write(ref _resolvers, [.. _resolvers, resolver]);
            }
        }
    }
}
