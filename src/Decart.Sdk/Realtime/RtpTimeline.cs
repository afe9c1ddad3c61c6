namespace Decart.Sdk.Realtime;

/// <summary>The time of a received frame since the first one, from the 90 kHz RTP clock (thread-safe, allocation-free).</summary>
internal static class RtpTimeline
{
    /// <summary>The time of <paramref name="rtpTimestamp"/> since the first frame; the first call sets <paramref name="firstRtp"/> (−1 before).</summary>
    /// <param name="firstRtp">The first frame's RTP timestamp, or −1.</param>
    /// <param name="rtpTimestamp">This frame's RTP timestamp.</param>
    /// <returns>The elapsed media time.</returns>
    public static TimeSpan Since(ref long firstRtp, uint rtpTimestamp)
    {
        long first = Interlocked.Read(ref firstRtp);
        if (first < 0)
        {
            Interlocked.CompareExchange(ref firstRtp, rtpTimestamp, -1);
            first = Interlocked.Read(ref firstRtp);
        }

        return TimeSpan.FromTicks((long)unchecked(rtpTimestamp - (uint)first) * 1000 / 9);
    }
}
