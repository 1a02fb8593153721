using System.Text;
using Docker.DotNet;
using Docker.DotNet.Models;
using EdgeAgent.Protocol;
using EdgeAgent.Protocol.Contracts.Docker;
using EdgeAgent.Protocol.Docker;

namespace EdgeAgent.Agent.Docker;

/// <summary>Runs a command in a container, collects its output up to a cap, and returns its exit code.</summary>
internal sealed class ExecRunHandler(DockerClientProvider docker) : DockerCommandHandler<ExecRequest, ExecResult>(docker)
{
    /// <summary>The most output one run may keep, whatever the caller asks.</summary>
    public const int MaxOutputLimit = 16 * 1024 * 1024;

    public override string Name => DockerCommandNames.ExecRun;

    public override string Group => EdgeCommandGroups.Exec;

    protected override async Task<ExecResult> ExecuteAsync(IDockerClient client, ExecRequest request, CancellationToken cancellationToken)
    {
        var containerId = DockerArguments.Required(request.ContainerId);
        if (request.Command.Count == 0)
        {
            throw new EdgeCommandException(EdgeErrorCodes.InvalidArgument, "'Command' is required.");
        }

        var cap = request.MaxOutputBytes switch
        {
            < 0 => throw new EdgeCommandException(EdgeErrorCodes.InvalidArgument, "MaxOutputBytes cannot be negative."),
            > MaxOutputLimit => MaxOutputLimit,
            _ => request.MaxOutputBytes,
        };

        var created = await client.Exec.CreateContainerExecAsync(containerId, new ContainerExecCreateParameters
        {
            Cmd = request.Command.ToList(),
            Env = request.Env?.ToList()!,
            WorkingDir = request.WorkingDir!,
            User = request.User!,
            AttachStdin = request.Stdin is not null,
            AttachStdout = true,
            AttachStderr = true,
            TTY = false,
        }, cancellationToken);

        using var stream = await client.Exec.StartContainerExecAsync(created.ID, new ContainerExecStartParameters { Detach = false, TTY = false }, cancellationToken);
        if (request.Stdin is { } input)
        {
            await stream.WriteAsync(input, 0, input.Length, cancellationToken);
            stream.CloseWrite();
        }

        var stdout = new MemoryStream();
        var stderr = new MemoryStream();
        var truncated = false;
        var buffer = new byte[16 * 1024];
        while (true)
        {
            var read = await stream.ReadOutputAsync(buffer, 0, buffer.Length, cancellationToken);
            if (read.EOF)
            {
                break;
            }

            // Past the cap the output is still drained (so the command can finish) but dropped.
            var room = cap - (int)(stdout.Length + stderr.Length);
            var keep = Math.Min(room, read.Count);
            if (keep < read.Count)
            {
                truncated = true;
            }

            if (keep > 0)
            {
                (read.Target == MultiplexedStream.TargetStream.StandardError ? stderr : stdout).Write(buffer, 0, keep);
            }
        }

        var exitCode = await ExecStatusReader.WaitForExitCodeAsync(client, created.ID, cancellationToken);
        return new ExecResult
        {
            ExitCode = exitCode,
            Stdout = Encoding.UTF8.GetString(stdout.GetBuffer(), 0, (int)stdout.Length),
            Stderr = Encoding.UTF8.GetString(stderr.GetBuffer(), 0, (int)stderr.Length),
            Truncated = truncated,
        };
    }
}

/// <summary>Creates an exec instance for an interactive session.</summary>
internal sealed class ExecCreateHandler(DockerClientProvider docker) : DockerCommandHandler<ExecCreateRequest, ExecCreated>(docker)
{
    public override string Name => DockerCommandNames.ExecCreate;

    public override string Group => EdgeCommandGroups.Exec;

    protected override async Task<ExecCreated> ExecuteAsync(IDockerClient client, ExecCreateRequest request, CancellationToken cancellationToken)
    {
        var containerId = DockerArguments.Required(request.ContainerId);
        if (request.Command.Count == 0)
        {
            throw new EdgeCommandException(EdgeErrorCodes.InvalidArgument, "'Command' is required.");
        }

        var created = await client.Exec.CreateContainerExecAsync(containerId, new ContainerExecCreateParameters
        {
            Cmd = request.Command.ToList(),
            Env = request.Env?.ToList()!,
            WorkingDir = request.WorkingDir!,
            User = request.User!,
            AttachStdin = true,
            AttachStdout = true,
            AttachStderr = true,
            TTY = request.Tty,
        }, cancellationToken);
        return new ExecCreated { ExecId = created.ID ?? "" };
    }
}

/// <summary>Starts a created exec instance and bridges its input and output to the caller's stream.</summary>
internal sealed class ExecAttachHandler(DockerClientProvider docker) : EdgeDuplexCommandHandler<ExecAttachRequest>
{
    public override string Name => DockerCommandNames.ExecAttach;

    public override string Group => EdgeCommandGroups.Exec;

    public override async ValueTask HandleAsync(ExecAttachRequest request, EdgeCommandContext context)
    {
        var cancellationToken = context.CancellationToken;
        var client = docker.Client;
        MultiplexedStream engine;
        try
        {
            var execId = DockerArguments.Required(request.ExecId);
            var exec = await client.Exec.InspectContainerExecAsync(execId, cancellationToken);
            var tty = exec.ProcessConfig?.Tty ?? false;
            engine = await client.Exec.StartContainerExecAsync(execId, new ContainerExecStartParameters { Detach = false, TTY = tty }, cancellationToken);
            if (tty && request.Columns > 0 && request.Rows > 0)
            {
                await client.Exec.ResizeExecTtyAsync(execId, new ContainerResizeParameters { Width = request.Columns, Height = request.Rows }, cancellationToken);
            }
        }
        catch (Exception ex) when (DockerErrors.TryMap(ex, cancellationToken, out var mapped))
        {
            throw mapped;
        }

        using (engine)
        {
            var caller = await context.AcceptStreamAsync();
            await using (caller)
            {
                using var stopInput = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                var input = PumpInputAsync(caller, engine, stopInput.Token);
                try
                {
                    var buffer = new byte[16 * 1024];
                    while (true)
                    {
                        var read = await engine.ReadOutputAsync(buffer, 0, buffer.Length, cancellationToken);
                        if (read.EOF)
                        {
                            break;
                        }

                        await caller.WriteAsync(buffer.AsMemory(0, read.Count), cancellationToken);
                    }
                }
                finally
                {
                    await stopInput.CancelAsync();
                    await input;
                }
            }
        }
    }

    /// <summary>Copies what the caller types to the command's input; the caller's end of input closes it.</summary>
    private static async Task PumpInputAsync(Stream caller, MultiplexedStream engine, CancellationToken cancellationToken)
    {
        var buffer = new byte[4096];
        try
        {
            while (true)
            {
                var count = await caller.ReadAsync(buffer, cancellationToken);
                if (count == 0)
                {
                    engine.CloseWrite();
                    return;
                }

                await engine.WriteAsync(buffer, 0, count, cancellationToken);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException)
        {
            // The output ended or the caller went away: nothing more to forward.
        }
    }
}

/// <summary>Resizes an exec instance's terminal.</summary>
internal sealed class ExecResizeHandler(DockerClientProvider docker) : DockerCommandHandler<ExecResizeRequest, DockerEmpty>(docker)
{
    public override string Name => DockerCommandNames.ExecResize;

    public override string Group => EdgeCommandGroups.Exec;

    protected override async Task<DockerEmpty> ExecuteAsync(IDockerClient client, ExecResizeRequest request, CancellationToken cancellationToken)
    {
        if (request.Columns <= 0 || request.Rows <= 0)
        {
            throw new EdgeCommandException(EdgeErrorCodes.InvalidArgument, "Columns and rows must be positive.");
        }

        await client.Exec.ResizeExecTtyAsync(DockerArguments.Required(request.ExecId), new ContainerResizeParameters { Width = request.Columns, Height = request.Rows }, cancellationToken);
        return DockerEmpty.Instance;
    }
}

/// <summary>Gets the state of an exec instance.</summary>
internal sealed class ExecInspectHandler(DockerClientProvider docker) : DockerCommandHandler<ExecRef, ExecStatus>(docker)
{
    public override string Name => DockerCommandNames.ExecInspect;

    public override string Group => EdgeCommandGroups.Exec;

    public override bool IsReadOnly => true;

    protected override async Task<ExecStatus> ExecuteAsync(IDockerClient client, ExecRef request, CancellationToken cancellationToken)
    {
        var exec = await client.Exec.InspectContainerExecAsync(DockerArguments.Required(request.ExecId), cancellationToken);
        return new ExecStatus
        {
            ExecId = exec.ID ?? "",
            ContainerId = exec.ContainerID ?? "",
            Running = exec.Running,
            ExitCode = exec.Running ? null : exec.ExitCode,
            Pid = exec.Pid,
        };
    }
}

internal static class ExecStatusReader
{
    /// <summary>
    /// After the output ended the process has exited, but the engine may report it as running
    /// for a moment longer: ask again, briefly.
    /// </summary>
    public static async Task<long> WaitForExitCodeAsync(IDockerClient client, string execId, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            var exec = await client.Exec.InspectContainerExecAsync(execId, cancellationToken);
            if (!exec.Running && exec.ExitCode is { } code)
            {
                return code;
            }

            if (attempt == 100)
            {
                throw new EdgeCommandException(EdgeErrorCodes.Internal, "The command's output ended but the engine still reports it as running.");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(20), cancellationToken);
        }
    }
}
