using EdgeAgent.ControlPlane;
using EdgeAgent.ControlPlane.Agents;
using EdgeAgent.ControlPlane.Sqlite;
using EdgeAgent.Protocol.Contracts.Stacks;

namespace EdgeAgent.ControlPlane.Tests;

public sealed class ControlPlaneUnitTests
{
    [Fact]
    public void Secrets_are_256_bit_base64url_and_only_their_hash_matches()
    {
        var secrets = Enumerable.Range(0, 100).Select(_ => AgentSecrets.NewSecret()).ToArray();
        secrets.Should().OnlyHaveUniqueItems();
        secrets.Should().OnlyContain(s => s.Length == 43 && s.All(c => char.IsAsciiLetterOrDigit(c) || c == '-' || c == '_'));
        var hash = AgentSecrets.Hash(secrets[0]);
        hash.Should().StartWith("sha256:").And.NotContain(secrets[0]);
        AgentSecrets.Matches(secrets[0], hash).Should().BeTrue();
        AgentSecrets.Matches(secrets[1], hash).Should().BeFalse();
        AgentSecrets.Matches(secrets[0], null).Should().BeFalse();
    }

    [Theory]
    [InlineData("Bearer store-1.abcdefghijklmnop", true, "store-1", "abcdefghijklmnop")]
    [InlineData("bearer store-1.a.b", true, "store-1", "a.b")]
    [InlineData("Bearer .secret", false, "", "")]
    [InlineData("Bearer store-1.", false, "", "")]
    [InlineData("Bearer bad id.secret", false, "", "")]
    [InlineData("Basic c3RvcmU6c2VjcmV0", false, "", "")]
    [InlineData("", false, "", "")]
    public void Authorization_headers_parse_only_in_the_bearer_id_dot_secret_form(string header, bool valid, string id, string secret)
    {
        AgentSecrets.TryParseAuthorization(header, out var parsedId, out var parsedSecret).Should().Be(valid);
        if (valid)
        {
            parsedId.Should().Be(id);
            parsedSecret.Should().Be(secret);
        }
    }

    [Theory]
    [InlineData("docker.containers.restart", "containers")]
    [InlineData("docker.exec.run", "exec")]
    [InlineData("docker.volumes.browse", "volumes")]
    [InlineData("docker.system.ping", "system")]
    [InlineData("stacks.deploy", "stacks")]
    [InlineData("forward.tcp", "forwarding")]
    [InlineData("docker.unknown.thing", "custom")]
    [InlineData("myapp.reboot", "custom")]
    public void Command_groups_derive_from_names(string command, string group) =>
        EdgeCommandResource.GroupOf(command).Should().Be(group);

    [Fact]
    public async Task Sqlite_stores_keep_agents_audit_and_stacks_across_instances()
    {
        var path = Path.Combine(Path.GetTempPath(), $"edgeagent-unit-{Guid.NewGuid():N}.db");
        var connection = $"Data Source={path}";
        var now = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        var first = new SqliteDatabase(connection);
        var agents = new SqliteAgentStore(first);
        (await agents.TryAddAsync(new EdgeAgentRecord { Id = "a1", SecretHash = "sha256:AA", CreatedAt = now, Labels = new Dictionary<string, string> { ["site"] = "x" } })).Should().BeTrue();
        (await agents.TryAddAsync(new EdgeAgentRecord { Id = "a1", SecretHash = "sha256:BB", CreatedAt = now })).Should().BeFalse("ids are unique");
        await new SqliteAuditStore(first).AppendAsync(new EdgeAuditRecord { Event = "command", AgentId = "a1", Caller = "alice", Timestamp = now, Outcome = "ok" });
        await new SqliteStackStore(first).SetAsync(new EdgeDesiredStack { AgentId = "a1", ProjectName = "web", Request = new StackDeployRequest { ProjectName = "web", Version = "3", Variables = new Dictionary<string, string> { ["K"] = "V" } }, UpdatedAt = now });

        var second = new SqliteDatabase(connection);
        var record = await new SqliteAgentStore(second).GetAsync("a1");
        record!.Labels.Should().Contain("site", "x");
        record.CreatedAt.Should().Be(now);
        (await new SqliteAuditStore(second).QueryAsync(new EdgeAuditQuery { Caller = "alice" })).Should().ContainSingle().Which.Outcome.Should().Be("ok");
        var stack = await new SqliteStackStore(second).GetAsync("a1", "web");
        stack!.Request.Version.Should().Be("3");
        stack.Request.Variables.Should().Contain("K", "V");
        await new SqliteStackStore(second).DeleteAsync("a1", "web");
        (await new SqliteStackStore(second).ListAsync("a1")).Should().BeEmpty();
        await FluentActions.Awaiting(() => new SqliteAgentStore(second).UpdateAsync(record with { Id = "missing" })).Should().ThrowAsync<KeyNotFoundException>();
    }

    [Fact]
    public async Task The_in_memory_audit_trail_keeps_the_most_recent_records_with_ids_that_never_repeat()
    {
        var store = new EdgeAgent.ControlPlane.Storage.InMemoryAuditStore(capacity: 5);
        var at = DateTimeOffset.UnixEpoch;
        for (var i = 1; i <= 12; i++)
        {
            var stored = await store.AppendAsync(new EdgeAuditRecord { Event = "command", AgentId = i % 2 == 0 ? "even" : "odd", Timestamp = at.AddSeconds(i), Detail = i.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            stored.Id.Should().Be(i);
        }

        // Only the last five are kept (8..12); the ids the reader sees continue, with a gap before them.
        (await store.QueryAsync(new EdgeAuditQuery())).Select(r => r.Id).Should().Equal(8, 9, 10, 11, 12);
        (await store.QueryAsync(new EdgeAuditQuery { AfterId = 3 })).Select(r => r.Id).Should().Equal(8, 9, 10, 11, 12);
        (await store.QueryAsync(new EdgeAuditQuery { AfterId = 9, PageSize = 2 })).Select(r => r.Id).Should().Equal(10, 11);
        (await store.QueryAsync(new EdgeAuditQuery { AfterId = 12 })).Should().BeEmpty();
        (await store.QueryAsync(new EdgeAuditQuery { AgentId = "even" })).Select(r => r.Detail).Should().Equal("8", "10", "12");
        (await store.QueryAsync(new EdgeAuditQuery { From = at.AddSeconds(10), To = at.AddSeconds(12) })).Select(r => r.Id).Should().Equal(10, 11);
        FluentActions.Invoking(() => new EdgeAgent.ControlPlane.Storage.InMemoryAuditStore(0)).Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public async Task The_in_memory_audit_trail_returns_every_field_as_appended_including_long_details()
    {
        var store = new EdgeAgent.ControlPlane.Storage.InMemoryAuditStore(capacity: 3);
        var full = new EdgeAuditRecord
        {
            Timestamp = new DateTimeOffset(2026, 11, 24, 5, 6, 7, 890, TimeSpan.FromHours(-5)).AddTicks(1234),
            Event = "command", Caller = "älice", AgentId = "agent-1", Command = "containers.list",
            ArgumentsDigest = new string('d', 32), IdempotencyKey = "key-1", Outcome = "ok", DurationMs = 1.25, Detail = "short",
        };
        var sparse = new EdgeAuditRecord { Timestamp = DateTimeOffset.UnixEpoch, Event = "revoked" };
        var longDetail = full with { Detail = new string('x', 5000) + "end", DurationMs = null };

        var stored = new[] { await store.AppendAsync(full), await store.AppendAsync(sparse), await store.AppendAsync(longDetail) };
        var read = await store.QueryAsync(new EdgeAuditQuery());

        read.Should().Equal(stored);
        read[0].Timestamp.Offset.Should().Be(TimeSpan.FromHours(-5));
        read[0].Timestamp.Ticks.Should().Be(full.Timestamp.Ticks);
        read[2].Detail.Should().HaveLength(5003);

        // The ring turns: slots are reused, by records kept in place and by spilled ones.
        await store.AppendAsync(sparse with { Detail = "4" });
        await store.AppendAsync(longDetail);
        (await store.QueryAsync(new EdgeAuditQuery())).Select(r => r.Detail?.Length ?? -1).Should().Equal(5003, 1, 5003);
    }

    [Fact]
    public void An_in_memory_sqlite_connection_string_is_refused_with_a_clear_message() =>
        FluentActions.Invoking(() => new SqliteDatabase("Data Source=:memory:")).Should().Throw<ArgumentException>().WithMessage("*file*");
}
