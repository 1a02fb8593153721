using System.Diagnostics;
using System.Text;

namespace EdgeAgent.FunctionalTests.Scale;

/// <summary>
/// Runs the scale harness (benchmarks/EdgeAgent.Scale) in its quick mode as a subprocess: 200
/// real agents in their own process, a control plane in another, both reconnect storms. Asserts
/// only that it completes and reports every agent connected; its timings are not asserted.
/// </summary>
public sealed class ScaleHarnessSmokeTests
{
    [Fact]
    public async Task The_quick_scale_run_completes_with_all_agents_connected()
    {
        var harness = FindHarness();
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(harness);
        start.ArgumentList.Add("--quick");
        var output = new StringBuilder();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(55));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"The quick scale run did not finish within 55 s. Output:\n{output}");
        }

        process.WaitForExit(); // drains the redirected output
        string text;
        lock (output)
        {
            text = output.ToString();
        }

        process.ExitCode.Should().Be(0, text);
        text.Should().Contain("RESULT all agents connected");
        text.Should().Contain("| 200 | EdgeAgent control plane | 200 |");
    }

    /// <summary>The harness built next to the tests: benchmarks/EdgeAgent.Scale/bin/&lt;configuration&gt;/&lt;tfm&gt;/.</summary>
    private static string FindHarness()
    {
        var bin = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var tfm = bin.Name;
        var configuration = bin.Parent!.Name;
        var root = bin.Parent.Parent!.Parent!.Parent!.Parent!.FullName; // tests/EdgeAgent.FunctionalTests/bin/<c>/<tfm>
        var path = Path.Combine(root, "benchmarks", "EdgeAgent.Scale", "bin", configuration, tfm, "EdgeAgent.Scale.dll");
        File.Exists(path).Should().BeTrue($"the scale harness should be built at {path} (the functional tests reference it)");
        return path;
    }
}
