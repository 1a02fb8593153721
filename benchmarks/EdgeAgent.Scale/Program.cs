using EdgeAgent.Scale;

// One program, several roles: the coordinator (--role run, the default) starts the others as
// separate processes so that the control plane's memory and CPU are measured on their own.
var args_ = new Args(args);
var role = args_.String("role", "run");
return role switch
{
    "run" => await Coordinator.RunAsync(args_),
    "control-plane" => await ControlPlaneRole.RunAsync(args_),
    "echo-server" => await EchoServerRole.RunAsync(args_),
    "agents" => await AgentsRole.RunAsync(args_),
    "echo-clients" => await EchoClientsRole.RunAsync(args_),
    _ => Usage(role),
};

static int Usage(string role)
{
    Console.Error.WriteLine($"Unknown role '{role}'. Roles: run (default), control-plane, echo-server, agents, echo-clients.");
    Console.Error.WriteLine("Coordinator: dotnet EdgeAgent.Scale.dll [--quick] [--counts 1000,5000,10000] [--idle-seconds 30] [--load-seconds 20] [--output results.md]");
    return 2;
}
