using EdgeAgent.Protocol.Contracts.Stacks;

namespace EdgeAgent.Agent.Tests.Stacks;

[Trait("Category", "Docker")]
public sealed class StackHealthTests : StackDockerTestBase
{
    [Fact]
    public async Task AServiceWaitsForItsDependencyToBeHealthyAndHealthIsReported()
    {
        var project = NewProject();
        var yaml = $"""
            services:
              db:
                image: {TestImage}
                command: ["sh", "-c", "touch /tmp/ready; exec sleep 3600"]
                healthcheck:
                  test: ["CMD", "test", "-f", "/tmp/ready"]
                  interval: 1s
                  retries: 50
                stop_signal: SIGKILL
              app:
                image: {TestImage}
                command: ["sleep", "3600"]
                depends_on:
                  db:
                    condition: service_healthy
                stop_signal: SIGKILL
            """;

        var status = await DeployAsync(new StackDeployRequest { ProjectName = project, ComposeYaml = yaml, Version = "1", PullPolicy = StackPullPolicy.Never });

        status.IsConverged.Should().BeTrue(status.LastError);
        status.Services.Single(s => s.Name == "db").Health.Should().Be("healthy", "app was started only once db was healthy");
        status.Services.Single(s => s.Name == "app").Health.Should().BeEmpty("app has no health check");
        var db = await Docker.Containers.InspectContainerAsync(status.Services.Single(s => s.Name == "db").ContainerIds[0], Ct);
        var app = await Docker.Containers.InspectContainerAsync(status.Services.Single(s => s.Name == "app").ContainerIds[0], Ct);
        // The engine runs the first check one interval after the start and keeps the last five
        // results. While fewer than five are kept, the first passing one is among them; on a slow
        // machine it may have scrolled out, and then app must still have started after db did.
        var appStarted = DateTime.Parse(app.State!.StartedAt, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AdjustToUniversal);
        var log = db.State!.Health!.Log;
        if (log.Count < 5)
        {
            var firstHealthy = log.Where(r => r.ExitCode == 0).Min(r => r.Start);
            appStarted.Should().BeAfter(firstHealthy.ToUniversalTime(), "app starts only after db passed its health check");
        }
        else
        {
            appStarted.Should().BeAfter(DateTime.Parse(db.State.StartedAt, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AdjustToUniversal).AddSeconds(1), "app starts only after db's first check, one interval after db started");
        }
    }

    [Fact]
    public async Task ConcurrentDeploymentsOfOneStackAreSerialised()
    {
        var project = NewProject();
        var request = new StackDeployRequest
        {
            ProjectName = project,
            ComposeYaml = $"services:\n  a:\n    image: {TestImage}\n    command: [sleep, \"3600\"]\n    stop_signal: SIGKILL\n  b:\n    image: {TestImage}\n    command: [sleep, \"3600\"]\n    stop_signal: SIGKILL\n",
            Version = "1",
            PullPolicy = StackPullPolicy.Never,
        };

        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => DeployAsync(request)));

        results.Should().OnlyContain(r => r.IsConverged);
        results.Select(r => string.Join(",", r.Services.SelectMany(s => s.ContainerIds))).Distinct().Should().ContainSingle("later deployments found the stack in place");
        (await ContainersAsync(project)).Should().HaveCount(2);
    }
}
