using System.Security.Cryptography;
using EdgeAgent.Protocol.Rpc;
using EdgeAgent.Protocol.Session;
using EdgeAgent.Protocol.Tests.Frames;
using EdgeAgent.Testing.ProtocolTestHelpers;
using MessagePack;
using Microsoft.Extensions.Time.Testing;

namespace EdgeAgent.Protocol.Tests.Rpc;

public sealed class RpcTests
{
    private static byte[] Bytes(string text) => System.Text.Encoding.UTF8.GetBytes(text);

    [Fact]
    public async Task A_unary_command_answers_with_its_result()
    {
        await using var rpc = await RpcHarness.StartAsync([DelegateCommand.Unary("echo", call => ValueTask.FromResult(call.Payload.ToArray().Reverse().ToArray()))]);

        var result = await rpc.InvokeAsync("echo", new byte[] { 1, 2, 3 });

        result.ToArray().Should().Equal(3, 2, 1);
    }

    [Fact]
    public async Task A_unary_command_makes_bulk_data_yield_on_both_sessions_and_a_streaming_command_does_not()
    {
        var time = new FakeTimeProvider();
        await using var rpc = await RpcHarness.StartAsync(
            [
                DelegateCommand.Unary("echo", call => ValueTask.FromResult(call.Payload.ToArray())),
                DelegateCommand.Streaming("items", async call => await call.WriteItemAsync(new byte[] { 1 })),
            ],
            new SessionOptions { KeepaliveInterval = TimeSpan.FromHours(1) },
            time);

        await foreach (var _ in rpc.StreamAsync("items", default))
        {
        }

        rpc.Caller.CommandsActive.Should().BeFalse("a stream is bulk data itself");
        rpc.Callee.CommandsActive.Should().BeFalse();

        await rpc.InvokeAsync("echo", new byte[] { 1 });
        rpc.Caller.CommandsActive.Should().BeTrue();
        rpc.Callee.CommandsActive.Should().BeTrue();

        time.Advance(TimeSpan.FromMilliseconds(TunnelSession.CommandLingerMilliseconds));
        rpc.Caller.CommandsActive.Should().BeFalse();
        rpc.Callee.CommandsActive.Should().BeFalse();
    }

    [Fact]
    public async Task An_unknown_command_is_not_found()
    {
        await using var rpc = await RpcHarness.StartAsync([]);

        var error = await FluentActions.Awaiting(() => rpc.InvokeAsync("nope", default)).Should().ThrowAsync<EdgeCommandException>();

        error.Which.Code.Should().Be(EdgeErrorCodes.NotFound);
    }

    [Fact]
    public async Task Results_larger_than_the_window_arrive_byte_exact()
    {
        var big = SampleFrames.Payload(3 * 1024 * 1024 + 17);
        await using var rpc = await RpcHarness.StartAsync(
            [DelegateCommand.Unary("big", _ => ValueTask.FromResult(big))],
            new SessionOptions { InitialWindow = 256 * 1024 });

        var result = await Poll.Within(rpc.InvokeAsync("big", default));

        SHA256.HashData(result.Span).Should().Equal(SHA256.HashData(big));
    }

    [Fact]
    public async Task Streamed_items_larger_than_the_window_arrive_in_order()
    {
        await using var rpc = await RpcHarness.StartAsync(
            [DelegateCommand.Streaming("items", async call =>
            {
                for (var i = 0; i < 3; i++)
                {
                    await call.WriteItemAsync(SampleFrames.Payload(100_000, seed: i));
                }
            })],
            new SessionOptions { InitialWindow = 16 * 1024 });

        var items = await Poll.Within(CollectAsync(rpc.StreamAsync("items", default)));

        items.Should().HaveCount(3);
        for (var i = 0; i < 3; i++)
        {
            items[i].Should().Equal(SampleFrames.Payload(100_000, seed: i));
        }
    }

    [Fact]
    public async Task Cancelling_the_call_cancels_the_handler_on_the_other_side()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handlerCancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var rpc = await RpcHarness.StartAsync([DelegateCommand.Unary("wait", async call =>
        {
            started.SetResult();
            try
            {
                await Task.Delay(Timeout.Infinite, call.CancellationToken);
            }
            catch (OperationCanceledException) when (call.CancellationToken.IsCancellationRequested)
            {
                handlerCancelled.SetResult();
                throw;
            }

            return [];
        })]);
        using var cancel = new CancellationTokenSource();

        var invoke = rpc.InvokeAsync("wait", default, key: "k-1", cancellationToken: cancel.Token);
        await Poll.Within(started.Task);
        await cancel.CancelAsync();

        await FluentActions.Awaiting(() => Poll.Within(invoke)).Should().ThrowAsync<OperationCanceledException>();
        await Poll.Within(handlerCancelled.Task);
        await Poll.UntilAsync(() => rpc.Callee.ChannelCount == 0 && rpc.Caller.ChannelCount == 0, "the channel is gone on both sides");
    }

    [Fact]
    public async Task A_handler_cancellation_callback_that_blocks_does_not_stall_the_session()
    {
        using var release = new ManualResetEventSlim();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var callbackRan = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var rpc = await RpcHarness.StartAsync(
        [
            DelegateCommand.Unary("wait", async call =>
            {
                // A callback that blocks (say, a synchronous close of a resource) when the caller cancels.
                using var registration = call.CancellationToken.Register(() =>
                {
                    callbackRan.TrySetResult();
                    release.Wait(TimeSpan.FromSeconds(30));
                });
                started.SetResult();
                await Task.Delay(Timeout.Infinite, call.CancellationToken);
                return [];
            }),
            DelegateCommand.Unary("echo", call => ValueTask.FromResult(call.Payload.ToArray())),
        ]);
        using var cancel = new CancellationTokenSource();

        var waiting = rpc.InvokeAsync("wait", default, cancellationToken: cancel.Token);
        await Poll.Within(started.Task);
        await cancel.CancelAsync();
        await Poll.Within(callbackRan.Task);

        // The callback is still blocked; the session (whose read loop handled the reset) still answers.
        (await Poll.Within(rpc.InvokeAsync("echo", Bytes("still here")))).ToArray().Should().Equal(Bytes("still here"));
        release.Set();
        await FluentActions.Awaiting(() => Poll.Within(waiting)).Should().ThrowAsync<OperationCanceledException>();
    }

    [Fact]
    public async Task A_passed_deadline_fails_with_timeout_and_cancels_the_handler()
    {
        var time = new FakeTimeProvider();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handlerCancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        DateTimeOffset? deadline = null;
        await using var rpc = await RpcHarness.StartAsync(
            [DelegateCommand.Unary("slow", async call =>
            {
                deadline = call.Deadline;
                started.SetResult();
                try
                {
                    await Task.Delay(Timeout.Infinite, call.CancellationToken);
                }
                catch (OperationCanceledException) when (call.CancellationToken.IsCancellationRequested)
                {
                    handlerCancelled.SetResult();
                    throw;
                }

                return [];
            })],
            new SessionOptions { KeepaliveInterval = TimeSpan.FromHours(1) },
            time);

        var invoke = rpc.InvokeAsync("slow", default, timeout: TimeSpan.FromSeconds(5));
        await Poll.Within(started.Task);
        deadline.Should().Be(time.GetUtcNow() + TimeSpan.FromSeconds(5));
        time.Advance(TimeSpan.FromSeconds(5));

        var error = await FluentActions.Awaiting(() => Poll.Within(invoke)).Should().ThrowAsync<EdgeCommandException>();
        error.Which.Code.Should().Be(EdgeErrorCodes.Timeout);
        await Poll.Within(handlerCancelled.Task);
    }

    [Fact]
    public async Task The_callee_answers_timeout_by_itself_when_its_deadline_passes()
    {
        var time = new FakeTimeProvider();
        await using var rpc = await RpcHarness.StartAsync(
            [DelegateCommand.Unary("slow", async call =>
            {
                await Task.Delay(Timeout.Infinite, call.CancellationToken);
                return [];
            })],
            new SessionOptions { KeepaliveInterval = TimeSpan.FromHours(1) },
            time);

        // A raw call whose deadline is already over (the caller itself waits without a deadline).
        var header = new RpcRequestHeader("slow", "", time.GetUtcNow().AddSeconds(-1).ToUnixTimeMilliseconds(), default).Encode();
        var channel = await rpc.Caller.OpenChannelAsync(ChannelKinds.Command, header);
        await channel.CompleteWritesAsync();

        var message = await Poll.Within(RpcMessages.ReadAsync(channel.Input, RpcMessages.DefaultMaxMessageSize, default).AsTask());
        message!.Value.Kind.Should().Be(RpcMessageKind.Error);
        message.Value.Code.Should().Be(EdgeErrorCodes.Timeout);
    }

    [Fact]
    public async Task The_same_idempotency_key_runs_the_handler_once_and_returns_the_same_result()
    {
        var runs = 0;
        await using var rpc = await RpcHarness.StartAsync([DelegateCommand.Unary("deploy", _ => ValueTask.FromResult(Bytes($"run {Interlocked.Increment(ref runs)}")))]);

        var first = await rpc.InvokeAsync("deploy", Bytes("v1"), key: "deploy-42");
        var second = await rpc.InvokeAsync("deploy", Bytes("v1"), key: "deploy-42");
        var other = await rpc.InvokeAsync("deploy", Bytes("v1"), key: "deploy-43");

        second.ToArray().Should().Equal(first.ToArray());
        first.ToArray().Should().Equal(Bytes("run 1"));
        other.ToArray().Should().Equal(Bytes("run 2"));
        rpc.Dispatcher.Executions.Should().Be(2);
    }

    [Fact]
    public async Task A_concurrent_duplicate_waits_for_the_first_run()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var rpc = await RpcHarness.StartAsync([DelegateCommand.Unary("deploy", async _ =>
        {
            await release.Task;
            return Bytes("done");
        })]);

        var first = rpc.InvokeAsync("deploy", default, key: "same");
        await Poll.UntilAsync(() => rpc.Dispatcher.Executions == 1, "the first run started");
        var second = rpc.InvokeAsync("deploy", default, key: "same");
        await Poll.UntilAsync(() => rpc.Callee.ChannelCount == 2, "the duplicate reached the dispatcher");
        second.IsCompleted.Should().BeFalse("the duplicate waits for the first run");

        release.SetResult();

        (await Poll.Within(first)).ToArray().Should().Equal(Bytes("done"));
        (await Poll.Within(second)).ToArray().Should().Equal(Bytes("done"));
        rpc.Dispatcher.Executions.Should().Be(1);
    }

    [Fact]
    public async Task A_retry_waiting_for_a_run_whose_caller_cancels_runs_the_command_itself()
    {
        var runs = 0;
        var firstStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var rpc = await RpcHarness.StartAsync([DelegateCommand.Unary("deploy", async call =>
        {
            var run = Interlocked.Increment(ref runs);
            if (run == 1)
            {
                firstStarted.SetResult();
                await Task.Delay(Timeout.Infinite, call.CancellationToken);
            }

            return Bytes($"run {run}");
        })]);
        using var cancel = new CancellationTokenSource();

        var first = rpc.InvokeAsync("deploy", default, key: "same", cancellationToken: cancel.Token);
        await Poll.Within(firstStarted.Task);
        var retry = rpc.InvokeAsync("deploy", default, key: "same");
        await Poll.UntilAsync(() => rpc.Dispatcher.Waits == 1, "the retry waits for the first run");
        await cancel.CancelAsync();

        await FluentActions.Awaiting(() => Poll.Within(first)).Should().ThrowAsync<OperationCanceledException>();
        (await Poll.Within(retry)).ToArray().Should().Equal(Bytes("run 2"), "the first run's cancel is not the retry's");
        rpc.Dispatcher.Executions.Should().Be(2);
    }

    [Fact]
    public async Task A_retry_waiting_for_a_run_whose_handler_throws_runs_the_command_itself()
    {
        var runs = 0;
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var rpc = await RpcHarness.StartAsync([DelegateCommand.Unary("deploy", async _ =>
        {
            var run = Interlocked.Increment(ref runs);
            if (run == 1)
            {
                await release.Task;
                throw new InvalidOperationException("first run broke");
            }

            return Bytes($"run {run}");
        })]);

        var first = rpc.InvokeAsync("deploy", default, key: "same");
        await Poll.UntilAsync(() => rpc.Dispatcher.Executions == 1, "the first run started");
        var retry = rpc.InvokeAsync("deploy", default, key: "same");
        await Poll.UntilAsync(() => rpc.Dispatcher.Waits == 1, "the retry waits for the first run");
        release.SetResult();

        // An exception (unlike an EdgeCommandException) is no result: it is not remembered, so
        // the retry that waited runs the command as a retry arriving afterwards would.
        var error = await FluentActions.Awaiting(() => Poll.Within(first)).Should().ThrowAsync<EdgeCommandException>();
        error.Which.Code.Should().Be(EdgeErrorCodes.Internal);
        (await Poll.Within(retry)).ToArray().Should().Equal(Bytes("run 2"));
        rpc.Dispatcher.Executions.Should().Be(2);
    }

    [Fact]
    public async Task A_call_with_the_key_of_a_running_other_command_is_invalid_argument()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var rpc = await RpcHarness.StartAsync(
        [
            DelegateCommand.Unary("deploy", async _ =>
            {
                await release.Task;
                return Bytes("deployed");
            }),
            DelegateCommand.Unary("rollback", _ => ValueTask.FromResult(Bytes("rolled back"))),
        ]);

        var first = rpc.InvokeAsync("deploy", default, key: "same");
        await Poll.UntilAsync(() => rpc.Dispatcher.Executions == 1, "the first run started");
        var other = rpc.InvokeAsync("rollback", default, key: "same");
        await Poll.UntilAsync(() => rpc.Dispatcher.Waits == 1, "the other command waits for the first run");
        release.SetResult();

        (await Poll.Within(first)).ToArray().Should().Equal(Bytes("deployed"));
        var error = await FluentActions.Awaiting(() => Poll.Within(other)).Should().ThrowAsync<EdgeCommandException>();
        error.Which.Code.Should().Be(EdgeErrorCodes.InvalidArgument);
        error.Which.Message.Should().Contain("'deploy'");
        rpc.Dispatcher.Executions.Should().Be(1);
    }

    [Fact]
    public async Task A_retry_whose_cache_lookup_misses_while_the_first_run_finishes_does_not_run_the_command_again()
    {
        var runs = 0;
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var cache = new HookedCache(new TestIdempotencyCache());
        var retryLookupHeld = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var resumeRetryLookup = new ManualResetEventSlim();
        cache.AfterLookup = lookup =>
        {
            // The first lookup is the first run's; a second one is the retry's (a dispatcher that
            // looks before registering): hold it, after its miss, until the first run is over.
            if (lookup == 2)
            {
                retryLookupHeld.SetResult();
                resumeRetryLookup.Wait(Poll.DefaultDeadline);
            }
        };
        await using var rpc = await RpcHarness.StartAsync(
            [DelegateCommand.Unary("deploy", async _ =>
            {
                var run = Interlocked.Increment(ref runs);
                await release.Task;
                return Bytes($"run {run}");
            })],
            cache: cache);

        var first = rpc.InvokeAsync("deploy", default, key: "same");
        await Poll.UntilAsync(() => rpc.Dispatcher.Executions == 1, "the first run started");
        var retry = rpc.InvokeAsync("deploy", default, key: "same");
        await Poll.UntilAsync(() => retryLookupHeld.Task.IsCompleted || rpc.Dispatcher.Waits == 1, "the retry missed in the cache or waits for the first run");

        // The first run stores its result, answers and leaves the in-flight map; only then may
        // the retry go on from its lookup.
        release.SetResult();
        (await Poll.Within(first)).ToArray().Should().Equal(Bytes("run 1"));
        resumeRetryLookup.Set();

        (await Poll.Within(retry)).ToArray().Should().Equal(Bytes("run 1"));
        rpc.Dispatcher.Executions.Should().Be(1);
    }

    /// <summary>A cache that calls a hook, with the lookup's ordinal, after each lookup.</summary>
    private sealed class HookedCache(IIdempotencyCache inner) : IIdempotencyCache
    {
        private int _lookups;

        public Action<int>? AfterLookup { get; set; }

        public bool TryGet(string key, out string commandName, out byte[] response)
        {
            var found = inner.TryGet(key, out commandName, out response);
            AfterLookup?.Invoke(Interlocked.Increment(ref _lookups));
            return found;
        }

        public ValueTask SetAsync(string key, string commandName, byte[] response) => inner.SetAsync(key, commandName, response);
    }

    private static async Task<List<byte[]>> CollectAsync(IAsyncEnumerable<ReadOnlyMemory<byte>> items)
    {
        var list = new List<byte[]>();
        await foreach (var item in items)
        {
            list.Add(item.ToArray());
        }

        return list;
    }

    [Theory]
    [InlineData("any")]
    [InlineData("named")]
    public async Task A_deeply_nested_request_payload_is_invalid_argument(string command)
    {
        await using var rpc = await RpcHarness.StartAsync(
        [
            DelegateCommand.Unary("any", call => ValueTask.FromResult(ContractSerializer.Serialize(ContractSerializer.Deserialize<AnyValueRequest>(call.Payload).Value?.GetType().Name ?? "null"))),
            DelegateCommand.Unary("named", call => ValueTask.FromResult(ContractSerializer.Serialize(ContractSerializer.Deserialize<NamedRequest>(call.Payload).Name))),
        ]);

        byte[] Nested(int depth, bool withName)
        {
            var buffer = new System.Buffers.ArrayBufferWriter<byte>();
            var writer = new MessagePackWriter(buffer);
            writer.WriteArrayHeader(withName ? 2 : 1);
            if (withName)
            {
                writer.Write("x");
            }

            Envelope.WriteNestedArrays(ref writer, depth);
            writer.Flush();
            return buffer.WrittenSpan.ToArray();
        }

        // Within the depth limit the same shapes are fine.
        (await rpc.InvokeAsync("any", Nested(10, withName: false))).Length.Should().BeGreaterThan(0);
        (await rpc.InvokeAsync("named", Nested(10, withName: true))).Length.Should().BeGreaterThan(0);

        var payload = Nested(100_000, withName: command == "named");
        var error = await FluentActions.Awaiting(() => rpc.InvokeAsync(command, payload)).Should().ThrowAsync<EdgeCommandException>();
        error.Which.Code.Should().Be(EdgeErrorCodes.InvalidArgument);

        rpc.Callee.IsClosed.Should().BeFalse();
    }

    [Fact]
    public async Task A_deeply_nested_trailing_field_in_the_request_header_is_skipped()
    {
        await using var rpc = await RpcHarness.StartAsync([DelegateCommand.Unary("echo", call => ValueTask.FromResult(call.Payload.ToArray()))]);
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(5);
        writer.Write("echo");
        writer.Write("");
        writer.Write(0L);
        writer.Write(new byte[] { 7 });
        Envelope.WriteNestedArrays(ref writer, 100_000);
        writer.Flush();

        var channel = await rpc.Caller.OpenChannelAsync(ChannelKinds.Command, buffer.WrittenSpan.ToArray());
        await channel.CompleteWritesAsync();
        var message = await Poll.Within(RpcMessages.ReadAsync(channel.Input, RpcMessages.DefaultMaxMessageSize, default).AsTask());

        message!.Value.Kind.Should().Be(RpcMessageKind.Result);
        message.Value.Payload.ToArray().Should().Equal(7);
    }

    [Theory]
    [InlineData(new byte[] { 0xc1 })]
    [InlineData(new byte[] { 0x94, 0xa0, 0xa0, 0x00 })]
    [InlineData(new byte[] { 0x94, 0xa1, 0x41, 0xa0, 0xa3, 0x61, 0x62, 0x63, 0xc0 })]
    [InlineData(new byte[] { 0x94, 0xa2, 0xc3, 0x28, 0xa0, 0x00, 0xc0 })]
    public async Task A_malformed_request_header_is_invalid_argument(byte[] header)
    {
        await using var rpc = await RpcHarness.StartAsync([DelegateCommand.Unary("A", _ => ValueTask.FromResult(Array.Empty<byte>()))]);

        var channel = await rpc.Caller.OpenChannelAsync(ChannelKinds.Command, header);
        await channel.CompleteWritesAsync();
        var message = await Poll.Within(RpcMessages.ReadAsync(channel.Input, RpcMessages.DefaultMaxMessageSize, default).AsTask());

        message!.Value.Kind.Should().Be(RpcMessageKind.Error);
        message.Value.Code.Should().Be(EdgeErrorCodes.InvalidArgument);
        rpc.Callee.IsClosed.Should().BeFalse();
    }
}
