using System.Globalization;
using System.Runtime.InteropServices;

namespace EdgeAgent.Eng.AgentSmokeHost;

internal sealed record SmokeOptions(int IdleSeconds, int SettleSeconds, string? ExpectContainer, IReadOnlyList<string> AgentCommand)
{
    public static SmokeOptions Parse(string[] args)
    {
        var separator = Array.IndexOf(args, "--");
        if (separator < 0 || separator == args.Length - 1)
        {
            throw new ArgumentException("usage: AgentSmokeHost [--idle-seconds N] [--settle-seconds N] [--expect-container NAME] -- <agent command> [arguments...]");
        }

        int idle = 0, settle = 35;
        string? expect = null;
        for (var i = 0; i < separator; i++)
        {
            switch (args[i])
            {
                case "--idle-seconds": idle = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--settle-seconds": settle = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--expect-container": expect = args[++i]; break;
                default: throw new ArgumentException($"unknown option {args[i]}");
            }
        }

        return new SmokeOptions(idle, settle, expect, args[(separator + 1)..]);
    }
}

/// <summary>Memory and CPU time of a process, from /proc.</summary>
/// <remarks>
/// <see cref="AnonKiB"/> is the process's private memory (GC heap, stacks, native allocations);
/// <see cref="FileKiB"/> the pages of the binary and shared libraries it has touched (clean, shared
/// with the page cache). Both count in the RSS.
/// </remarks>
internal sealed record ProcStat(long RssKiB, long PeakRssKiB, long AnonKiB, long FileKiB, double CpuSeconds, int Threads)
{
    public static ProcStat Read(int pid)
    {
        long rss = 0, peak = 0, anon = 0, file = 0;
        var threads = 0;
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = Kib(line);
            }
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                peak = Kib(line);
            }
            else if (line.StartsWith("RssAnon:", StringComparison.Ordinal))
            {
                anon = Kib(line);
            }
            else if (line.StartsWith("RssFile:", StringComparison.Ordinal))
            {
                file = Kib(line);
            }
            else if (line.StartsWith("Threads:", StringComparison.Ordinal))
            {
                threads = int.Parse(line["Threads:".Length..].Trim(), CultureInfo.InvariantCulture);
            }
        }

        // Fields 14 and 15 of /proc/<pid>/stat (utime, stime) in clock ticks, counted after the ")" that ends the name.
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return new ProcStat(rss, peak, anon, file, ticks / (double)Signals.ClockTicksPerSecond, threads);
    }

    private static long Kib(string line) =>
        long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
}

internal static partial class Signals
{
    private const int SigTerm = 15;
    private const int ScClkTck = 2;

    public static long ClockTicksPerSecond { get; } = sysconf(ScClkTck);

    /// <summary>Asks the agent to stop as a service manager would (SIGTERM), so it closes the tunnel cleanly.</summary>
    public static void Terminate(int pid) => _ = kill(pid, SigTerm);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int signal);

    [LibraryImport("libc")]
    private static partial long sysconf(int name);
}
