using System.Security.Cryptography;
using EdgeAgent.ControlPlane.Commands;

namespace EdgeAgent.ControlPlane.Tests;

public sealed class CommandGateTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(64)]
    [InlineData(70_000)]
    public void The_arguments_digest_is_the_first_128_bits_of_sha256_in_lower_case_hex(int length)
    {
        var payload = new byte[length];
        new Random(length).NextBytes(payload);

        // The format audit records have always had: the hex SHA-256, cut to 32 digits, lower case.
        var expected = Convert.ToHexString(SHA256.HashData(payload))[..32].ToLowerInvariant();
        CommandGate.Digest(payload).Should().Be(expected);
    }
}
