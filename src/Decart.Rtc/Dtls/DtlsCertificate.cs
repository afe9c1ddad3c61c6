using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Decart.Rtc.Dtls;

/// <summary>
/// A self-signed ECDSA P-256 certificate for DTLS, as WebRTC uses them: identity comes from the SDP
/// fingerprint, not from a CA. <see cref="Default"/> is generated once per process and reused.
/// </summary>
public sealed class DtlsCertificate
{
    private static readonly Lock SharedLock = new();
    private static DtlsCertificate? _shared;

    private readonly ECDsa _key;
    private readonly Lock _signing = new();

    private DtlsCertificate(byte[] der, ECDsa key, DateTimeOffset expires)
    {
        Der = der;
        _key = key;
        Expires = expires;
        Fingerprint = "sha-256 " + FormatHex(SHA256.HashData(der));
    }

    /// <summary>
    /// The process-wide certificate: generated on first use, and again once it is within a day of its end (a simulator or
    /// a server may run for longer than a certificate's 30 days; each connection keeps the one it started with).
    /// </summary>
    public static DtlsCertificate Default
    {
        get
        {
            var current = Volatile.Read(ref _shared);
            if (!NeedsRenewal(current, DateTimeOffset.UtcNow))
            {
                return current!;
            }

            lock (SharedLock)
            {
                current = _shared;
                if (current is null || NeedsRenewal(current, DateTimeOffset.UtcNow))
                {
                    current = Generate();
                    Volatile.Write(ref _shared, current);
                }

                return current;
            }
        }
    }

    /// <summary>When the certificate stops being valid.</summary>
    internal DateTimeOffset Expires { get; }

    /// <summary>Whether <see cref="Default"/> makes a new certificate instead of <paramref name="current"/> at <paramref name="now"/>.</summary>
    /// <param name="current">The certificate so far, if any.</param>
    /// <param name="now">The time.</param>
    /// <returns>True when there is none or it ends within a day.</returns>
    internal static bool NeedsRenewal(DtlsCertificate? current, DateTimeOffset now) => current is null || now >= current.Expires - TimeSpan.FromDays(1);

    /// <summary>The DER-encoded certificate.</summary>
    public byte[] Der { get; }

    /// <summary>The SDP <c>a=fingerprint</c> value: <c>sha-256 AB:CD:…</c>.</summary>
    public string Fingerprint { get; }

    /// <summary>The private key's parameters (tests build other DTLS implementations' view of the same key from them).</summary>
    /// <returns>The curve, the public point and the private scalar.</returns>
    internal ECParameters ExportKey()
    {
        lock (_signing)
        {
            return _key.ExportParameters(includePrivateParameters: true);
        }
    }

    /// <summary>Signs a digest with the certificate's key: an ECDSA signature in DER form, as TLS carries it.</summary>
    /// <param name="digest">The digest to sign.</param>
    /// <returns>The DER-encoded signature.</returns>
    internal byte[] SignDigest(ReadOnlySpan<byte> digest)
    {
        // One key serves every handshake of the process (a simulator runs many at once): the platform's key object is
        // not documented as safe for concurrent use, and a signature takes tens of microseconds.
        lock (_signing)
        {
            return _key.SignHash(digest, DSASignatureFormat.Rfc3279DerSequence);
        }
    }

    /// <summary>Generates a fresh certificate (valid from a day ago for 30 days).</summary>
    /// <returns>The certificate.</returns>
    public static DtlsCertificate Generate()
    {
        // The key and the signature through the platform's cryptography (OpenSSL, CNG, Apple's): native code that
        // costs about a millisecond, where the same arithmetic in managed code costs a cold process ~100 ms of CPU on
        // its first connect. The handshake signs with the same key object (SignDigest).
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=decart-webrtc", key, HashAlgorithmName.SHA256);
        var now = DateTimeOffset.UtcNow;
        Span<byte> serial = stackalloc byte[8];
        RandomNumberGenerator.Fill(serial);
        serial[0] = (byte)((serial[0] & 0x7F) | 0x01); // positive and non-zero, as RFC 5280 asks
        var expires = now.AddDays(30);
        using var certificate = request.Create(request.SubjectName, X509SignatureGenerator.CreateForECDsa(key), now.AddDays(-1), expires, serial);
        return new DtlsCertificate(certificate.RawData, key, expires);
    }

    /// <summary>Whether <paramref name="der"/> matches an SDP fingerprint (<c>sha-256</c>, <c>sha-1</c>, <c>sha-384</c> or <c>sha-512</c>; hex case-insensitive).</summary>
    /// <param name="der">A DER certificate.</param>
    /// <param name="sdpFingerprint">The <c>a=fingerprint</c> value.</param>
    /// <returns>True on a match; false for a mismatch, an unknown algorithm or a malformed value.</returns>
    public static bool Matches(ReadOnlySpan<byte> der, string? sdpFingerprint)
    {
        if (!TryParseFingerprint(sdpFingerprint, out var algorithm, out var expected))
        {
            return false;
        }

        byte[] actual = algorithm switch
        {
            "sha-1" => SHA1.HashData(der),
            "sha-256" => SHA256.HashData(der),
            "sha-384" => SHA384.HashData(der),
            "sha-512" => SHA512.HashData(der),
            _ => [],
        };
        return actual.Length == expected.Length && CryptographicOperations.FixedTimeEquals(actual, expected);
    }

    /// <summary>Parses <c>sha-256 AB:CD:…</c> (RFC 8122).</summary>
    /// <param name="value">The attribute value.</param>
    /// <param name="algorithm">The hash name, lower case.</param>
    /// <param name="digest">The digest bytes.</param>
    /// <returns>Whether it is well formed.</returns>
    public static bool TryParseFingerprint(string? value, out string algorithm, out byte[] digest)
    {
        algorithm = string.Empty;
        digest = [];
        var parts = value?.Trim().Split(' ', 2, StringSplitOptions.RemoveEmptyEntries);
        if (parts is not { Length: 2 })
        {
            return false;
        }

        algorithm = parts[0].ToLowerInvariant();
        var octets = parts[1].Split(':');
        if (octets.Length is < 16 or > 64 || octets.Any(o => o.Length != 2 || !Uri.IsHexDigit(o[0]) || !Uri.IsHexDigit(o[1])))
        {
            return false;
        }

        digest = Convert.FromHexString(string.Concat(octets));
        return true;
    }

    private static string FormatHex(byte[] bytes) => string.Join(':', bytes.Select(b => b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture)));
}
