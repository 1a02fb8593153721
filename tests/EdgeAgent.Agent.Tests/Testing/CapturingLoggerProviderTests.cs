using EdgeAgent.Testing.Logging;
using Microsoft.Extensions.Logging;
using Xunit.Sdk;

namespace EdgeAgent.Agent.Tests.Testing;

public sealed class CapturingLoggerProviderTests
{
    [Fact]
    public void Records_formatted_messages_with_category_level_and_event()
    {
        using var logs = new CapturingLoggerProvider();
        using var factory = logs.CreateFactory();
        var logger = factory.CreateLogger("Edge.Test");

        logger.LogInformation(new EventId(7, "Connected"), "Connected to {Url}", "wss://cp.example/agent");
        logger.LogTrace("trace too");

        logs.Messages.Should().Equal("Connected to wss://cp.example/agent", "trace too");
        var entry = logs.Entries[0];
        entry.Category.Should().Be("Edge.Test");
        entry.Level.Should().Be(LogLevel.Information);
        entry.EventId.Id.Should().Be(7);
        entry.State.Should().Contain(new KeyValuePair<string, string?>("Url", "wss://cp.example/agent"));
    }

    [Fact]
    public void Finds_a_secret_in_messages_state_scopes_and_exceptions()
    {
        const string Secret = "s3cr3t-token";
        using var logs = new CapturingLoggerProvider();
        using var factory = logs.CreateFactory();
        var logger = factory.CreateLogger("Edge.Test");

        logger.LogInformation("nothing here");
        logs.AssertDoesNotContain(Secret);

        using (logger.BeginScope("agent {Token}", Secret))
        {
            logger.LogInformation("inside a scope");
        }

        logs.Contains(Secret).Should().BeTrue();
        logs.Clear();
        logger.LogError(new InvalidOperationException("bad " + Secret), "failed");
        var act = () => logs.AssertDoesNotContain(Secret);
        act.Should().Throw<FailException>().Which.Message.Should().Contain("<SECRET>").And.NotContain(Secret);
    }

    [Fact]
    public async Task Is_safe_to_log_from_many_threads()
    {
        using var logs = new CapturingLoggerProvider();
        using var factory = logs.CreateFactory();
        var logger = factory.CreateLogger("Edge.Test");

        await Task.WhenAll(Enumerable.Range(0, 8).Select(t => Task.Run(
            () =>
            {
                for (var i = 0; i < 500; i++)
                {
                    logger.LogDebug("thread {Thread} message {Index}", t, i);
                }
            },
            TestContext.Current.CancellationToken)));

        logs.Entries.Should().HaveCount(8 * 500);
    }
}
