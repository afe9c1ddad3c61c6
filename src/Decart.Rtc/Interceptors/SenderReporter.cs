using Decart.Rtc.Rtcp;
using Decart.Rtc.Rtp;

namespace Decart.Rtc.Interceptors;

/// <summary>
/// The sender-report side of RFC 3550 §6.4.1 for the stream we send: packet and payload-octet counts, and the NTP ↔ RTP
/// timestamp pair — the RTP time of the report's wallclock, extrapolated at 90 kHz from the last packet sent — that a
/// receiver needs for lip sync and to measure glass-to-glass from timestamps. Retransmissions are not counted (they go
/// on the RTX stream, or repeat a packet already counted).
/// </summary>
internal sealed class SenderReporter : IRtpInterceptor
{
    private const int ClockRate = 90_000;
    private readonly object _gate = new();
    private long _packets;
    private long _octets;
    private uint _lastRtpTimestamp;
    private long _lastSentAt = -1;

    /// <summary>Our media SSRC.</summary>
    public uint Ssrc { get; set; }

    /// <summary>Whether anything was sent yet.</summary>
    public bool HasSent
    {
        get
        {
            lock (_gate)
            {
                return _lastSentAt >= 0;
            }
        }
    }

    /// <inheritdoc />
    public void OnRtpSending(Span<byte> packet, in RtpHeader header, long now)
    {
        lock (_gate)
        {
            _packets++;
            _octets += header.PayloadLength;
            _lastRtpTimestamp = header.Timestamp;
            _lastSentAt = now;
        }
    }

    /// <summary>The report's fixed fields at <paramref name="wallclock"/> (NTP) and <paramref name="now"/> (µs, same instant).</summary>
    /// <param name="wallclock">Now, UTC.</param>
    /// <param name="now">Now on <see cref="RtpClock"/>.</param>
    /// <returns>The sender info.</returns>
    public SenderReportInfo Report(DateTime wallclock, long now)
    {
        lock (_gate)
        {
            uint rtp = _lastSentAt < 0 ? 0 : unchecked(_lastRtpTimestamp + (uint)((now - _lastSentAt) * ClockRate / 1_000_000));
            return new SenderReportInfo(Ssrc, RtcpTiming.ToNtp(wallclock), rtp, (uint)_packets, (uint)_octets, 0);
        }
    }
}
