using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using EdgeAgent.Protocol;
using EdgeAgent.Testing.Hosting;
using EdgeAgent.Testing.Network;
using EdgeAgent.Testing.ProtocolTestHelpers;
using Microsoft.Extensions.Options;

using EdgeAgent.ControlPlane;

namespace EdgeAgent.FunctionalTests.Forwarding;

public sealed partial class ForwardingTests
{
    [Fact]
    public async Task Large_random_data_is_forwarded_byte_exact_both_ways_and_end_of_stream_follows_the_half_close()
    {
        await using var echo = LoopbackTcpServer.StartEcho();
        await using var rig = await Rig.StartAsync(AllowLoopback);
        var data = new byte[32 * 1024 * 1024];
        new Random(6).NextBytes(data);

        await using var stream = await rig.Handle.OpenTcpStreamAsync("127.0.0.1", echo.Port);
        var writing = Task.Run(async () =>
        {
            // Uneven write sizes so frames and socket reads never line up with the data.
            var offset = 0;
            var size = 1;
            while (offset < data.Length)
            {
                var count = Math.Min(size, data.Length - offset);
                await stream.WriteAsync(data.AsMemory(offset, count));
                offset += count;
                size = size * 7 % 200_003 + 1;
            }

            await stream.CompleteWritesAsync();
        });
        var received = await ReadToEndAsync(stream);
        await writing;

        received.Length.Should().Be(data.Length);
        SHA256.HashData(received).Should().Equal(SHA256.HashData(data));
        var audit = await rig.AuditAsync();
        audit.Should().Contain(r => r.Command == "forward.tcp" && r.Outcome == "ok");
    }

    [Fact]
    public async Task Half_close_from_the_control_plane_side_reaches_the_target_which_can_still_answer()
    {
        await using var server = LoopbackTcpServer.Start();
        await using var rig = await Rig.StartAsync(AllowLoopback);
        await using var stream = await rig.Handle.OpenTcpStreamAsync("127.0.0.1", server.Port);
        using var target = await server.AcceptAsync();

        await stream.WriteAsync("hello"u8.ToArray());
        await stream.CompleteWritesAsync();
        (await ReceiveToEndAsync(target)).Should().Equal("hello"u8.ToArray(), "the target reads the data, then end-of-stream");

        await SendAsync(target, "answer-after-your-eof");
        (await ReadStringAsync(stream, "answer-after-your-eof".Length)).Should().Be("answer-after-your-eof");
        target.Shutdown(SocketShutdown.Send);
        (await ReadToEndAsync(stream)).Should().BeEmpty();
        stream.IsAborted.Should().BeFalse();
    }

    [Fact]
    public async Task Half_close_from_the_target_reaches_the_control_plane_which_can_still_send()
    {
        await using var server = LoopbackTcpServer.Start();
        await using var rig = await Rig.StartAsync(AllowLoopback);
        await using var stream = await rig.Handle.OpenTcpStreamAsync("127.0.0.1", server.Port);
        using var target = await server.AcceptAsync();

        await SendAsync(target, "bye");
        target.Shutdown(SocketShutdown.Send);
        (await ReadToEndAsync(stream)).Should().Equal("bye"u8.ToArray());

        await stream.WriteAsync("still-open"u8.ToArray());
        (await ReceiveStringAsync(target, "still-open".Length)).Should().Be("still-open");
        await stream.CompleteWritesAsync();
        (await ReceiveToEndAsync(target)).Should().BeEmpty();
    }

    [Fact]
    public async Task A_reset_by_the_target_resets_the_stream()
    {
        await using var server = LoopbackTcpServer.Start();
        await using var rig = await Rig.StartAsync(AllowLoopback);
        await using var stream = await rig.Handle.OpenTcpStreamAsync("127.0.0.1", server.Port);
        var target = await server.AcceptAsync();
        await SendAsync(target, "x");
        (await ReadStringAsync(stream, 1)).Should().Be("x");

        target.LingerState = new LingerOption(true, 0);
        target.Close();

        var reset = await FluentActions.Awaiting(() => ReadToEndAsync(stream)).Should().ThrowAsync<IOException>();
        reset.Which.Message.Should().Contain("reset the connection");
        stream.IsAborted.Should().BeTrue();
    }

    [Fact]
    public async Task Aborting_the_stream_resets_the_target_connection()
    {
        await using var server = LoopbackTcpServer.Start();
        await using var rig = await Rig.StartAsync(AllowLoopback);
        var stream = await rig.Handle.OpenTcpStreamAsync("127.0.0.1", server.Port);
        using var target = await server.AcceptAsync();
        await stream.WriteAsync("x"u8.ToArray());
        (await ReceiveStringAsync(target, 1)).Should().Be("x");

        stream.Abort("test abort");

        var error = await FluentActions.Awaiting(() => ReceiveToEndAsync(target)).Should().ThrowAsync<SocketException>();
        error.Which.SocketErrorCode.Should().Be(SocketError.ConnectionReset, "an aborted stream closes the target connection with RST, not FIN");
        await stream.DisposeAsync();
    }

    [Fact]
    public async Task A_greeting_the_target_sends_as_soon_as_it_accepts_is_readable_at_once()
    {
        // Like an SSH server's banner: the bytes can arrive in the same read as the command's
        // acceptance, and must not wait for more data to become readable.
        await using var server = LoopbackTcpServer.Start();
        await using var rig = await Rig.StartAsync(AllowLoopback);
        for (var i = 0; i < 50; i++)
        {
            var opening = rig.Handle.OpenTcpStreamAsync("127.0.0.1", server.Port);
            using var target = await server.AcceptAsync();
            await SendAsync(target, "SSH-2.0-banner\r\n");
            await using var stream = await opening;
            (await ReadStringAsync(stream, "SSH-2.0-banner\r\n".Length)).Should().Be("SSH-2.0-banner\r\n", $"iteration {i}");
        }
    }

    [Fact]
    public async Task Default_policy_denies_every_target_and_the_error_names_the_rule()
    {
        await using var echo = LoopbackTcpServer.StartEcho();
        await using var rig = await Rig.StartAsync();

        var denied = await FluentActions.Awaiting(() => rig.Handle.OpenTcpStreamAsync("127.0.0.1", echo.Port)).Should().ThrowAsync<EdgeCommandException>();
        denied.Which.Code.Should().Be(EdgeErrorCodes.Denied);
        denied.Which.Message.Should().Contain($"127.0.0.1:{echo.Port}").And.Contain("Policy:ForwardingAllowlist").And.Contain("empty");
        echo.Connections.Should().Be(0);
        (await rig.AuditAsync()).Should().Contain(r => r.Command == "forward.tcp" && r.Outcome == EdgeErrorCodes.Denied);
    }

    [Fact]
    public async Task Allowlist_rules_match_by_port_range_cidr_and_host_name()
    {
        await using var echo = LoopbackTcpServer.StartEcho();
        var port = echo.Port;
        await using var rig = await Rig.StartAsync(o =>
        {
            o.Policy.ForwardingAllowlist.Add("127.0.0.1:22");
            o.Policy.ForwardingAllowlist.Add("10.0.0.0/8:80-443");
            o.Policy.ForwardingAllowlist.Add($"localhost:{port}");
        });

        var denied = await FluentActions.Awaiting(() => rig.Handle.OpenTcpStreamAsync("127.0.0.1", port + 1)).Should().ThrowAsync<EdgeCommandException>();
        denied.Which.Code.Should().Be(EdgeErrorCodes.Denied);
        denied.Which.Message.Should().Contain($"127.0.0.1:{port + 1}").And.Contain("127.0.0.1:22").And.Contain("10.0.0.0/8:80-443").And.Contain($"localhost:{port}");

        // The name rule matches the name (any case) and the addresses the name resolves to.
        foreach (var host in new[] { "localhost", "LocalHost", "127.0.0.1" })
        {
            await using var stream = await rig.Handle.OpenTcpStreamAsync(host, port);
            await stream.WriteAsync("ping"u8.ToArray());
            (await ReadStringAsync(stream, 4)).Should().Be("ping", host);
        }

        // Another loopback address is not what localhost resolves to.
        var other = await FluentActions.Awaiting(() => rig.Handle.OpenTcpStreamAsync("127.0.0.2", port)).Should().ThrowAsync<EdgeCommandException>();
        other.Which.Code.Should().Be(EdgeErrorCodes.Denied);
    }

    [Fact]
    public async Task A_target_that_refuses_the_connection_gives_unavailable_with_the_socket_error()
    {
        int closedPort;
        using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            closedPort = ((IPEndPoint)probe.LocalEndPoint!).Port;
        }

        await using var rig = await Rig.StartAsync(AllowLoopback);
        var failure = await FluentActions.Awaiting(() => rig.Handle.OpenTcpStreamAsync("127.0.0.1", closedPort)).Should().ThrowAsync<EdgeCommandException>();
        failure.Which.Code.Should().Be(EdgeErrorCodes.Unavailable);
        failure.Which.Message.Should().Contain("ConnectionRefused").And.Contain($"127.0.0.1:{closedPort}");
    }

    [Fact]
    public async Task An_invalid_allowlist_entry_stops_the_agent_at_start_with_a_clear_message()
    {
        await using var controlPlane = await TestControlPlane.StartAsync();
        var token = await controlPlane.EnrollAsync("fwd-invalid");
        var agent = TestAgent.Create(controlPlane.BaseUrl, token, o =>
        {
            o.Policy.ForwardingAllowlist.Add("10.0.0.0/33:80");
            o.Policy.ForwardingAllowlist.Add("db.internal");
        });

        using var host = agent.Host; // never started: dispose only
        var error = await FluentActions.Awaiting(() => host.StartAsync()).Should().ThrowAsync<OptionsValidationException>();
        error.Which.Message.Should().Contain("Policy:ForwardingAllowlist entry '10.0.0.0/33:80'").And.Contain("prefix length")
            .And.Contain("'db.internal'");
    }

    [Fact]
    public async Task Many_streams_flow_to_completion_while_one_reader_stalls()
    {
        const int streams = 32;
        const int perStream = 2 * 1024 * 1024;
        const int stalledBytes = 64 * 1024 * 1024;
        await using var echo = LoopbackTcpServer.StartEcho();
        await using var rig = await Rig.StartAsync(AllowLoopback);

        // One stream whose reader never reads: its writer fills every window and buffer, then waits.
        var stalledData = new byte[stalledBytes];
        new Random(1).NextBytes(stalledData);
        await using var stalled = await rig.Handle.OpenTcpStreamAsync("127.0.0.1", echo.Port);
        var stalledWriter = Task.Run(async () =>
        {
            for (var offset = 0; offset < stalledData.Length; offset += 256 * 1024)
            {
                await stalled.WriteAsync(stalledData.AsMemory(offset, 256 * 1024));
            }

            await stalled.CompleteWritesAsync();
        });

        var others = Enumerable.Range(0, streams - 1).Select(i => Task.Run(async () =>
        {
            var data = new byte[perStream];
            new Random(100 + i).NextBytes(data);
            await using var stream = await rig.Handle.OpenTcpStreamAsync("127.0.0.1", echo.Port);
            var writing = Task.Run(async () =>
            {
                for (var offset = 0; offset < data.Length; offset += 32 * 1024)
                {
                    await stream.WriteAsync(data.AsMemory(offset, 32 * 1024));
                }

                await stream.CompleteWritesAsync();
            });
            var received = await ReadToEndAsync(stream);
            await writing;
            return SHA256.HashData(received).SequenceEqual(SHA256.HashData(data));
        })).ToArray();

        (await Task.WhenAll(others).WaitAsync(Deadline)).Should().AllSatisfy(ok => ok.Should().BeTrue());
        stalledWriter.IsCompleted.Should().BeFalse("the stalled stream's writer waits for credit that its reader does not return");

        // Reading resumes: everything the stalled writer sent arrives intact.
        var resumed = await ReadToEndAsync(stalled);
        await stalledWriter.WaitAsync(Deadline);
        SHA256.HashData(resumed).Should().Equal(SHA256.HashData(stalledData));
    }

    [Fact]
    public async Task Local_listener_forwards_connections_with_half_close_and_counts_them()
    {
        await using var echo = LoopbackTcpServer.StartEcho();
        await using var rig = await Rig.StartAsync(AllowLoopback);
        await using var listener = await rig.Handle.StartTcpListenerAsync("127.0.0.1", echo.Port);
        listener.LocalEndPoint.Address.Should().Be(IPAddress.Loopback);

        var data = new byte[4 * 1024 * 1024];
        new Random(2).NextBytes(data);
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(listener.LocalEndPoint);
        var sending = Task.Run(async () =>
        {
            await client.SendAsync(data, SocketFlags.None);
            client.Shutdown(SocketShutdown.Send);
        });
        var received = await ReceiveToEndAsync(client);
        await sending;
        received.Should().Equal(data);
        await WaitUntilAsync(() => listener.ActiveConnections == 0, "the connection to end");
        listener.AcceptedConnections.Should().Be(1);
        listener.FailedConnections.Should().Be(0);
    }

    [Fact]
    public async Task Local_listener_passes_resets_both_ways()
    {
        await using var server = LoopbackTcpServer.Start();
        await using var rig = await Rig.StartAsync(AllowLoopback);
        await using var listener = await rig.Handle.StartTcpListenerAsync("127.0.0.1", server.Port);

        // The local client resets: the target sees a reset.
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(listener.LocalEndPoint);
        using (var target = await server.AcceptAsync())
        {
            await client.SendAsync("x"u8.ToArray(), SocketFlags.None);
            (await ReceiveStringAsync(target, 1)).Should().Be("x");
            client.LingerState = new LingerOption(true, 0);
            client.Close();
            var error = await FluentActions.Awaiting(() => ReceiveToEndAsync(target)).Should().ThrowAsync<SocketException>();
            error.Which.SocketErrorCode.Should().Be(SocketError.ConnectionReset);
        }

        // The target resets: the local client sees a reset.
        using var second = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await second.ConnectAsync(listener.LocalEndPoint);
        var secondTarget = await server.AcceptAsync();
        await SendAsync(secondTarget, "y");
        (await ReceiveStringAsync(second, 1)).Should().Be("y");
        secondTarget.LingerState = new LingerOption(true, 0);
        secondTarget.Close();
        var reset = await FluentActions.Awaiting(() => ReceiveToEndAsync(second)).Should().ThrowAsync<SocketException>();
        reset.Which.SocketErrorCode.Should().Be(SocketError.ConnectionReset);
        await WaitUntilAsync(() => listener.ActiveConnections == 0, "both connections to end");
    }

    [Fact]
    public async Task Disposing_the_listener_stops_accepting_and_closes_its_connections()
    {
        await using var echo = LoopbackTcpServer.StartEcho();
        await using var rig = await Rig.StartAsync(AllowLoopback);
        var listener = await rig.Handle.StartTcpListenerAsync("127.0.0.1", echo.Port);
        var endPoint = listener.LocalEndPoint;
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(endPoint);
        await client.SendAsync("z"u8.ToArray(), SocketFlags.None);
        (await ReceiveStringAsync(client, 1)).Should().Be("z");
        listener.ActiveConnections.Should().Be(1);

        await listener.DisposeAsync();

        listener.ActiveConnections.Should().Be(0);
        await FluentActions.Awaiting(() => ReceiveToEndAsync(client)).Should().ThrowAsync<SocketException>("open connections are reset");
        using var late = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await FluentActions.Awaiting(() => late.ConnectAsync(endPoint)).Should().ThrowAsync<SocketException>();
        rig.Handle.IsConnected.Should().BeTrue("closing forwarded connections leaves the tunnel up");
    }

    [Fact]
    public async Task Local_listener_resets_connections_the_agent_refuses_and_reports_why()
    {
        await using var echo = LoopbackTcpServer.StartEcho();
        await using var rig = await Rig.StartAsync();
        await using var listener = await rig.Handle.StartTcpListenerAsync("127.0.0.1", echo.Port);

        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

        // The refusal is quick: the reset can arrive before the connect has completed on this side.
        await FluentActions.Awaiting(async () =>
        {
            await client.ConnectAsync(listener.LocalEndPoint);
            await ReceiveToEndAsync(client);
        }).Should().ThrowAsync<SocketException>("the refused connection is reset");
        await Poll.UntilAsync(() => listener.FailedConnections == 1, "the listener has counted the refusal");
        listener.LastError.Should().BeOfType<EdgeCommandException>().Which.Code.Should().Be(EdgeErrorCodes.Denied);
        echo.Connections.Should().Be(0);
    }
}
