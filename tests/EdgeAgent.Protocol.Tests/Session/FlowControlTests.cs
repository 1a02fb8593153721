using System.Security.Cryptography;
using System.Threading.Channels;
using EdgeAgent.Protocol.Session;
using EdgeAgent.Protocol.Tests.Frames;
using EdgeAgent.Testing.ProtocolTestHelpers;

namespace EdgeAgent.Protocol.Tests.Session;

public sealed class FlowControlTests
{
    [Fact]
    public async Task A_stalled_channel_does_not_block_another_and_buffers_at_most_its_window()
    {
        const int window = 64 * 1024;
        var options = new SessionOptions { InitialWindow = window };
        var opened = Channel.CreateUnbounded<TunnelChannel>();
        await using var pair = await SessionPair.StartAsync(options, options, acceptorHandler: ch => opened.Writer.WriteAsync(ch).AsTask());

        // Channel A: the receiver never reads; the sender tries to push 16 windows.
        var stalled = await pair.Connector.OpenChannelAsync(1, default);
        var stalledRemote = await opened.Reader.ReadAsync();
        var stalledWrite = stalled.WriteAsync(new byte[16 * window]).AsTask();
        await Poll.UntilAsync(() => stalledRemote.BufferedBytes == window, "the stalled channel's window is full");

        // Channel B moves 8 MiB in both directions meanwhile.
        var busy = await pair.Connector.OpenChannelAsync(1, default);
        var busyRemote = await opened.Reader.ReadAsync();
        var payload = SampleFrames.Payload(8 * 1024 * 1024);
        var send = busy.WriteAllAsync(payload);
        var received = await Poll.Within(busyRemote.ReadToEndAsync());
        await send;

        received.Should().Equal(payload);
        stalledWrite.IsCompleted.Should().BeFalse("the stalled channel's sender waits for credit");
        stalledRemote.BufferedBytes.Should().Be(window, "the receiver holds no more than the window it advertised");

        // Reading the stalled channel releases its sender.
        var drained = stalledRemote.ReadToEndAsync();
        await Poll.Within(stalledWrite);
        await stalled.CompleteWritesAsync();
        (await Poll.Within(drained)).Length.Should().Be(16 * window);
    }

    [Fact]
    public async Task Large_transfers_are_byte_exact_in_both_directions_at_once()
    {
        const int size = 24 * 1024 * 1024;
        var up = SampleFrames.Payload(size, seed: 1);
        var down = SampleFrames.Payload(size, seed: 2);
        var receivedUp = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var pair = await SessionPair.StartAsync(
            new SessionOptions { InitialWindow = 256 * 1024 },
            new SessionOptions { InitialWindow = 128 * 1024 },
            acceptorHandler: async ch =>
            {
                var reading = ch.ReadToEndAsync();
                await ch.WriteAllAsync(down, chunk: 100_000);
                receivedUp.SetResult(await reading);
            });

        var channel = await pair.Connector.OpenChannelAsync(1, default);
        var receivingDown = channel.ReadToEndAsync();
        await Poll.Within(channel.WriteAllAsync(up, chunk: 77_777));

        SHA256.HashData(await Poll.Within(receivedUp.Task)).Should().Equal(SHA256.HashData(up));
        SHA256.HashData(await Poll.Within(receivingDown)).Should().Equal(SHA256.HashData(down));
        await Poll.UntilAsync(() => pair.Connector.ChannelCount == 0 && pair.Acceptor.ChannelCount == 0, "the channel is gone on both sides");

        // A read batch is counted after its frames are handled: the last one may still be counting.
        await Poll.UntilAsync(() => pair.Acceptor.BytesReceived > size, "everything sent was counted as received");
        pair.Connector.BytesSent.Should().BeGreaterThan(size);
    }

    [Fact]
    public async Task Data_frames_respect_the_peers_frame_limit()
    {
        var received = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var pair = await SessionPair.StartAsync(
            new SessionOptions { MaxDataChunk = 1024 * 1024 },
            new SessionOptions { MaxFrameSize = 4096 },
            acceptorHandler: async ch => received.SetResult(await ch.ReadToEndAsync()));

        var payload = SampleFrames.Payload(100_000);
        var channel = await pair.Connector.OpenChannelAsync(1, default);
        await channel.WriteAllAsync(payload, chunk: payload.Length);

        (await Poll.Within(received.Task)).Should().Equal(payload);
        pair.Acceptor.IsClosed.Should().BeFalse();
    }

    [Fact]
    public async Task A_reader_that_stops_reading_returns_the_credit_of_what_it_left_unread()
    {
        const int window = 16 * 1024;
        var options = new SessionOptions { InitialWindow = window };
        var opened = Channel.CreateUnbounded<TunnelChannel>();
        await using var pair = await SessionPair.StartAsync(options, options, acceptorHandler: ch => opened.Writer.WriteAsync(ch).AsTask());
        var channel = await pair.Connector.OpenChannelAsync(1, default);
        var remote = await opened.Reader.ReadAsync();

        // Fill the window, then the receiver gives up reading without consuming anything.
        var write = channel.WriteAsync(new byte[4 * window]).AsTask();
        await Poll.UntilAsync(() => remote.BufferedBytes == window, "the window is full");
        await remote.Input.CompleteAsync();

        // The sender is not stranded: unread and later bytes are dropped and their credit returned.
        // The last frame may still be in flight when the write completes; once it lands it is dropped too.
        await Poll.Within(write);
        await Poll.UntilAsync(() => remote.BufferedBytes == 0, "every dropped byte's credit is returned");
    }
}
