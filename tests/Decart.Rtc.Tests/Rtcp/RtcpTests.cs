using Decart.Rtc.Rtcp;
using FsCheck;
using FsCheck.Fluent;

namespace Decart.Rtc.Tests.Rtcp;

public class RtcpTests
{
    [Fact]
    public void Compound_sr_sdes_round_trips()
    {
        var buffer = new byte[256];
        var report = new ReceptionReport(0x11111111, 64, -3, 70000, 120, 0x12345678, 0x00010000);
        int n = RtcpWriter.WriteSenderReport(buffer, new SenderReportInfo(0xCAFEBABE, 0x0102030405060708, 90000, 10, 1000, 0), [report]);
        n += RtcpWriter.WriteSdesCname(buffer.AsSpan(n), 0xCAFEBABE, "user@host"u8);
        n += RtcpWriter.WriteBye(buffer.AsSpan(n), 0xCAFEBABE);

        ReadOnlySpan<byte> rest = buffer.AsSpan(0, n);
        Assert.True(RtcpPacket.TryReadNext(ref rest, out var sr, out _));
        Assert.True(sr.TryGetSenderReport(out var info));
        Assert.Equal((0xCAFEBABEu, 0x0102030405060708ul, 90000u, 10u, 1000u, 1), (info.Ssrc, info.NtpTimestamp, info.RtpTimestamp, info.PacketCount, info.OctetCount, info.ReportCount));
        Assert.Equal(0x03040506u, info.CompactNtp);
        Assert.True(sr.TryGetReceptionReport(0, out var back));
        Assert.Equal(report, back);
        Assert.False(sr.TryGetReceptionReport(1, out _));

        Assert.True(RtcpPacket.TryReadNext(ref rest, out var sdes, out _));
        Assert.True(sdes.TryGetCname(out var cname));
        Assert.Equal("user@host", System.Text.Encoding.UTF8.GetString(cname));
        Assert.True(RtcpPacket.TryReadNext(ref rest, out var bye, out _));
        Span<uint> ssrcs = stackalloc uint[4];
        Assert.Equal(1, bye.GetByeSsrcs(ssrcs));
        Assert.Equal(0xCAFEBABEu, ssrcs[0]);
        Assert.False(RtcpPacket.TryReadNext(ref rest, out _, out var end));
        Assert.Equal(RtcpParseError.None, end);
    }

    [Fact]
    public void Feedback_packets_round_trip()
    {
        var buffer = new byte[128];
        int n = RtcpWriter.WritePli(buffer, 1, 2);
        ReadOnlySpan<byte> rest = buffer.AsSpan(0, n);
        Assert.True(RtcpPacket.TryReadNext(ref rest, out var pli, out _));
        Assert.True(pli.IsPli);
        Assert.Equal((1u, 2u), (pli.SenderSsrc, pli.MediaSsrc));

        n = RtcpWriter.WriteFir(buffer, 1, 3, 7);
        rest = buffer.AsSpan(0, n);
        Assert.True(RtcpPacket.TryReadNext(ref rest, out var fir, out _));
        Assert.True(fir.TryGetFir(out uint ssrc, out byte seq));
        Assert.Equal((3u, (byte)7), (ssrc, seq));
    }

    [Fact]
    public void Nack_groups_losses_into_pid_blp_and_back_across_a_wrap()
    {
        ushort[] lost = [65534, 65535, 0, 5, 17, 40];
        var buffer = new byte[128];
        int n = RtcpWriter.WriteNack(buffer, 9, 10, lost);
        Assert.Equal(12 + (3 * 4), n); // {65534: 65535,0,5,...} {17?} grouping: 65534 covers up to 65534+16=14
        ReadOnlySpan<byte> rest = buffer.AsSpan(0, n);
        Assert.True(RtcpPacket.TryReadNext(ref rest, out var nack, out _));
        Assert.True(nack.IsNack);
        Span<ushort> back = stackalloc ushort[64];
        int count = nack.GetNackedSequences(back);
        Assert.Equal(lost, back[..count].ToArray());
    }

    [Theory]
    [InlineData(300_000UL)]
    [InlineData(1_500_000UL)]
    [InlineData(262_143UL)]
    [InlineData(10_000_000_000UL)]
    public void Remb_encodes_bitrates_within_mantissa_precision(ulong bitrate)
    {
        var buffer = new byte[32];
        int n = RtcpWriter.WriteRemb(buffer, 1, bitrate, 2);
        ReadOnlySpan<byte> rest = buffer.AsSpan(0, n);
        Assert.True(RtcpPacket.TryReadNext(ref rest, out var remb, out _));
        Assert.True(remb.TryGetRemb(out ulong back));
        Assert.True(back <= bitrate && bitrate - back <= bitrate / (1 << 17), $"{back} vs {bitrate}");
    }

    [Fact]
    public void Rtt_from_lsr_and_dlsr()
    {
        // We sent an SR at compact NTP 0x00010000 (1 s); the peer held it 0.25 s (DLSR 0x4000) and its RR reached us at 1.5 s.
        var report = new ReceptionReport(1, 0, 0, 0, 0, 0x00010000, 0x00004000);
        Assert.Equal(TimeSpan.FromMilliseconds(250), RtcpTiming.RoundTripTime(report, 0x00018000));
        Assert.Null(RtcpTiming.RoundTripTime(report with { LastSenderReport = 0 }, 0x00018000));
    }

    [Fact]
    public void Ntp_conversion_keeps_seconds_and_fraction()
    {
        var t = new DateTime(2026, 11, 25, 0, 0, 0, 500, DateTimeKind.Utc);
        ulong ntp = RtcpTiming.ToNtp(t);
        Assert.Equal(0x80000000u, (uint)ntp);
        Assert.Equal((ulong)(t - new DateTime(1900, 1, 1, 0, 0, 0, DateTimeKind.Utc)).TotalSeconds, ntp >> 32);
    }

    [Fact]
    public void Malformed_compounds_stop_with_a_named_error()
    {
        var buffer = new byte[64];
        int n = RtcpWriter.WritePli(buffer, 1, 2);
        ReadOnlySpan<byte> truncated = buffer.AsSpan(0, n - 1);
        Assert.False(RtcpPacket.TryReadNext(ref truncated, out _, out var e1));
        Assert.Equal(RtcpParseError.Truncated, e1);
        ReadOnlySpan<byte> badVersion = new byte[] { 0x40, 200, 0, 0 };
        Assert.False(RtcpPacket.TryReadNext(ref badVersion, out _, out var e2));
        Assert.Equal(RtcpParseError.BadVersion, e2);
        // An SR claiming 31 report blocks in a 28-byte body does not decode.
        ReadOnlySpan<byte> lying = [0x9f, 200, 0, 6, .. new byte[24]];
        Assert.True(RtcpPacket.TryReadNext(ref lying, out var sr, out _));
        Assert.False(sr.TryGetSenderReport(out _));
        Assert.False(sr.TryGetReceptionReport(0, out _));
    }

    [Fact]
    public void Random_and_mutated_rtcp_never_throws()
    {
        int cases = Environment.GetEnvironmentVariable("LONG_FUZZ") == "1" ? 1_000_000 : 5_000;
        var seed = new byte[200];
        int n = RtcpWriter.WriteSenderReport(seed, new SenderReportInfo(1, 2, 3, 4, 5, 0), [new ReceptionReport(1, 2, 3, 4, 5, 6, 7)]);
        n += RtcpWriter.WriteNack(seed.AsSpan(n), 1, 2, [1, 2, 3, 30]);
        n += RtcpWriter.WriteRemb(seed.AsSpan(n), 1, 1_000_000, 2);
        n += RtcpWriter.WriteSdesCname(seed.AsSpan(n), 1, "cname"u8);
        var valid = seed[..n];
        var mutated = from flips in Gen.ArrayOf(Gen.Zip(Gen.Choose(0, n - 1), Gen.Choose(0, 255)))
                      select Flip(valid, flips);
        Prop.ForAll(Gen.OneOf(mutated, ArbMap.Default.GeneratorFor<byte[]>()).ToArbitrary(), bytes =>
        {
            ReadOnlySpan<byte> rest = bytes;
            Span<ushort> lost = stackalloc ushort[64];
            Span<uint> ssrcs = stackalloc uint[32];
            int guard = 0;
            while (RtcpPacket.TryReadNext(ref rest, out var p, out _) && guard++ < 100)
            {
                _ = p.TryGetSenderReport(out _);
                for (int i = 0; i < 32; i++)
                {
                    _ = p.TryGetReceptionReport(i, out _);
                }

                _ = p.GetNackedSequences(lost);
                _ = p.TryGetRemb(out _);
                _ = p.TryGetFir(out _, out _);
                _ = p.TryGetCname(out _);
                _ = p.GetByeSsrcs(ssrcs);
            }

            return true;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(cases));
    }

    private static byte[] Flip(byte[] seed, (int Index, int Value)[] flips)
    {
        var copy = (byte[])seed.Clone();
        foreach (var (i, v) in flips)
        {
            copy[i] = (byte)v;
        }

        return copy;
    }
}
