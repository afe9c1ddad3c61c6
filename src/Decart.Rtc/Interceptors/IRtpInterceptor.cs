using System.Diagnostics;
using Decart.Rtc.Rtcp;
using Decart.Rtc.Rtp;

namespace Decart.Rtc.Interceptors;

/// <summary>
/// One stage on a peer connection's RTP/RTCP path, in the spirit of Pion's interceptors: it sees plain RTP on its way
/// out (before SRTP) and in (after SRTP), every RTCP packet that arrives, and is asked for RTCP of its own on the
/// connection's RTCP tick. NACK answering, sender reports and transport-wide congestion control feedback each live in
/// one, with their own tests; the connection only wires them. Hooks run on the send path or the receive loop: they
/// must not block, throw or allocate per packet.
/// </summary>
internal interface IRtpInterceptor
{
    /// <summary>An original RTP packet about to be protected and sent; it may be rewritten in place (same length).</summary>
    /// <param name="packet">The plain packet.</param>
    /// <param name="header">Its parsed header.</param>
    /// <param name="now">Now, <see cref="RtpClock"/> µs.</param>
    void OnRtpSending(Span<byte> packet, in RtpHeader header, long now)
    {
    }

    /// <summary>An authenticated RTP packet as received (before RTX is unwrapped or a stream is chosen).</summary>
    /// <param name="packet">The plain packet.</param>
    /// <param name="header">Its parsed header.</param>
    /// <param name="now">Arrival, <see cref="RtpClock"/> µs.</param>
    void OnRtpReceived(ReadOnlySpan<byte> packet, in RtpHeader header, long now)
    {
    }

    /// <summary>
    /// An original media packet routed to a stream we receive — restored first when it came as an RTX retransmission
    /// (<paramref name="repaired"/>): what NACK generation and the reception statistics count.
    /// </summary>
    /// <param name="header">The (restored) packet's header.</param>
    /// <param name="repaired">Whether it arrived as a retransmission.</param>
    /// <param name="now">Arrival, <see cref="RtpClock"/> µs.</param>
    void OnMediaReceived(in RtpHeader header, bool repaired, long now)
    {
    }

    /// <summary>One RTCP packet of an authenticated compound.</summary>
    /// <param name="packet">The packet.</param>
    /// <param name="now">Arrival, <see cref="RtpClock"/> µs.</param>
    void OnRtcpReceived(in RtcpPacket packet, long now)
    {
    }

    /// <summary>The RTCP tick (every 20 ms): write any RTCP due into <paramref name="destination"/>.</summary>
    /// <param name="destination">Room for the packets.</param>
    /// <param name="now">Now, <see cref="RtpClock"/> µs.</param>
    /// <returns>Bytes written (whole RTCP packets), 0 when nothing is due.</returns>
    int WriteRtcp(Span<byte> destination, long now) => 0;
}

/// <summary>The interceptors' monotonic clock, in microseconds.</summary>
internal static class RtpClock
{
    private static readonly double MicrosecondsPerTick = 1_000_000.0 / Stopwatch.Frequency;

    /// <summary>Now, µs since an arbitrary origin.</summary>
    public static long Now => (long)(Stopwatch.GetTimestamp() * MicrosecondsPerTick);
}
