namespace Decart.Rtc.Stun;

/// <summary>STUN message types used by ICE (RFC 5389/8489 §5, method Binding).</summary>
public enum StunMessageType : ushort
{
    /// <summary>Binding request (connectivity check).</summary>
    BindingRequest = 0x0001,

    /// <summary>Binding indication (keepalive without a response).</summary>
    BindingIndication = 0x0011,

    /// <summary>Binding success response.</summary>
    BindingSuccess = 0x0101,

    /// <summary>Binding error response.</summary>
    BindingError = 0x0111,
}

/// <summary>STUN attribute types this stack reads or writes.</summary>
public enum StunAttributeType : ushort
{
    /// <summary>MAPPED-ADDRESS.</summary>
    MappedAddress = 0x0001,

    /// <summary>USERNAME: <c>remote-ufrag:local-ufrag</c> in ICE.</summary>
    Username = 0x0006,

    /// <summary>MESSAGE-INTEGRITY: HMAC-SHA1 with the short-term password.</summary>
    MessageIntegrity = 0x0008,

    /// <summary>ERROR-CODE.</summary>
    ErrorCode = 0x0009,

    /// <summary>UNKNOWN-ATTRIBUTES.</summary>
    UnknownAttributes = 0x000A,

    /// <summary>XOR-MAPPED-ADDRESS.</summary>
    XorMappedAddress = 0x0020,

    /// <summary>PRIORITY (ICE).</summary>
    Priority = 0x0024,

    /// <summary>USE-CANDIDATE (ICE nomination).</summary>
    UseCandidate = 0x0025,

    /// <summary>SOFTWARE.</summary>
    Software = 0x8022,

    /// <summary>FINGERPRINT: CRC-32 of the message XOR 0x5354554E.</summary>
    Fingerprint = 0x8028,

    /// <summary>ICE-CONTROLLED with a 64-bit tie-breaker.</summary>
    IceControlled = 0x8029,

    /// <summary>ICE-CONTROLLING with a 64-bit tie-breaker.</summary>
    IceControlling = 0x802A,
}

/// <summary>Why a datagram is not a valid STUN message.</summary>
public enum StunParseError
{
    /// <summary>Parsed.</summary>
    None,

    /// <summary>Shorter than the 20-byte header.</summary>
    TooShort,

    /// <summary>The two top bits are not zero or the magic cookie is wrong: not STUN.</summary>
    NotStun,

    /// <summary>The header length is not a multiple of 4 or does not match the datagram.</summary>
    BadLength,

    /// <summary>An attribute runs past the end of the message.</summary>
    TruncatedAttribute,

    /// <summary>An attribute follows MESSAGE-INTEGRITY/FINGERPRINT where only FINGERPRINT may.</summary>
    AttributeAfterIntegrity,
}

/// <summary>Constants of the STUN header.</summary>
public static class StunHeader
{
    /// <summary>Header size in bytes.</summary>
    public const int Size = 20;

    /// <summary>The magic cookie (RFC 5389 §6).</summary>
    public const uint MagicCookie = 0x2112A442;

    /// <summary>Value the FINGERPRINT CRC is XORed with.</summary>
    public const uint FingerprintXor = 0x5354554E;

    /// <summary>Length of the transaction id.</summary>
    public const int TransactionIdLength = 12;
}
