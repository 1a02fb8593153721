using BenchmarkDotNet.Running;
using EdgeAgent.Benchmarks.Forwarding;

// "forwarding…" modes: the Stopwatch harness of TCP forwarding (see Forwarding/ForwardingHarness.cs).
if (ForwardingHarness.Handles(args))
{
    return await ForwardingHarness.RunAsync(args);
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
