using System.Net;
using System.Net.WebSockets;
using System.Security.Claims;
using EdgeAgent.Agent;
using EdgeAgent.ControlPlane;
using EdgeAgent.FunctionalTests.Agents;
using EdgeAgent.Protocol;
using EdgeAgent.Testing.Hosting;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeAgent.FunctionalTests.Security;

public sealed class AuthorizationAndAuditTests
{
    private static ClaimsPrincipal User(string name, params string[] roles) =>
        new(new ClaimsIdentity([new Claim(ClaimTypes.Name, name), .. roles.Select(r => new Claim(ClaimTypes.Role, r))], "test"));

    [Fact]
    public async Task Commands_go_through_aspnetcore_authorization_with_agent_labels_and_denied_ones_never_reach_the_agent()
    {
        var counter = new ExecutionCounter();
        await using var controlPlane = await TestControlPlane.StartAsync(
            options: o => o.CommandAuthorizationPolicy = "fleet",
            services: s => s.AddAuthorizationBuilder().AddPolicy("fleet", p => p.RequireAssertion(c =>
                c.Resource is EdgeCommandResource r
                && c.User.Identity?.IsAuthenticated == true
                && (c.User.IsInRole("admin") || (r.AgentLabels.TryGetValue("site", out var site) && c.User.HasClaim("site", site))))));
        var token = await controlPlane.EnrollAsync("shop-berlin", new Dictionary<string, string> { ["site"] = "berlin" });
        await using var agent = await TestAgent.StartAsync(controlPlane.BaseUrl, token, build: a =>
        {
            a.Services.AddSingleton(counter);
            a.AddCommandHandler<EchoHandler>();
        });

        var admin = controlPlane.Agents.As(User("alice", "admin"))["shop-berlin"];
        (await admin.InvokeAsync<EchoRequest, EchoResponse>("test.echo", new EchoRequest { Text = "admin" })).Text.Should().Be("admin");

        var local = new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, "bob"), new Claim("site", "berlin")], "test"));
        (await controlPlane.Agents.As(local)["shop-berlin"].InvokeAsync<EchoRequest, EchoResponse>("test.echo", new EchoRequest { Text = "bob" })).Text.Should().Be("bob");

        var other = new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, "carol"), new Claim("site", "paris")], "test"));
        var denied = await FluentActions.Awaiting(() => controlPlane.Agents.As(other)["shop-berlin"].InvokeAsync<EchoRequest, EchoResponse>("test.echo", new EchoRequest { Text = "carol" }))
            .Should().ThrowAsync<EdgeCommandException>();
        denied.Which.Code.Should().Be(EdgeErrorCodes.Denied);
        denied.Which.Message.Should().Contain("fleet");

        // Without a caller the policy sees an anonymous user and refuses.
        (await FluentActions.Awaiting(() => controlPlane.Agents["shop-berlin"].InvokeAsync<EchoRequest, EchoResponse>("test.echo", new EchoRequest { Text = "anon" }))
            .Should().ThrowAsync<EdgeCommandException>()).Which.Code.Should().Be(EdgeErrorCodes.Denied);

        counter.ByText.Keys.Should().BeEquivalentTo(["admin", "bob"], "denied commands never reach the agent");

        var audit = controlPlane.Services.GetRequiredService<IEdgeAuditStore>();
        var records = await audit.QueryAsync(new EdgeAuditQuery { AgentId = "shop-berlin" });
        records.Where(r => r.Event == "command").Select(r => (r.Caller, r.Outcome)).Should().BeEquivalentTo([("alice", "ok"), ("bob", "ok")]);
        records.Where(r => r.Event == "denied").Select(r => r.Caller).Should().BeEquivalentTo(["carol", "system"]);
        records.Should().OnlyContain(r => r.Event != "command" || (r.Command == "test.echo" && r.ArgumentsDigest!.Length == 32 && r.IdempotencyKey != null && r.DurationMs >= 0));
        (await audit.QueryAsync(new EdgeAuditQuery { Caller = "carol" })).Should().ContainSingle();
        records.Should().Contain(r => r.Event == "enrolled");
    }

    [Fact]
    public async Task Audit_records_do_not_contain_arguments_and_page_by_id()
    {
        await using var controlPlane = await TestControlPlane.StartAsync();
        var token = await controlPlane.EnrollAsync("audit-1");
        var counter = new ExecutionCounter();
        await using var agent = await TestAgent.StartAsync(controlPlane.BaseUrl, token, build: a =>
        {
            a.Services.AddSingleton(counter);
            a.AddCommandHandler<EchoHandler>();
        });
        for (var i = 0; i < 5; i++)
        {
            await controlPlane.Agents["audit-1"].InvokeAsync<EchoRequest, EchoResponse>("test.echo", new EchoRequest { Text = "password=hunter2-" + i });
        }

        var audit = controlPlane.Services.GetRequiredService<IEdgeAuditStore>();
        var first = await audit.QueryAsync(new EdgeAuditQuery { AgentId = "audit-1", PageSize = 3 });
        first.Should().HaveCount(3);
        var rest = await audit.QueryAsync(new EdgeAuditQuery { AgentId = "audit-1", AfterId = first[^1].Id, PageSize = 100 });
        var lastId = first[^1].Id;
        rest.Select(r => r.Id).Should().OnlyContain(id => id > lastId);
        first.Concat(rest).Count(r => r.Event == "command").Should().Be(5);
        first.Concat(rest).Should().OnlyContain(r => !(r.ToString().Contains("hunter2", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_stream_to_an_agent_that_is_not_connected_is_audited_with_its_failure_not_as_ok()
    {
        await using var controlPlane = await TestControlPlane.StartAsync();
        await controlPlane.EnrollAsync("offline-1");

        var failure = await FluentActions.Awaiting(async () =>
        {
            await foreach (var item in controlPlane.Agents["offline-1"].StreamAsync<EchoRequest, EchoResponse>("test.echo-stream", new EchoRequest { Text = "x" }))
            {
                _ = item;
            }
        }).Should().ThrowAsync<EdgeCommandException>();

        var audit = controlPlane.Services.GetRequiredService<IEdgeAuditStore>();
        var records = await audit.QueryAsync(new EdgeAuditQuery { AgentId = "offline-1" });
        records.Should().ContainSingle(r => r.Event == "command").Which.Outcome.Should().Be(failure.Which.Code);
    }

    [Fact]
    public async Task Connection_attempts_are_rate_limited_per_address_with_retry_after()
    {
        await using var controlPlane = await TestControlPlane.StartAsync(options: o =>
        {
            // One token per 10 s after a burst of 3: the six attempts below come well within that.
            o.HandshakesPerSecondPerAddress = 0.1;
            o.HandshakeBurstPerAddress = 3;
        });
        var statuses = new List<HttpStatusCode>();
        string? retryAfter = null;
        for (var i = 0; i < 6; i++)
        {
            using var socket = new ClientWebSocket();
            socket.Options.CollectHttpResponseDetails = true;
            socket.Options.SetRequestHeader("Authorization", "Bearer nobody.0123456789abcdefghijkl");
            try
            {
                await socket.ConnectAsync(new Uri(controlPlane.BaseUrl.ToString().Replace("http", "ws", StringComparison.Ordinal) + "agent/connect"), CancellationToken.None);
            }
            catch (WebSocketException)
            {
            }

            statuses.Add(socket.HttpStatusCode);
            if (socket.HttpStatusCode == HttpStatusCode.TooManyRequests)
            {
                retryAfter = socket.HttpResponseHeaders?["Retry-After"].FirstOrDefault();
            }
        }

        statuses.Take(3).Should().OnlyContain(s => s == HttpStatusCode.Unauthorized);
        statuses.Skip(3).Should().OnlyContain(s => s == HttpStatusCode.TooManyRequests);
        retryAfter.Should().Be("10", "the time one token takes to come back");
    }
}
