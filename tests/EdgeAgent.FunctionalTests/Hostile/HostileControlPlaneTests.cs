using System.Net.WebSockets;
using System.Text;
using EdgeAgent.Agent;
using EdgeAgent.FunctionalTests.Agents;
using EdgeAgent.Protocol;
using EdgeAgent.Protocol.Frames;
using EdgeAgent.Protocol.Rpc;
using EdgeAgent.Protocol.Session;
using EdgeAgent.Protocol.Transports;
using EdgeAgent.Testing.Hosting;
using EdgeAgent.Testing.Logging;
using MessagePack;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace EdgeAgent.FunctionalTests.Hostile;

/// <summary>
/// A hostile "control plane" against a real agent: garbage, oversized frames, a foreign major
/// version, malformed command headers, unknown kinds, nested and huge payloads. The agent never
/// crashes, never runs a malformed command, logs a clear reason and reconnects.
/// </summary>
public sealed class HostileControlPlaneTests
{
    private const string Token = "agent-h.c2VjcmV0LXNlY3JldC1zZWNyZXQ";

    public static TheoryData<string> HandshakeCases => [.. HandshakeAttacks.Keys];

    /// <summary>What the "control plane" sends after reading the agent's handshake, and what the agent must report (its close code, or the transport's reason).</summary>
    private static readonly Dictionary<string, (Func<byte[]?> Bytes, string Reason)> HandshakeAttacks = new()
    {
        ["text instead of frames"] = (() => Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\n\r\nhello"), nameof(ProtocolErrorCode.FrameTooLarge)),
        ["length prefix over the limit"] = (() => HostileBytes.Prefix(uint.MaxValue), nameof(ProtocolErrorCode.FrameTooLarge)),
        ["envelope that is not MessagePack"] = (() => HostileBytes.Framed([0xc1, 0xc1]), nameof(ProtocolErrorCode.InvalidFrame)),
        ["a ping instead of the handshake response"] = (() => Frames(b => FrameWriter.WritePing(b, 7)), nameof(ProtocolErrorCode.HandshakeRequired)),
        ["handshake response of another major version"] = (() => Frames(b => FrameWriter.WriteHandshakeResponse(b, Response(major: 2))), nameof(ProtocolErrorCode.UnsupportedVersion)),
        ["handshake response with invalid UTF-8"] = (() => HostileBytes.Envelope((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(11);
            w.Write((byte)FrameType.HandshakeResponse);
            w.Write(0);
            w.Write(1);
            w.Write(0);
            w.Write(0);
            w.Write("");
            w.WriteStringHeader(2);
            w.WriteRaw([0xc3, 0x28]);
            w.Write(65536);
            w.Write(65536);
            w.Write(64);
            w.Write(15000);
        }), nameof(ProtocolErrorCode.InvalidUtf8)),
        ["handshake response with unusable limits"] = (() => Frames(b => FrameWriter.WriteHandshakeResponse(b, Response(limits: new SessionLimits(0, 0, 0)))), nameof(ProtocolErrorCode.HandshakeFailed)),
        ["go-away instead of the handshake response"] = (() => Frames(b => FrameWriter.WriteGoAway(b, ProtocolErrorCode.Shutdown, "nope")), nameof(ProtocolErrorCode.Shutdown)),
        ["connection closed after the upgrade"] = (() => [], "The WebSocket connection was lost"),
        ["silence after the upgrade"] = (() => null, nameof(ProtocolErrorCode.HandshakeFailed)),
    };

    private static HandshakeResponse Response(int major = TunnelSession.ProtocolMajor, SessionLimits? limits = null) =>
        new(major, 0, ProtocolErrorCode.None, "", "hostile", limits ?? new SessionLimits(64 * 1024, 64 * 1024, 64), TimeSpan.FromSeconds(15));

    private static byte[] Frames(Action<System.Buffers.IBufferWriter<byte>> write)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        write(buffer);
        return buffer.WrittenSpan.ToArray();
    }

    private static async Task<TestAgent> StartAgentAsync(Uri url, ExecutionCounter counter, CapturingLoggerProvider logs, Action<TestAgent>? beforeStart = null)
    {
        var agent = TestAgent.Create(url, Token, o =>
        {
            o.ConnectTimeout = TimeSpan.FromSeconds(2);
            o.ReconnectInitialDelay = TimeSpan.FromMilliseconds(20);
            o.ReconnectMaxDelay = TimeSpan.FromMilliseconds(100);
            o.MaxFrameSize = 64 * 1024;
        }, b =>
        {
            b.Services.AddSingleton(counter);
            b.AddCommandHandler<EchoHandler>();
        }, logs);
        beforeStart?.Invoke(agent);
        await agent.Host.StartAsync();
        return agent;
    }

    private static void AssertAgentAlive(TestAgent agent)
    {
        var service = agent.Host.Services.GetServices<IHostedService>().OfType<BackgroundService>().Single(s => s is IEdgeAgentConnection);
        service.ExecuteTask.Should().NotBeNull();
        service.ExecuteTask!.IsCompleted.Should().BeFalse("the agent's connector keeps running (a fault would have stopped it)");
        agent.Connection.State.Should().NotBe(EdgeAgentState.Stopped);
    }

    [Theory]
    [MemberData(nameof(HandshakeCases))]
    public async Task A_hostile_handshake_answer_is_refused_with_its_code_logged_and_the_agent_reconnects(string name)
    {
        var (bytes, reason) = HandshakeAttacks[name];
        using var logs = new CapturingLoggerProvider();
        var counter = new ExecutionCounter();
        await using var hostile = await HostileControlPlane.StartAsync(async (socket, _, cancel) =>
        {
            var peer = RawAgentSocket.Wrap(socket);
            var request = await peer.ReadFrameAsync();
            request!.Type.Should().Be(FrameType.HandshakeRequest);
            var payload = bytes();
            if (payload is { Length: 0 })
            {
                return;
            }

            if (payload is not null)
            {
                await peer.SendAsync(payload);
            }

            // Wait for the agent to hang up (bounded by ReadFrameAsync's own timeout).
            while (await peer.ReadFrameAsync() is not null)
            {
            }
        });
        // Subscribed before the start: the first attempt may fail before StartAsync returns, and
        // later failures raise no event (Reconnecting to Reconnecting is no change).
        var changes = new List<EdgeAgentState>();
        await using var agent = await StartAgentAsync(hostile.BaseUrl, counter, logs, a => a.Connection.StateChanged += (_, e) =>
        {
            lock (changes)
            {
                changes.Add(e.Current);
            }
        });

        await hostile.WaitForConnectionsAsync(3);

        hostile.ScenarioFailures.Should().BeEmpty();
        AssertAgentAlive(agent);
        lock (changes)
        {
            changes.Should().NotContain(EdgeAgentState.Connected).And.Contain(EdgeAgentState.Reconnecting);
        }

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!logs.Contains(reason) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        logs.Entries.Should().Contain(e => e.Message.Contains(reason, StringComparison.Ordinal), "the agent logs why it dropped the connection");
        agent.Connection.LastError.Should().Contain(reason);
        counter.Total.Should().Be(0);
    }

    [Fact]
    public async Task Hostile_commands_are_answered_with_errors_and_never_executed_and_an_oversized_open_ends_only_that_session()
    {
        using var logs = new CapturingLoggerProvider();
        var counter = new ExecutionCounter();
        var answers = new System.Collections.Concurrent.ConcurrentDictionary<string, string>();
        var sessionOptions = new SessionOptions { MaxFrameSize = 4 * 1024 * 1024, HandshakeTimeout = TimeSpan.FromSeconds(5) };
        await using var hostile = await HostileControlPlane.StartAsync(async (socket, number, cancel) =>
        {
            if (number == 2)
            {
                // A raw session: a valid handshake answer, then an open frame over the agent's 64 KiB limit.
                var peer = RawAgentSocket.Wrap(socket);
                (await peer.ReadFrameAsync())!.Type.Should().Be(FrameType.HandshakeRequest);
                await peer.SendFramesAsync(b => FrameWriter.WriteHandshakeResponse(b, Response()));
                await peer.SendAsync(Frames(b => FrameWriter.WriteOpen(b, 2, ChannelKinds.Command, HostileBytes.CommandHeader("test.echo", new byte[128 * 1024]))));
                answers["oversized open"] = (await peer.ReadCloseCodeAsync()).ToString();
                return;
            }

            var transport = new WebSocketTransport(socket, TimeSpan.FromSeconds(2));
            var pumping = transport.RunAsync(cancel);
            var (session, _) = await TunnelSession.AcceptAsync(transport, sessionOptions, "hostile", _ => null, null, cancellationToken: cancel);
            await using (session)
            {
                if (number == 1)
                {
                    foreach (var (name, kind, header) in HostileCommands())
                    {
                        answers[name] = await CallAsync(session, kind, header);
                    }

                    await session.CloseAsync(ProtocolErrorCode.Shutdown, "next scenario");
                }
                else
                {
                    // The third connection stays up until the test ends.
                    await session.Completion.WaitAsync(cancel);
                }
            }

            await pumping;
        });
        await using var agent = await StartAgentAsync(hostile.BaseUrl, counter, logs);

        await hostile.WaitForConnectionsAsync(3);
        await agent.Connection.WaitUntilConnectedAsync().WaitAsync(TimeSpan.FromSeconds(20));

        hostile.ScenarioFailures.Should().BeEmpty();
        AssertAgentAlive(agent);
        answers.Should().BeEquivalentTo(new Dictionary<string, string>
        {
            ["unknown channel kind"] = "reset:Refused",
            ["header that is not MessagePack"] = "error:invalid_argument",
            ["header whose count lies"] = "error:invalid_argument",
            ["header with too few fields"] = "error:invalid_argument",
            ["header with invalid UTF-8 name"] = "error:invalid_argument",
            ["header with a 300-character name"] = "error:invalid_argument",
            ["header with a nested deadline"] = "error:invalid_argument",
            ["unknown command"] = "error:not_found",
            ["payload nested 40,000 levels"] = "error:invalid_argument",
            ["payload of the wrong shape"] = "error:invalid_argument",
            ["valid echo"] = "result",
            ["oversized open"] = nameof(ProtocolErrorCode.FrameTooLarge),
        });

        // Only the one valid command ran.
        counter.Total.Should().Be(1);
        counter.ByText.Keys.Should().Equal("valid");
        logs.Entries.Should().Contain(e => e.Message.Contains(nameof(ProtocolErrorCode.FrameTooLarge), StringComparison.Ordinal));
    }

    /// <summary>
    /// The agent's own calls to the control plane (its status snapshots) are bounded by
    /// <c>EdgeAgent:MaxMessageSize</c>: an answer over it fails that call with <c>too_large</c>, the
    /// agent resets the channel so the sender stops, and the session keeps serving commands.
    /// </summary>
    [Fact]
    [Trait("Category", "Docker")]
    public async Task An_answer_over_the_agents_MaxMessageSize_fails_that_call_resets_its_channel_and_the_session_keeps_serving()
    {
        using var docker = await EdgeAgent.Testing.Docker.DockerTestEnvironment.RequireAsync();
        using var logs = new CapturingLoggerProvider();
        var counter = new ExecutionCounter();
        var reset = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var echo = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var hostile = await HostileControlPlane.StartAsync(async (socket, number, cancel) =>
        {
            var transport = new WebSocketTransport(socket, TimeSpan.FromSeconds(2));
            var pumping = transport.RunAsync(cancel);
            var (session, _) = await TunnelSession.AcceptAsync(transport, new SessionOptions(), "hostile", _ => null, async channel =>
            {
                // Every call the agent makes gets a 4 KiB result, over its 1 KiB limit (no close:
                // only a reset from the agent can end the channel).
                await channel.WriteAsync(RpcMessages.EncodeResult(new byte[4096]));
                try
                {
                    await Task.Delay(Timeout.Infinite, channel.Aborted);
                }
                catch (OperationCanceledException)
                {
                    reset.TrySetResult();
                }
            }, cancellationToken: cancel);
            await using (session)
            {
                await reset.Task.WaitAsync(cancel);
                echo.TrySetResult(await CallAsync(session, ChannelKinds.Command, HostileBytes.CommandHeader("test.echo", ContractSerializer.Serialize(new EchoRequest { Text = "after" }))));
                await session.Completion.WaitAsync(cancel);
            }

            await pumping;
        });
        await using var agent = TestAgent.Create(hostile.BaseUrl, Token, o => o.MaxMessageSize = 1024, b =>
        {
            b.Services.AddSingleton(counter);
            b.AddCommandHandler<EchoHandler>();
            b.AddDocker();
        }, logs);
        await agent.Host.StartAsync();

        await reset.Task.WaitAsync(TimeSpan.FromSeconds(20));
        (await echo.Task.WaitAsync(TimeSpan.FromSeconds(20))).Should().Be("result", "the session keeps serving after the refused answer");
        // The agent logs why it stopped sending snapshots just after it reset the channel.
        await EdgeAgent.Testing.ProtocolTestHelpers.Poll.UntilAsync(
            () => logs.Entries.Any(e => e.Message.Contains("over the limit of 1024 bytes (MaxMessageSize)", StringComparison.Ordinal)),
            "the agent has logged the refused answer and its limit");
        hostile.ScenarioFailures.Should().BeEmpty();
        AssertAgentAlive(agent);
        hostile.Connections.Should().Be(1, "the refused answer did not cost the connection");
    }

    private static IEnumerable<(string Name, uint Kind, byte[] Header)> HostileCommands()
    {
        byte[] Header(MessagePackBody body)
        {
            var buffer = new System.Buffers.ArrayBufferWriter<byte>();
            var writer = new MessagePackWriter(buffer);
            body(ref writer);
            writer.Flush();
            return buffer.WrittenSpan.ToArray();
        }

        yield return ("unknown channel kind", 99, HostileBytes.CommandHeader("test.echo"));
        yield return ("header that is not MessagePack", ChannelKinds.Command, [0xc1, 0xc1, 0xc1]);
        yield return ("header whose count lies", ChannelKinds.Command, [0xdd, 0x7f, 0xff, 0xff, 0xff, 0xc0]);
        yield return ("header with too few fields", ChannelKinds.Command, Header((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(2);
            w.Write("test.echo");
            w.Write("k");
        }));
        yield return ("header with invalid UTF-8 name", ChannelKinds.Command, Header((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(4);
            w.WriteStringHeader(3);
            w.WriteRaw([0x74, 0xc3, 0x28]);
            w.Write("");
            w.Write(0);
            w.Write(ContractSerializer.Serialize(new EchoRequest { Text = "utf8" }));
        }));
        yield return ("header with a 300-character name", ChannelKinds.Command, HostileBytes.CommandHeader(new string('n', 300)));
        yield return ("header with a nested deadline", ChannelKinds.Command, Header((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(4);
            w.Write("test.echo");
            w.Write("");
            w.WriteRaw(HostileBytes.Nested(1000));
            w.Write(ContractSerializer.Serialize(new EchoRequest { Text = "deadline" }));
        }));
        yield return ("unknown command", ChannelKinds.Command, HostileBytes.CommandHeader("test.nope"));
        yield return ("payload nested 40,000 levels", ChannelKinds.Command, HostileBytes.CommandHeader("test.echo", HostileBytes.Nested(40_000)));
        yield return ("payload of the wrong shape", ChannelKinds.Command, HostileBytes.CommandHeader("test.echo", Header((ref MessagePackWriter w) =>
        {
            w.WriteMapHeader(1);
            w.Write("Text");
            w.Write(42);
        })));
        yield return ("valid echo", ChannelKinds.Command, HostileBytes.CommandHeader("test.echo", ContractSerializer.Serialize(new EchoRequest { Text = "valid" })));
    }

    private delegate void MessagePackBody(ref MessagePackWriter writer);

    private static async Task<string> CallAsync(TunnelSession session, uint kind, byte[] header)
    {
        var channel = await session.OpenChannelAsync(kind, header);
        await channel.CompleteWritesAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            var message = await RpcMessages.ReadAsync(channel.Input, 1024 * 1024, timeout.Token);
            return message?.Kind switch
            {
                RpcMessageKind.Error => "error:" + message.Value.Code,
                RpcMessageKind.Result => "result",
                null => "end",
                _ => message.Value.Kind.ToString(),
            };
        }
        catch (ProtocolException ex)
        {
            return "reset:" + ex.Code;
        }
        catch (EdgeCommandException) when (channel.AbortReason is { } reason)
        {
            return "reset:" + reason.Code;
        }
        finally
        {
            await channel.Input.CompleteAsync();
        }
    }
}
