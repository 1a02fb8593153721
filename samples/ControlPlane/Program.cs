using System.Security.Claims;
using System.Text.Json;
using EdgeAgent.ControlPlane;
using EdgeAgent.Protocol.Contracts.Docker;
using EdgeAgent.Protocol.Contracts.Stacks;
using EdgeAgent.Samples.ControlPlane;

var builder = WebApplication.CreateBuilder(args);

// Operators authenticate with an API key (OPERATOR_API_KEY); every command runs as that caller
// through the "operator" policy and lands in the audit trail.
builder.Services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
    .AddScheme<ApiKeyOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, o => o.Key = builder.Configuration["OPERATOR_API_KEY"]);
builder.Services.AddAuthorizationBuilder().AddPolicy("operator", p => p.RequireRole("operator"));

// Options such as PublicUrl (the URL written into enrollment output) are bound from the
// configuration's EdgeControlPlane section: appsettings.json, or EdgeControlPlane__PublicUrl.
var controlPlane = builder.Services
    .AddEdgeControlPlane(o => o.CommandAuthorizationPolicy = "operator")
    .UseSqlite(builder.Configuration.GetConnectionString("EdgeAgent") ?? "Data Source=edgeagent.db");

// Self-hosted mode: manage this host's Docker engine too, without a separate agent.
if (builder.Configuration.GetValue<bool>("LocalAgent:Enabled"))
{
    controlPlane.AddLocalAgent().AddDocker().AddStacks();
}

// Failed commands (no such container, agent not connected, denied, ...) become HTTP answers
// with their message as ProblemDetails instead of an empty 500.
builder.Services.AddProblemDetails();
builder.Services.AddExceptionHandler<EdgeExceptionHandler>();

var app = builder.Build();
if (string.IsNullOrEmpty(app.Configuration["OPERATOR_API_KEY"]))
{
    app.Logger.LogWarning("OPERATOR_API_KEY is not set: every /api call will get 401. Set it and send the key in the X-Api-Key header.");
}

app.UseExceptionHandler();
app.UseAuthentication();
app.UseAuthorization();
app.MapEdgeAgents(); // at EdgeControlPlane:ConnectPath (default /agent/connect)
app.MapHealthChecks("/healthz");

var api = app.MapGroup("/api").RequireAuthorization("operator");

api.MapPost("/agents", async (EnrollAgentRequest request, IEdgeAgentEnrollment enrollment) =>
{
    try
    {
        return Results.Ok(await enrollment.EnrollAsync(request));
    }
    catch (InvalidOperationException ex)
    {
        // The id is already enrolled.
        return Results.Problem(ex.Message, statusCode: StatusCodes.Status409Conflict);
    }
});

api.MapGet("/agents", async (IEdgeAgentRegistry registry) =>
    (await registry.GetAgentsAsync()).Select(a => new
    {
        a.Id,
        a.Name,
        State = a.State.ToString(),
        a.LastHeartbeat,
        a.ConnectedSince,
        a.LastConnectedAt,
        a.RemoteAddress,
        Hostname = a.Info?.Hostname,
        EngineVersion = a.Info?.EngineVersion,
    }));

api.MapGet("/agents/{id}/snapshot", async (string id, IEdgeAgentRegistry registry) =>
    await registry.GetAgentAsync(id) switch
    {
        null => Results.Problem($"No agent '{id}' is enrolled.", statusCode: StatusCodes.Status404NotFound),
        { Snapshot: { } snapshot } => Results.Ok(snapshot),
        _ => Results.Problem($"Agent '{id}' has sent no snapshot since this control plane started.", statusCode: StatusCodes.Status404NotFound),
    });

api.MapPut("/agents/{id}/stacks/{name}", async (string id, string name, DeployStackBody body, IEdgeStacks stacks, ClaimsPrincipal user) =>
    Results.Ok(await stacks.As(user).DeployAsync(id, new StackDeployRequest
    {
        ProjectName = name,
        Version = body.Version,
        ComposeYaml = body.Compose,
        Variables = body.Variables ?? new Dictionary<string, string>(),
    })));

api.MapDelete("/agents/{id}/stacks/{name}", async (string id, string name, bool? volumes, IEdgeStacks stacks, ClaimsPrincipal user) =>
    Results.Ok(await stacks.As(user).RemoveAsync(id, name, volumes ?? false)));

api.MapPost("/agents/{id}/containers/{container}/{action}", async (string id, string container, string action, IEdgeAgents agents, ClaimsPrincipal user) =>
{
    var containers = agents.As(user)[id].Containers;
    switch (action)
    {
        case "start": await containers.StartAsync(container); break;
        case "stop": await containers.StopAsync(container); break;
        case "restart": await containers.RestartAsync(container); break;
        default: return Results.Problem("The action must be start, stop or restart.", statusCode: StatusCodes.Status400BadRequest);
    }

    return Results.NoContent();
});

// Follows a container's logs as server-sent events, with flow control all the way to the agent.
api.MapGet("/agents/{id}/containers/{container}/logs", async (string id, string container, HttpContext http, IEdgeAgents agents, ClaimsPrincipal user) =>
{
    http.Response.ContentType = "text/event-stream";
    var request = new ContainerLogsRequest { Id = container, Tail = 100 };
    await foreach (var line in agents.As(user)[id].Containers.FollowLogsAsync(request, cancellationToken: http.RequestAborted))
    {
        await http.Response.WriteAsync($"event: {line.Stream.ToString().ToLowerInvariant()}\ndata: {JsonSerializer.Serialize(line.Text)}\n\n", http.RequestAborted);
        await http.Response.Body.FlushAsync(http.RequestAborted);
    }
});

app.Run();

internal sealed record DeployStackBody(string Version, string Compose, Dictionary<string, string>? Variables);
