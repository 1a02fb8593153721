namespace EdgeAgent.FunctionalTests.Hostile;

/// <summary>
/// Tests that bound the growth of the process's GC heap run on their own: the heap is shared with
/// every test running in parallel (forwarding tests move tens of MiB), which made those bounds fail
/// for reasons unrelated to the test.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HeapMeasuringCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Heap measuring";
}
