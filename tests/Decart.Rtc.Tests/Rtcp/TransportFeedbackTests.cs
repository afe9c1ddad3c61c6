using Decart.Rtc.Rtcp;

namespace Decart.Rtc.Tests.Rtcp;

public sealed class TransportFeedbackTests
{
    private static TransportPacketStatus[] Read(byte[] bytes, out TransportFeedbackHeader header)
    {
        var statuses = new TransportPacketStatus[4096];
        var rest = (ReadOnlySpan<byte>)bytes;
        Assert.True(RtcpPacket.TryReadNext(ref rest, out var packet, out _));
        Assert.True(TransportFeedback.TryRead(packet, out header, statuses, out var error), error.ToString());
        return statuses[..header.StatusCount];
    }

    [Fact]
    public void Bytes_match_the_draft_for_a_small_run_with_a_loss()
    {
        // Reference time 10 × 64 ms; 100 at +1 ms, 101 lost, 102 1.25 ms later, 103 57.75 ms later: a one-bit vector
        // chunk 1,0,1,1 (0xAC00), three one-byte deltas (4, 5, 231), 3 bytes of padding whose last byte is its count.
        var buffer = new byte[64];
        int n = TransportFeedback.Write(buffer, 0x01020304, 0x05060708, 100, [641_000, -1, 642_250, 700_000], 7, out int written);
        Assert.Equal(4, written);
        byte[] expected =
        [
            0xAF, 205, 0x00, 0x06,
            0x01, 0x02, 0x03, 0x04,
            0x05, 0x06, 0x07, 0x08,
            0x00, 0x64, 0x00, 0x04,
            0x00, 0x00, 0x0A, 0x07,
            0xAC, 0x00, 0x04, 0x05,
            0xE7, 0x00, 0x00, 0x03,
        ];
        Assert.Equal(expected, buffer[..n]);

        var statuses = Read(buffer[..n], out var header);
        Assert.Equal(new TransportFeedbackHeader(0x01020304, 0x05060708, 100, 4, 10, 7), header);
        Assert.Equal(
            [new(100, true, 641_000), new(101, false, 0), new(102, true, 642_250), new(103, true, 700_000)],
            statuses);
    }

    [Fact]
    public void Long_runs_large_and_negative_deltas_and_wraparound_round_trip()
    {
        // 40 arrived in a row (a run chunk), a 30-packet loss (another run), reordering (a negative delta), a 100 ms gap
        // (a two-byte delta), across the sequence wrap.
        var arrivals = new List<long>();
        long t = 5_000_000;
        for (int i = 0; i < 40; i++)
        {
            arrivals.Add(t += 1000);
        }

        arrivals.AddRange(Enumerable.Repeat(-1L, 30));
        arrivals.Add(t += 2000);
        arrivals.Add(t - 1500); // arrived before the previous one
        arrivals.Add(t += 100_000);
        arrivals.Add(t += 250);
        var buffer = new byte[1500];
        int n = TransportFeedback.Write(buffer, 1, 2, 65_500, arrivals.ToArray(), 0, out int written);
        Assert.Equal(arrivals.Count, written);
        Assert.Equal(0, n % 4);
        var statuses = Read(buffer[..n], out var header);
        Assert.Equal(arrivals.Count, header.StatusCount);
        for (int i = 0; i < arrivals.Count; i++)
        {
            Assert.Equal(unchecked((ushort)(65_500 + i)), statuses[i].Sequence);
            Assert.Equal(arrivals[i] >= 0, statuses[i].Received);
            if (arrivals[i] >= 0)
            {
                Assert.Equal(arrivals[i], statuses[i].ArrivalMicroseconds); // all on 250 µs boundaries: exact
            }
        }
    }

    [Fact]
    public void Arrivals_off_the_tick_are_rounded_without_drift()
    {
        var arrivals = Enumerable.Range(0, 500).Select(i => 1_000_000L + (i * 333)).ToArray(); // 333 µs apart
        var buffer = new byte[1500];
        int n = TransportFeedback.Write(buffer, 1, 2, 0, arrivals, 0, out int written);
        Assert.Equal(500, written);
        var statuses = Read(buffer[..n], out _);
        for (int i = 0; i < arrivals.Length; i++)
        {
            Assert.InRange(statuses[i].ArrivalMicroseconds - arrivals[i], -125, 125);
        }
    }

    [Fact]
    public void The_writer_stops_where_a_delta_does_not_fit_16_bits_and_never_reports_trailing_losses()
    {
        var buffer = new byte[1500];
        int n = TransportFeedback.Write(buffer, 1, 2, 10, [1_000_000, 1_001_000, -1, 1_001_000 + 9_000_000, 1_001_000 + 9_001_000], 0, out int written);
        Assert.Equal(2, written); // 9 s is more than 32767 × 250 µs; the loss before it is not reported either
        Assert.Equal(2, Read(buffer[..n], out _).Length);
        Assert.Equal(0, TransportFeedback.Write(buffer, 1, 2, 10, [-1, -1], 0, out written)); // nothing arrived: nothing to write
        Assert.Equal(0, written);
        Assert.Equal(0, TransportFeedback.Write(buffer.AsSpan(0, 10), 1, 2, 10, [1_000_000], 0, out _)); // no room
    }

    [Fact]
    public void The_padding_never_runs_past_a_destination_that_is_not_a_multiple_of_four()
    {
        // 29 bytes unpadded (20 header, 2 chunk, 7 one-byte deltas) pad to 32: a 30-byte destination cannot take it.
        var arrivals = Enumerable.Range(0, 7).Select(i => 1_000_000L + (i * 1000)).ToArray();
        var buffer = new byte[31];
        int n = TransportFeedback.Write(buffer.AsSpan(0, 30), 1, 2, 0, arrivals, 0, out int written);
        Assert.True(n == 0 || n <= 30, $"{n} bytes into 30");
        Assert.Equal(0, buffer[30]);
        Assert.True(written < 7);
        Assert.Equal(32, TransportFeedback.Write(new byte[32], 1, 2, 0, arrivals, 0, out written));
        Assert.Equal(7, written);
    }

    [Fact]
    public void Bad_feedback_yields_a_named_error_never_an_exception()
    {
        var good = new byte[64];
        int n = TransportFeedback.Write(good, 1, 2, 100, [641_000, -1, 642_250, 700_000], 7, out _);
        var statuses = new TransportPacketStatus[16];

        Assert.Equal(TransportFeedbackError.None, Error(good[..n], statuses));

        var zeroCount = good[..n].ToArray();
        zeroCount[14] = zeroCount[15] = 0;
        Assert.Equal(TransportFeedbackError.Malformed, Error(zeroCount, statuses));

        var absurd = good[..n].ToArray();
        absurd[14] = absurd[15] = 0xFF; // 65,535 statuses in a 28-byte packet
        Assert.Equal(TransportFeedbackError.TooManyStatuses, Error(absurd, statuses));
        Assert.Equal(TransportFeedbackError.Truncated, Error(absurd, new TransportPacketStatus[65_535]));

        var reserved = good[..n].ToArray();
        reserved[20] = 0x60; // a run chunk of symbol 3
        reserved[21] = 0x04;
        Assert.Equal(TransportFeedbackError.ReservedSymbol, Error(reserved, statuses));

        var badPadding = good[..n].ToArray();
        badPadding[^1] = 200;
        Assert.Equal(TransportFeedbackError.Malformed, Error(badPadding, statuses));

        var nack = new byte[64];
        int m = RtcpWriter.WriteNack(nack, 1, 2, [5]);
        Assert.Equal(TransportFeedbackError.NotTransportFeedback, Error(nack[..m], statuses));
    }

    [Fact]
    public void Twenty_thousand_random_and_mutated_packets_never_throw()
    {
        var rng = new Random(2026);
        var statuses = new TransportPacketStatus[4096];
        var good = new byte[1500];
        int n = TransportFeedback.Write(good, 1, 2, 0, Enumerable.Range(0, 300).Select(i => i % 7 == 0 ? -1L : 1_000_000 + (i * 900L)).ToArray(), 0, out _);
        int read = 0;
        for (int i = 0; i < 20_000; i++)
        {
            byte[] bytes;
            if (i % 2 == 0)
            {
                bytes = good[..n].ToArray();
                for (int k = rng.Next(1, 6); k > 0; k--)
                {
                    bytes[rng.Next(4, bytes.Length)] = (byte)rng.Next(256);
                }
            }
            else
            {
                bytes = new byte[4 * rng.Next(1, 40)];
                rng.NextBytes(bytes);
                bytes[0] = (byte)(0x80 | (bytes[0] & 0x20) | TransportFeedback.Format);
                bytes[1] = 205;
                bytes[2] = 0;
                bytes[3] = (byte)((bytes.Length / 4) - 1);
            }

            var rest = (ReadOnlySpan<byte>)bytes;
            if (RtcpPacket.TryReadNext(ref rest, out var packet, out _) && TransportFeedback.TryRead(packet, out var header, statuses, out _))
            {
                read++;
                Assert.InRange(header.StatusCount, 1, statuses.Length);
            }
        }

        Assert.True(read > 0, "some mutations are still valid feedback");
    }

    private static TransportFeedbackError Error(byte[] bytes, TransportPacketStatus[] statuses)
    {
        var rest = (ReadOnlySpan<byte>)bytes;
        Assert.True(RtcpPacket.TryReadNext(ref rest, out var packet, out _));
        TransportFeedback.TryRead(packet, out _, statuses, out var error);
        return error;
    }
}
