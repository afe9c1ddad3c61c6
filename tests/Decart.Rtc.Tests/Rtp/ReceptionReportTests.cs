using Decart.Rtc.Codecs;
using Decart.Rtc.Rtp;

namespace Decart.Rtc.Tests.Rtp;

/// <summary>The reception report's fraction lost covers the interval since the previous report (RFC 3550 A.3).</summary>
public class ReceptionReportTests
{
    private static void Receive(ReceiveStream stream, ushort sequence)
    {
        var packet = new byte[12];
        packet[0] = 0x80;
        packet[1] = 96;
        packet[2] = (byte)(sequence >> 8);
        packet[3] = (byte)sequence;
        packet[11] = 7;
        Assert.True(RtpHeader.TryParse(packet, out var header, out _));
        stream.OnMediaPacket(header);
    }

    [Fact]
    public void A_loss_that_stopped_stops_showing_in_the_next_report_while_the_cumulative_count_keeps_it()
    {
        var stream = new ReceiveStream(7, null, 0, RtpCodec.Vp8, _ => { });
        for (ushort s = 0; s < 100; s++)
        {
            if (s % 10 != 5)
            {
                Receive(stream, s); // every tenth packet lost
            }
        }

        var lossy = stream.ReportBlock();
        Assert.Equal((25, 10), (lossy.FractionLost, lossy.CumulativeLost)); // 10 of 100: 25/256

        for (ushort s = 100; s < 200; s++)
        {
            Receive(stream, s);
        }

        var clean = stream.ReportBlock();
        Assert.Equal((0, 10), (clean.FractionLost, clean.CumulativeLost));
        Assert.Equal((0, 10), (stream.ReportBlock().FractionLost, stream.ReportBlock().CumulativeLost)); // nothing new: nothing lost

        for (ushort s = 300; s < 400; s++)
        {
            Receive(stream, s); // 100 missing (200-299), then 100 received
        }

        Assert.Equal(128, stream.ReportBlock().FractionLost); // half of this interval
    }
}

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
