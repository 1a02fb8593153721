using System.Buffers;
using EdgeAgent.ControlPlane;
using EdgeAgent.Protocol;
using EdgeAgent.Protocol.Frames;
using EdgeAgent.Protocol.Rpc;
using EdgeAgent.Testing.Hosting;
using MessagePack;

namespace EdgeAgent.FunctionalTests.Hostile;

/// <summary>
/// A hostile "agent" with a valid token against the real control-plane endpoint: every
/// malformed, oversized, premature or excessive input closes that connection with its specific
/// code, while a well-behaved agent connected throughout keeps getting answers and the
/// process's memory stays bounded.
/// </summary>
[Collection(HeapMeasuringCollection.Name)]
public sealed class HostileAgentInputTests
{
    /// <summary>Small limits so that the attacks are cheap to send.</summary>
    internal const int MaxChannels = 8;
    internal const int Window = 4096;
    internal const int MaxFrame = 64 * 1024;

    /// <summary>Growth of the managed heap an attack may leave behind (generous: other tests share the process).</summary>
    internal const long MemoryBound = 64L * 1024 * 1024;

    internal static Task<TestControlPlane> StartControlPlaneAsync(Action<EdgeControlPlaneOptions>? more = null) =>
        TestControlPlane.StartAsync(options: o =>
        {
            o.MaxChannelsPerAgent = MaxChannels;
            o.ChannelWindow = Window;
            o.MaxFrameSize = MaxFrame;
            o.HandshakeTimeout = TimeSpan.FromSeconds(3); // short for the silent-socket cases, with room for a busy machine
            o.HandshakesPerSecondPerAddress = 0;
            more?.Invoke(o);
        });

    /// <summary>Cases before the handshake: what is sent first, and the code the server must close with.</summary>
    public static TheoryData<string> PreHandshakeCases => [.. PreHandshake.Keys];

    /// <summary>Cases on an established session.</summary>
    public static TheoryData<string> EstablishedCases => [.. Established.Keys];

    private static readonly Dictionary<string, (Func<string, byte[]> Bytes, ProtocolErrorCode Code)> PreHandshake = new()
    {
        // The prefix alone: the server must refuse without waiting for a body that never comes.
        ["length prefix over the limit"] = (_ => HostileBytes.Prefix(uint.MaxValue), ProtocolErrorCode.FrameTooLarge),
        ["length prefix one over the limit"] = (_ => HostileBytes.Prefix(MaxFrame + 1), ProtocolErrorCode.FrameTooLarge),
        ["zero-length frame"] = (_ => HostileBytes.Prefix(0), ProtocolErrorCode.InvalidFrame),
        ["body is not MessagePack"] = (_ => HostileBytes.Framed([0xc1, 0xc1, 0xc1]), ProtocolErrorCode.InvalidFrame),
        ["envelope is not an array"] = (_ => HostileBytes.Framed([0x05]), ProtocolErrorCode.InvalidFrame),
        ["array count lies"] = (_ => HostileBytes.Framed([0xdd, 0x7f, 0xff, 0xff, 0xff, 0x01]), ProtocolErrorCode.InvalidFrame),
        ["ping before the handshake"] = (_ => Frames(b => FrameWriter.WritePing(b, 1)), ProtocolErrorCode.HandshakeRequired),
        ["data before the handshake"] = (_ => Frames(b => FrameWriter.WriteData(b, 1, new byte[10])), ProtocolErrorCode.HandshakeRequired),
        ["handshake with invalid UTF-8"] = (id => HostileBytes.Handshake(id, rawHostname: [0xc3, 0x28, 0xff]), ProtocolErrorCode.InvalidUtf8),
        ["handshake with a nested label value"] = (id => HostileBytes.Handshake(id, labels: (ref MessagePackWriter w) =>
        {
            w.WriteMapHeader(1);
            w.Write("site");
            w.WriteRaw(HostileBytes.Nested(10_000));
        }), ProtocolErrorCode.InvalidFrame),
        ["handshake with too many labels"] = (id => HostileBytes.Handshake(id, labels: (ref MessagePackWriter w) =>
        {
            w.WriteMapHeader(FrameReader.MaxLabels + 1);
            for (var i = 0; i <= FrameReader.MaxLabels; i++)
            {
                w.Write("k" + i);
                w.Write("v");
            }
        }), ProtocolErrorCode.InvalidFrame),
        ["handshake whose label count lies"] = (id => HostileBytes.Handshake(id, labels: (ref MessagePackWriter w) => w.WriteMapHeader(int.MaxValue)), ProtocolErrorCode.InvalidFrame),
        ["huge handshake"] = (id => HostileBytes.Handshake(id, labels: (ref MessagePackWriter w) =>
        {
            w.WriteMapHeader(1);
            w.Write("big");
            w.Write(new string('x', 2 * 1024 * 1024));
        }), ProtocolErrorCode.FrameTooLarge),
        ["handshake of another major version"] = (id => HostileBytes.Handshake(id, major: 2), ProtocolErrorCode.UnsupportedVersion),
        ["handshake for another agent id"] = (_ => HostileBytes.Handshake("someone-else"), ProtocolErrorCode.HandshakeFailed),
        ["handshake with unusable limits"] = (id => HostileBytes.Handshake(id, limits: (0, 0, 0)), ProtocolErrorCode.HandshakeFailed),
    };

    private static readonly Dictionary<string, (Func<byte[]> Bytes, ProtocolErrorCode Code)> Established = new()
    {
        ["length prefix over the limit"] = (() => HostileBytes.Prefix(MaxFrame + 1), ProtocolErrorCode.FrameTooLarge),
        ["body is not MessagePack"] = (() => HostileBytes.Framed([0xc1]), ProtocolErrorCode.InvalidFrame),
        ["data on a channel never opened"] = (() => Frames(b => FrameWriter.WriteData(b, 99, new byte[10])), ProtocolErrorCode.UnknownChannel),
        ["window update on a channel never opened"] = (() => Frames(b => FrameWriter.WriteWindowUpdate(b, 77, 10)), ProtocolErrorCode.UnknownChannel),
        ["data on channel zero"] = (() => Frames(b => FrameWriter.WriteData(b, 0, new byte[10])), ProtocolErrorCode.InvalidChannelId),
        ["open with the server's channel parity"] = (() => Frames(b => FrameWriter.WriteOpen(b, 2, ChannelKinds.Command, HostileBytes.CommandHeader("x"))), ProtocolErrorCode.InvalidChannelId),
        ["zero window increment"] = (() => Frames(b =>
        {
            FrameWriter.WriteOpen(b, 1, ChannelKinds.Command, HostileBytes.CommandHeader("nope"));
            FrameWriter.WriteWindowUpdate(b, 1, 0);
        }), ProtocolErrorCode.FlowControlViolation),
        ["window overrun"] = (() => Frames(b =>
        {
            FrameWriter.WriteOpen(b, 1, ChannelKinds.Command, HostileBytes.CommandHeader("nope"));
            FrameWriter.WriteData(b, 1, new byte[Window + 1]);
        }), ProtocolErrorCode.FlowControlViolation),
        ["channel-open flood"] = (() => Frames(b =>
        {
            for (var i = 0; i <= MaxChannels; i++)
            {
                FrameWriter.WriteOpen(b, (uint)(1 + (2 * i)), ChannelKinds.Command, HostileBytes.CommandHeader("nope"));
            }
        }), ProtocolErrorCode.TooManyChannels),
        ["a second handshake"] = (() => Frames(b => FrameWriter.WriteHandshakeRequest(b, RawAgentSocket.Handshake("x"))), ProtocolErrorCode.DuplicateHandshake),
    };

    private static byte[] Frames(Action<IBufferWriter<byte>> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        write(buffer);
        return buffer.WrittenSpan.ToArray();
    }

    [Theory]
    [MemberData(nameof(PreHandshakeCases))]
    public async Task Hostile_first_frame_closes_with_its_code_and_the_server_keeps_serving(string name)
    {
        var (bytes, expected) = PreHandshake[name];
        await using var controlPlane = await StartControlPlaneAsync();
        await using var good = await WellBehavedAgent.StartAsync(controlPlane);
        var before = GC.GetTotalMemory(forceFullCollection: true);

        var token = await controlPlane.EnrollAsync("hostile-1");
        await using (var hostile = await RawAgentSocket.ConnectAsync(controlPlane.BaseUrl, token))
        {
            await SendIgnoringCloseAsync(hostile, bytes("hostile-1"));
            (await hostile.ReadCloseCodeAsync()).Should().Be(expected);
        }

        controlPlane.Registry.IsConnected("hostile-1").Should().BeFalse();
        await good.AssertServedThroughoutAsync();
        (GC.GetTotalMemory(forceFullCollection: true) - before).Should().BeLessThan(MemoryBound);
    }

    [Theory]
    [MemberData(nameof(EstablishedCases))]
    public async Task Hostile_frame_on_an_established_session_closes_with_its_code_and_the_server_keeps_serving(string name)
    {
        var (bytes, expected) = Established[name];
        await using var controlPlane = await StartControlPlaneAsync();
        await using var good = await WellBehavedAgent.StartAsync(controlPlane);
        var before = GC.GetTotalMemory(forceFullCollection: true);

        var token = await controlPlane.EnrollAsync("hostile-2");
        var disconnected = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using (var hostile = await RawAgentSocket.ConnectAsync(controlPlane.BaseUrl, token))
        {
            await hostile.HandshakeAsync("hostile-2");
            await controlPlane.WaitForStateAsync("hostile-2", EdgeAgentConnectionState.Connected);
            controlPlane.Registry.AgentDisconnected += (_, e) =>
            {
                if (e.AgentId == "hostile-2")
                {
                    disconnected.TrySetResult(e.Reason);
                }
            };
            await SendIgnoringCloseAsync(hostile, bytes());
            (await hostile.ReadCloseCodeAsync()).Should().Be(expected);
        }

        (await disconnected.Task.WaitAsync(TimeSpan.FromSeconds(10))).Should().Contain(expected.ToString());
        controlPlane.Registry.IsConnected("hostile-2").Should().BeFalse();
        await good.AssertServedThroughoutAsync();
        (GC.GetTotalMemory(forceFullCollection: true) - before).Should().BeLessThan(MemoryBound);
    }

    [Fact]
    public async Task Deeply_nested_unknown_fields_are_skipped_without_recursion_and_the_session_lives_on()
    {
        await using var controlPlane = await StartControlPlaneAsync();
        await using var good = await WellBehavedAgent.StartAsync(controlPlane);
        var token = await controlPlane.EnrollAsync("hostile-3");
        await using var hostile = await RawAgentSocket.ConnectAsync(controlPlane.BaseUrl, token);

        // 60,000 levels in a trailing handshake field (fits the 64 KiB frame): a recursive skip
        // would overflow the stack and take the whole process down.
        await hostile.SendAsync(HostileBytes.Handshake("hostile-3", trailing: HostileBytes.Nested(60_000)));
        var response = await hostile.ReadFrameAsync();
        response!.Response!.Code.Should().Be(ProtocolErrorCode.None);

        // An unknown (future) frame type with a deep payload is ignored, and the session still answers pings.
        await hostile.SendAsync(HostileBytes.Envelope((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(3);
            w.Write(200);
            w.Write(0);
            w.WriteRaw(HostileBytes.Nested(60_000));
        }));
        await hostile.SendFramesAsync(b => FrameWriter.WritePing(b, 42));
        ReceivedFrame? pong;
        do
        {
            pong = await hostile.ReadFrameAsync();
        }
        while (pong is not null && pong.Type != FrameType.Pong);

        pong.Should().NotBeNull();
        pong!.Value.Should().Be(42);
        await good.AssertServedThroughoutAsync();
    }

    [Fact]
    public async Task A_snapshot_report_of_a_million_empty_entries_is_refused_and_leaves_the_registry_and_the_heap_as_they_were()
    {
        // A frame of 1 MiB (the default limit) carrying one empty array per container: one byte
        // each on the wire, about 200 bytes each as ContainerSummary objects (its default members).
        await using var controlPlane = await StartControlPlaneAsync(o => o.MaxFrameSize = 1024 * 1024);
        await using var good = await WellBehavedAgent.StartAsync(controlPlane);
        var token = await controlPlane.EnrollAsync("hostile-s");
        await using var hostile = await RawAgentSocket.ConnectAsync(controlPlane.BaseUrl, token);
        await hostile.HandshakeAsync("hostile-s");
        await controlPlane.WaitForStateAsync("hostile-s", EdgeAgentConnectionState.Connected);
        var before = GC.GetTotalMemory(forceFullCollection: true);

        var snapshot = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(snapshot);
        writer.WriteArrayHeader(4);
        writer.WriteNil();
        writer.Write(true);
        writer.Write("");
        writer.WriteArrayHeader(1_000_000);
        for (var i = 0; i < 1_000_000; i++)
        {
            writer.WriteArrayHeader(0);
        }

        writer.Flush();
        await hostile.SendFramesAsync(b =>
        {
            FrameWriter.WriteOpen(b, 1, ChannelKinds.Command, HostileBytes.CommandHeader("agent.snapshot", snapshot.WrittenSpan.ToArray()));
            FrameWriter.WriteClose(b, 1);
        });

        var answer = await hostile.ReadUntilAsync(FrameType.Data, channel: 1);
        answer.Should().NotBeNull();
        var message = RpcMessages.ParseFirst(answer!.Payload, 1024 * 1024);
        message!.Value.Kind.Should().Be(RpcMessageKind.Error);
        message.Value.Code.Should().Be(EdgeErrorCodes.InvalidArgument);
        message.Value.Message.Should().Contain("arrays and maps");

        (await controlPlane.Registry.GetAgentAsync("hostile-s"))!.Snapshot.Should().BeNull("the report was refused");
        controlPlane.Registry.IsConnected("hostile-s").Should().BeTrue("a refused report fails that report, not the session");
        (GC.GetTotalMemory(forceFullCollection: true) - before).Should().BeLessThan(MemoryBound);
        await good.AssertServedThroughoutAsync();
    }

    /// <summary>The server may close while the rest of a large message is still being sent.</summary>
    internal static async Task SendIgnoringCloseAsync(RawAgentSocket socket, byte[] bytes)
    {
        try
        {
            await socket.SendAsync(bytes);
        }
        catch (Exception ex) when (ex is System.Net.WebSockets.WebSocketException or IOException or OperationCanceledException)
        {
        }
    }
}
