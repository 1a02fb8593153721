using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

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

using var host = builder.Build();
try
{
    // The options are validated (as the host would at start) before the host runs, so a
    // configuration error is reported once, as the list of what is wrong, with exit code 1
    // instead of a host failure log plus an unhandled exception (SIGABRT, exit code 134).
    host.Services.GetService<IStartupValidator>()?.Validate();
    await host.RunAsync();
    return 0;
}
catch (OptionsValidationException ex)
{
    return ConfigurationError([ex]);
}
catch (AggregateException ex) when (ex.InnerExceptions.All(e => e is OptionsValidationException))
{
    // More than one options type failed validation.
    return ConfigurationError(ex.InnerExceptions.Cast<OptionsValidationException>());
}

static int ConfigurationError(IEnumerable<OptionsValidationException> errors)
{
    Console.Error.WriteLine("edgeagent: the configuration is not valid:");
    foreach (var failure in errors.SelectMany(e => e.Failures))
    {
        Console.Error.WriteLine($"  - {failure}");
    }

    Console.Error.WriteLine("Settings come from appsettings.json (section EdgeAgent), environment variables (CONTROL_PLANE_URL, AGENT_TOKEN, LOG_LEVEL, EdgeAgent__<Name>) and the command line.");
    return 1;
}
