using System.Diagnostics;
using System.Runtime;

namespace EdgeAgent.Scale;

/// <summary>What a server process reports about itself.</summary>
public sealed record ProcessSnapshot(
    int Connections,
    long ManagedHeapBytes,
    long GcHeapSizeBytes,
    long WorkingSetBytes,
    long PrivateBytes,
    double CpuMilliseconds,
    int Threads,
    long Gen0Collections,
    long Gen2Collections,
    long AllocatedBytes);

internal static class ProcessStats
{
    /// <summary>Captures the process's numbers; with <paramref name="fullGc"/> after a full blocking, compacting collection.</summary>
    public static ProcessSnapshot Capture(int connections, bool fullGc)
    {
        if (fullGc)
        {
            GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        }

        using var process = Process.GetCurrentProcess();
        process.Refresh();
        var info = GC.GetGCMemoryInfo(GCKind.Any);
        return new ProcessSnapshot(
            connections,
            GC.GetTotalMemory(forceFullCollection: false),
            info.HeapSizeBytes,
            process.WorkingSet64,
            process.PrivateMemorySize64,
            process.TotalProcessorTime.TotalMilliseconds,
            process.Threads.Count,
            GC.CollectionCount(0),
            GC.CollectionCount(2),
            GC.GetTotalAllocatedBytes(precise: false));
    }
}
