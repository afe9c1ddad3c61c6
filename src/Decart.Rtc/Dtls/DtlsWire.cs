using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Decart.Rtc.Dtls;

/// <summary>DTLS 1.2's numbers (RFC 6347, RFC 5246, RFC 8422, RFC 5764, RFC 7627): content types, message types, alerts.</summary>
internal static class DtlsWire
{
    public const byte ChangeCipherSpec = 20;
    public const byte Alert = 21;
    public const byte Handshake = 22;
    public const byte ApplicationData = 23;

    /// <summary>DTLS 1.2 on the wire (versions count down: 1.0 is 0xFEFF).</summary>
    public const ushort Version12 = 0xFEFD;

    public const int RecordHeaderLength = 13;
    public const int HandshakeHeaderLength = 12;

    /// <summary>An AES-GCM record's overhead: the explicit nonce and the tag.</summary>
    public const int AeadOverhead = 8 + 16;

    public const byte ClientHello = 1;
    public const byte ServerHello = 2;
    public const byte HelloVerifyRequest = 3;
    public const byte Certificate = 11;
    public const byte ServerKeyExchange = 12;
    public const byte CertificateRequest = 13;
    public const byte ServerHelloDone = 14;
    public const byte CertificateVerify = 15;
    public const byte ClientKeyExchange = 16;
    public const byte Finished = 20;

    /// <summary>TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, the suite every WebRTC endpoint offers.</summary>
    public const ushort EcdheEcdsaAes128GcmSha256 = 0xC02B;

    /// <summary>TLS_EMPTY_RENEGOTIATION_INFO_SCSV (RFC 5746).</summary>
    public const ushort RenegotiationScsv = 0x00FF;

    public const ushort ExtSupportedGroups = 10;
    public const ushort ExtEcPointFormats = 11;
    public const ushort ExtSignatureAlgorithms = 13;
    public const ushort ExtUseSrtp = 14;
    public const ushort ExtExtendedMasterSecret = 23;
    public const ushort ExtRenegotiationInfo = 0xFF01;

    /// <summary>secp256r1 in supported_groups and ServerKeyExchange.</summary>
    public const ushort Secp256r1 = 23;

    public const ushort EcdsaSecp256r1Sha256 = 0x0403;
    public const ushort EcdsaSecp384r1Sha384 = 0x0503;

    /// <summary>ecdsa_sign in a CertificateRequest.</summary>
    public const byte EcdsaSignCertificateType = 64;

    public const byte AlertWarning = 1;
    public const byte AlertFatal = 2;
    public const byte CloseNotify = 0;
    public const byte UnexpectedMessage = 10;
    public const byte HandshakeFailure = 40;
    public const byte BadCertificate = 42;
    public const byte UnsupportedCertificate = 43;
    public const byte IllegalParameter = 47;
    public const byte DecodeError = 50;
    public const byte DecryptError = 51;
    public const byte ProtocolVersion = 70;
    public const byte InternalError = 80;

    /// <summary>The RFC name of an alert, for messages.</summary>
    /// <param name="description">The alert's description byte.</param>
    /// <returns>Its name, or its number.</returns>
    public static string AlertName(byte description) => description switch
    {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        22 => "record_overflow",
        40 => "handshake_failure",
        42 => "bad_certificate",
        43 => "unsupported_certificate",
        44 => "certificate_revoked",
        45 => "certificate_expired",
        46 => "certificate_unknown",
        47 => "illegal_parameter",
        48 => "unknown_ca",
        49 => "access_denied",
        50 => "decode_error",
        51 => "decrypt_error",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        90 => "user_canceled",
        100 => "no_renegotiation",
        110 => "unsupported_extension",
        _ => $"alert {description}",
    };
}

/// <summary>A handshake that cannot go on: the alert to send (if any) and why, for the exception's message.</summary>
internal sealed class DtlsFailure(byte alert, string reason) : Exception(reason)
{
    /// <summary>The fatal alert to send the peer; <see cref="byte.MaxValue"/> for none (the peer already knows, or is gone).</summary>
    public byte Alert { get; } = alert;
}

/// <summary>Reads big-endian TLS fields from a message; a field past the end is a <c>decode_error</c>.</summary>
internal ref struct WireReader(ReadOnlySpan<byte> data)
{
    private readonly ReadOnlySpan<byte> _data = data;
    private int _at;

    public readonly int Remaining => _data.Length - _at;

    public byte U8() => Take(1)[0];

    public ushort U16() => BinaryPrimitives.ReadUInt16BigEndian(Take(2));

    public int U24()
    {
        var b = Take(3);
        return (b[0] << 16) | (b[1] << 8) | b[2];
    }

    public ReadOnlySpan<byte> Bytes(int count) => Take(count);

    public ReadOnlySpan<byte> Vector8() => Take(U8());

    public ReadOnlySpan<byte> Vector16() => Take(U16());

    public ReadOnlySpan<byte> Vector24() => Take(U24());

    public readonly void End(string what)
    {
        if (_at != _data.Length)
        {
            throw new DtlsFailure(DtlsWire.DecodeError, $"the peer's {what} has {_data.Length - _at} bytes too many");
        }
    }

    private ReadOnlySpan<byte> Take(int count)
    {
        if (count < 0 || count > _data.Length - _at)
        {
            throw new DtlsFailure(DtlsWire.DecodeError, "the peer sent a truncated handshake message");
        }

        var slice = _data.Slice(_at, count);
        _at += count;
        return slice;
    }
}

/// <summary>Writes big-endian TLS fields into a growing buffer, with length-prefixed vectors.</summary>
internal sealed class WireWriter
{
    private byte[] _buffer = new byte[256];
    private int _length;

    public int Length => _length;

    public void U8(int value) => Reserve(1)[0] = (byte)value;

    public void U16(int value) => BinaryPrimitives.WriteUInt16BigEndian(Reserve(2), (ushort)value);

    public void U24(int value)
    {
        var b = Reserve(3);
        b[0] = (byte)(value >> 16);
        b[1] = (byte)(value >> 8);
        b[2] = (byte)value;
    }

    public void Bytes(ReadOnlySpan<byte> value) => value.CopyTo(Reserve(value.Length));

    /// <summary>Starts a vector with a <paramref name="lengthBytes"/>-byte length; <see cref="End"/> fills it in.</summary>
    /// <param name="lengthBytes">1, 2 or 3.</param>
    /// <returns>Where the length goes.</returns>
    public int Begin(int lengthBytes)
    {
        int at = _length;
        Reserve(lengthBytes).Clear();
        return at | (lengthBytes << 24);
    }

    public void End(int mark)
    {
        int at = mark & 0xFFFFFF, lengthBytes = mark >> 24;
        int length = _length - at - lengthBytes;
        for (int i = lengthBytes - 1; i >= 0; i--)
        {
            _buffer[at + i] = (byte)length;
            length >>= 8;
        }
    }

    public byte[] ToArray() => _buffer.AsSpan(0, _length).ToArray();

    private Span<byte> Reserve(int count)
    {
        if (_length + count > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + count));
        }

        var span = _buffer.AsSpan(_length, count);
        _length += count;
        return span;
    }
}

/// <summary>TLS 1.2's pseudo-random function with SHA-256 (RFC 5246 §5): P_SHA256(secret, label + seed).</summary>
internal static class TlsPrf
{
    public static byte[] Compute(ReadOnlySpan<byte> secret, string label, ReadOnlySpan<byte> seed, int length)
    {
        int labelLength = Encoding.ASCII.GetByteCount(label);
        var labelSeed = new byte[labelLength + seed.Length];
        Encoding.ASCII.GetBytes(label, labelSeed);
        seed.CopyTo(labelSeed.AsSpan(labelLength));

        var output = new byte[length];
        Span<byte> a = stackalloc byte[32];
        Span<byte> block = stackalloc byte[32];
        var input = new byte[32 + labelSeed.Length];
        HMACSHA256.HashData(secret, labelSeed, a); // A(1)
        for (int done = 0; done < length; done += 32)
        {
            a.CopyTo(input);
            labelSeed.CopyTo(input.AsSpan(32));
            HMACSHA256.HashData(secret, input, block);
            block[..Math.Min(32, length - done)].CopyTo(output.AsSpan(done));
            HMACSHA256.HashData(secret, a, a); // A(i + 1)
        }

        CryptographicOperations.ZeroMemory(input);
        return output;
    }
}

/// <summary>One direction's AES-128-GCM record protection (RFC 5288 in DTLS): a 4-byte salt, the record's epoch and
/// sequence number as the explicit nonce, its header as additional data.</summary>
internal sealed class DtlsRecordCipher : IDisposable
{
    private readonly AesGcm _aes;
    private readonly byte[] _salt;

    public DtlsRecordCipher(ReadOnlySpan<byte> key, ReadOnlySpan<byte> salt)
    {
        _aes = new AesGcm(key, 16);
        _salt = salt.ToArray();
    }

    /// <summary>Writes a whole protected record (header, explicit nonce, ciphertext, tag) into <paramref name="record"/>.</summary>
    /// <returns>The record's length.</returns>
    public int Seal(byte type, ushort epoch, ulong sequence, ReadOnlySpan<byte> plaintext, Span<byte> record)
    {
        int length = DtlsWire.AeadOverhead + plaintext.Length;
        WriteHeader(record, type, epoch, sequence, length);
        Span<byte> nonce = stackalloc byte[12];
        _salt.CopyTo(nonce);
        record.Slice(3, 8).CopyTo(nonce[4..]); // epoch and sequence number: unique per key
        record.Slice(3, 8).CopyTo(record.Slice(DtlsWire.RecordHeaderLength, 8));
        Span<byte> aad = stackalloc byte[13];
        record.Slice(3, 8).CopyTo(aad);
        aad[8] = type;
        BinaryPrimitives.WriteUInt16BigEndian(aad[9..], DtlsWire.Version12);
        BinaryPrimitives.WriteUInt16BigEndian(aad[11..], (ushort)plaintext.Length);
        var body = record.Slice(DtlsWire.RecordHeaderLength + 8, plaintext.Length);
        var tag = record.Slice(DtlsWire.RecordHeaderLength + 8 + plaintext.Length, 16);
        _aes.Encrypt(nonce, plaintext, body, tag, aad);
        return DtlsWire.RecordHeaderLength + length;
    }

    /// <summary>Opens a record's fragment; false if it does not authenticate.</summary>
    public bool Open(ReadOnlySpan<byte> header, ReadOnlySpan<byte> fragment, Span<byte> plaintext, out int length)
    {
        length = fragment.Length - DtlsWire.AeadOverhead;
        if (length < 0 || plaintext.Length < length)
        {
            length = 0;
            return false;
        }

        Span<byte> nonce = stackalloc byte[12];
        _salt.CopyTo(nonce);
        fragment[..8].CopyTo(nonce[4..]);
        Span<byte> aad = stackalloc byte[13];
        header.Slice(3, 8).CopyTo(aad);
        aad[8] = header[0];
        aad[9] = header[1];
        aad[10] = header[2];
        BinaryPrimitives.WriteUInt16BigEndian(aad[11..], (ushort)length);
        try
        {
            _aes.Decrypt(nonce, fragment.Slice(8, length), fragment[(8 + length)..], plaintext[..length], aad);
            return true;
        }
        catch (AuthenticationTagMismatchException)
        {
            length = 0;
            return false;
        }
    }

    public static void WriteHeader(Span<byte> record, byte type, ushort epoch, ulong sequence, int length)
    {
        record[0] = type;
        BinaryPrimitives.WriteUInt16BigEndian(record[1..], DtlsWire.Version12);
        BinaryPrimitives.WriteUInt64BigEndian(record[3..], ((ulong)epoch << 48) | (sequence & 0xFFFF_FFFF_FFFF));
        BinaryPrimitives.WriteUInt16BigEndian(record[11..], (ushort)length);
    }

    public void Dispose() => _aes.Dispose();
}
