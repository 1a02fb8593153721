using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

// An edge agent: connects outbound to the control plane named by CONTROL_PLANE_URL with the
// credential in AGENT_TOKEN, runs the commands it receives against the local Docker engine, and
// reconnects by itself. Settings also come from appsettings.json (section "EdgeAgent").
var builder = Host.CreateApplicationBuilder(args);
builder.Services.AddEdgeAgent(builder.Configuration.GetSection("EdgeAgent"))
    .AddDocker()
    .AddStacks();

await builder.Build().RunAsync();
