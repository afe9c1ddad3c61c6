using System.Buffers.Binary;

namespace Decart.Rtc.Rtcp;

/// <summary>Writes RTCP packets into a caller's buffer; each method returns the bytes written. Concatenate them for a compound packet.</summary>
public static class RtcpWriter
{
    /// <summary>A sender report with reception report blocks.</summary>
    /// <param name="destination">Buffer (28 + 24 × reports bytes).</param>
    /// <param name="info">The sender info (its ReportCount is ignored).</param>
    /// <param name="reports">Up to 31 report blocks.</param>
    /// <returns>Bytes written.</returns>
    public static int WriteSenderReport(Span<byte> destination, SenderReportInfo info, scoped ReadOnlySpan<ReceptionReport> reports)
    {
        int length = 28 + (reports.Length * ReceptionReport.Size);
        Header(destination, reports.Length, RtcpPacketType.SenderReport, length);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], info.Ssrc);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], info.NtpTimestamp);
        BinaryPrimitives.WriteUInt32BigEndian(destination[16..], info.RtpTimestamp);
        BinaryPrimitives.WriteUInt32BigEndian(destination[20..], info.PacketCount);
        BinaryPrimitives.WriteUInt32BigEndian(destination[24..], info.OctetCount);
        for (int i = 0; i < reports.Length; i++)
        {
            reports[i].Write(destination[(28 + (i * ReceptionReport.Size))..]);
        }

        return length;
    }

    /// <summary>A receiver report.</summary>
    /// <param name="destination">Buffer.</param>
    /// <param name="ssrc">The reporter's SSRC.</param>
    /// <param name="reports">Up to 31 report blocks.</param>
    /// <returns>Bytes written.</returns>
    public static int WriteReceiverReport(Span<byte> destination, uint ssrc, scoped ReadOnlySpan<ReceptionReport> reports)
    {
        int length = 8 + (reports.Length * ReceptionReport.Size);
        Header(destination, reports.Length, RtcpPacketType.ReceiverReport, length);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], ssrc);
        for (int i = 0; i < reports.Length; i++)
        {
            reports[i].Write(destination[(8 + (i * ReceptionReport.Size))..]);
        }

        return length;
    }

    /// <summary>An SDES packet with one chunk carrying a CNAME.</summary>
    /// <param name="destination">Buffer.</param>
    /// <param name="ssrc">The source.</param>
    /// <param name="cname">CNAME UTF-8 bytes (at most 255).</param>
    /// <returns>Bytes written.</returns>
    public static int WriteSdesCname(Span<byte> destination, uint ssrc, scoped ReadOnlySpan<byte> cname)
    {
        int items = 2 + cname.Length + 1; // item header, text, end-of-items null
        int length = 8 + ((items + 3) & ~3);
        Header(destination, 1, RtcpPacketType.SourceDescription, length);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], ssrc);
        destination[8] = 1;
        destination[9] = (byte)cname.Length;
        cname.CopyTo(destination[10..]);
        destination[(10 + cname.Length)..length].Clear();
        return length;
    }

    /// <summary>A BYE for one source.</summary>
    /// <param name="destination">Buffer.</param>
    /// <param name="ssrc">The source leaving.</param>
    /// <returns>Bytes written.</returns>
    public static int WriteBye(Span<byte> destination, uint ssrc)
    {
        Header(destination, 1, RtcpPacketType.Bye, 8);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], ssrc);
        return 8;
    }

    /// <summary>A Picture Loss Indication.</summary>
    /// <param name="destination">Buffer (12 bytes).</param>
    /// <param name="senderSsrc">Who asks.</param>
    /// <param name="mediaSsrc">Whose picture was lost.</param>
    /// <returns>Bytes written.</returns>
    public static int WritePli(Span<byte> destination, uint senderSsrc, uint mediaSsrc)
    {
        Header(destination, 1, RtcpPacketType.PayloadFeedback, 12);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], senderSsrc);
        BinaryPrimitives.WriteUInt32BigEndian(destination[8..], mediaSsrc);
        return 12;
    }

    /// <summary>A Full Intra Request for one source.</summary>
    /// <param name="destination">Buffer (20 bytes).</param>
    /// <param name="senderSsrc">Who asks.</param>
    /// <param name="mediaSsrc">Whose keyframe is wanted.</param>
    /// <param name="sequence">Command sequence number (increment per new request).</param>
    /// <returns>Bytes written.</returns>
    public static int WriteFir(Span<byte> destination, uint senderSsrc, uint mediaSsrc, byte sequence)
    {
        Header(destination, 4, RtcpPacketType.PayloadFeedback, 20);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], senderSsrc);
        BinaryPrimitives.WriteUInt32BigEndian(destination[8..], 0);
        BinaryPrimitives.WriteUInt32BigEndian(destination[12..], mediaSsrc);
        destination[16] = sequence;
        destination[17..20].Clear();
        return 20;
    }

    /// <summary>A generic NACK for the given lost sequence numbers (any order; grouped into PID+BLP entries).</summary>
    /// <param name="destination">Buffer (12 + 4 per entry).</param>
    /// <param name="senderSsrc">Who asks.</param>
    /// <param name="mediaSsrc">Whose packets were lost.</param>
    /// <param name="lost">Lost sequence numbers, ascending (modulo wrap).</param>
    /// <returns>Bytes written.</returns>
    public static int WriteNack(Span<byte> destination, uint senderSsrc, uint mediaSsrc, scoped ReadOnlySpan<ushort> lost)
    {
        int offset = 12;
        int i = 0;
        while (i < lost.Length)
        {
            ushort pid = lost[i++];
            ushort blp = 0;
            while (i < lost.Length)
            {
                int distance = (ushort)(lost[i] - pid);
                if (distance is < 1 or > 16)
                {
                    break;
                }

                blp |= (ushort)(1 << (distance - 1));
                i++;
            }

            BinaryPrimitives.WriteUInt16BigEndian(destination[offset..], pid);
            BinaryPrimitives.WriteUInt16BigEndian(destination[(offset + 2)..], blp);
            offset += 4;
        }

        Header(destination, 1, RtcpPacketType.TransportFeedback, offset);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], senderSsrc);
        BinaryPrimitives.WriteUInt32BigEndian(destination[8..], mediaSsrc);
        return offset;
    }

    /// <summary>A REMB with one media SSRC.</summary>
    /// <param name="destination">Buffer (24 bytes).</param>
    /// <param name="senderSsrc">Who estimates.</param>
    /// <param name="bitrate">Estimated maximum bitrate in bit/s.</param>
    /// <param name="mediaSsrc">The stream it applies to.</param>
    /// <returns>Bytes written.</returns>
    public static int WriteRemb(Span<byte> destination, uint senderSsrc, ulong bitrate, uint mediaSsrc)
    {
        int exponent = 0;
        ulong mantissa = bitrate;
        while (mantissa > 0x3FFFF)
        {
            mantissa >>= 1;
            exponent++;
        }

        Header(destination, 15, RtcpPacketType.PayloadFeedback, 24);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], senderSsrc);
        BinaryPrimitives.WriteUInt32BigEndian(destination[8..], 0);
        "REMB"u8.CopyTo(destination[12..]);
        destination[16] = 1;
        destination[17] = (byte)((exponent << 2) | (int)(mantissa >> 16));
        destination[18] = (byte)(mantissa >> 8);
        destination[19] = (byte)mantissa;
        BinaryPrimitives.WriteUInt32BigEndian(destination[20..], mediaSsrc);
        return 24;
    }

    private static void Header(Span<byte> destination, int count, RtcpPacketType type, int length)
    {
        destination[0] = (byte)(0x80 | (count & 0x1F));
        destination[1] = (byte)type;
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)((length / 4) - 1));
    }
}

/// <summary>Round-trip time and NTP helpers for RTCP reports.</summary>
public static class RtcpTiming
{
    private static readonly DateTime NtpEpoch = new(1900, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    /// <summary>64-bit NTP timestamp of a UTC time.</summary>
    /// <param name="utc">The time.</param>
    /// <returns>Seconds since 1900 in the high 32 bits, fraction in the low 32.</returns>
    public static ulong ToNtp(DateTime utc)
    {
        var since = utc - NtpEpoch;
        ulong seconds = (ulong)since.Ticks / TimeSpan.TicksPerSecond;
        ulong fraction = ((ulong)(since.Ticks % TimeSpan.TicksPerSecond) << 32) / TimeSpan.TicksPerSecond;
        return (seconds << 32) | fraction;
    }

    /// <summary>Round-trip time from a report block received at <paramref name="nowCompactNtp"/> (RFC 3550 §6.4.1: A − LSR − DLSR).</summary>
    /// <param name="report">The block reporting on our stream.</param>
    /// <param name="nowCompactNtp">Middle 32 bits of the NTP time of arrival.</param>
    /// <returns>The RTT, or null when the peer has not received an SR yet.</returns>
    public static TimeSpan? RoundTripTime(ReceptionReport report, uint nowCompactNtp)
    {
        if (report.LastSenderReport == 0)
        {
            return null;
        }

        uint rtt = nowCompactNtp - report.LastSenderReport - report.DelaySinceLastSenderReport;
        return rtt > 0x7FFFFFFF ? TimeSpan.Zero : TimeSpan.FromTicks((long)rtt * TimeSpan.TicksPerSecond / 65536);
    }
}
