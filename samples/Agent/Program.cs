using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

// An edge agent: connects outbound to the control plane named by CONTROL_PLANE_URL with the
// credential in AGENT_TOKEN, runs the commands it receives against the local Docker engine, and
// reconnects by itself. Settings also come from appsettings.json next to the binary (section
// "EdgeAgent"), environment variables (EdgeAgent__StateDirectory, LOG_LEVEL, ...) and the command line.
//
// The host is built from an empty builder with only what an agent uses, instead of
// Host.CreateApplicationBuilder: no appsettings.{Environment}.json, user secrets or file watching
// (no reload-on-change thread), and only the console logger (no Debug/EventSource/EventLog
// providers). Less code is compiled in and touched at start, which is most of what a small
// agent's memory is (see benchmarks/results/footprint.md).
var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings
{
    Args = args,
    ContentRootPath = AppContext.BaseDirectory,
});
builder.Configuration
    .AddJsonFile("appsettings.json", optional: true, reloadOnChange: false)
    .AddEnvironmentVariables()
    .AddCommandLine(args);
builder.Logging
    .AddConfiguration(builder.Configuration.GetSection("Logging"))
    .AddConsole();

builder.Services.AddEdgeAgent() // binds the EdgeAgent section of the configuration above
    .AddDocker()
    .AddStacks();

await builder.Build().RunAsync();
