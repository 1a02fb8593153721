using System.Runtime.CompilerServices;
using Docker.DotNet;
using EdgeAgent.Protocol;
using EdgeAgent.Protocol.Contracts.Docker;
using EdgeAgent.Protocol.Docker;

namespace EdgeAgent.Agent.Docker;

/// <summary>Reads a container's logs up to now, as one result.</summary>
internal sealed class ContainerLogsHandler(DockerClientProvider docker) : DockerCommandHandler<ContainerLogsRequest, ContainerLogs>(docker)
{
    /// <summary>The most lines one finished read may return, whatever the caller asks.</summary>
    public const int MaxLinesLimit = 100_000;

    /// <summary>The most text (in characters, all lines together) one finished read returns; lines past it are dropped as truncated.</summary>
    public const int MaxTextCharacters = 16 * 1024 * 1024;

    public override string Name => DockerCommandNames.ContainersLogs;

    public override string Group => EdgeCommandGroups.Containers;

    public override bool IsReadOnly => true;

    protected override async Task<ContainerLogs> ExecuteAsync(IDockerClient client, ContainerLogsRequest request, CancellationToken cancellationToken)
    {
        var id = DockerArguments.Required(request.Id);
        var maxLines = request.MaxLines switch
        {
            <= 0 => throw new EdgeCommandException(EdgeErrorCodes.InvalidArgument, "MaxLines must be positive."),
            > MaxLinesLimit => MaxLinesLimit,
            _ => request.MaxLines,
        };

        var parameters = DockerLogReader.ToParameters(request, follow: false);
        using var stream = await client.Containers.GetContainerLogsAsync(id, parameters, cancellationToken);
        var lines = new List<LogLine>();
        var characters = 0L;
        await foreach (var line in new DockerLogReader().ReadAsync(stream, request, cancellationToken))
        {
            characters += line.Text.Length;
            if (lines.Count == maxLines || characters > MaxTextCharacters)
            {
                return new ContainerLogs { Lines = lines, Truncated = true };
            }

            lines.Add(line);
        }

        return new ContainerLogs { Lines = lines };
    }
}

/// <summary>Follows a container's logs as a stream with end-to-end flow control.</summary>
internal sealed class ContainerLogsFollowHandler(DockerClientProvider docker) : DockerStreamingCommandHandler<ContainerLogsRequest, LogLine>(docker)
{
    private readonly DockerLogReader _reader = new();

    public override string Name => DockerCommandNames.ContainersLogsFollow;

    public override string Group => EdgeCommandGroups.Containers;

    public override bool IsReadOnly => true;

    /// <summary>Bytes read from the engine by all follows of this handler (diagnostics, tests).</summary>
    internal long EngineBytesRead => _reader.EngineBytesRead;

    protected override async IAsyncEnumerable<LogLine> ExecuteAsync(IDockerClient client, ContainerLogsRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var id = DockerArguments.Required(request.Id);
        var parameters = DockerLogReader.ToParameters(request, follow: true);
        using var stream = await client.Containers.GetContainerLogsAsync(id, parameters, cancellationToken);
        await foreach (var line in _reader.ReadAsync(stream, request, cancellationToken))
        {
            yield return line;
        }
    }
}
