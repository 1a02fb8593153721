using System.Collections.Concurrent;
using System.Net;
using System.Net.WebSockets;
using EdgeAgent.Agent;
using EdgeAgent.ControlPlane;
using EdgeAgent.Protocol;
using EdgeAgent.Testing.Hosting;
using EdgeAgent.Testing.Network;
using MessagePack;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeAgent.FunctionalTests.Faults;

[MessagePackObject]
public sealed class KeyedEchoRequest
{
    [Key(0)]
    public string Text { get; set; } = "";
}

[MessagePackObject]
public sealed class KeyedEchoResponse
{
    [Key(0)]
    public string Text { get; set; } = "";

    [Key(1)]
    public long Execution { get; set; }
}

/// <summary>Records, per idempotency key, how often the handler ran and the execution number it answered with.</summary>
public sealed class KeyedExecutions
{
    private long _total;

    public ConcurrentDictionary<string, int> Runs { get; } = new(StringComparer.Ordinal);

    public ConcurrentDictionary<string, long> FirstExecution { get; } = new(StringComparer.Ordinal);

    public long Total => Interlocked.Read(ref _total);

    public long Record(string key)
    {
        var execution = Interlocked.Increment(ref _total);
        Runs.AddOrUpdate(key, 1, (_, n) => n + 1);
        FirstExecution.TryAdd(key, execution);
        return execution;
    }
}

public sealed class KeyedEchoHandler(KeyedExecutions executions) : EdgeCommandHandler<KeyedEchoRequest, KeyedEchoResponse>
{
    public override string Name => "test.keyed-echo";

    public override ValueTask<KeyedEchoResponse> HandleAsync(KeyedEchoRequest request, EdgeCommandContext context) =>
        ValueTask.FromResult(new KeyedEchoResponse { Text = request.Text, Execution = executions.Record(context.IdempotencyKey) });
}

/// <summary>
/// Faults between agent and control plane: connections cut at random byte counts (seeded),
/// stalls and delays, a control plane killed and restarted on its SQLite file. Commands are
/// delivered at least once and executed exactly once; nothing acknowledged is lost.
/// Long mode: EDGEAGENT_SOAK=1 runs 50,000 commands; EDGEAGENT_FAULT_COMMANDS=N sets the count.
/// </summary>
public sealed class FaultInjectionTests
{
    private static int CommandCount =>
        int.TryParse(Environment.GetEnvironmentVariable("EDGEAGENT_FAULT_COMMANDS"), out var n) && n > 0 ? n
        : Environment.GetEnvironmentVariable("EDGEAGENT_SOAK") is "1" or "true" ? 50_000
        : 10_000;

    private static Action<IEdgeAgentBuilder> WithKeyedEcho(KeyedExecutions executions) => agent =>
    {
        agent.Services.AddSingleton(executions);
        agent.AddCommandHandler<KeyedEchoHandler>();
    };

    private static Action<EdgeAgentOptions> FastReconnect(int capacity) => o =>
    {
        o.ReconnectInitialDelay = TimeSpan.FromMilliseconds(10);
        o.ReconnectMaxDelay = TimeSpan.FromMilliseconds(50);
        o.StableConnectionThreshold = TimeSpan.FromMilliseconds(200);
        o.IdempotencyCapacity = capacity;
    };

    /// <summary>Retries with the same key while the answer is "unavailable" or "timeout"; every attempt has its own timeout.</summary>
    private static async Task<(KeyedEchoResponse? Response, string? Error, int Attempts)> InvokeUntilAnsweredAsync(IEdgeAgent agent, string key, string text, DateTime deadline)
    {
        var options = new EdgeCommandOptions { IdempotencyKey = key, Timeout = TimeSpan.FromSeconds(5) };
        var attempts = 0;
        while (true)
        {
            attempts++;
            try
            {
                var response = await agent.InvokeAsync<KeyedEchoRequest, KeyedEchoResponse>("test.keyed-echo", new KeyedEchoRequest { Text = text }, options);
                return (response, null, attempts);
            }
            catch (EdgeCommandException ex) when (ex.Code is EdgeErrorCodes.Unavailable or EdgeErrorCodes.Timeout)
            {
                if (DateTime.UtcNow > deadline)
                {
                    return (null, $"{ex.Code}: {ex.Message}", attempts);
                }

                // While the agent reconnects: wait for its session rather than spin.
                while (!agent.IsConnected && DateTime.UtcNow < deadline)
                {
                    await Task.Delay(5);
                }
            }
            catch (EdgeCommandException ex)
            {
                return (null, $"{ex.Code}: {ex.Message}", attempts);
            }
        }
    }

    [Fact]
    public async Task Commands_through_random_cuts_stalls_and_delays_are_answered_and_run_exactly_once()
    {
        var count = CommandCount;
        var executions = new KeyedExecutions();
        await using var controlPlane = await TestControlPlane.StartAsync(options: o => o.HandshakesPerSecondPerAddress = 0);
        var token = await controlPlane.EnrollAsync("faulty-1");
        await using var proxy = new TcpFaultProxy(controlPlane.BaseUrl)
        {
            Random = new Random(20240607),
            CutAfterBytes = (4 * 1024, 64 * 1024),
        };
        await using var agent = await TestAgent.StartAsync(proxy.Url, token, FastReconnect(count + 1000), WithKeyedEcho(executions));
        var handle = controlPlane.Agents["faulty-1"];

        var results = new (KeyedEchoResponse? Response, string? Error, int Attempts)[count];
        var next = -1;
        var done = 0;
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(Math.Max(2, count / 5000));

        // A stall (no bytes either way, no FIN) at a third of the run, resumed shortly after: calls wait or time out and retry.
        var faults = Task.Run(async () =>
        {
            while (Volatile.Read(ref done) < count / 3 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(10);
            }

            proxy.Stall();
            await Task.Delay(300);
            proxy.Resume();
        });

        var workers = Enumerable.Range(0, 32).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                results[i] = await InvokeUntilAnsweredAsync(handle, $"key-{i}", $"text-{i}", deadline);
                Interlocked.Increment(ref done);
            }
        }));
        await Task.WhenAll(workers);
        await faults;

        // Every caller got its result; no error, no hang.
        results.Where(r => r.Error is not null).Select(r => r.Error).Should().BeEmpty();
        for (var i = 0; i < count; i++)
        {
            results[i].Response!.Text.Should().Be($"text-{i}");
        }

        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{count} commands, {proxy.ConnectionCount} connections, {results.Count(r => r.Attempts > 1)} retried, {results.Sum(r => r.Attempts)} attempts");

        // The faults really happened: connections were cut and calls were retried.
        proxy.ConnectionCount.Should().BeGreaterThan(3);
        results.Count(r => r.Attempts > 1).Should().BeGreaterThan(0);

        // No command ran twice, and every answer (first try or retry) is the first run's.
        executions.Runs.Should().HaveCount(count);
        executions.Runs.Values.Should().OnlyContain(n => n == 1);
        executions.Total.Should().Be(count);
        for (var i = 0; i < count; i++)
        {
            results[i].Response!.Execution.Should().Be(executions.FirstExecution[$"key-{i}"]);
        }

        // A late retry of some keys still returns the first result without running again.
        proxy.CutAfterBytes = null;
        for (var i = 0; i < count; i += Math.Max(1, count / 20))
        {
            var again = await InvokeUntilAnsweredAsync(handle, $"key-{i}", $"text-{i}", DateTime.UtcNow + TimeSpan.FromSeconds(30));
            again.Response!.Execution.Should().Be(results[i].Response!.Execution);
        }

        executions.Total.Should().Be(count);
    }

    [Fact]
    public async Task A_killed_control_plane_restarted_on_its_sqlite_file_loses_no_agent_credential_or_audit_record()
    {
        var database = Path.Combine(Path.GetTempPath(), "edgeagent-tests", Guid.NewGuid().ToString("N") + ".db");
        Directory.CreateDirectory(Path.GetDirectoryName(database)!);
        var connectionString = $"Data Source={database}";
        var executions = new KeyedExecutions();

        var first = await TestControlPlane.StartAsync(configure: cp => cp.UseSqlite(connectionString), options: o => o.HandshakesPerSecondPerAddress = 0);
        var port = first.BaseUrl.Port;
        var runningToken = await first.EnrollAsync("kill-1");
        var rotated = await first.Enrollment.RotateSecretAsync((await first.Enrollment.EnrollAsync(new EnrollAgentRequest { Id = "kill-2" })).AgentId);
        var revokedToken = await first.EnrollAsync("kill-3");
        await first.Enrollment.RevokeAsync("kill-3");
        await using var agent = await TestAgent.StartAsync(first.BaseUrl, runningToken, FastReconnect(10_000), WithKeyedEcho(executions));

        // Commands run until the kill; those that returned before it must all be in the audit trail.
        var acknowledged = new ConcurrentBag<string>();
        using var stopCommands = new CancellationTokenSource();
        var handle = first.Agents["kill-1"];
        var callers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < 10_000 && !stopCommands.IsCancellationRequested; i++)
            {
                var key = $"audit-{w}-{i}";
                try
                {
                    await handle.InvokeAsync<KeyedEchoRequest, KeyedEchoResponse>("test.keyed-echo", new KeyedEchoRequest { Text = key }, new EdgeCommandOptions { IdempotencyKey = key, Timeout = TimeSpan.FromSeconds(5) });
                    acknowledged.Add(key);
                }
                catch (Exception ex) when (ex is EdgeCommandException or ObjectDisposedException or InvalidOperationException or OperationCanceledException)
                {
                    return;
                }
            }
        })).ToArray();
        var started = DateTime.UtcNow;
        while (acknowledged.Count < 200)
        {
            // A caller stops at its first failure: if all have stopped, 200 will never come.
            callers.Should().Contain(c => !c.IsCompleted, "the callers stop only at a failure, and 200 commands have not yet returned");
            (DateTime.UtcNow - started).Should().BeLessThan(TimeSpan.FromSeconds(60), "200 commands return long before then");
            await Task.Delay(5);
        }

        // The kill: no graceful stop, in-flight commands are cut off.
        var snapshot = acknowledged.ToHashSet();
        using (var abort = new CancellationTokenSource())
        {
            await abort.CancelAsync();
            await first.App.StopAsync(abort.Token);
        }

        await stopCommands.CancelAsync();
        await first.App.DisposeAsync();
        await Task.WhenAll(callers).WaitAsync(TimeSpan.FromSeconds(30));
        var beforeKill = acknowledged.ToHashSet();
        beforeKill.Should().Contain(snapshot);

        await using var second = await TestControlPlane.StartAsync(configure: cp => cp.UseSqlite(connectionString), port: port, options: o => o.HandshakesPerSecondPerAddress = 0);

        // Agents and credentials: the running agent reconnects with its token, the rotated one's new
        // token is accepted, the revoked one stays refused.
        await second.WaitForStateAsync("kill-1", EdgeAgentConnectionState.Connected, TimeSpan.FromSeconds(30));
        (await second.Registry.GetAgentAsync("kill-2")).Should().NotBeNull();
        (await second.Registry.GetAgentAsync("kill-3"))!.State.Should().Be(EdgeAgentConnectionState.Revoked);
        (await UpgradeStatusAsync(second.BaseUrl, rotated.Token)).Should().Be(HttpStatusCode.SwitchingProtocols);
        (await UpgradeStatusAsync(second.BaseUrl, revokedToken)).Should().Be(HttpStatusCode.Unauthorized);

        // Audit: every command acknowledged before the kill has its record, with outcome ok.
        var store = second.Services.GetRequiredService<IEdgeAuditStore>();
        var audited = new Dictionary<string, string?>(StringComparer.Ordinal);
        long after = 0;
        while (true)
        {
            var page = await store.QueryAsync(new EdgeAuditQuery { AgentId = "kill-1", AfterId = after, PageSize = 1000 });
            if (page.Count == 0)
            {
                break;
            }

            foreach (var record in page.Where(r => r.Event == "command" && r.IdempotencyKey is not null))
            {
                audited[record.IdempotencyKey!] = record.Outcome;
            }

            after = page[^1].Id;
        }

        foreach (var key in beforeKill)
        {
            audited.Should().ContainKey(key);
            audited[key].Should().Be("ok");
        }

        // And nothing ran twice on the agent across the kill.
        executions.Runs.Values.Should().OnlyContain(n => n == 1);
    }

    private static async Task<HttpStatusCode> UpgradeStatusAsync(Uri baseUrl, string token)
    {
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        socket.Options.SetRequestHeader("Authorization", "Bearer " + token);
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await socket.ConnectAsync(Hostile.RawAgentSocket.Endpoint(baseUrl), timeout.Token);
        }
        catch (WebSocketException)
        {
        }

        return socket.HttpStatusCode;
    }
}
