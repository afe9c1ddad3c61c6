using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace Decart.Rtc.Stun;

/// <summary>
/// A parsed STUN message: a view over the datagram (no copies). Attribute values are spans into it, so the
/// message is only valid while the datagram buffer is. <see cref="TryParse"/> never throws on remote input.
/// </summary>
public readonly ref struct StunMessage
{
    private readonly ReadOnlySpan<byte> _data;
    private readonly int _integrityOffset;
    private readonly int _fingerprintOffset;

    private StunMessage(ReadOnlySpan<byte> data, int integrityOffset, int fingerprintOffset)
    {
        _data = data;
        _integrityOffset = integrityOffset;
        _fingerprintOffset = fingerprintOffset;
    }

    /// <summary>The message type.</summary>
    public StunMessageType Type => (StunMessageType)BinaryPrimitives.ReadUInt16BigEndian(_data);

    /// <summary>The raw 14-bit type field (method and class).</summary>
    public ushort RawType => BinaryPrimitives.ReadUInt16BigEndian(_data);

    /// <summary>The 96-bit transaction id.</summary>
    public ReadOnlySpan<byte> TransactionId => _data.Slice(8, StunHeader.TransactionIdLength);

    /// <summary>The whole message.</summary>
    public ReadOnlySpan<byte> Bytes => _data;

    /// <summary>Whether a MESSAGE-INTEGRITY attribute is present.</summary>
    public bool HasIntegrity => _integrityOffset >= 0;

    /// <summary>Whether a FINGERPRINT attribute is present.</summary>
    public bool HasFingerprint => _fingerprintOffset >= 0;

    /// <summary>Quick demultiplexing check (RFC 7983): first byte 0–3 and the magic cookie at offset 4.</summary>
    /// <param name="datagram">A received datagram.</param>
    /// <returns>Whether it looks like STUN.</returns>
    public static bool IsStun(ReadOnlySpan<byte> datagram) =>
        datagram.Length >= StunHeader.Size && datagram[0] < 4 && BinaryPrimitives.ReadUInt32BigEndian(datagram[4..]) == StunHeader.MagicCookie;

    /// <summary>Parses a STUN message.</summary>
    /// <param name="datagram">The datagram.</param>
    /// <param name="message">The message when valid.</param>
    /// <param name="error">Why not, otherwise.</param>
    /// <returns>Whether it parsed.</returns>
    public static bool TryParse(ReadOnlySpan<byte> datagram, out StunMessage message, out StunParseError error)
    {
        message = default;
        if (datagram.Length < StunHeader.Size)
        {
            error = StunParseError.TooShort;
            return false;
        }

        if ((datagram[0] & 0xC0) != 0 || BinaryPrimitives.ReadUInt32BigEndian(datagram[4..]) != StunHeader.MagicCookie)
        {
            error = StunParseError.NotStun;
            return false;
        }

        int length = BinaryPrimitives.ReadUInt16BigEndian(datagram[2..]);
        if ((length & 3) != 0 || StunHeader.Size + length > datagram.Length)
        {
            error = StunParseError.BadLength;
            return false;
        }

        var data = datagram[..(StunHeader.Size + length)];
        int offset = StunHeader.Size, integrity = -1, fingerprint = -1;
        while (offset < data.Length)
        {
            if (offset + 4 > data.Length)
            {
                error = StunParseError.TruncatedAttribute;
                return false;
            }

            var type = (StunAttributeType)BinaryPrimitives.ReadUInt16BigEndian(data[offset..]);
            int valueLength = BinaryPrimitives.ReadUInt16BigEndian(data[(offset + 2)..]);
            int padded = (valueLength + 3) & ~3;
            if (offset + 4 + padded > data.Length)
            {
                error = StunParseError.TruncatedAttribute;
                return false;
            }

            if (fingerprint >= 0 || (integrity >= 0 && type != StunAttributeType.Fingerprint))
            {
                error = StunParseError.AttributeAfterIntegrity;
                return false;
            }

            if (type == StunAttributeType.MessageIntegrity)
            {
                if (valueLength != 20)
                {
                    error = StunParseError.TruncatedAttribute;
                    return false;
                }

                integrity = offset;
            }
            else if (type == StunAttributeType.Fingerprint)
            {
                if (valueLength != 4)
                {
                    error = StunParseError.TruncatedAttribute;
                    return false;
                }

                fingerprint = offset;
            }

            offset += 4 + padded;
        }

        message = new StunMessage(data, integrity, fingerprint);
        error = StunParseError.None;
        return true;
    }

    /// <summary>Finds the first attribute of a type.</summary>
    /// <param name="type">The attribute type.</param>
    /// <param name="value">Its value (without padding).</param>
    /// <returns>Whether it is present.</returns>
    public bool TryGetAttribute(StunAttributeType type, out ReadOnlySpan<byte> value)
    {
        int offset = StunHeader.Size;
        while (offset + 4 <= _data.Length)
        {
            var t = (StunAttributeType)BinaryPrimitives.ReadUInt16BigEndian(_data[offset..]);
            int length = BinaryPrimitives.ReadUInt16BigEndian(_data[(offset + 2)..]);
            if (t == type)
            {
                value = _data.Slice(offset + 4, length);
                return true;
            }

            offset += 4 + ((length + 3) & ~3);
        }

        value = default;
        return false;
    }

    /// <summary>Whether an attribute is present.</summary>
    /// <param name="type">The attribute type.</param>
    /// <returns>True when present.</returns>
    public bool Has(StunAttributeType type) => TryGetAttribute(type, out _);

    /// <summary>The PRIORITY attribute.</summary>
    /// <param name="priority">Its value.</param>
    /// <returns>Whether present and well formed.</returns>
    public bool TryGetPriority(out uint priority)
    {
        priority = 0;
        if (!TryGetAttribute(StunAttributeType.Priority, out var v) || v.Length != 4)
        {
            return false;
        }

        priority = BinaryPrimitives.ReadUInt32BigEndian(v);
        return true;
    }

    /// <summary>The tie-breaker of ICE-CONTROLLING or ICE-CONTROLLED.</summary>
    /// <param name="type"><see cref="StunAttributeType.IceControlling"/> or <see cref="StunAttributeType.IceControlled"/>.</param>
    /// <param name="tieBreaker">Its value.</param>
    /// <returns>Whether present and well formed.</returns>
    public bool TryGetTieBreaker(StunAttributeType type, out ulong tieBreaker)
    {
        tieBreaker = 0;
        if (!TryGetAttribute(type, out var v) || v.Length != 8)
        {
            return false;
        }

        tieBreaker = BinaryPrimitives.ReadUInt64BigEndian(v);
        return true;
    }

    /// <summary>The ERROR-CODE attribute's code (e.g. 487).</summary>
    /// <param name="code">The code.</param>
    /// <returns>Whether present and well formed.</returns>
    public bool TryGetErrorCode(out int code)
    {
        code = 0;
        if (!TryGetAttribute(StunAttributeType.ErrorCode, out var v) || v.Length < 4)
        {
            return false;
        }

        code = ((v[2] & 0x7) * 100) + v[3];
        return true;
    }

    /// <summary>The XOR-MAPPED-ADDRESS (or, failing that, MAPPED-ADDRESS).</summary>
    /// <param name="endpoint">The address.</param>
    /// <returns>Whether present and well formed.</returns>
    public bool TryGetMappedAddress(out IPEndPoint? endpoint)
    {
        endpoint = null;
        if (TryGetAttribute(StunAttributeType.XorMappedAddress, out var x))
        {
            return TryReadAddress(x, xor: true, out endpoint);
        }

        return TryGetAttribute(StunAttributeType.MappedAddress, out var m) && TryReadAddress(m, xor: false, out endpoint);
    }

    /// <summary>Checks MESSAGE-INTEGRITY with a short-term key (the ICE password as UTF-8).</summary>
    /// <param name="key">The key.</param>
    /// <returns>True when present and correct.</returns>
    public bool VerifyIntegrity(ReadOnlySpan<byte> key)
    {
        if (_integrityOffset < 0)
        {
            return false;
        }

        Span<byte> header = stackalloc byte[StunHeader.Size];
        _data[..StunHeader.Size].CopyTo(header);
        BinaryPrimitives.WriteUInt16BigEndian(header[2..], (ushort)(_integrityOffset + 24 - StunHeader.Size));
        Span<byte> mac = stackalloc byte[20];
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA1, key);
        hmac.AppendData(header);
        hmac.AppendData(_data[StunHeader.Size.._integrityOffset]);
        hmac.GetHashAndReset(mac);
        return CryptographicOperations.FixedTimeEquals(mac, _data.Slice(_integrityOffset + 4, 20));
    }

    /// <summary>Checks FINGERPRINT.</summary>
    /// <returns>True when present and correct.</returns>
    public bool VerifyFingerprint() =>
        _fingerprintOffset >= 0
        && (Crc32.Compute(_data[.._fingerprintOffset]) ^ StunHeader.FingerprintXor) == BinaryPrimitives.ReadUInt32BigEndian(_data[(_fingerprintOffset + 4)..]);

    private bool TryReadAddress(ReadOnlySpan<byte> v, bool xor, out IPEndPoint? endpoint)
    {
        endpoint = null;
        if (v.Length < 4)
        {
            return false;
        }

        byte family = v[1];
        int port = BinaryPrimitives.ReadUInt16BigEndian(v[2..]);
        if (xor)
        {
            port ^= (int)(StunHeader.MagicCookie >> 16);
        }

        int size = family switch { 1 => 4, 2 => 16, _ => 0 };
        if (size == 0 || v.Length < 4 + size)
        {
            return false;
        }

        Span<byte> address = stackalloc byte[16];
        v.Slice(4, size).CopyTo(address);
        if (xor)
        {
            Span<byte> mask = stackalloc byte[16];
            BinaryPrimitives.WriteUInt32BigEndian(mask, StunHeader.MagicCookie);
            TransactionId.CopyTo(mask[4..]);
            for (int i = 0; i < size; i++)
            {
                address[i] ^= mask[i];
            }
        }

        endpoint = new IPEndPoint(new IPAddress(address[..size]), port);
        return true;
    }
}

/// <summary>
/// Writes a STUN message into a caller's buffer: header, then attributes, then optionally MESSAGE-INTEGRITY and
/// FINGERPRINT (in that order, last). No allocation.
/// </summary>
public ref struct StunWriter
{
    private readonly Span<byte> _buffer;
    private int _length;

    /// <summary>Starts a message.</summary>
    /// <param name="buffer">Where to write; 548 bytes are enough for any ICE message.</param>
    /// <param name="type">The message type.</param>
    /// <param name="transactionId">12 bytes.</param>
    public StunWriter(Span<byte> buffer, StunMessageType type, ReadOnlySpan<byte> transactionId)
    {
        if (transactionId.Length != StunHeader.TransactionIdLength)
        {
            throw new ArgumentException("a STUN transaction id is 12 bytes", nameof(transactionId));
        }

        _buffer = buffer;
        BinaryPrimitives.WriteUInt16BigEndian(buffer, (ushort)type);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[2..], 0);
        BinaryPrimitives.WriteUInt32BigEndian(buffer[4..], StunHeader.MagicCookie);
        transactionId.CopyTo(buffer[8..]);
        _length = StunHeader.Size;
    }

    /// <summary>Bytes written so far.</summary>
    public readonly int Length => _length;

    /// <summary>The message so far.</summary>
    public readonly ReadOnlySpan<byte> Written => _buffer[.._length];

    /// <summary>Adds an attribute with a raw value (padded to 4 bytes with zeros).</summary>
    /// <param name="type">Attribute type.</param>
    /// <param name="value">Its value.</param>
    public void Add(StunAttributeType type, scoped ReadOnlySpan<byte> value)
    {
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[_length..], (ushort)type);
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[(_length + 2)..], (ushort)value.Length);
        value.CopyTo(_buffer[(_length + 4)..]);
        int padded = (value.Length + 3) & ~3;
        _buffer.Slice(_length + 4 + value.Length, padded - value.Length).Clear();
        _length += 4 + padded;
        SetLength();
    }

    /// <summary>Adds USERNAME.</summary>
    /// <param name="username">UTF-8 bytes, e.g. <c>remote:local</c> ufrags.</param>
    public void AddUsername(scoped ReadOnlySpan<byte> username) => Add(StunAttributeType.Username, username);

    /// <summary>Adds PRIORITY.</summary>
    /// <param name="priority">Candidate priority.</param>
    public void AddPriority(uint priority)
    {
        Span<byte> v = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(v, priority);
        Add(StunAttributeType.Priority, v);
    }

    /// <summary>Adds USE-CANDIDATE.</summary>
    public void AddUseCandidate() => Add(StunAttributeType.UseCandidate, []);

    /// <summary>Adds ICE-CONTROLLING or ICE-CONTROLLED.</summary>
    /// <param name="controlling">Which one.</param>
    /// <param name="tieBreaker">The agent's tie-breaker.</param>
    public void AddIceRole(bool controlling, ulong tieBreaker)
    {
        Span<byte> v = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(v, tieBreaker);
        Add(controlling ? StunAttributeType.IceControlling : StunAttributeType.IceControlled, v);
    }

    /// <summary>Adds ERROR-CODE.</summary>
    /// <param name="code">e.g. 487.</param>
    /// <param name="reason">e.g. "Role Conflict".</param>
    public void AddErrorCode(int code, scoped ReadOnlySpan<byte> reason)
    {
        Span<byte> v = stackalloc byte[4 + Math.Min(reason.Length, 128)];
        v[0] = 0;
        v[1] = 0;
        v[2] = (byte)(code / 100);
        v[3] = (byte)(code % 100);
        reason[..(v.Length - 4)].CopyTo(v[4..]);
        Add(StunAttributeType.ErrorCode, v);
    }

    /// <summary>Adds XOR-MAPPED-ADDRESS.</summary>
    /// <param name="endpoint">The address to report.</param>
    public void AddXorMappedAddress(IPEndPoint endpoint)
    {
        var address = endpoint.Address.IsIPv4MappedToIPv6 ? endpoint.Address.MapToIPv4() : endpoint.Address;
        int size = address.AddressFamily == AddressFamily.InterNetwork ? 4 : 16;
        Span<byte> v = stackalloc byte[4 + 16];
        v[0] = 0;
        v[1] = (byte)(size == 4 ? 1 : 2);
        BinaryPrimitives.WriteUInt16BigEndian(v[2..], (ushort)(endpoint.Port ^ (int)(StunHeader.MagicCookie >> 16)));
        address.TryWriteBytes(v[4..], out _);
        Span<byte> mask = stackalloc byte[16];
        BinaryPrimitives.WriteUInt32BigEndian(mask, StunHeader.MagicCookie);
        _buffer.Slice(8, 12).CopyTo(mask[4..]);
        for (int i = 0; i < size; i++)
        {
            v[4 + i] ^= mask[i];
        }

        Add(StunAttributeType.XorMappedAddress, v[..(4 + size)]);
    }

    /// <summary>Adds MESSAGE-INTEGRITY computed with <paramref name="key"/> over everything so far.</summary>
    /// <param name="key">The short-term key (the ICE password as UTF-8).</param>
    public void AddMessageIntegrity(scoped ReadOnlySpan<byte> key)
    {
        int start = _length;
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[2..], (ushort)(start + 24 - StunHeader.Size));
        Span<byte> mac = stackalloc byte[20];
        HMACSHA1.HashData(key, _buffer[..start], mac);
        Add(StunAttributeType.MessageIntegrity, mac);
    }

    /// <summary>Adds FINGERPRINT over everything so far; must be last.</summary>
    public void AddFingerprint()
    {
        int start = _length;
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[2..], (ushort)(start + 8 - StunHeader.Size));
        Span<byte> v = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(v, Crc32.Compute(_buffer[..start]) ^ StunHeader.FingerprintXor);
        Add(StunAttributeType.Fingerprint, v);
    }

    private void SetLength() => BinaryPrimitives.WriteUInt16BigEndian(_buffer[2..], (ushort)(_length - StunHeader.Size));
}
