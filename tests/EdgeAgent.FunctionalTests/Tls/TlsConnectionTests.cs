using EdgeAgent.Agent;
using EdgeAgent.ControlPlane;
using EdgeAgent.Testing.Certificates;
using EdgeAgent.Testing.Hosting;
using EdgeAgent.Testing.Logging;

namespace EdgeAgent.FunctionalTests.Tls;

/// <summary>TLS with a certificate made in the test: pinned keys and custom CAs are trusted, anything else is refused clearly.</summary>
public sealed class TlsConnectionTests
{
    private static Uri Https(TestControlPlane controlPlane) => new($"https://localhost:{controlPlane.BaseUrl.Port}");

    [Fact]
    public async Task Agent_trusting_the_servers_public_key_pin_connects()
    {
        using var certificate = TestCertificates.CreateServerCertificate();
        await using var controlPlane = await TestControlPlane.StartAsync(certificate: certificate);
        var token = await controlPlane.EnrollAsync("tls-pin");
        await using var agent = await TestAgent.StartAsync(Https(controlPlane), token, o => o.ServerPublicKeyPins.Add(TestCertificates.GetSpkiSha256Base64(certificate)));
        (await controlPlane.WaitForStateAsync("tls-pin", EdgeAgentConnectionState.Connected)).Info.Should().NotBeNull();
    }

    [Fact]
    public async Task Agent_trusting_the_certificate_as_a_custom_ca_connects()
    {
        using var certificate = TestCertificates.CreateServerCertificate(TestKeyAlgorithm.Rsa2048);
        var caFile = Path.Combine(Path.GetTempPath(), $"edgeagent-ca-{Guid.NewGuid():N}.pem");
        await File.WriteAllTextAsync(caFile, certificate.ExportCertificatePem());
        await using var controlPlane = await TestControlPlane.StartAsync(certificate: certificate);
        var token = await controlPlane.EnrollAsync("tls-ca");
        await using var agent = await TestAgent.StartAsync(Https(controlPlane), token, o => o.TrustedCaCertificatesPath = caFile);
        await controlPlane.WaitForStateAsync("tls-ca", EdgeAgentConnectionState.Connected);
    }

    [Fact]
    public async Task Untrusted_certificate_or_wrong_pin_is_refused_with_a_clear_error()
    {
        using var certificate = TestCertificates.CreateServerCertificate();
        using var other = TestCertificates.CreateServerCertificate();
        await using var controlPlane = await TestControlPlane.StartAsync(certificate: certificate);
        var token = await controlPlane.EnrollAsync("tls-bad");

        using var logs = new CapturingLoggerProvider();
        await using (var untrusted = await TestAgent.StartAsync(Https(controlPlane), token, logs: logs, waitConnected: false))
        {
            await CredentialTests.WaitUntilAsync(() => untrusted.Connection.LastError is not null);
            untrusted.Connection.LastError.Should().Contain("not trusted").And.Contain("ServerPublicKeyPins");
            untrusted.Connection.State.Should().NotBe(EdgeAgentState.Connected);
        }

        await using (var pinned = await TestAgent.StartAsync(Https(controlPlane), token, o => o.ServerPublicKeyPins.Add(TestCertificates.GetSpkiSha256Base64(other)), waitConnected: false))
        {
            await CredentialTests.WaitUntilAsync(() => pinned.Connection.LastError is not null);
            pinned.Connection.LastError.Should().Contain("matches none of EdgeAgent:ServerPublicKeyPins");
        }

        controlPlane.Registry.IsConnected("tls-bad").Should().BeFalse();
        logs.AssertDoesNotContain(token[(token.IndexOf('.') + 1)..]);
    }
}
