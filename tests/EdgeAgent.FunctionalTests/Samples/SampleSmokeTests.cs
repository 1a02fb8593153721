using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using EdgeAgent.Testing.Docker;

namespace EdgeAgent.FunctionalTests.Samples;

/// <summary>The samples, built by the solution, run as a user would run them.</summary>
[Trait("Category", "Docker")]
public sealed class SampleSmokeTests
{
    [Fact]
    public async Task Quick_start_deploys_follows_logs_prints_the_fleet_and_exits_zero()
    {
        using var docker = await DockerTestEnvironment.RequireAsync();
        await using var quickStart = SampleProcess.Start(SampleProcess.SamplePath("QuickStart", "EdgeAgent.Samples.QuickStart"), new Dictionary<string, string>());
        var exit = await quickStart.WaitForExitAsync(TimeSpan.FromMinutes(2));
        exit.Should().Be(0, quickStart.Output);
        quickStart.Output.Should().Contain("agent connected").And.Contain("hello from the edge #1").And.Contain("stack removed");
        quickStart.Output.Should().MatchRegex(@"quickstart\s+Connected\s+\d{4}-\d\d-\d\d");
    }

    [Fact]
    public async Task Control_plane_and_agent_samples_enroll_connect_and_serve_the_operator_api()
    {
        using var docker = await DockerTestEnvironment.RequireAsync();
        var port = FreePort();
        var baseUrl = $"http://127.0.0.1:{port}";
        var data = Path.Combine(Path.GetTempPath(), "edgeagent-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(data);
        await using var controlPlane = SampleProcess.Start(SampleProcess.SamplePath("ControlPlane", "EdgeAgent.Samples.ControlPlane"), new Dictionary<string, string>
        {
            ["ASPNETCORE_URLS"] = baseUrl,
            ["OPERATOR_API_KEY"] = "sample-operator-key",
            ["EdgeControlPlane__PublicUrl"] = baseUrl,
            ["ConnectionStrings__EdgeAgent"] = $"Data Source={Path.Combine(data, "cp.db")}",
        });
        using var http = new HttpClient { BaseAddress = new Uri(baseUrl) };
        await WaitAsync(async () => (await TryGetAsync(http, "/healthz"))?.IsSuccessStatusCode == true, controlPlane);

        (await http.GetAsync("/api/agents")).StatusCode.Should().Be(HttpStatusCode.Unauthorized, "the operator API requires the API key");
        http.DefaultRequestHeaders.Add("X-Api-Key", "sample-operator-key");
        var enrolled = await http.PostAsJsonAsync("/api/agents", new { id = "sample-agent", name = "Sample" });
        enrolled.StatusCode.Should().Be(HttpStatusCode.OK);
        var enrollment = await enrolled.Content.ReadFromJsonAsync<JsonElement>();
        var environment = enrollment.GetProperty("environment");
        environment.GetProperty("CONTROL_PLANE_URL").GetString().Should().Be(baseUrl);

        await using var agent = SampleProcess.Start(SampleProcess.SamplePath("Agent", "edgeagent"), new Dictionary<string, string>
        {
            ["CONTROL_PLANE_URL"] = environment.GetProperty("CONTROL_PLANE_URL").GetString()!,
            ["AGENT_TOKEN"] = environment.GetProperty("AGENT_TOKEN").GetString()!,
            ["EdgeAgent__AllowInsecureTransport"] = "true",
            ["EdgeAgent__StateDirectory"] = Path.Combine(data, "agent"),
        });

        await WaitAsync(async () =>
        {
            var agents = await http.GetFromJsonAsync<JsonElement>("/api/agents");
            return agents.EnumerateArray().Any(a => a.GetProperty("id").GetString() == "sample-agent" && a.GetProperty("state").GetString() == "Connected");
        }, agent);

        await WaitAsync(async () => (await http.GetAsync("/api/agents/sample-agent/snapshot")).IsSuccessStatusCode, agent);
        var snapshot = await http.GetFromJsonAsync<JsonElement>("/api/agents/sample-agent/snapshot");
        snapshot.GetProperty("engineReachable").GetBoolean().Should().BeTrue();
        agent.Output.Should().NotContain(environment.GetProperty("AGENT_TOKEN").GetString()!.Split('.')[1]);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task<HttpResponseMessage?> TryGetAsync(HttpClient http, string path)
    {
        try
        {
            return await http.GetAsync(path);
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    private static async Task WaitAsync(Func<Task<bool>> condition, SampleProcess process)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!await condition())
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"The sample exited with {process.ExitCode}:\n{process.Output}");
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The sample did not get there in time:\n{process.Output}");
            }

            await Task.Delay(200);
        }
    }
}
