using System.Buffers.Binary;

namespace Decart.Rtc.Rtp;

/// <summary>Why a datagram is not a valid RTP packet.</summary>
public enum RtpParseError
{
    /// <summary>Parsed.</summary>
    None,

    /// <summary>Shorter than the fixed 12-byte header.</summary>
    TooShort,

    /// <summary>Version is not 2.</summary>
    BadVersion,

    /// <summary>The CSRC list or header extension runs past the end.</summary>
    TruncatedHeader,

    /// <summary>The padding count is zero or larger than the payload.</summary>
    BadPadding,
}

/// <summary>Header extension profile (RFC 8285).</summary>
public enum RtpExtensionProfile : ushort
{
    /// <summary>No extension.</summary>
    None = 0,

    /// <summary>One-byte elements (0xBEDE): ids 1–14, values 1–16 bytes.</summary>
    OneByte = 0xBEDE,

    /// <summary>Two-byte elements (0x1000): ids 1–255, values 0–255 bytes.</summary>
    TwoByte = 0x1000,
}

/// <summary>
/// The parsed fixed header of an RTP packet (RFC 3550 §5.1) with the positions of its CSRCs, extension and
/// payload in the packet. A value type: parsing allocates nothing.
/// </summary>
public readonly struct RtpHeader
{
    /// <summary>Fixed header size.</summary>
    public const int FixedSize = 12;

    /// <summary>Marker bit (end of a video frame).</summary>
    public bool Marker { get; init; }

    /// <summary>Payload type, 0–127.</summary>
    public byte PayloadType { get; init; }

    /// <summary>Sequence number.</summary>
    public ushort SequenceNumber { get; init; }

    /// <summary>RTP timestamp.</summary>
    public uint Timestamp { get; init; }

    /// <summary>Synchronization source.</summary>
    public uint Ssrc { get; init; }

    /// <summary>Number of CSRCs.</summary>
    public int CsrcCount { get; init; }

    /// <summary>Whether the padding bit is set.</summary>
    public bool HasPadding { get; init; }

    /// <summary>Extension profile, or <see cref="RtpExtensionProfile.None"/>.</summary>
    public ushort ExtensionProfile { get; init; }

    /// <summary>Offset of the extension elements (after the 4-byte extension header).</summary>
    public int ExtensionOffset { get; init; }

    /// <summary>Length of the extension elements in bytes.</summary>
    public int ExtensionLength { get; init; }

    /// <summary>Offset of the payload: the header's total length.</summary>
    public int PayloadOffset { get; init; }

    /// <summary>Payload length (excluding padding).</summary>
    public int PayloadLength { get; init; }

    /// <summary>Number of padding bytes at the end.</summary>
    public int PaddingLength { get; init; }

    /// <summary>Whether a datagram looks like RTP/RTCP (RFC 7983: first byte 128–191).</summary>
    /// <param name="datagram">The datagram.</param>
    /// <returns>True for RTP or RTCP.</returns>
    public static bool IsRtpOrRtcp(ReadOnlySpan<byte> datagram) => datagram.Length >= 2 && datagram[0] is >= 128 and <= 191;

    /// <summary>Whether an RTP/RTCP datagram is RTCP (payload type 192–223 per RFC 5761).</summary>
    /// <param name="datagram">The datagram.</param>
    /// <returns>True for RTCP.</returns>
    public static bool IsRtcp(ReadOnlySpan<byte> datagram) => datagram.Length >= 2 && datagram[1] is >= 192 and <= 223;

    /// <summary>Parses an RTP header.</summary>
    /// <param name="packet">The packet.</param>
    /// <param name="header">The header when valid.</param>
    /// <param name="error">Why not, otherwise.</param>
    /// <returns>Whether it parsed.</returns>
    public static bool TryParse(ReadOnlySpan<byte> packet, out RtpHeader header, out RtpParseError error)
    {
        header = default;
        if (packet.Length < FixedSize)
        {
            error = RtpParseError.TooShort;
            return false;
        }

        byte b0 = packet[0];
        if (b0 >> 6 != 2)
        {
            error = RtpParseError.BadVersion;
            return false;
        }

        int csrcCount = b0 & 0x0F;
        int offset = FixedSize + (csrcCount * 4);
        if (offset > packet.Length)
        {
            error = RtpParseError.TruncatedHeader;
            return false;
        }

        ushort profile = 0;
        int extOffset = 0, extLength = 0;
        if ((b0 & 0x10) != 0)
        {
            if (offset + 4 > packet.Length)
            {
                error = RtpParseError.TruncatedHeader;
                return false;
            }

            profile = BinaryPrimitives.ReadUInt16BigEndian(packet[offset..]);
            extLength = BinaryPrimitives.ReadUInt16BigEndian(packet[(offset + 2)..]) * 4;
            extOffset = offset + 4;
            offset = extOffset + extLength;
            if (offset > packet.Length)
            {
                error = RtpParseError.TruncatedHeader;
                return false;
            }
        }

        int padding = 0;
        if ((b0 & 0x20) != 0)
        {
            padding = packet[^1];
            if (padding == 0 || offset + padding > packet.Length)
            {
                error = RtpParseError.BadPadding;
                return false;
            }
        }

        header = new RtpHeader
        {
            HasPadding = padding > 0,
            CsrcCount = csrcCount,
            Marker = (packet[1] & 0x80) != 0,
            PayloadType = (byte)(packet[1] & 0x7F),
            SequenceNumber = BinaryPrimitives.ReadUInt16BigEndian(packet[2..]),
            Timestamp = BinaryPrimitives.ReadUInt32BigEndian(packet[4..]),
            Ssrc = BinaryPrimitives.ReadUInt32BigEndian(packet[8..]),
            ExtensionProfile = profile,
            ExtensionOffset = extOffset,
            ExtensionLength = extLength,
            PayloadOffset = offset,
            PaddingLength = padding,
            PayloadLength = packet.Length - offset - padding,
        };
        error = RtpParseError.None;
        return true;
    }

    /// <summary>The CSRC at <paramref name="index"/>.</summary>
    /// <param name="packet">The packet this header was parsed from.</param>
    /// <param name="index">0-based index below <see cref="CsrcCount"/>.</param>
    /// <returns>The CSRC.</returns>
    public uint GetCsrc(ReadOnlySpan<byte> packet, int index) =>
        (uint)index < (uint)CsrcCount ? BinaryPrimitives.ReadUInt32BigEndian(packet[(FixedSize + (index * 4))..]) : throw new ArgumentOutOfRangeException(nameof(index));

    /// <summary>The payload of <paramref name="packet"/>.</summary>
    /// <param name="packet">The packet this header was parsed from.</param>
    /// <returns>The payload, without padding.</returns>
    public ReadOnlySpan<byte> Payload(ReadOnlySpan<byte> packet) => packet.Slice(PayloadOffset, PayloadLength);

    /// <summary>Finds a header extension element by id (one-byte or two-byte form).</summary>
    /// <param name="packet">The packet this header was parsed from.</param>
    /// <param name="id">The extension id negotiated in SDP <c>a=extmap</c>.</param>
    /// <param name="value">The element's value.</param>
    /// <returns>Whether present; malformed extension blocks yield false, never an exception.</returns>
    public bool TryGetExtension(ReadOnlySpan<byte> packet, int id, out ReadOnlySpan<byte> value)
    {
        if (TryFindExtension(packet, id, out int offset, out int length))
        {
            value = packet.Slice(offset, length);
            return true;
        }

        value = default;
        return false;
    }

    /// <summary>Finds a header extension element by id and says where its value sits in the packet (to rewrite it in place).</summary>
    /// <param name="packet">The packet this header was parsed from.</param>
    /// <param name="id">The extension id.</param>
    /// <param name="offset">The value's offset in <paramref name="packet"/>.</param>
    /// <param name="length">The value's length.</param>
    /// <returns>Whether present; malformed extension blocks yield false.</returns>
    public bool TryFindExtension(ReadOnlySpan<byte> packet, int id, out int offset, out int length)
    {
        offset = 0;
        length = 0;
        if (ExtensionLength == 0 || id <= 0 || ExtensionOffset + ExtensionLength > packet.Length)
        {
            return false;
        }

        var block = packet.Slice(ExtensionOffset, ExtensionLength);
        bool oneByte = ExtensionProfile == (ushort)RtpExtensionProfile.OneByte;
        bool twoByte = (ExtensionProfile & 0xFFF0) == (ushort)RtpExtensionProfile.TwoByte;
        if (!oneByte && !twoByte)
        {
            return false;
        }

        int i = 0;
        while (i < block.Length)
        {
            if (block[i] == 0)
            {
                i++; // padding
                continue;
            }

            int elementId, elementLength, headerSize;
            if (oneByte)
            {
                elementId = block[i] >> 4;
                elementLength = (block[i] & 0x0F) + 1;
                headerSize = 1;
                if (elementId == 15)
                {
                    return false; // reserved: stop processing
                }
            }
            else
            {
                if (i + 1 >= block.Length)
                {
                    return false;
                }

                elementId = block[i];
                elementLength = block[i + 1];
                headerSize = 2;
            }

            if (i + headerSize + elementLength > block.Length)
            {
                return false;
            }

            if (elementId == id)
            {
                offset = ExtensionOffset + i + headerSize;
                length = elementLength;
                return true;
            }

            i += headerSize + elementLength;
        }

        return false;
    }
}

/// <summary>
/// Writes an RTP packet into a caller's buffer: fixed header, CSRCs, header extensions (one- or two-byte form),
/// then the payload. No allocation.
/// </summary>
public ref struct RtpWriter
{
    private readonly Span<byte> _buffer;
    private readonly RtpExtensionProfile _profile;
    private readonly int _extensionStart;
    private int _length;
    private bool _hasExtensions;

    /// <summary>Starts a packet.</summary>
    /// <param name="buffer">Where to write (at least the packet's size).</param>
    /// <param name="payloadType">Payload type 0–127.</param>
    /// <param name="sequenceNumber">Sequence number.</param>
    /// <param name="timestamp">RTP timestamp.</param>
    /// <param name="ssrc">SSRC.</param>
    /// <param name="marker">Marker bit.</param>
    /// <param name="csrcs">Up to 15 CSRCs.</param>
    /// <param name="extensionProfile">Which extension form <see cref="AddExtension"/> uses.</param>
    public RtpWriter(Span<byte> buffer, byte payloadType, ushort sequenceNumber, uint timestamp, uint ssrc, bool marker, scoped ReadOnlySpan<uint> csrcs = default, RtpExtensionProfile extensionProfile = RtpExtensionProfile.OneByte)
    {
        if (payloadType > 127 || csrcs.Length > 15)
        {
            throw new ArgumentOutOfRangeException(nameof(payloadType), "payload type must be 0-127 and at most 15 CSRCs");
        }

        _buffer = buffer;
        _profile = extensionProfile;
        buffer[0] = (byte)(0x80 | csrcs.Length);
        buffer[1] = (byte)((marker ? 0x80 : 0) | payloadType);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[2..], sequenceNumber);
        BinaryPrimitives.WriteUInt32BigEndian(buffer[4..], timestamp);
        BinaryPrimitives.WriteUInt32BigEndian(buffer[8..], ssrc);
        _length = RtpHeader.FixedSize;
        foreach (var csrc in csrcs)
        {
            BinaryPrimitives.WriteUInt32BigEndian(buffer[_length..], csrc);
            _length += 4;
        }

        _extensionStart = _length;
        _hasExtensions = false;
    }

    /// <summary>Adds a header extension element. Call before <see cref="WritePayload"/>.</summary>
    /// <param name="id">1–14 for one-byte, 1–255 for two-byte.</param>
    /// <param name="value">1–16 bytes for one-byte, 0–255 for two-byte.</param>
    public void AddExtension(int id, scoped ReadOnlySpan<byte> value)
    {
        bool oneByte = _profile == RtpExtensionProfile.OneByte;
        if (oneByte ? id is < 1 or > 14 || value.Length is < 1 or > 16 : id is < 1 or > 255 || value.Length > 255)
        {
            throw new ArgumentOutOfRangeException(nameof(id), $"extension id {id} with {value.Length} bytes does not fit the {_profile} form");
        }

        if (!_hasExtensions)
        {
            _buffer[0] |= 0x10;
            BinaryPrimitives.WriteUInt16BigEndian(_buffer[_length..], (ushort)_profile);
            _length += 4;
            _hasExtensions = true;
        }

        if (oneByte)
        {
            _buffer[_length++] = (byte)((id << 4) | (value.Length - 1));
        }
        else
        {
            _buffer[_length++] = (byte)id;
            _buffer[_length++] = (byte)value.Length;
        }

        value.CopyTo(_buffer[_length..]);
        _length += value.Length;
    }

    /// <summary>
    /// Pads the extension block and ends the packet with padding and no payload (RFC 3550 §5.1: the padding bit, then
    /// <paramref name="paddingLength"/> bytes, the last holding their count) — a padding-only packet, as a sender
    /// probing the path's bandwidth sends. Returns the packet's total length.
    /// </summary>
    /// <param name="paddingLength">Padding bytes, 1–255.</param>
    /// <returns>Bytes written.</returns>
    public int WritePadding(int paddingLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(paddingLength, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(paddingLength, 255);
        int length = WritePayload([]);
        _buffer[0] |= 0x20;
        _buffer.Slice(length, paddingLength - 1).Clear();
        _buffer[length + paddingLength - 1] = (byte)paddingLength;
        _length = length + paddingLength;
        return _length;
    }

    /// <summary>Pads the extension block, writes the payload and returns the packet's total length.</summary>
    /// <param name="payload">The payload.</param>
    /// <returns>Bytes written.</returns>
    public int WritePayload(scoped ReadOnlySpan<byte> payload)
    {
        if (_hasExtensions)
        {
            int elements = _length - _extensionStart - 4;
            int padded = (elements + 3) & ~3;
            _buffer.Slice(_length, padded - elements).Clear();
            _length += padded - elements;
            BinaryPrimitives.WriteUInt16BigEndian(_buffer[(_extensionStart + 2)..], (ushort)(padded / 4));
        }

        payload.CopyTo(_buffer[_length..]);
        _length += payload.Length;
        return _length;
    }
}
