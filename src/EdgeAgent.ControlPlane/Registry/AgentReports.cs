using EdgeAgent.ControlPlane.Endpoint;
using EdgeAgent.Protocol.Contracts.Docker;
using EdgeAgent.Protocol.Rpc;

namespace EdgeAgent.ControlPlane.Registry;

/// <summary>A command agents send to the control plane, bound to the sending agent's id.</summary>
internal sealed class AgentReportCommand<TReport>(string name, Action<string, TReport> accept) : IControlPlaneCommand
{
    public string Name => name;

    public CommandInvoker CreateInvoker(string agentId) => new Invoker(name, agentId, accept);

    private sealed class Invoker(string name, string agentId, Action<string, TReport> accept) : CommandInvoker
    {
        public override string Name => name;

        public override string Group => "agent";

        public override CommandShape Shape => CommandShape.Unary;

        public override ValueTask<byte[]> InvokeUnaryAsync(CommandCall call)
        {
            accept(agentId, ContractSerializer.Deserialize<TReport>(call.Payload, AgentReports.MaxContainers));
            return ValueTask.FromResult(ContractSerializer.Serialize(true));
        }
    }
}

/// <summary>The reports agents push: status snapshots and container resource usage.</summary>
internal static class AgentReports
{
    /// <summary>
    /// The most arrays and maps one report may hold. A report is kept per agent until the next one,
    /// and an empty array costs a few hundred bytes of heap: a 1 MiB report of empty entries made
    /// about 200 MB. A snapshot of 1,000 containers (names, ports, labels) and 2,000 images holds
    /// about 20,000; this allows three times that and keeps a report under about 20 MB of heap.
    /// </summary>
    public const int MaxContainers = 64 * 1024;

    public static IControlPlaneCommand Snapshot(AgentRegistry registry) =>
        new AgentReportCommand<AgentSnapshot>("agent.snapshot", registry.SetSnapshot);

    public static IControlPlaneCommand Usage(AgentRegistry registry) =>
        new AgentReportCommand<ContainerUsageReport>("agent.usage", registry.SetUsage);
}
