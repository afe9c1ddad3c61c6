namespace Decart.Rtc.Srtp;

/// <summary>Both directions of SRTP for one DTLS association: protect with the local keys, unprotect with the remote ones.</summary>
public sealed class SrtpSession : IDisposable
{
    /// <summary>Creates the two contexts from the keying material a DTLS handshake exported.</summary>
    /// <param name="keys">The keys, oriented local/remote by the DTLS role.</param>
    public SrtpSession(SrtpKeyingMaterial keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        Outbound = SrtpContext.Create(keys.Profile, keys.LocalMasterKey, keys.LocalMasterSalt);
        Inbound = SrtpContext.Create(keys.Profile, keys.RemoteMasterKey, keys.RemoteMasterSalt);
    }

    /// <summary>Protects what we send.</summary>
    public SrtpContext Outbound { get; }

    /// <summary>Unprotects what we receive.</summary>
    public SrtpContext Inbound { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        Outbound.Dispose();
        Inbound.Dispose();
    }
}
