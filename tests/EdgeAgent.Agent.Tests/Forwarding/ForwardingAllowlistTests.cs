using System.Net;
using System.Net.Sockets;
using EdgeAgent.Agent.Forwarding;

namespace EdgeAgent.Agent.Tests.Forwarding;

public sealed class ForwardingAllowlistTests
{
    private static readonly Dictionary<string, IPAddress[]> Names = new(StringComparer.OrdinalIgnoreCase)
    {
        ["db.internal"] = [IPAddress.Parse("10.1.2.3")],
        ["web.internal"] = [IPAddress.Parse("192.168.1.10"), IPAddress.Parse("10.9.9.9")],
    };

    private static Task<IPAddress[]> Resolve(string name, CancellationToken cancellationToken) =>
        Names.TryGetValue(name, out var addresses) ? Task.FromResult(addresses) : throw new SocketException((int)SocketError.HostNotFound);

    private static async Task<string[]> AllowedAsync(string[] rules, string host, int port)
    {
        var allowlist = ForwardingAllowlist.Parse(rules, out var errors);
        errors.Should().BeEmpty();
        return [.. (await allowlist.AuthorizeAsync(host, port, Resolve, CancellationToken.None)).Select(a => a.ToString())];
    }

    [Theory]
    [InlineData("127.0.0.1:22", "127.0.0.1", 22, true)]
    [InlineData("127.0.0.1:22", "127.0.0.1", 23, false)]
    [InlineData("10.0.0.0/8:80-443", "10.200.1.1", 443, true)]
    [InlineData("10.0.0.0/8:80-443", "10.200.1.1", 444, false)]
    [InlineData("10.0.0.0/8:80-443", "11.0.0.1", 80, false)]
    [InlineData("*:8080", "203.0.113.9", 8080, true)]
    [InlineData("*:*", "203.0.113.9", 1, true)]
    [InlineData("[::1]:22", "::1", 22, true)]
    [InlineData("[::1]:22", "[::1]", 22, true)]
    [InlineData("fd00::/8:80", "fd12::1", 80, true)]
    [InlineData("[fd00::/8]:80", "fe80::1", 80, false)]
    [InlineData("10.0.0.0/8:5432", "db.internal", 5432, true)]
    [InlineData("DB.Internal:5432", "db.internal", 5432, true)]
    [InlineData("db.internal:5432", "10.1.2.3", 5432, true)]
    [InlineData("db.internal:5432", "10.1.2.4", 5432, false)]
    [InlineData("db.internal:5432", "db.internal.evil", 5432, false)]
    [InlineData("127.0.0.1:22", "::ffff:127.0.0.1", 22, true)]
    public async Task Rules_match_hosts_and_ports(string rule, string host, int port, bool allowed)
    {
        (await AllowedAsync([rule], host, port)).Should().HaveCount(allowed ? 1 : 0);
    }

    [Fact]
    public async Task Only_the_resolved_addresses_a_rule_covers_are_returned()
    {
        (await AllowedAsync(["10.0.0.0/8:80"], "web.internal", 80)).Should().Equal("10.9.9.9");
        (await AllowedAsync(["web.internal:80"], "web.internal", 80)).Should().Equal("192.168.1.10", "10.9.9.9");
    }

    [Fact]
    public async Task A_target_no_rule_can_cover_is_refused_without_resolving_it()
    {
        var resolved = 0;
        var allowlist = ForwardingAllowlist.Parse(["10.0.0.0/8:80", "db.internal:5432"], out _);
        Task<IPAddress[]> Counting(string name, CancellationToken ct)
        {
            resolved++;
            return Resolve(name, ct);
        }

        (await allowlist.AuthorizeAsync("web.internal", 22, Counting, CancellationToken.None)).Should().BeEmpty("no rule has port 22");
        (await allowlist.AuthorizeAsync("other.example", 5432, Counting, CancellationToken.None)).Should().BeEmpty("only a rule for another name has port 5432");
        resolved.Should().Be(0);
        (await allowlist.AuthorizeAsync("web.internal", 80, Counting, CancellationToken.None)).Select(a => a.ToString()).Should().Equal("10.9.9.9");
        resolved.Should().Be(1, "the CIDR rule needs the name's addresses");
        ForwardingAllowlist.Parse([], out _).Description.Should().Contain("empty");
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("127.0.0.1", "expected host:port")]
    [InlineData("127.0.0.1:0", "not a port")]
    [InlineData("127.0.0.1:70000", "not a port")]
    [InlineData("127.0.0.1:443-80", "from > to")]
    [InlineData("10.0.0.0/33:80", "prefix length")]
    [InlineData("::1:22", "brackets")]
    [InlineData("[::1]22", "bracketed")]
    [InlineData("bad host:22", "neither")]
    [InlineData("db.internal/8:22", "CIDR")]
    public void Invalid_entries_are_reported_with_the_reason(string entry, string reason)
    {
        ForwardingAllowlist.Parse([entry], out var errors).Rules.Should().BeEmpty();
        errors.Should().ContainSingle().Which.Should().Contain(reason);
    }
}
