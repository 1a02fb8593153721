using EdgeAgent.ControlPlane;
using EdgeAgent.FunctionalTests.Agents;
using EdgeAgent.Protocol;
using EdgeAgent.Protocol.Frames;
using EdgeAgent.Protocol.Rpc;
using MessagePack;

namespace EdgeAgent.FunctionalTests.Hostile;

/// <summary>
/// A hostile agent answers the control plane's commands with nested, oversized, malformed and
/// window-sized responses: each caller gets a clear error (or the result), never a hang, and the
/// control plane keeps serving a well-behaved agent.
/// </summary>
public sealed class HostileResponseTests
{
    private static readonly EdgeCommandOptions Call = new() { Timeout = TimeSpan.FromSeconds(5) };

    public static TheoryData<string> BadResponseCases => [.. BadResponses.Keys];

    private static readonly Dictionary<string, Func<byte[]>> BadResponses = new()
    {
        ["result nested 3,000 levels deep"] = () => HostileBytes.ResponseMessage((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(2);
            w.Write((byte)RpcMessageKind.Result);
            w.Write(HostileBytes.Nested(3000));
        }),
        ["result whose message length is over the limit"] = () => HostileBytes.Prefix(uint.MaxValue),
        ["message of an unknown kind"] = () => HostileBytes.ResponseMessage((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(1);
            w.Write(9);
        }),
        ["message that is not MessagePack"] = () => HostileBytes.Framed([0xc1, 0xc1]),
        ["error with invalid UTF-8"] = () => HostileBytes.ResponseMessage((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(3);
            w.Write((byte)RpcMessageKind.Error);
            w.WriteStringHeader(2);
            w.WriteRaw([0xc3, 0x28]);
            w.Write("x");
        }),
        ["result that is not the response type"] = () => RpcMessages.EncodeResult(HostileBytes.Nested(3)),
        ["end of the channel without an answer"] = () => [],
    };

    [Theory]
    [MemberData(nameof(BadResponseCases))]
    public async Task A_malformed_response_fails_the_call_clearly_and_the_server_keeps_serving(string name)
    {
        await using var controlPlane = await HostileAgentInputTests.StartControlPlaneAsync();
        await using var good = await WellBehavedAgent.StartAsync(controlPlane);
        var token = await controlPlane.EnrollAsync("hostile-r");
        await using var hostile = await RawAgentSocket.ConnectAsync(controlPlane.BaseUrl, token);
        await hostile.HandshakeAsync("hostile-r");
        await controlPlane.WaitForStateAsync("hostile-r", EdgeAgentConnectionState.Connected);

        var call = controlPlane.Agents["hostile-r"].InvokeAsync<EchoRequest, EchoResponse>("hostile.cmd", new EchoRequest { Text = "x" }, Call);
        var open = await hostile.ReadUntilAsync(FrameType.Open);
        open.Should().NotBeNull();
        var response = BadResponses[name]();
        await hostile.SendFramesAsync(b =>
        {
            if (response.Length > 0)
            {
                FrameWriter.WriteData(b, open!.Channel, response);
            }

            FrameWriter.WriteClose(b, open!.Channel);
        });

        var failure = await FluentActions.Awaiting(() => call).Should().ThrowAsync<EdgeCommandException>();
        failure.Which.Code.Should().BeOneOf(name.Contains("over the limit", StringComparison.Ordinal) ? [EdgeErrorCodes.TooLarge] : [EdgeErrorCodes.Internal, EdgeErrorCodes.Unavailable]);
        failure.Which.Code.Should().NotBe(EdgeErrorCodes.Timeout, "a bad answer is reported at once, not by waiting");
        controlPlane.Registry.IsConnected("hostile-r").Should().BeTrue("one bad answer fails one command, not the session");
        await good.AssertServedThroughoutAsync();
    }

    [Fact]
    public async Task A_response_over_the_configured_MaxMessageSize_fails_with_too_large_and_the_session_keeps_serving()
    {
        const int limit = 1024;
        await using var controlPlane = await HostileAgentInputTests.StartControlPlaneAsync(o => o.MaxMessageSize = limit);
        var token = await controlPlane.EnrollAsync("hostile-m");
        await using var hostile = await RawAgentSocket.ConnectAsync(controlPlane.BaseUrl, token);
        await hostile.HandshakeAsync("hostile-m");
        await controlPlane.WaitForStateAsync("hostile-m", EdgeAgentConnectionState.Connected);
        var agent = controlPlane.Agents["hostile-m"];

        // A well-formed result just over the limit: refused by its length prefix, before it is buffered.
        var call = agent.InvokeAsync<EchoRequest, EchoResponse>("hostile.cmd", new EchoRequest { Text = "x" }, Call);
        var open = await hostile.ReadUntilAsync(FrameType.Open);
        var over = RpcMessages.EncodeResult(ContractSerializer.Serialize(new EchoResponse { Text = new string('m', limit + 200) }));
        over.Length.Should().BeGreaterThan(limit + 4).And.BeLessThan(HostileAgentInputTests.Window, "the message fits the channel window, so only MaxMessageSize refuses it");
        await hostile.SendFramesAsync(b => FrameWriter.WriteData(b, open!.Channel, over));

        var failure = await FluentActions.Awaiting(() => call).Should().ThrowAsync<EdgeCommandException>();
        failure.Which.Code.Should().Be(EdgeErrorCodes.TooLarge);
        failure.Which.Message.Should().Contain("MaxMessageSize");
        (await hostile.ReadUntilAsync(FrameType.Reset, open!.Channel)).Should().NotBeNull("the control plane tells the agent to stop sending the refused answer");

        // The session carries on: the next command on the same connection gets its answer.
        var next = agent.InvokeAsync<EchoRequest, EchoResponse>("hostile.cmd", new EchoRequest { Text = "y" }, Call);
        var second = await hostile.ReadUntilAsync(FrameType.Open);
        await hostile.SendFramesAsync(b =>
        {
            FrameWriter.WriteData(b, second!.Channel, RpcMessages.EncodeResult(ContractSerializer.Serialize(new EchoResponse { Text = "fits" })));
            FrameWriter.WriteClose(b, second!.Channel);
        });
        (await next).Text.Should().Be("fits");
        controlPlane.Registry.IsConnected("hostile-m").Should().BeTrue();
    }

    [Fact]
    public async Task A_MaxMessageSize_outside_the_range_stops_the_control_plane_at_start_naming_the_setting()
    {
        var start = () => HostileAgentInputTests.StartControlPlaneAsync(o => o.MaxMessageSize = 100);

        var error = await start.Should().ThrowAsync<Microsoft.Extensions.Options.OptionsValidationException>();
        error.Which.Message.Should().Contain("EdgeControlPlane:MaxMessageSize must be between 1024 and");
    }

    [Fact]
    public async Task A_response_larger_than_the_channel_window_arrives_in_pieces()
    {
        await using var controlPlane = await HostileAgentInputTests.StartControlPlaneAsync();
        var token = await controlPlane.EnrollAsync("hostile-w");
        await using var hostile = await RawAgentSocket.ConnectAsync(controlPlane.BaseUrl, token);
        await hostile.HandshakeAsync("hostile-w");
        await controlPlane.WaitForStateAsync("hostile-w", EdgeAgentConnectionState.Connected);

        var text = new string('w', 3 * HostileAgentInputTests.Window);
        var call = controlPlane.Agents["hostile-w"].InvokeAsync<EchoRequest, EchoResponse>("hostile.cmd", new EchoRequest { Text = "x" }, Call);
        var open = await hostile.ReadUntilAsync(FrameType.Open);
        var message = RpcMessages.EncodeResult(ContractSerializer.Serialize(new EchoResponse { Text = text }));

        // Send exactly what the window allows, then wait for the credit the control plane returns.
        var credit = (long)HostileAgentInputTests.Window;
        var sent = 0;
        while (sent < message.Length)
        {
            if (credit == 0)
            {
                var update = await hostile.ReadUntilAsync(FrameType.WindowUpdate, open!.Channel);
                update.Should().NotBeNull("the control plane returns credit while a large message is still arriving");
                credit += (long)update!.Value;
            }

            var chunk = (int)Math.Min(credit, message.Length - sent);
            var piece = message.AsMemory(sent, chunk);
            await hostile.SendFramesAsync(b => FrameWriter.WriteData(b, open!.Channel, piece.Span));
            sent += chunk;
            credit -= chunk;
        }

        await hostile.SendFramesAsync(b => FrameWriter.WriteClose(b, open!.Channel));
        (await call).Text.Should().Be(text);
    }
}
