using Decart.Rtc.Interceptors;
using Decart.Rtc.Rtcp;
using Decart.Rtc.Rtp;

namespace Decart.Rtc.Tests.Interceptors;

/// <summary>RFC 3550 reception statistics per source, and NACK generation per source.</summary>
public sealed class ReceiverStatisticsTests
{
    private static RtpHeader Header(ushort sequence, uint ssrc = 7, uint timestamp = 0)
    {
        var packet = new byte[12];
        int n = new RtpWriter(packet, 96, sequence, timestamp, ssrc, false).WritePayload([]);
        Assert.True(RtpHeader.TryParse(packet.AsSpan(0, n), out var header, out _));
        return header;
    }

    private static ReceptionReport Block(ReceiverStatistics statistics, long now)
    {
        var blocks = new ReceptionReport[31];
        Assert.Equal(1, statistics.ReportBlocks(blocks, now));
        return blocks[0];
    }

    [Fact]
    public void A_loss_that_stopped_stops_showing_in_the_next_report_while_the_cumulative_count_keeps_it()
    {
        var statistics = new ReceiverStatistics();
        for (ushort s = 0; s < 100; s++)
        {
            if (s % 10 != 5)
            {
                statistics.OnMediaReceived(Header(s), false, 1_000); // every tenth packet lost
            }
        }

        var lossy = Block(statistics, 2_000);
        Assert.Equal((25, 10), (lossy.FractionLost, lossy.CumulativeLost)); // 10 of 100: 25/256

        for (ushort s = 100; s < 200; s++)
        {
            statistics.OnMediaReceived(Header(s), false, 3_000);
        }

        Assert.Equal((0, 10), (Block(statistics, 4_000).FractionLost, Block(statistics, 4_000).CumulativeLost));
        for (ushort s = 300; s < 400; s++)
        {
            statistics.OnMediaReceived(Header(s), false, 5_000); // 100 missing (200-299), then 100 received
        }

        Assert.Equal(128, Block(statistics, 6_000).FractionLost); // half of this interval
        Assert.Equal(110, statistics.Of(7)!.Value.Lost);
    }

    [Fact]
    public void Retransmissions_do_not_count_and_jitter_follows_the_arrival_spread()
    {
        var statistics = new ReceiverStatistics();
        // One packet every 10 ms of RTP time, arriving alternately 0 and 4 ms late: a jitter of about 4 ms.
        for (int i = 0; i < 400; i++)
        {
            statistics.OnMediaReceived(Header((ushort)i, timestamp: (uint)(i * 900)), false, (i * 10_000L) + (i % 2 == 0 ? 0 : 4_000));
        }

        statistics.OnMediaReceived(Header(3), true, 5_000_000); // an RTX copy of an old packet: not received twice
        var counters = statistics.Of(7)!.Value;
        Assert.Equal(0, counters.Lost);
        Assert.InRange(counters.Jitter.TotalMilliseconds, 3.5, 4.5);
        Assert.Null(statistics.Of(8));
    }

    [Fact]
    public void The_last_sender_report_and_its_age_go_into_the_block()
    {
        var statistics = new ReceiverStatistics();
        statistics.OnMediaReceived(Header(1), false, 1_000_000);
        var buffer = new byte[64];
        var ntp = RtcpTiming.ToNtp(new DateTime(2026, 12, 6, 12, 0, 0, DateTimeKind.Utc));
        int n = RtcpWriter.WriteSenderReport(buffer, new SenderReportInfo(7, ntp, 0, 1, 1, 0), []);
        var rest = (ReadOnlySpan<byte>)buffer.AsSpan(0, n);
        Assert.True(RtcpPacket.TryReadNext(ref rest, out var sr, out _));
        statistics.OnRtcpReceived(sr, 1_500_000);
        var block = Block(statistics, 2_000_000); // half a second after the report arrived
        Assert.Equal((uint)(ntp >> 16), block.LastSenderReport);
        Assert.Equal(32_768u, block.DelaySinceLastSenderReport); // 0.5 s in 1/65536 s
    }

    [Fact]
    public void Sources_are_bounded_and_forgotten_when_silent()
    {
        var statistics = new ReceiverStatistics();
        for (uint ssrc = 1; ssrc <= 40; ssrc++)
        {
            statistics.OnMediaReceived(Header(1, ssrc), false, 1_000_000);
        }

        Assert.Equal(40 - ReceiverStatistics.MaxSources, statistics.Refused);
        var blocks = new ReceptionReport[31];
        Assert.Equal(ReceiverStatistics.MaxSources, statistics.ReportBlocks(blocks, 2_000_000));
        Assert.Equal(0, statistics.ReportBlocks(blocks, 10_000_000)); // 9 s of silence: forgotten
        statistics.OnMediaReceived(Header(1, 99), false, 10_000_000);
        Assert.Equal(1, statistics.ReportBlocks(blocks, 10_000_001));
    }

    [Fact]
    public void Nacks_go_out_per_source_until_the_gap_is_filled()
    {
        var stats = new PeerConnectionStats();
        var requester = new NackRequester(0xAAAA, stats);
        var buffer = new byte[1500];
        foreach (ushort s in new ushort[] { 1, 2, 5, 6 })
        {
            requester.OnMediaReceived(Header(s, 10), false, 0);
        }

        foreach (ushort s in new ushort[] { 100, 102 })
        {
            requester.OnMediaReceived(Header(s, 20), false, 0);
        }

        int n = requester.WriteRtcp(buffer, 0);
        var nacked = new List<(uint Media, ushort Seq)>();
        var rest = (ReadOnlySpan<byte>)buffer.AsSpan(0, n);
        var seqs = new ushort[64];
        while (RtcpPacket.TryReadNext(ref rest, out var packet, out _))
        {
            Assert.True(packet.IsNack);
            uint media = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(packet.Bytes[8..]);
            int count = packet.GetNackedSequences(seqs);
            nacked.AddRange(seqs.Take(count).Select(q => (media, q)));
        }

        Assert.Equal([(10u, (ushort)3), (10u, (ushort)4), (20u, (ushort)101)], nacked.OrderBy(x => x.Item1).ThenBy(x => x.Item2));
        Assert.Equal(3, stats.NacksSent);

        requester.OnMediaReceived(Header(3, 10), true, 0); // filled by retransmissions
        requester.OnMediaReceived(Header(4, 10), true, 0);
        requester.OnMediaReceived(Header(101, 20), true, 0);
        Assert.Equal(0, requester.Pending);
        Assert.Equal(0, requester.WriteRtcp(buffer, 20_000));
    }
}
