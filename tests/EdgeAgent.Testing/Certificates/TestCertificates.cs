using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace EdgeAgent.Testing.Certificates;

/// <summary>The key algorithm of a test certificate.</summary>
public enum TestKeyAlgorithm
{
    /// <summary>ECDSA on P-256.</summary>
    EcdsaP256,

    /// <summary>RSA 2048.</summary>
    Rsa2048,
}

/// <summary>
/// Self-signed TLS server certificates made in the test (never stored), valid for
/// <c>localhost</c>, <c>127.0.0.1</c> and <c>::1</c>, and their SPKI pins.
/// </summary>
public static class TestCertificates
{
    /// <summary>
    /// Creates a self-signed server certificate with an exportable private key that Kestrel can use on
    /// Linux (it went through a PFX export and re-import, as an ephemeral key cannot serve TLS there).
    /// </summary>
    /// <param name="algorithm">The key algorithm.</param>
    /// <param name="subjectName">The subject common name.</param>
    /// <param name="notBefore">Start of validity; default one hour ago.</param>
    /// <param name="notAfter">End of validity; default seven days after <paramref name="notBefore"/>.</param>
    public static X509Certificate2 CreateServerCertificate(
        TestKeyAlgorithm algorithm = TestKeyAlgorithm.EcdsaP256,
        string subjectName = "localhost",
        DateTimeOffset? notBefore = null,
        DateTimeOffset? notAfter = null)
    {
        var subject = new X500DistinguishedName($"CN={subjectName}");
        var from = notBefore ?? DateTimeOffset.UtcNow.AddHours(-1);
        var to = notAfter ?? from.AddDays(7);

        using var ecdsa = algorithm == TestKeyAlgorithm.EcdsaP256 ? ECDsa.Create(ECCurve.NamedCurves.nistP256) : null;
        using var rsa = algorithm == TestKeyAlgorithm.Rsa2048 ? RSA.Create(2048) : null;
        var request = ecdsa is not null
            ? new CertificateRequest(subject, ecdsa, HashAlgorithmName.SHA256)
            : new CertificateRequest(subject, rsa!, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);

        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        if (!string.Equals(subjectName, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            san.AddDnsName(subjectName);
        }

        san.AddIpAddress(IPAddress.Loopback);
        san.AddIpAddress(IPAddress.IPv6Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(
            ecdsa is not null
                ? X509KeyUsageFlags.DigitalSignature
                : X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment,
            critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1", "Server Authentication")], critical: false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));

        using var ephemeral = request.CreateSelfSigned(from, to);
        return X509CertificateLoader.LoadPkcs12(
            ephemeral.Export(X509ContentType.Pfx), password: null, X509KeyStorageFlags.Exportable);
    }

    /// <summary>The SHA-256 of the certificate's SubjectPublicKeyInfo (DER), as base64: the pin.</summary>
    public static string GetSpkiSha256Base64(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return Convert.ToBase64String(SHA256.HashData(certificate.PublicKey.ExportSubjectPublicKeyInfo()));
    }
}
