using System.Diagnostics;
using System.Text;

namespace EdgeAgent.FunctionalTests.Samples;

/// <summary>Runs a built sample as a child process and captures its output.</summary>
internal sealed class SampleProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private SampleProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>The sample's dll, built next to the tests (same configuration).</summary>
    public static string SamplePath(string folder, string assembly)
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Parent!.Name;
        var root = FindRepositoryRoot();
        var path = Path.Combine(root, "samples", folder, "bin", configuration, "net10.0", assembly + ".dll");
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"The sample is not built: {path}");
        }

        return path;
    }

    public static SampleProcess Start(string dll, IDictionary<string, string> environment, string? workingDirectory = null)
    {
        var info = new ProcessStartInfo("dotnet", [dll])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Path.GetDirectoryName(dll)!,
        };
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        return new SampleProcess(Process.Start(info)!);
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    private static string FindRepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "EdgeAgent.Sdk.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("The repository root was not found.");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
