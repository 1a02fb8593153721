using System.Threading.Channels;
using EdgeAgent.Protocol.Session;
using EdgeAgent.Protocol.Tests.Frames;
using EdgeAgent.Testing.ProtocolTestHelpers;

namespace EdgeAgent.Protocol.Tests.Session;

/// <summary>
/// A channel opened in collect mode (the caller of a unary command) gathers its input, one
/// length-prefixed message, whole instead of exposing a stream: credit goes back as bytes arrive,
/// so an answer larger than the window still arrives; a prefix over the limit, or more bytes than
/// the limit, ends collecting at once; a reset fails the read.
/// </summary>
public sealed class CollectedInputTests
{
    private const int Window = 64 * 1024;

    /// <summary>A message of <paramref name="body"/> random bytes behind its 4-byte big-endian length.</summary>
    private static byte[] Message(int body, uint? announced = null)
    {
        var message = new byte[4 + body];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(message, announced ?? (uint)body);
        SampleFrames.Payload(body).CopyTo(message.AsSpan(4));
        return message;
    }

    private static Task<SessionPair> StartAsync(Channel<TunnelChannel> opened) =>
        SessionPair.StartAsync(new SessionOptions { InitialWindow = Window }, new SessionOptions { InitialWindow = Window }, acceptorHandler: ch => opened.Writer.WriteAsync(ch).AsTask());

    [Fact]
    public async Task An_answer_of_many_windows_is_collected_whole_and_byte_exact()
    {
        var opened = Channel.CreateUnbounded<TunnelChannel>();
        await using var pair = await StartAsync(opened);
        var channel = await pair.Connector.OpenChannelAsync(1, new byte[] { 7 }, completeWrites: true, collectInputLimit: 4 * 1024 * 1024);
        var remote = await opened.Reader.ReadAsync();

        // 16 windows in odd-sized writes: the sender only gets through if credit comes back on arrival.
        var answer = Message(16 * Window + 5);
        await Poll.Within(remote.WriteAllAsync(answer, chunk: 10_000));
        await remote.CompleteWritesAsync();

        (await Poll.Within(channel.ReadCollectedAsync(default))).ToArray().Should().Equal(answer);
        channel.BufferedBytes.Should().Be(0, "collected bytes are not held in the window");
        FluentActions.Invoking(() => channel.Input).Should().Throw<InvalidOperationException>().WithMessage("*collected whole*");
    }

    [Fact]
    public async Task More_bytes_than_the_limit_end_collecting_at_once_with_the_first_bytes_and_the_rest_is_dropped()
    {
        const int limit = 1000;
        var opened = Channel.CreateUnbounded<TunnelChannel>();
        await using var pair = await StartAsync(opened);
        var channel = await pair.Connector.OpenChannelAsync(1, default, completeWrites: true, collectInputLimit: limit);
        var remote = await opened.Reader.ReadAsync();

        // A message that fits, followed by bytes that do not belong to it.
        var answer = Message(limit - 4).Concat(SampleFrames.Payload(4 * Window)).ToArray();
        var sending = remote.WriteAllAsync(answer, chunk: 700);

        // The read completes before the sender closes: it does not wait for the rest.
        (await Poll.Within(channel.ReadCollectedAsync(default))).ToArray().Should().Equal(answer[..limit]);

        // Four windows get through: what is dropped still returns its credit.
        // The write completes when the last frame is sent; it is dropped when it lands.
        await Poll.Within(sending);
        await Poll.UntilAsync(() => channel.BufferedBytes == 0, "every dropped byte's credit is returned");
    }

    [Fact]
    public async Task A_length_prefix_over_the_limit_ends_collecting_with_the_first_frame_before_the_rest_is_buffered()
    {
        const int limit = 1000;
        var opened = Channel.CreateUnbounded<TunnelChannel>();
        await using var pair = await StartAsync(opened);
        var channel = await pair.Connector.OpenChannelAsync(1, default, completeWrites: true, collectInputLimit: limit);
        var remote = await opened.Reader.ReadAsync();

        // The prefix announces one byte more than fits; the first 10 bytes are all that is kept.
        await remote.WriteAsync(Message(6, announced: limit - 3));
        (await Poll.Within(channel.ReadCollectedAsync(default))).Length.Should().Be(10);

        // A prefix that fits exactly does not end collecting early: the close does.
        var exact = await pair.Connector.OpenChannelAsync(1, default, completeWrites: true, collectInputLimit: limit);
        var exactRemote = await opened.Reader.ReadAsync();
        var message = Message(limit - 4);
        await exactRemote.WriteAsync(message.AsMemory(0, 10));
        var read = exact.ReadCollectedAsync(default);
        await Task.Delay(50);
        read.IsCompleted.Should().BeFalse("the announced message fits and is not complete");
        await exactRemote.WriteAsync(message.AsMemory(10), complete: true);
        (await Poll.Within(read)).ToArray().Should().Equal(message);
    }

    [Fact]
    public async Task A_peer_that_closes_without_sending_gives_an_empty_answer_and_a_reset_fails_the_read_with_its_code()
    {
        var opened = Channel.CreateUnbounded<TunnelChannel>();
        await using var pair = await StartAsync(opened);

        var empty = await pair.Connector.OpenChannelAsync(1, default, completeWrites: true, collectInputLimit: 100);
        await (await opened.Reader.ReadAsync()).CompleteWritesAsync();
        (await Poll.Within(empty.ReadCollectedAsync(default))).Length.Should().Be(0);

        var reset = await pair.Connector.OpenChannelAsync(1, default, completeWrites: true, collectInputLimit: 100);
        var remote = await opened.Reader.ReadAsync();
        await remote.WriteAsync(Message(6));
        remote.Reset(ProtocolErrorCode.Refused, "no");
        var failure = await FluentActions.Awaiting(() => Poll.Within(reset.ReadCollectedAsync(default))).Should().ThrowAsync<ProtocolException>();
        failure.Which.Code.Should().Be(ProtocolErrorCode.Refused);

        // A streaming channel has no collected input.
        var streaming = await pair.Connector.OpenChannelAsync(1, default);
        FluentActions.Invoking(() => { _ = streaming.ReadCollectedAsync(default); }).Should().Throw<InvalidOperationException>().WithMessage("*not in collect mode*");
    }

    [Fact]
    public async Task Ending_collection_early_drops_later_input_and_returns_its_credit()
    {
        var opened = Channel.CreateUnbounded<TunnelChannel>();
        await using var pair = await StartAsync(opened);
        var channel = await pair.Connector.OpenChannelAsync(1, default, completeWrites: true, collectInputLimit: 16 * Window);
        var remote = await opened.Reader.ReadAsync();

        // The caller gives up (a deadline, say): the peer may still send more than a window.
        using var cancelled = new CancellationTokenSource();
        var read = channel.ReadCollectedAsync(cancelled.Token);
        await cancelled.CancelAsync();
        await FluentActions.Awaiting(() => read).Should().ThrowAsync<OperationCanceledException>();
        channel.EndCollecting();
        await Poll.Within(remote.WriteAllAsync(SampleFrames.Payload(3 * Window), chunk: 8192));
        await Poll.UntilAsync(() => channel.BufferedBytes == 0, "every dropped byte's credit is returned");
    }
}
