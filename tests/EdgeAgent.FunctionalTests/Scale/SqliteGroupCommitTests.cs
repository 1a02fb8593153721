using EdgeAgent.ControlPlane;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeAgent.FunctionalTests.Scale;

/// <summary>The SQLite audit store under concurrent appends (one per command at load).</summary>
public sealed class SqliteGroupCommitTests
{
    [Fact]
    public async Task Concurrent_appends_are_all_committed_with_distinct_ids_and_concurrent_agent_writes_do_not_fail()
    {
        var path = Path.Combine(Path.GetTempPath(), $"edgeagent-groupcommit-{Guid.NewGuid():N}.db");
        try
        {
            var services = new ServiceCollection();
            services.AddLogging();
            services.AddEdgeControlPlane().UseSqlite($"Data Source={path}");
            await using var provider = services.BuildServiceProvider();
            var audit = provider.GetRequiredService<IEdgeAuditStore>();
            var enrollment = provider.GetRequiredService<IEdgeAgentEnrollment>();

            // Audit appends and agent-store writes race for SQLite's single writer.
            var appends = Enumerable.Range(0, 600).Select(i => Task.Run(() => audit.AppendAsync(new EdgeAuditRecord
            {
                Event = "command", AgentId = $"a{i % 7}", Command = "test.echo", Outcome = "ok", Timestamp = DateTimeOffset.UtcNow,
            }, TestContext.Current.CancellationToken))).ToArray();
            var enrollments = Enumerable.Range(0, 40).Select(i => Task.Run(() => enrollment.EnrollAsync(new EnrollAgentRequest { Id = $"gc-{i}" }, TestContext.Current.CancellationToken))).ToArray();
            var records = await Task.WhenAll(appends).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
            await Task.WhenAll(enrollments).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

            records.Select(r => r.Id).Should().OnlyHaveUniqueItems().And.OnlyContain(id => id > 0);
            var stored = new List<EdgeAuditRecord>();
            long after = 0;
            while (true)
            {
                var page = await audit.QueryAsync(new EdgeAuditQuery { AfterId = after, PageSize = 1000 }, TestContext.Current.CancellationToken);
                if (page.Count == 0)
                {
                    break;
                }

                stored.AddRange(page);
                after = page[^1].Id;
            }

            stored.Where(r => r.Event == "command").Should().HaveCount(600);
            stored.Select(r => r.Id).Should().Contain(records.Select(r => r.Id));
        }
        finally
        {
            foreach (var file in new[] { path, path + "-wal", path + "-shm" })
            {
                File.Delete(file);
            }
        }
    }
}
