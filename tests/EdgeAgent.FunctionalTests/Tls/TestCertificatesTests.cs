using System.Net;
using System.Security.Cryptography.X509Certificates;
using EdgeAgent.Testing.Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EdgeAgent.FunctionalTests.Tls;

public sealed class TestCertificatesTests
{
    [Theory]
    [InlineData(TestKeyAlgorithm.EcdsaP256)]
    [InlineData(TestKeyAlgorithm.Rsa2048)]
    public void Certificate_is_a_server_certificate_for_loopback_with_a_private_key(TestKeyAlgorithm algorithm)
    {
        using var certificate = TestCertificates.CreateServerCertificate(algorithm);

        certificate.HasPrivateKey.Should().BeTrue();
        certificate.Subject.Should().Be("CN=localhost");
        certificate.NotBefore.Should().BeBefore(DateTime.Now);
        certificate.NotAfter.Should().BeAfter(DateTime.Now);
        certificate.MatchesHostname("localhost").Should().BeTrue();
        certificate.MatchesHostname("127.0.0.1").Should().BeTrue();
        certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single()
            .EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>().Select(o => o.Value).Should().Contain("1.3.6.1.5.5.7.3.1");
    }

    [Fact]
    public void Pins_are_stable_per_key_and_differ_between_keys()
    {
        using var first = TestCertificates.CreateServerCertificate();
        using var second = TestCertificates.CreateServerCertificate();
        using var exported = X509CertificateLoader.LoadCertificate(first.Export(X509ContentType.Cert));

        var pin = TestCertificates.GetSpkiSha256Base64(first);

        Convert.FromBase64String(pin).Should().HaveCount(32);
        TestCertificates.GetSpkiSha256Base64(exported).Should().Be(pin);
        TestCertificates.GetSpkiSha256Base64(second).Should().NotBe(pin);
    }

    [Theory]
    [InlineData(TestKeyAlgorithm.EcdsaP256)]
    [InlineData(TestKeyAlgorithm.Rsa2048)]
    public async Task Kestrel_serves_tls_with_it_and_a_client_can_pin_it(TestKeyAlgorithm algorithm)
    {
        var ct = TestContext.Current.CancellationToken;
        using var certificate = TestCertificates.CreateServerCertificate(algorithm);
        var expectedPin = TestCertificates.GetSpkiSha256Base64(certificate);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
            kestrel.Listen(IPAddress.Loopback, 0, listen => listen.UseHttps(certificate)));
        await using var app = builder.Build();
        app.MapGet("/", () => Results.Text("tls-ok"));
        await app.StartAsync(ct);
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>()
            .Addresses.Single();

        string? seenPin = null;
        using var handler = new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, serverCertificate, _, _) =>
            {
                seenPin = serverCertificate is null ? null : TestCertificates.GetSpkiSha256Base64(serverCertificate);
                return seenPin == expectedPin;
            },
        };
        using var http = new HttpClient(handler);

        var body = await http.GetStringAsync(new Uri(address), ct);

        address.Should().StartWith("https://127.0.0.1:");
        body.Should().Be("tls-ok");
        seenPin.Should().Be(expectedPin);
        await app.StopAsync(ct);
    }
}
