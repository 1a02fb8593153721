using System.Buffers;
using EdgeAgent.Protocol.Contracts.Docker;
using EdgeAgent.Protocol.Rpc;
using MessagePack;

namespace EdgeAgent.Protocol.Tests.Rpc;

/// <summary>
/// Untrusted payloads are bounded by what they make, not only by their size: an empty array is one
/// byte on the wire and a contract object with default members on the heap.
/// </summary>
public sealed class PayloadShapeLimitTests
{
    private static byte[] EmptyArrays(int count)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(count);
        for (var i = 0; i < count; i++)
        {
            writer.WriteArrayHeader(0);
        }

        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    [Fact]
    public void A_payload_with_more_arrays_and_maps_than_the_limit_is_refused_before_any_object_is_made()
    {
        // 1 MiB on the wire; read as containers it was over 200 MB of heap, and 64 MiB (the default
        // MaxMessageSize of an answer) over 13 GB.
        var bytes = EmptyArrays(ContractSerializer.DefaultMaxContainers);
        var allocated = GC.GetAllocatedBytesForCurrentThread();

        var refused = FluentActions.Invoking(() => ContractSerializer.Deserialize<IReadOnlyList<ContainerSummary>>(bytes))
            .Should().Throw<EdgeCommandException>().Which;

        (GC.GetAllocatedBytesForCurrentThread() - allocated).Should().BeLessThan(1024 * 1024);
        refused.Code.Should().Be(EdgeErrorCodes.InvalidArgument);
        refused.Message.Should().Be($"The payload is not a valid IReadOnlyList`1: it holds more than {ContractSerializer.DefaultMaxContainers} arrays and maps.");
    }

    [Fact]
    public void An_answer_with_too_many_arrays_and_maps_fails_as_the_peers_fault_and_says_why()
    {
        var bytes = EmptyArrays(ContractSerializer.DefaultMaxContainers);

        FluentActions.Invoking(() => ContractSerializer.DeserializeResponse<IReadOnlyList<ContainerSummary>>(bytes, "container.list"))
            .Should().Throw<EdgeCommandException>()
            .Where(ex => ex.Code == EdgeErrorCodes.Internal && ex.Message.EndsWith("arrays and maps.", StringComparison.Ordinal));
    }

    [Fact]
    public void A_payload_within_a_given_limit_is_read_and_one_over_it_is_refused()
    {
        ContractSerializer.Deserialize<IReadOnlyList<ContainerSummary>>(EmptyArrays(99), maxContainers: 100).Should().HaveCount(99);

        FluentActions.Invoking(() => ContractSerializer.Deserialize<IReadOnlyList<ContainerSummary>>(EmptyArrays(100), maxContainers: 100))
            .Should().Throw<EdgeCommandException>().Where(ex => ex.Code == EdgeErrorCodes.InvalidArgument);
    }
}
