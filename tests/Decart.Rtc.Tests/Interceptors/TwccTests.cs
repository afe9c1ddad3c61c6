using System.Buffers.Binary;
using Decart.Rtc.Interceptors;
using Decart.Rtc.Rtcp;
using Decart.Rtc.Rtp;

namespace Decart.Rtc.Tests.Interceptors;

/// <summary>The two halves of transport-wide congestion control, each on its own and then one feeding the other.</summary>
public sealed class TwccTests
{
    private const int Id = 3;

    /// <summary>An RTP packet with a transport-cc element (id 3) carrying <paramref name="transportSequence"/>.</summary>
    private static byte[] Packet(ushort transportSequence, ushort sequence = 1, uint ssrc = 0x1234, int payload = 100, int id = Id)
    {
        var buffer = new byte[64 + payload];
        var writer = new RtpWriter(buffer, 96, sequence, 9000, ssrc, false);
        Span<byte> value = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(value, transportSequence);
        writer.AddExtension(id, value);
        int n = writer.WritePayload(new byte[payload]);
        return buffer[..n];
    }

    private static RtpHeader Header(byte[] packet)
    {
        Assert.True(RtpHeader.TryParse(packet, out var header, out _));
        return header;
    }

    private static void Receive(TwccReceiver receiver, ushort transportSequence, long at)
    {
        var packet = Packet(transportSequence);
        receiver.OnRtpReceived(packet, Header(packet), at);
    }

    private static List<TransportPacketStatus> Statuses(ReadOnlySpan<byte> compound)
    {
        var all = new List<TransportPacketStatus>();
        var statuses = new TransportPacketStatus[4096];
        var rest = compound;
        while (RtcpPacket.TryReadNext(ref rest, out var packet, out _))
        {
            Assert.True(TransportFeedback.TryRead(packet, out var header, statuses, out var error), error.ToString());
            all.AddRange(statuses.AsSpan(0, header.StatusCount).ToArray());
        }

        return all;
    }

    [Fact]
    public void The_receiver_reports_every_number_since_its_last_report_arrived_or_lost()
    {
        var receiver = new TwccReceiver(0xAAAA) { ExtensionId = Id };
        var buffer = new byte[1500];
        Receive(receiver, 65_534, 1_000_000);
        Receive(receiver, 65_535, 1_001_000);
        Receive(receiver, 1, 1_003_000); // 0 is missing, across the wrap
        Receive(receiver, 2, 1_004_000);
        int n = receiver.WriteRtcp(buffer, 1_100_000);
        var statuses = Statuses(buffer.AsSpan(0, n));
        Assert.Equal([65_534, 65_535, 0, 1, 2], statuses.Select(s => (int)s.Sequence));
        Assert.Equal([true, true, false, true, true], statuses.Select(s => s.Received));
        Assert.Equal(2_000, statuses[3].ArrivalMicroseconds - statuses[1].ArrivalMicroseconds);

        Receive(receiver, 3, 1_110_000);
        Assert.Equal(0, receiver.WriteRtcp(buffer, 1_120_000)); // within the 50 ms interval
        n = receiver.WriteRtcp(buffer, 1_160_000);
        Assert.Equal([3], Statuses(buffer.AsSpan(0, n)).Select(s => (int)s.Sequence)); // only what is new
        Assert.Equal(2, receiver.Reports);

        Receive(receiver, 0, 1_170_000); // reported lost already
        Assert.Equal(1, receiver.Late);
        Assert.Equal(0, receiver.WriteRtcp(buffer, 1_300_000)); // nothing new
    }

    [Fact]
    public void The_receiver_is_off_without_the_extension_and_bounded_on_a_jump()
    {
        var off = new TwccReceiver(1);
        Receive(off, 5, 1_000_000);
        Assert.Equal(0, off.WriteRtcp(new byte[1500], 2_000_000));

        var receiver = new TwccReceiver(1) { ExtensionId = Id };
        var other = Packet(7, id: 5); // another extension id: not ours
        receiver.OnRtpReceived(other, Header(other), 1_000_000);
        Assert.Equal(0, receiver.WriteRtcp(new byte[1500], 2_000_000));

        Receive(receiver, 100, 3_000_000);
        Receive(receiver, 100 + 10_000, 3_010_000); // a jump far past the window: the oldest are given up, memory stays put
        Assert.True(receiver.Skipped > 0);
        var buffer = new byte[8192];
        int n = receiver.WriteRtcp(buffer, 4_000_000);
        var statuses = Statuses(buffer.AsSpan(0, n));
        Assert.True(statuses.Count <= TwccReceiver.Window, $"{statuses.Count} statuses");
        Assert.Equal(100 + 10_000, statuses[^1].Sequence);
        Assert.True(statuses[^1].Received);
    }

    [Fact]
    public void The_sender_stamps_consecutive_numbers_and_reads_loss_rate_and_queueing_from_feedback()
    {
        var sender = new TwccSender { ExtensionId = Id };
        var receiver = new TwccReceiver(2) { ExtensionId = Id };
        var buffer = new byte[1500];
        var summaries = new List<TransportFeedbackSummary>();
        sender.FeedbackReceived += summaries.Add;
        ushort? first = null;
        long sentAt = 10_000_000;
        // 600 packets of 1,000 bytes, one every 2 ms (4 Mbit/s); every 10th is lost; one-way delay 20 ms, then growing
        // by 0.2 ms a packet over the last 200 (a queue building up to 40 ms).
        for (int i = 0; i < 600; i++, sentAt += 2_000)
        {
            var packet = Packet(0, (ushort)i, payload: 1000 - 40);
            sender.OnRtpSending(packet, Header(packet), sentAt);
            ushort stamped = BinaryPrimitives.ReadUInt16BigEndian(packet.AsSpan(17)); // after the 12-byte header, the 4-byte extension header and the element byte
            first ??= stamped;
            Assert.Equal(unchecked((ushort)(first.Value + i)), stamped);
            if (i % 10 != 9)
            {
                long queue = i < 400 ? 0 : (i - 400) * 200;
                receiver.OnRtpReceived(packet, Header(packet), sentAt + 20_000 + queue + 7_000_000_000); // another clock
            }

            if (i % 25 == 24)
            {
                int n = receiver.WriteRtcp(buffer, sentAt + 7_000_100_000);
                var rest = (ReadOnlySpan<byte>)buffer.AsSpan(0, n);
                while (RtcpPacket.TryReadNext(ref rest, out var feedback, out _))
                {
                    sender.OnRtcpReceived(feedback, sentAt + 40_000);
                }
            }
        }

        var last = sender.Summary;
        Assert.True(last.Feedbacks >= 20, $"{last.Feedbacks} feedbacks");
        Assert.Equal(last, summaries[^1]);
        Assert.InRange(last.LossFraction, 0.08, 0.12);
        Assert.InRange(last.AckedBitrate, 3_000_000, 4_500_000); // 90 % of 4 Mbit/s, seen over the arrivals
        Assert.InRange(last.QueueDelay.TotalMilliseconds, 35, 41);
        var calm = summaries[(summaries.Count / 2) - 1];
        Assert.True(calm.QueueDelay < TimeSpan.FromMilliseconds(1), $"before the queue: {calm.QueueDelay}");
        Assert.Equal(0, sender.Malformed);
        Assert.Equal(0, sender.Unknown);
    }

    [Fact]
    public void The_sender_counts_malformed_and_unknown_feedback_and_ignores_it()
    {
        var sender = new TwccSender { ExtensionId = Id };
        var buffer = new byte[64];
        // Feedback about numbers we never sent.
        int n = TransportFeedback.Write(buffer, 1, 2, 40_000, [1_000_000, 1_001_000], 0, out _);
        Read(sender, buffer.AsSpan(0, n));
        Assert.Equal(2, sender.Unknown);
        Assert.Equal(0, sender.Summary.AckedBitrate);

        // An absurd status count (65,535 in a 28-byte packet).
        buffer[14] = buffer[15] = 0xFF;
        Read(sender, buffer.AsSpan(0, n));
        Assert.Equal(1, sender.Malformed);
        Assert.Equal(1, sender.Summary.Feedbacks);

        // A packet with no extension slot is sent untouched.
        var plain = new byte[40];
        int m = new RtpWriter(plain, 96, 1, 2, 3, false).WritePayload(new byte[20]);
        var before = plain[..m].ToArray();
        sender.OnRtpSending(plain.AsSpan(0, m), Header(plain[..m]), 5);
        Assert.Equal(before, plain[..m]);
    }

    private static void Read(TwccSender sender, ReadOnlySpan<byte> compound)
    {
        var rest = compound;
        Assert.True(RtcpPacket.TryReadNext(ref rest, out var packet, out _));
        sender.OnRtcpReceived(packet, 1);
    }
}
