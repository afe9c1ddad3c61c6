using System.Buffers.Binary;

namespace Decart.Rtc.Rtcp;

/// <summary>Why a transport-wide feedback packet was not read.</summary>
public enum TransportFeedbackError
{
    /// <summary>Read.</summary>
    None,

    /// <summary>Not an RTPFB packet with format 15.</summary>
    NotTransportFeedback,

    /// <summary>Shorter than its header, or its chunks or deltas run past its end.</summary>
    Truncated,

    /// <summary>A status count of zero, or a padding count larger than the packet.</summary>
    Malformed,

    /// <summary>A status symbol 3 (reserved).</summary>
    ReservedSymbol,

    /// <summary>More statuses than the caller's buffer holds (an absurd count is refused, not allocated for).</summary>
    TooManyStatuses,
}

/// <summary>One packet's fate in a transport-wide feedback.</summary>
/// <param name="Sequence">Its transport-wide sequence number.</param>
/// <param name="Received">Whether it arrived.</param>
/// <param name="ArrivalMicroseconds">When it arrived, in microseconds on the feedback's clock (reference time plus the deltas); 0 when lost.</param>
public readonly record struct TransportPacketStatus(ushort Sequence, bool Received, long ArrivalMicroseconds);

/// <summary>The fixed fields of a transport-wide feedback.</summary>
/// <param name="SenderSsrc">Who sent the feedback.</param>
/// <param name="MediaSsrc">The media source field (informative).</param>
/// <param name="BaseSequence">The first sequence number reported.</param>
/// <param name="StatusCount">How many sequence numbers it reports.</param>
/// <param name="ReferenceTime">The reference time, in 64 ms units (24 bits, unsigned, wraps).</param>
/// <param name="FeedbackCount">The feedback packet counter (8 bits).</param>
public readonly record struct TransportFeedbackHeader(uint SenderSsrc, uint MediaSsrc, ushort BaseSequence, int StatusCount, int ReferenceTime, byte FeedbackCount);

/// <summary>
/// Transport-wide congestion control feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1: RTPFB, FMT 15):
/// for a run of transport-wide sequence numbers, whether each packet arrived and when, as deltas of 250 µs from a
/// reference time in 64 ms units. Reading and writing allocate nothing; the caller owns the buffers.
/// </summary>
public static class TransportFeedback
{
    /// <summary>The RTCP feedback format of transport-wide feedback.</summary>
    public const int Format = 15;

    /// <summary>Receive-delta unit, µs.</summary>
    public const int DeltaMicroseconds = 250;

    /// <summary>Reference-time unit, µs.</summary>
    public const int ReferenceMicroseconds = 64_000;

    /// <summary>Most statuses one written packet reports (the writer splits longer runs).</summary>
    public const int MaxStatusesPerPacket = 2048;

    private const int HeaderSize = 20;
    private const int OneBitCapacity = 14;
    private const int TwoBitCapacity = 7;
    private const int MaxRunLength = 0x1FFF;

    /// <summary>Whether an RTCP packet is transport-wide feedback.</summary>
    /// <param name="packet">The packet.</param>
    /// <returns>RTPFB (205) with format 15.</returns>
    public static bool Is(in RtcpPacket packet) => packet.Bytes.Length >= 4 && packet.Type == RtcpPacketType.TransportFeedback && packet.CountOrFormat == Format;

    /// <summary>Reads a feedback packet into <paramref name="statuses"/>.</summary>
    /// <param name="packet">The RTCP packet (header included, padding allowed).</param>
    /// <param name="header">Its fixed fields.</param>
    /// <param name="statuses">Where each reported packet goes, in sequence order; must hold the status count.</param>
    /// <param name="error">Why not, when it returns false.</param>
    /// <returns>Whether it was read; malformed input yields false, never an exception.</returns>
    public static bool TryRead(in RtcpPacket packet, out TransportFeedbackHeader header, Span<TransportPacketStatus> statuses, out TransportFeedbackError error)
    {
        header = default;
        if (!Is(packet))
        {
            error = TransportFeedbackError.NotTransportFeedback;
            return false;
        }

        var bytes = packet.Bytes;
        int end = bytes.Length;
        if ((bytes[0] & 0x20) != 0)
        {
            int padding = bytes[^1];
            if (padding == 0 || padding > end - HeaderSize)
            {
                error = TransportFeedbackError.Malformed;
                return false;
            }

            end -= padding;
        }

        if (end < HeaderSize + 2)
        {
            error = TransportFeedbackError.Truncated;
            return false;
        }

        int count = BinaryPrimitives.ReadUInt16BigEndian(bytes[14..]);
        // Read unsigned, as libwebrtc does (the draft says signed; senders' clocks only ever count up, and the
        // 24-bit value wraps every 12 days: whoever compares two feedbacks unwraps it).
        int reference = (bytes[16] << 16) | (bytes[17] << 8) | bytes[18];

        header = new TransportFeedbackHeader(
            BinaryPrimitives.ReadUInt32BigEndian(bytes[4..]),
            BinaryPrimitives.ReadUInt32BigEndian(bytes[8..]),
            BinaryPrimitives.ReadUInt16BigEndian(bytes[12..]),
            count,
            reference,
            bytes[19]);
        if (count == 0)
        {
            error = TransportFeedbackError.Malformed;
            return false;
        }

        if (count > statuses.Length)
        {
            error = TransportFeedbackError.TooManyStatuses;
            return false;
        }

        // First pass: the chunks give each packet's symbol (0 lost, 1 small delta, 2 large delta); the symbol is kept
        // in Received/ArrivalMicroseconds temporarily and the deltas are read in the second pass.
        int index = HeaderSize;
        int filled = 0;
        while (filled < count)
        {
            if (index + 2 > end)
            {
                error = TransportFeedbackError.Truncated;
                return false;
            }

            int chunk = BinaryPrimitives.ReadUInt16BigEndian(bytes[index..]);
            index += 2;
            if ((chunk & 0x8000) == 0)
            {
                int symbol = (chunk >> 13) & 0x3;
                int run = Math.Min(chunk & MaxRunLength, count - filled);
                if (symbol == 3 && run > 0)
                {
                    error = TransportFeedbackError.ReservedSymbol;
                    return false;
                }

                for (int i = 0; i < run; i++)
                {
                    statuses[filled++] = new TransportPacketStatus(0, symbol != 0, symbol);
                }
            }
            else if ((chunk & 0x4000) == 0)
            {
                for (int i = 0; i < OneBitCapacity && filled < count; i++)
                {
                    int symbol = (chunk >> (OneBitCapacity - 1 - i)) & 0x1;
                    statuses[filled++] = new TransportPacketStatus(0, symbol != 0, symbol);
                }
            }
            else
            {
                for (int i = 0; i < TwoBitCapacity && filled < count; i++)
                {
                    int symbol = (chunk >> (2 * (TwoBitCapacity - 1 - i))) & 0x3;
                    if (symbol == 3)
                    {
                        error = TransportFeedbackError.ReservedSymbol;
                        return false;
                    }

                    statuses[filled++] = new TransportPacketStatus(0, symbol != 0, symbol);
                }
            }
        }

        long arrival = (long)reference * ReferenceMicroseconds;
        ushort sequence = header.BaseSequence;
        for (int i = 0; i < count; i++, sequence++)
        {
            long symbol = statuses[i].ArrivalMicroseconds;
            if (symbol == 0)
            {
                statuses[i] = new TransportPacketStatus(sequence, false, 0);
                continue;
            }

            int delta;
            if (symbol == 1)
            {
                if (index + 1 > end)
                {
                    error = TransportFeedbackError.Truncated;
                    return false;
                }

                delta = bytes[index++];
            }
            else
            {
                if (index + 2 > end)
                {
                    error = TransportFeedbackError.Truncated;
                    return false;
                }

                delta = BinaryPrimitives.ReadInt16BigEndian(bytes[index..]);
                index += 2;
            }

            arrival += (long)delta * DeltaMicroseconds;
            statuses[i] = new TransportPacketStatus(sequence, true, arrival);
        }

        error = TransportFeedbackError.None;
        return true;
    }

    /// <summary>
    /// Writes one feedback packet for the run of sequence numbers starting at <paramref name="baseSequence"/>:
    /// <paramref name="arrivals"/>[i] is when <c>baseSequence + i</c> arrived (µs on the receiver's clock), or a
    /// negative value when it did not. The reference time is that of the first packet that arrived; the packet ends
    /// at the last one that arrived. Stops early (fewer statuses written) when a delta would not fit in 16 bits or the
    /// packet is full; the caller writes the rest in another packet.
    /// </summary>
    /// <param name="destination">Where to write (at least <c>24 + 3 × statuses</c> bytes is always enough).</param>
    /// <param name="senderSsrc">Our SSRC.</param>
    /// <param name="mediaSsrc">The media source the feedback is about (informative).</param>
    /// <param name="baseSequence">The first sequence number.</param>
    /// <param name="arrivals">Arrival times per sequence number; negative: lost.</param>
    /// <param name="feedbackCount">The feedback packet counter.</param>
    /// <param name="written">How many statuses went into the packet.</param>
    /// <returns>Bytes written (a multiple of 4), or 0 when nothing could be written (no packet arrived, no room).</returns>
    public static int Write(Span<byte> destination, uint senderSsrc, uint mediaSsrc, ushort baseSequence, ReadOnlySpan<long> arrivals, byte feedbackCount, out int written)
    {
        written = 0;
        int limit = Math.Min(arrivals.Length, MaxStatusesPerPacket);
        int first = -1;
        for (int i = 0; i < limit && first < 0; i++)
        {
            first = arrivals[i] >= 0 ? i : -1;
        }

        if (first < 0 || destination.Length < HeaderSize + 8)
        {
            return 0;
        }

        long referenceTicks = arrivals[first] / ReferenceMicroseconds;
        long last = referenceTicks * ReferenceMicroseconds;

        // Symbols and deltas first (deltas straight into their place after the chunks, which are sized afterwards:
        // they go to a scratch area at the end of the destination and are moved).
        Span<byte> symbols = stackalloc byte[MaxStatusesPerPacket];
        Span<short> deltas = stackalloc short[MaxStatusesPerPacket];
        int n = 0;
        for (; n < limit; n++)
        {
            if (arrivals[n] < 0)
            {
                symbols[n] = 0;
                continue;
            }

            // Rounded to the nearest 250 µs; the running time follows the rounded deltas so errors do not add up.
            long ticks = (long)Math.Round((arrivals[n] - last) / (double)DeltaMicroseconds, MidpointRounding.AwayFromZero);
            if (ticks is < short.MinValue or > short.MaxValue)
            {
                break;
            }

            deltas[n] = (short)ticks;
            symbols[n] = ticks is >= 0 and <= 255 ? (byte)1 : (byte)2;
            last += ticks * DeltaMicroseconds;
        }

        // Trailing losses are not reported: a feedback ends at a received packet.
        while (n > 0 && symbols[n - 1] == 0)
        {
            n--;
        }

        int size;
        while (true)
        {
            size = Size(symbols[..n]);
            if (((size + 3) & ~3) <= destination.Length || n <= 1)
            {
                break;
            }

            n = Math.Max(1, n / 2);
            while (n > 1 && symbols[n - 1] == 0)
            {
                n--;
            }
        }

        if (((size + 3) & ~3) > destination.Length)
        {
            return 0;
        }

        int padding = size % 4 == 0 ? 0 : 4 - (size % 4);
        int total = size + padding;
        destination[0] = (byte)(0x80 | (padding > 0 ? 0x20 : 0) | Format);
        destination[1] = (byte)RtcpPacketType.TransportFeedback;
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)((total / 4) - 1));
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], senderSsrc);
        BinaryPrimitives.WriteUInt32BigEndian(destination[8..], mediaSsrc);
        BinaryPrimitives.WriteUInt16BigEndian(destination[12..], baseSequence);
        BinaryPrimitives.WriteUInt16BigEndian(destination[14..], (ushort)n);
        int reference = (int)(referenceTicks & 0xFFFFFF);
        destination[16] = (byte)(reference >> 16);
        destination[17] = (byte)(reference >> 8);
        destination[18] = (byte)reference;
        destination[19] = feedbackCount;
        int index = HeaderSize;
        for (int i = 0; i < n;)
        {
            index += WriteChunk(destination[index..], symbols[i..n], out int used);
            i += used;
        }

        for (int i = 0; i < n; i++)
        {
            if (symbols[i] == 1)
            {
                destination[index++] = (byte)deltas[i];
            }
            else if (symbols[i] == 2)
            {
                BinaryPrimitives.WriteInt16BigEndian(destination[index..], deltas[i]);
                index += 2;
            }
        }

        if (padding > 0)
        {
            destination.Slice(index, padding - 1).Clear();
            destination[index + padding - 1] = (byte)padding;
        }

        written = n;
        return total;
    }

    /// <summary>The unpadded size of a packet carrying these symbols.</summary>
    private static int Size(ReadOnlySpan<byte> symbols)
    {
        int size = HeaderSize;
        Span<byte> scratch = stackalloc byte[2];
        for (int i = 0; i < symbols.Length;)
        {
            size += WriteChunk(scratch, symbols[i..], out int used);
            i += used;
        }

        foreach (byte s in symbols)
        {
            size += s;
        }

        return size;
    }

    /// <summary>One chunk for the symbols at the front: a run when 14 or more repeat, else a one-bit vector when they fit, else a two-bit vector.</summary>
    private static int WriteChunk(Span<byte> destination, ReadOnlySpan<byte> symbols, out int used)
    {
        int run = 1;
        while (run < symbols.Length && run < MaxRunLength && symbols[run] == symbols[0])
        {
            run++;
        }

        ushort chunk;
        if (run >= OneBitCapacity || run == symbols.Length)
        {
            chunk = (ushort)((symbols[0] << 13) | run);
            used = run;
        }
        else
        {
            int take = Math.Min(OneBitCapacity, symbols.Length);
            bool small = true;
            for (int i = 0; i < take; i++)
            {
                small &= symbols[i] <= 1;
            }

            if (small)
            {
                chunk = 0x8000;
                for (int i = 0; i < take; i++)
                {
                    chunk |= (ushort)(symbols[i] << (OneBitCapacity - 1 - i));
                }

                used = take;
            }
            else
            {
                take = Math.Min(TwoBitCapacity, symbols.Length);
                chunk = 0xC000;
                for (int i = 0; i < take; i++)
                {
                    chunk |= (ushort)(symbols[i] << (2 * (TwoBitCapacity - 1 - i)));
                }

                used = take;
            }
        }

        BinaryPrimitives.WriteUInt16BigEndian(destination, chunk);
        return 2;
    }
}
