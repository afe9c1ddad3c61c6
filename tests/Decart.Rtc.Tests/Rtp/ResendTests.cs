using Decart.Rtc.Rtp;

namespace Decart.Rtc.Tests.Rtp;

/// <summary>Retransmissions: a NACKed packet is sent again at most once per round trip.</summary>
public class ResendTests
{
    [Fact]
    public void A_packet_is_resent_once_per_interval_and_not_after_its_slot_was_reused()
    {
        var buffer = new RtpSendBuffer(capacity: 16);
        buffer.Store(5, [1, 2, 3]);
        Assert.True(buffer.TryGetForResend(5, nowMs: 1000, minInterval: 100, out var first));
        Assert.Equal([1, 2, 3], first.ToArray());
        Assert.False(buffer.TryGetForResend(5, nowMs: 1050, minInterval: 100, out _)); // the receiver NACKs again before the copy could arrive
        Assert.True(buffer.TryGetForResend(5, nowMs: 1100, minInterval: 100, out _));  // a round trip later: it was lost again
        buffer.Store(21, [9]);                                                         // 21 & 15 == 5: the slot now holds another packet
        Assert.False(buffer.TryGetForResend(5, nowMs: 5000, minInterval: 100, out _));
        Assert.True(buffer.TryGetForResend(21, nowMs: 5000, minInterval: 100, out var other));
        Assert.Equal([9], other.ToArray());
    }
}
