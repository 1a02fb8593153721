using System.Diagnostics;
using System.Globalization;

namespace EdgeAgent.Scale;

/// <summary>
/// A harness process started by the coordinator: this same program in another role. Reads its
/// <c>@ready</c> and <c>@status key=value ...</c> lines; closing its stdin (or killing it) ends it.
/// </summary>
internal sealed class ChildProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly TaskCompletionSource<string> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile Dictionary<string, long> _status = [];

    private ChildProcess(Process process, string name)
    {
        _process = process;
        Name = name;
    }

    public string Name { get; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public static ChildProcess Start(string name, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var self = Environment.ProcessPath ?? throw new InvalidOperationException("Cannot find this program's path.");
        var start = new ProcessStartInfo(self)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            start.ArgumentList.Add(typeof(ChildProcess).Assembly.Location);
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {name}.");
        var child = new ChildProcess(process, name);
        process.OutputDataReceived += (_, e) => child.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) =>
        {
            if (!string.IsNullOrWhiteSpace(e.Data))
            {
                Console.Error.WriteLine($"[{name}] {e.Data}");
            }
        };
        process.Exited += (_, _) => child._ready.TrySetException(new InvalidOperationException($"{name} exited with code {process.ExitCode} before it was ready."));
        process.EnableRaisingEvents = true;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>The latest status value, 0 before the first report.</summary>
    public long Status(string key) => _status.GetValueOrDefault(key);

    public async Task<string> WaitReadyAsync(TimeSpan timeout) => await _ready.Task.WaitAsync(timeout);

    public async Task SendAsync(string order)
    {
        await _process.StandardInput.WriteLineAsync(order);
        await _process.StandardInput.FlushAsync();
    }

    /// <summary>CPU time the process has used so far (zero once it has exited).</summary>
    public TimeSpan CpuTime()
    {
        try
        {
            _process.Refresh();
            return _process.TotalProcessorTime;
        }
        catch (InvalidOperationException)
        {
            return TimeSpan.Zero;
        }
    }

    /// <summary>Ends the process at once (SIGKILL), as a crash or a container restart would.</summary>
    public void Kill()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
        }
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        if (line.StartsWith("@ready", StringComparison.Ordinal))
        {
            _ready.TrySetResult(line);
        }
        else if (line.StartsWith("@status ", StringComparison.Ordinal))
        {
            var values = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var pair in line["@status ".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                var eq = pair.IndexOf('=', StringComparison.Ordinal);
                if (eq > 0 && long.TryParse(pair.AsSpan(eq + 1), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
                {
                    values[pair[..eq]] = value;
                }
            }

            _status = values;
        }
        else
        {
            Console.WriteLine($"[{Name}] {line}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            try
            {
                _process.StandardInput.Close();
            }
            catch (IOException)
            {
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                Kill();
            }
        }

        _process.Dispose();
    }
}
