using EdgeAgent.ControlPlane.Registry;
using EdgeAgent.Protocol.Contracts;

namespace EdgeAgent.ControlPlane.Tests;

public sealed class FleetStringsTests
{
    [Fact]
    public void Agents_reporting_the_same_values_share_one_instance_of_each()
    {
        static AgentInfo Handshake(string host) => new()
        {
            Hostname = host,
            OperatingSystem = new string("Debian GNU/Linux 12 (bookworm)".AsSpan()),
            Architecture = new string("x64".AsSpan()),
            AgentVersion = new string("0.1.0".AsSpan()),
            EngineVersion = new string("27.0.3".AsSpan()),
            Labels = new Dictionary<string, string> { [new string("site".AsSpan())] = new string("store-12".AsSpan()) },
        };

        var strings = new FleetStrings();
        var first = strings.Share(Handshake("host-a"));
        var second = strings.Share(Handshake("host-b"));

        second.Should().Be(first with { Hostname = "host-b", Labels = second.Labels });
        ReferenceEquals(first.OperatingSystem, second.OperatingSystem).Should().BeTrue();
        ReferenceEquals(first.Architecture, second.Architecture).Should().BeTrue();
        ReferenceEquals(first.AgentVersion, second.AgentVersion).Should().BeTrue();
        ReferenceEquals(first.EngineVersion, second.EngineVersion).Should().BeTrue();
        ReferenceEquals(first.Labels.Keys.Single(), second.Labels.Keys.Single()).Should().BeTrue();
        ReferenceEquals(first.Labels["site"], second.Labels["site"]).Should().BeTrue();
        second.Hostname.Should().Be("host-b");
    }

    [Fact]
    public void Long_values_are_kept_as_they_are_and_the_table_stops_growing_at_its_bound()
    {
        var strings = new FleetStrings(maxEntries: 100);
        var longValue = new string('x', 129);
        ReferenceEquals(strings.Share(longValue), longValue).Should().BeTrue();
        strings.Share((string?)null).Should().BeNull();

        // A hostile fleet sending unique values: the table takes at most its bound, then returns values unshared.
        string? last = null;
        for (var i = 0; i < 500; i++)
        {
            last = new string($"unique-{Guid.NewGuid():N}".AsSpan());
            strings.Share(last);
        }

        var copy = new string(last!.AsSpan());
        var afterBound = strings.Share(copy);
        afterBound.Should().Be(last);
        ReferenceEquals(afterBound, copy).Should().BeTrue("the table is full, so nothing new is added");
    }
}
