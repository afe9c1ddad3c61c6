using Decart.Rtc.Interceptors;
using Decart.Rtc.Rtcp;
using Decart.Rtc.Rtp;

namespace Decart.Rtc.Tests.Interceptors;

public sealed class NackResponderTests
{
    private sealed class Harness
    {
        public Harness(TimeSpan? rtt = null, int? rtxPayloadType = 97)
        {
            Responder = new NackResponder(Stats, () => rtt, (buffer, length) => Sent.Add(buffer[..length].ToArray()))
            {
                RtxPayloadType = rtxPayloadType,
                RtxSsrc = 0x2222,
            };
        }

        public PeerConnectionStats Stats { get; } = new();

        public List<byte[]> Sent { get; } = [];

        public NackResponder Responder { get; }

        public void Send(ushort sequence, long now, int payload = 1000)
        {
            var buffer = new byte[payload + 12];
            int n = new RtpWriter(buffer, 96, sequence, 3000, 0x1111, false).WritePayload(Enumerable.Repeat((byte)sequence, payload).ToArray());
            Assert.True(RtpHeader.TryParse(buffer.AsSpan(0, n), out var header, out _));
            Responder.OnRtpSending(buffer.AsSpan(0, n), header, now);
        }

        public void Nack(long now, params ushort[] lost)
        {
            var buffer = new byte[1500];
            int n = RtcpWriter.WriteNack(buffer, 0x9999, 0x1111, lost);
            var rest = (ReadOnlySpan<byte>)buffer.AsSpan(0, n);
            while (RtcpPacket.TryReadNext(ref rest, out var packet, out _))
            {
                Responder.OnRtcpReceived(packet, now);
            }
        }
    }

    [Fact]
    public void A_nacked_packet_goes_again_on_the_rtx_stream_with_its_original_sequence_first()
    {
        var h = new Harness();
        for (ushort s = 10; s < 20; s++)
        {
            h.Send(s, 1_000_000);
        }

        h.Nack(1_010_000, 12, 15);
        Assert.Equal(2, h.Sent.Count);
        Assert.True(RtpHeader.TryParse(h.Sent[0], out var rtx, out _));
        Assert.Equal((97, 0x2222u), (rtx.PayloadType, rtx.Ssrc));
        var restored = new byte[1500];
        int n = Rtx.Unwrap(restored, h.Sent[0], 96, 0x1111);
        Assert.True(RtpHeader.TryParse(restored.AsSpan(0, n), out var original, out _));
        Assert.Equal(12, original.SequenceNumber);
        Assert.All(original.Payload(restored.AsSpan(0, n)).ToArray(), b => Assert.Equal(12, b));
        Assert.Equal(2, h.Stats.NacksReceived);
        Assert.Equal(2, h.Stats.Retransmissions);
    }

    [Fact]
    public void Without_rtx_the_original_packet_is_resent()
    {
        var h = new Harness(rtxPayloadType: null);
        h.Send(7, 1_000_000);
        h.Nack(1_010_000, 7);
        Assert.True(RtpHeader.TryParse(Assert.Single(h.Sent), out var header, out _));
        Assert.Equal((96, 7, 0x1111u), (header.PayloadType, (int)header.SequenceNumber, header.Ssrc));
    }

    [Fact]
    public void Each_packet_goes_again_at_most_once_per_round_trip_and_unknown_numbers_are_ignored()
    {
        var h = new Harness(rtt: TimeSpan.FromMilliseconds(100));
        h.Send(1, 1_000_000);
        h.Nack(1_010_000, 1);
        h.Nack(1_050_000, 1); // the receiver asks again before the copy could have arrived
        Assert.Single(h.Sent);
        Assert.Equal(1, h.Stats.RetransmissionsSuppressed);
        h.Nack(1_120_000, 1); // a round trip later: the copy was lost too
        Assert.Equal(2, h.Sent.Count);

        h.Nack(1_130_000, 500, 65_000); // never sent
        Assert.Equal(2, h.Sent.Count);
        Assert.Equal(1, h.Stats.RetransmissionsSuppressed);
    }

    [Fact]
    public void All_copies_together_stay_within_half_the_media_rate()
    {
        var h = new Harness();
        // 100 packets of ~1 KB in the first second, then a NACK for all of them in the next.
        for (ushort s = 0; s < 100; s++)
        {
            h.Send(s, 1_000_000 + (s * 5_000));
        }

        h.Nack(2_100_000, Enumerable.Range(0, 100).Select(i => (ushort)i).ToArray());
        long bytes = h.Sent.Sum(p => (long)p.Length);
        Assert.InRange(bytes, 16_384, (100 * 1_014 / 2) + 1_100); // half the last second's media, one packet of slack
        Assert.Equal(100, h.Sent.Count + h.Stats.RetransmissionsSuppressed);
    }
}
