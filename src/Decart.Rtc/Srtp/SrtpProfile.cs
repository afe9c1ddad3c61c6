namespace Decart.Rtc.Srtp;

/// <summary>SRTP protection profiles negotiated with DTLS <c>use_srtp</c> (RFC 5764, RFC 7714).</summary>
public enum SrtpProfile
{
    /// <summary><c>SRTP_AES128_CM_HMAC_SHA1_80</c> (0x0001): 16-byte key, 14-byte salt, 10-byte auth tag.</summary>
    Aes128CmHmacSha1_80 = 0x0001,

    /// <summary><c>SRTP_AEAD_AES_128_GCM</c> (0x0007): 16-byte key, 12-byte salt, 16-byte AEAD tag.</summary>
    AeadAes128Gcm = 0x0007,
}

/// <summary>Sizes of each profile's keys and tags.</summary>
public static class SrtpProfileInfo
{
    /// <summary>Master key length in bytes.</summary>
    /// <param name="profile">The profile.</param>
    /// <returns>16 for both supported profiles.</returns>
    public static int KeyLength(this SrtpProfile profile) => 16;

    /// <summary>Master salt length in bytes.</summary>
    /// <param name="profile">The profile.</param>
    /// <returns>14 for AES-CM, 12 for AES-GCM.</returns>
    public static int SaltLength(this SrtpProfile profile) => profile == SrtpProfile.AeadAes128Gcm ? 12 : 14;
}

/// <summary>
/// The SRTP master keys and salts exported from a DTLS handshake (RFC 5764 §4.2): the
/// <c>EXTRACTOR-dtls_srtp</c> output split into client key, server key, client salt, server salt.
/// </summary>
/// <param name="Profile">The negotiated profile.</param>
/// <param name="LocalMasterKey">The key this side protects (sends) with.</param>
/// <param name="LocalMasterSalt">The salt this side protects (sends) with.</param>
/// <param name="RemoteMasterKey">The key this side unprotects (receives) with.</param>
/// <param name="RemoteMasterSalt">The salt this side unprotects (receives) with.</param>
public sealed record SrtpKeyingMaterial(
    SrtpProfile Profile,
    byte[] LocalMasterKey,
    byte[] LocalMasterSalt,
    byte[] RemoteMasterKey,
    byte[] RemoteMasterSalt)
{
    /// <summary>Hides the key bytes: keying material is never printed.</summary>
    /// <returns>The profile name only.</returns>
    public override string ToString() => $"SrtpKeyingMaterial {{ Profile = {Profile} }}";
}
