using System.Runtime.CompilerServices;
using Docker.DotNet;

namespace EdgeAgent.Agent.Docker;

/// <summary>A unary Docker command: runs against the engine and maps engine failures to typed errors.</summary>
internal abstract class DockerCommandHandler<TRequest, TResponse>(DockerClientProvider docker) : EdgeCommandHandler<TRequest, TResponse>
{
    protected DockerClientProvider Docker => docker;

    public sealed override async ValueTask<TResponse> HandleAsync(TRequest request, EdgeCommandContext context)
    {
        try
        {
            return await ExecuteAsync(docker.Client, request, context.CancellationToken);
        }
        catch (Exception ex) when (DockerErrors.TryMap(ex, context.CancellationToken, out var mapped))
        {
            throw mapped;
        }
    }

    protected abstract Task<TResponse> ExecuteAsync(IDockerClient client, TRequest request, CancellationToken cancellationToken);
}

/// <summary>A streaming Docker command: engine failures, before or during the stream, become typed errors.</summary>
internal abstract class DockerStreamingCommandHandler<TRequest, TItem>(DockerClientProvider docker) : EdgeStreamingCommandHandler<TRequest, TItem>
{
    protected DockerClientProvider Docker => docker;

    public sealed override async IAsyncEnumerable<TItem> HandleAsync(TRequest request, EdgeCommandContext context)
    {
        var cancellationToken = context.CancellationToken;
        IAsyncEnumerator<TItem> items;
        try
        {
            items = ExecuteAsync(docker.Client, request, cancellationToken).GetAsyncEnumerator(cancellationToken);
        }
        catch (Exception ex) when (DockerErrors.TryMap(ex, cancellationToken, out var mapped))
        {
            throw mapped;
        }

        await using (items)
        {
            while (true)
            {
                try
                {
                    if (!await items.MoveNextAsync())
                    {
                        break;
                    }
                }
                catch (Exception ex) when (DockerErrors.TryMap(ex, cancellationToken, out var mapped))
                {
                    throw mapped;
                }

                yield return items.Current;
            }
        }
    }

    protected abstract IAsyncEnumerable<TItem> ExecuteAsync(IDockerClient client, TRequest request, CancellationToken cancellationToken);
}

/// <summary>Helpers for the handlers' argument checks.</summary>
internal static class DockerArguments
{
    /// <summary>
    /// An id, name or image reference, which the engine client puts into the URL path: a <c>..</c>
    /// segment (resolved by the HTTP client), <c>?</c>, <c>#</c>, <c>%</c>, <c>\</c> or a control
    /// character could make it name another endpoint, such as <c>DELETE /volumes/x</c> for a
    /// container remove of <c>../volumes/x</c>.
    /// </summary>
    public static string Required(string? value, [CallerArgumentExpression(nameof(value))] string name = "")
    {
        var field = name.Split('.')[^1];
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new EdgeAgent.Protocol.EdgeCommandException(EdgeAgent.Protocol.EdgeErrorCodes.InvalidArgument, $"'{field}' is required.");
        }

        if (value.Split('/').Any(segment => segment is "." or "..") || value.AsSpan().IndexOfAny("?#%\\") >= 0 || value.Any(char.IsControl))
        {
            var shown = value.Length <= 200 ? value : value[..200] + "…";
            throw new EdgeAgent.Protocol.EdgeCommandException(
                EdgeAgent.Protocol.EdgeErrorCodes.InvalidArgument,
                $"'{field}' is not a valid Docker id, name or reference: '{shown.ReplaceLineEndings(" ")}' contains a '.' or '..' path segment, '?', '#', '%', '\\' or a control character.");
        }

        return value;
    }
}
