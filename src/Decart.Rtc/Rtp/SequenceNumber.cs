namespace Decart.Rtc.Rtp;

/// <summary>Arithmetic on 16-bit RTP sequence numbers with wraparound (RFC 3550 A.1).</summary>
public static class SequenceNumber
{
    /// <summary>Whether <paramref name="a"/> comes after <paramref name="b"/> (within half the space).</summary>
    /// <param name="a">A sequence number.</param>
    /// <param name="b">Another.</param>
    /// <returns>True when a is newer.</returns>
    public static bool IsNewer(ushort a, ushort b) => a != b && (ushort)(a - b) < 0x8000;

    /// <summary>Signed distance from <paramref name="from"/> to <paramref name="to"/>, in -32768..32767.</summary>
    /// <param name="from">Start.</param>
    /// <param name="to">End.</param>
    /// <returns>to − from, wrapped.</returns>
    public static int Distance(ushort from, ushort to) => (short)(ushort)(to - from);
}

/// <summary>Tracks the highest sequence number seen and extends 16-bit numbers to 64-bit (for SRTP indices and statistics).</summary>
internal struct SequenceUnwrapper
{
    private long _last;
    private bool _started;

    /// <summary>The extended value of <paramref name="sequence"/>, relative to the highest seen so far.</summary>
    /// <param name="sequence">A received sequence number.</param>
    /// <returns>Its 64-bit extension (the first one is returned as is).</returns>
    public long Unwrap(ushort sequence)
    {
        if (!_started)
        {
            _started = true;
            _last = sequence;
            return sequence;
        }

        long value = _last + SequenceNumber.Distance((ushort)_last, sequence);
        if (value > _last)
        {
            _last = value;
        }

        return value;
    }
}
