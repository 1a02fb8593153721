using System.Text;
using EdgeAgent.Protocol;
using EdgeAgent.Protocol.Contracts.Docker;

namespace EdgeAgent.Agent.Tests.Docker;

[Trait("Category", "Docker")]
public sealed class ExecTests : DockerTestBase
{
    [Fact]
    public async Task Exec_returns_exit_code_and_separate_output()
    {
        var id = await CreateSleeperAsync();

        var result = await Docker.Exec.RunAsync(new() { ContainerId = id, Command = ["sh", "-c", "echo to-out; echo to-err >&2; exit 3"] }, cancellationToken: Ct);

        result.ExitCode.Should().Be(3);
        result.Stdout.Should().Be("to-out\n");
        result.Stderr.Should().Be("to-err\n");
        result.Truncated.Should().BeFalse();
    }

    [Fact]
    public async Task Exec_applies_env_working_dir_and_user()
    {
        var id = await CreateSleeperAsync();

        var result = await Docker.Exec.RunAsync(new()
        {
            ContainerId = id,
            Command = ["sh", "-c", "echo $GREETING; pwd; id -u"],
            Env = ["GREETING=hello edge"],
            WorkingDir = "/tmp",
            User = "nobody",
        }, cancellationToken: Ct);

        result.ExitCode.Should().Be(0);
        result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().Equal("hello edge", "/tmp", "65534");
    }

    [Fact]
    public async Task Exec_feeds_stdin()
    {
        var id = await CreateSleeperAsync();

        var result = await Docker.Exec.RunAsync(new() { ContainerId = id, Command = ["sh", "-c", "tr a-z A-Z"], Stdin = Encoding.UTF8.GetBytes("shout\n") }, cancellationToken: Ct);

        result.Stdout.Should().Be("SHOUT\n");
    }

    [Fact]
    public async Task Exec_output_is_capped_and_says_so()
    {
        var id = await CreateSleeperAsync();

        var result = await Docker.Exec.RunAsync(new() { ContainerId = id, Command = ["sh", "-c", "seq 1 100000; exit 7"], MaxOutputBytes = 1000 }, cancellationToken: Ct);

        result.Truncated.Should().BeTrue();
        (result.Stdout.Length + result.Stderr.Length).Should().Be(1000);
        result.Stdout.Should().StartWith("1\n2\n3\n");
        result.ExitCode.Should().Be(7, "the command ran to its end although its output was cut");
    }

    [Fact]
    public async Task Exec_in_a_stopped_container_is_a_conflict_and_unknown_command_fails_inside()
    {
        var stopped = await CreateContainerAsync(["true"], start: false);
        var running = await CreateSleeperAsync();

        var inStopped = async () => await Docker.Exec.RunAsync(new() { ContainerId = stopped, Command = ["true"] }, cancellationToken: Ct);
        var missingBinary = await Docker.Exec.RunAsync(new() { ContainerId = running, Command = ["sh", "-c", "/no/such/binary"] }, cancellationToken: Ct);

        (await inStopped.Should().ThrowAsync<EdgeCommandException>()).Which.Code.Should().Be(EdgeErrorCodes.Conflict);
        missingBinary.ExitCode.Should().Be(127);
    }

    [Fact]
    public async Task Interactive_exec_with_a_tty_echoes_what_is_typed()
    {
        var id = await CreateSleeperAsync();

        await using var session = await Docker.Exec.StartInteractiveAsync(new() { ContainerId = id, Command = ["sh"], Tty = true }, 120, 40, cancellationToken: Ct);
        await session.Stream.WriteAsync(Encoding.UTF8.GetBytes("echo edge-$((6*7))\n"), Ct);

        var output = await ReadUntilAsync(session.Stream, "edge-42");
        output.Should().Contain("edge-42");

        await session.Stream.WriteAsync(Encoding.UTF8.GetBytes("exit 5\n"), Ct);
        await ReadToEndAsync(session.Stream);
        var finished = await PollAsync(async () => !(await session.GetStatusAsync(cancellationToken: Ct)).Running, TimeSpan.FromSeconds(10));
        finished.Should().BeTrue();
        (await session.GetStatusAsync(cancellationToken: Ct)).ExitCode.Should().Be(5);
    }

    [Fact]
    public async Task Interactive_exec_without_a_terminal_reads_end_of_input_and_its_output_can_still_be_read()
    {
        var id = await CreateSleeperAsync();

        await using var session = await Docker.Exec.StartInteractiveAsync(new() { ContainerId = id, Command = ["sh", "-c", "wc -c; echo done"], Tty = false }, cancellationToken: Ct);
        await session.Stream.WriteAsync(Encoding.UTF8.GetBytes("twelve bytes"), Ct);
        await session.CompleteInputAsync(Ct);

        // wc counts only after its input ends; the output then arrives over the same stream.
        var output = Encoding.UTF8.GetString(await ReadToEndAsync(session.Stream));
        output.Should().MatchRegex(@"^\s*12\s*\ndone\n$");
        var finished = await PollAsync(async () => !(await session.GetStatusAsync(cancellationToken: Ct)).Running, TimeSpan.FromSeconds(10));
        finished.Should().BeTrue();
        (await session.GetStatusAsync(cancellationToken: Ct)).ExitCode.Should().Be(0);
    }

    [Fact]
    public async Task Interactive_exec_terminal_can_be_resized()
    {
        var id = await CreateSleeperAsync();

        await using var session = await Docker.Exec.StartInteractiveAsync(new() { ContainerId = id, Command = ["sh"], Tty = true }, 80, 24, cancellationToken: Ct);
        await session.ResizeAsync(132, 43, cancellationToken: Ct);
        await session.Stream.WriteAsync(Encoding.UTF8.GetBytes("echo size=$(stty size | tr ' ' x)\n"), Ct);

        var output = await ReadUntilAsync(session.Stream, "size=43x132");
        output.Should().Contain("size=43x132");
    }

    [Fact]
    public async Task Resize_of_an_unknown_exec_is_not_found()
    {
        var resize = async () => await Docker.Exec.ResizeAsync("0123456789abcdef", 80, 24, cancellationToken: Ct);

        (await resize.Should().ThrowAsync<EdgeCommandException>()).Which.Code.Should().Be(EdgeErrorCodes.NotFound);
    }

    private static async Task<string> ReadUntilAsync(Stream stream, string marker)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(20));
        var text = new StringBuilder();
        var buffer = new byte[4096];

        // The terminal echoes the typed command too: wait for the marker after the echo.
        while (text.ToString().Split(marker).Length < 2 || !text.ToString().Contains(marker + "\r\n", StringComparison.Ordinal))
        {
            var read = await stream.ReadAsync(buffer, timeout.Token);
            if (read == 0)
            {
                break;
            }

            text.Append(Encoding.UTF8.GetString(buffer, 0, read));
        }

        return text.ToString();
    }

    private static async Task<byte[]> ReadToEndAsync(Stream stream)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(20));
        using var all = new MemoryStream();
        await stream.CopyToAsync(all, timeout.Token);
        return all.ToArray();
    }
}
