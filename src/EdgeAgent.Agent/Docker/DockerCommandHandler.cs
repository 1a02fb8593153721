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
    public static string Required(string? value, [CallerArgumentExpression(nameof(value))] string name = "")
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new EdgeAgent.Protocol.EdgeCommandException(EdgeAgent.Protocol.EdgeErrorCodes.InvalidArgument, $"'{name.Split('.')[^1]}' is required.");
        }

        return value;
    }
}
