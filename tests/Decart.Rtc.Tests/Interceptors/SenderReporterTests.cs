using Decart.Rtc.Interceptors;
using Decart.Rtc.Rtcp;
using Decart.Rtc.Rtp;

namespace Decart.Rtc.Tests.Interceptors;

public sealed class SenderReporterTests
{
    [Fact]
    public void The_report_maps_its_wallclock_to_the_rtp_time_of_the_stream_and_counts_payload_octets()
    {
        var reporter = new SenderReporter { Ssrc = 0xABCD };
        var wallclock = new DateTime(2026, 12, 6, 12, 0, 0, DateTimeKind.Utc);
        var empty = reporter.Report(wallclock, 0);
        Assert.Equal((0u, 0u, 0u), (empty.RtpTimestamp, empty.PacketCount, empty.OctetCount));
        Assert.False(reporter.HasSent);

        var buffer = new byte[1500];
        for (int i = 0; i < 3; i++)
        {
            int n = new RtpWriter(buffer, 96, (ushort)i, 90_000, 0xABCD, i == 2).WritePayload(new byte[1000]);
            Assert.True(RtpHeader.TryParse(buffer.AsSpan(0, n), out var header, out _));
            reporter.OnRtpSending(buffer.AsSpan(0, n), header, 1_000_000);
        }

        // Half a second after the last packet (RTP 90,000): the stream's clock reads 90,000 + 45,000.
        var report = reporter.Report(wallclock, 1_500_000);
        Assert.True(reporter.HasSent);
        Assert.Equal(0xABCDu, report.Ssrc);
        Assert.Equal(135_000u, report.RtpTimestamp);
        Assert.Equal(3u, report.PacketCount);
        Assert.Equal(3_000u, report.OctetCount); // payload octets, headers excluded (RFC 3550 §6.4.1)
        Assert.Equal(RtcpTiming.ToNtp(wallclock), report.NtpTimestamp);
    }
}
