using System.Buffers.Binary;

namespace Decart.Rtc.Rtcp;

/// <summary>RTCP packet types (RFC 3550, RFC 4585).</summary>
public enum RtcpPacketType : byte
{
    /// <summary>Sender report.</summary>
    SenderReport = 200,

    /// <summary>Receiver report.</summary>
    ReceiverReport = 201,

    /// <summary>Source description.</summary>
    SourceDescription = 202,

    /// <summary>Goodbye.</summary>
    Bye = 203,

    /// <summary>Transport-layer feedback (generic NACK is format 1).</summary>
    TransportFeedback = 205,

    /// <summary>Payload-specific feedback (PLI 1, FIR 4, REMB 15).</summary>
    PayloadFeedback = 206,
}

/// <summary>Why an RTCP packet did not parse.</summary>
public enum RtcpParseError
{
    /// <summary>Parsed.</summary>
    None,

    /// <summary>Shorter than its header or than its length field says.</summary>
    Truncated,

    /// <summary>Version is not 2.</summary>
    BadVersion,

    /// <summary>The body is too short for the packet type's fixed fields or its counts.</summary>
    BadBody,
}

/// <summary>One reception report block (RFC 3550 §6.4.1).</summary>
/// <param name="Ssrc">The source reported on.</param>
/// <param name="FractionLost">Fraction lost since the last report, in 1/256.</param>
/// <param name="CumulativeLost">Packets lost in total (signed 24-bit).</param>
/// <param name="HighestSequence">Extended highest sequence number received.</param>
/// <param name="Jitter">Interarrival jitter in timestamp units.</param>
/// <param name="LastSenderReport">Middle 32 bits of the last SR's NTP timestamp (LSR).</param>
/// <param name="DelaySinceLastSenderReport">Delay since that SR, in 1/65536 s (DLSR).</param>
public readonly record struct ReceptionReport(uint Ssrc, byte FractionLost, int CumulativeLost, uint HighestSequence, uint Jitter, uint LastSenderReport, uint DelaySinceLastSenderReport)
{
    /// <summary>Size of a report block.</summary>
    public const int Size = 24;

    internal static ReceptionReport Read(ReadOnlySpan<byte> b)
    {
        int lost = (b[5] << 16) | (b[6] << 8) | b[7];
        if ((lost & 0x800000) != 0)
        {
            lost |= unchecked((int)0xFF000000);
        }

        return new(BinaryPrimitives.ReadUInt32BigEndian(b), b[4], lost, BinaryPrimitives.ReadUInt32BigEndian(b[8..]), BinaryPrimitives.ReadUInt32BigEndian(b[12..]),
            BinaryPrimitives.ReadUInt32BigEndian(b[16..]), BinaryPrimitives.ReadUInt32BigEndian(b[20..]));
    }

    internal void Write(Span<byte> b)
    {
        BinaryPrimitives.WriteUInt32BigEndian(b, Ssrc);
        b[4] = FractionLost;
        int lost = Math.Clamp(CumulativeLost, -0x800000, 0x7FFFFF);
        b[5] = (byte)(lost >> 16);
        b[6] = (byte)(lost >> 8);
        b[7] = (byte)lost;
        BinaryPrimitives.WriteUInt32BigEndian(b[8..], HighestSequence);
        BinaryPrimitives.WriteUInt32BigEndian(b[12..], Jitter);
        BinaryPrimitives.WriteUInt32BigEndian(b[16..], LastSenderReport);
        BinaryPrimitives.WriteUInt32BigEndian(b[20..], DelaySinceLastSenderReport);
    }
}

/// <summary>
/// One RTCP packet inside a (possibly compound) datagram: a view over its bytes with typed accessors. Use
/// <see cref="TryReadNext"/> to walk a compound packet. Nothing here throws on remote input.
/// </summary>
public readonly ref struct RtcpPacket
{
    private RtcpPacket(ReadOnlySpan<byte> bytes)
    {
        Bytes = bytes;
    }

    /// <summary>The packet including its 4-byte header.</summary>
    public ReadOnlySpan<byte> Bytes { get; }

    /// <summary>The packet type.</summary>
    public RtcpPacketType Type => (RtcpPacketType)Bytes[1];

    /// <summary>The 5-bit count field (report count, source count, or feedback format).</summary>
    public int CountOrFormat => Bytes[0] & 0x1F;

    /// <summary>The sender SSRC (first word after the header).</summary>
    public uint SenderSsrc => Bytes.Length >= 8 ? BinaryPrimitives.ReadUInt32BigEndian(Bytes[4..]) : 0;

    /// <summary>Reads the next packet of a compound datagram.</summary>
    /// <param name="remaining">The rest of the datagram; advanced past the packet.</param>
    /// <param name="packet">The packet.</param>
    /// <param name="error">Why not, otherwise.</param>
    /// <returns>Whether a packet was read; false at the end (error None) or on malformed input.</returns>
    public static bool TryReadNext(ref ReadOnlySpan<byte> remaining, out RtcpPacket packet, out RtcpParseError error)
    {
        packet = default;
        error = RtcpParseError.None;
        if (remaining.IsEmpty)
        {
            return false;
        }

        if (remaining.Length < 4)
        {
            error = RtcpParseError.Truncated;
            return false;
        }

        if (remaining[0] >> 6 != 2)
        {
            error = RtcpParseError.BadVersion;
            return false;
        }

        int length = (BinaryPrimitives.ReadUInt16BigEndian(remaining[2..]) + 1) * 4;
        if (length > remaining.Length)
        {
            error = RtcpParseError.Truncated;
            return false;
        }

        packet = new RtcpPacket(remaining[..length]);
        remaining = remaining[length..];
        return true;
    }

    /// <summary>Decodes a sender report.</summary>
    /// <param name="report">The report's fixed fields.</param>
    /// <returns>Whether this is a well-formed SR.</returns>
    public bool TryGetSenderReport(out SenderReportInfo report)
    {
        report = default;
        if (Type != RtcpPacketType.SenderReport || Bytes.Length < 28 + (CountOrFormat * ReceptionReport.Size))
        {
            return false;
        }

        var b = Bytes;
        report = new SenderReportInfo(BinaryPrimitives.ReadUInt32BigEndian(b[4..]), BinaryPrimitives.ReadUInt64BigEndian(b[8..]), BinaryPrimitives.ReadUInt32BigEndian(b[16..]),
            BinaryPrimitives.ReadUInt32BigEndian(b[20..]), BinaryPrimitives.ReadUInt32BigEndian(b[24..]), CountOrFormat);
        return true;
    }

    /// <summary>The reception report blocks of an SR or RR.</summary>
    /// <param name="index">0-based block index.</param>
    /// <param name="report">The block.</param>
    /// <returns>Whether the block exists.</returns>
    public bool TryGetReceptionReport(int index, out ReceptionReport report)
    {
        report = default;
        int start = Type switch { RtcpPacketType.SenderReport => 28, RtcpPacketType.ReceiverReport => 8, _ => -1 };
        if (start < 0 || index < 0 || index >= CountOrFormat || start + ((index + 1) * ReceptionReport.Size) > Bytes.Length)
        {
            return false;
        }

        report = ReceptionReport.Read(Bytes[(start + (index * ReceptionReport.Size))..]);
        return true;
    }

    /// <summary>The media SSRC of a feedback packet (PLI, NACK, REMB's first SSRC field).</summary>
    public uint MediaSsrc => Bytes.Length >= 12 ? BinaryPrimitives.ReadUInt32BigEndian(Bytes[8..]) : 0;

    /// <summary>Whether this is a Picture Loss Indication.</summary>
    public bool IsPli => Type == RtcpPacketType.PayloadFeedback && CountOrFormat == 1 && Bytes.Length >= 12;

    /// <summary>Whether this is a Full Intra Request.</summary>
    public bool IsFir => Type == RtcpPacketType.PayloadFeedback && CountOrFormat == 4 && Bytes.Length >= 20;

    /// <summary>Whether this is a generic NACK.</summary>
    public bool IsNack => Type == RtcpPacketType.TransportFeedback && CountOrFormat == 1 && Bytes.Length >= 16;

    /// <summary>The FIR entries' SSRC (the first entry) and command sequence number.</summary>
    /// <param name="ssrc">The media source asked for a keyframe.</param>
    /// <param name="sequence">The FIR command sequence number.</param>
    /// <returns>Whether this is a well-formed FIR.</returns>
    public bool TryGetFir(out uint ssrc, out byte sequence)
    {
        ssrc = 0;
        sequence = 0;
        if (!IsFir)
        {
            return false;
        }

        ssrc = BinaryPrimitives.ReadUInt32BigEndian(Bytes[12..]);
        sequence = Bytes[16];
        return true;
    }

    /// <summary>Writes the sequence numbers a generic NACK reports lost into <paramref name="lost"/>.</summary>
    /// <param name="lost">Destination; 17 entries per FCI suffice.</param>
    /// <returns>How many were written (stops when <paramref name="lost"/> is full).</returns>
    public int GetNackedSequences(Span<ushort> lost)
    {
        if (!IsNack)
        {
            return 0;
        }

        int n = 0;
        for (int offset = 12; offset + 4 <= Bytes.Length && n < lost.Length; offset += 4)
        {
            ushort pid = BinaryPrimitives.ReadUInt16BigEndian(Bytes[offset..]);
            ushort blp = BinaryPrimitives.ReadUInt16BigEndian(Bytes[(offset + 2)..]);
            lost[n++] = pid;
            for (int bit = 0; bit < 16 && n < lost.Length; bit++)
            {
                if ((blp & (1 << bit)) != 0)
                {
                    lost[n++] = (ushort)(pid + bit + 1);
                }
            }
        }

        return n;
    }

    /// <summary>Decodes a REMB (receiver estimated maximum bitrate).</summary>
    /// <param name="bitrate">The estimate in bit/s.</param>
    /// <returns>Whether this is a well-formed REMB.</returns>
    public bool TryGetRemb(out ulong bitrate)
    {
        bitrate = 0;
        if (Type != RtcpPacketType.PayloadFeedback || CountOrFormat != 15 || Bytes.Length < 20 || !Bytes.Slice(12, 4).SequenceEqual("REMB"u8))
        {
            return false;
        }

        int exponent = Bytes[17] >> 2;
        ulong mantissa = ((ulong)(Bytes[17] & 0x03) << 16) | ((ulong)Bytes[18] << 8) | Bytes[19];
        bitrate = exponent > 46 ? ulong.MaxValue : mantissa << exponent;
        return true;
    }

    /// <summary>The SSRCs a BYE names.</summary>
    /// <param name="ssrcs">Destination.</param>
    /// <returns>How many were written.</returns>
    public int GetByeSsrcs(Span<uint> ssrcs)
    {
        if (Type != RtcpPacketType.Bye)
        {
            return 0;
        }

        int n = 0;
        for (int i = 0; i < CountOrFormat && 4 + ((i + 1) * 4) <= Bytes.Length && n < ssrcs.Length; i++)
        {
            ssrcs[n++] = BinaryPrimitives.ReadUInt32BigEndian(Bytes[(4 + (i * 4))..]);
        }

        return n;
    }

    /// <summary>The CNAME of the first SDES chunk.</summary>
    /// <param name="cname">The CNAME's UTF-8 bytes.</param>
    /// <returns>Whether one is present and well formed.</returns>
    public bool TryGetCname(out ReadOnlySpan<byte> cname)
    {
        cname = default;
        if (Type != RtcpPacketType.SourceDescription || CountOrFormat < 1 || Bytes.Length < 8)
        {
            return false;
        }

        int i = 8;
        while (i + 2 <= Bytes.Length && Bytes[i] != 0)
        {
            int length = Bytes[i + 1];
            if (i + 2 + length > Bytes.Length)
            {
                return false;
            }

            if (Bytes[i] == 1)
            {
                cname = Bytes.Slice(i + 2, length);
                return true;
            }

            i += 2 + length;
        }

        return false;
    }
}

/// <summary>The fixed fields of a sender report.</summary>
/// <param name="Ssrc">The sender.</param>
/// <param name="NtpTimestamp">64-bit NTP time of the report.</param>
/// <param name="RtpTimestamp">The same instant in RTP timestamp units.</param>
/// <param name="PacketCount">Packets sent.</param>
/// <param name="OctetCount">Payload octets sent.</param>
/// <param name="ReportCount">Reception report blocks that follow.</param>
public readonly record struct SenderReportInfo(uint Ssrc, ulong NtpTimestamp, uint RtpTimestamp, uint PacketCount, uint OctetCount, int ReportCount)
{
    /// <summary>The middle 32 bits of the NTP timestamp, as receivers echo them in LSR.</summary>
    public uint CompactNtp => (uint)(NtpTimestamp >> 16);
}
