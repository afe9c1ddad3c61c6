using System.Buffers.Binary;

namespace Decart.Rtc.LiveKit;

/// <summary>
/// LiveKit's frame-metadata "packet trailer" (LKTS): bytes a publisher appends to each encoded frame, which the SFU
/// forwards and a subscriber strips before decoding. Layout, from the end of the frame backwards: the magic
/// <c>LKTS</c>; one byte, the trailer's whole length XOR 0xFF (the 5 envelope bytes included); before it TLVs, every
/// byte XOR 0xFF: tag 1 length 8 = the user timestamp (big-endian, epoch microseconds: the capture time Decart's
/// glass-to-glass measurement uses), tag 2 length 4 = a frame id, tag 3 = user data. A frame that does not end in a
/// well-formed trailer with at least one known TLV is payload only, as livekit-client reads it. Nothing allocates.
/// </summary>
internal static class PacketTrailer
{
    /// <summary>The magic and the length byte.</summary>
    public const int EnvelopeSize = 5;

    /// <summary>A trailer with only the user timestamp: one 10-byte TLV and the envelope.</summary>
    public const int TimestampTrailerSize = 10 + EnvelopeSize;

    private const byte TimestampTag = 0x01;
    private const byte FrameIdTag = 0x02;
    private const byte UserDataTag = 0x03;
    private static ReadOnlySpan<byte> Magic => "LKTS"u8;

    /// <summary>
    /// Reads a frame's trailer. Returns the payload length (the whole frame when there is no trailer) and the user
    /// timestamp and frame id it carried (0 when absent).
    /// </summary>
    /// <param name="frame">An encoded frame as received.</param>
    /// <param name="userTimestamp">The user timestamp in epoch microseconds, or 0.</param>
    /// <param name="frameId">The frame id, or 0.</param>
    /// <returns>The length of the frame without its trailer.</returns>
    public static int Read(ReadOnlySpan<byte> frame, out ulong userTimestamp, out uint frameId)
    {
        userTimestamp = 0;
        frameId = 0;
        if (frame.Length < EnvelopeSize || !frame[^4..].SequenceEqual(Magic))
        {
            return frame.Length;
        }

        int trailerLength = frame[^EnvelopeSize] ^ 0xFF;
        if (trailerLength < EnvelopeSize || trailerLength > frame.Length)
        {
            return frame.Length;
        }

        int start = frame.Length - trailerLength;
        int end = frame.Length - EnvelopeSize;
        int offset = start;
        bool found = false;
        ulong timestamp = 0;
        uint id = 0;
        while (offset + 2 <= end)
        {
            int tag = frame[offset++] ^ 0xFF;
            int length = frame[offset++] ^ 0xFF;
            if (offset + length > end)
            {
                break;
            }

            if (tag == TimestampTag && length == 8)
            {
                timestamp = ~BinaryPrimitives.ReadUInt64BigEndian(frame.Slice(offset, 8));
                found = true;
            }
            else if (tag == FrameIdTag && length == 4)
            {
                id = ~BinaryPrimitives.ReadUInt32BigEndian(frame.Slice(offset, 4));
                found = true;
            }
            else if (tag == UserDataTag)
            {
                found = true;
            }

            offset += length;
        }

        if (!found)
        {
            return frame.Length;
        }

        userTimestamp = timestamp;
        frameId = id;
        return start;
    }

    /// <summary>Writes a timestamp-only trailer (<see cref="TimestampTrailerSize"/> bytes) to append to a frame.</summary>
    /// <param name="destination">Where it goes: right after the frame's last byte.</param>
    /// <param name="userTimestamp">The capture time in epoch microseconds; 0 writes nothing (0 means "none" on the wire).</param>
    /// <returns>The bytes written: <see cref="TimestampTrailerSize"/>, or 0 for a zero timestamp.</returns>
    /// <exception cref="ArgumentException">The destination is too small.</exception>
    public static int WriteTimestamp(Span<byte> destination, ulong userTimestamp)
    {
        if (userTimestamp == 0)
        {
            return 0;
        }

        if (destination.Length < TimestampTrailerSize)
        {
            throw new ArgumentException($"a packet trailer needs {TimestampTrailerSize} bytes.", nameof(destination));
        }

        destination[0] = TimestampTag ^ 0xFF;
        destination[1] = 8 ^ 0xFF;
        BinaryPrimitives.WriteUInt64BigEndian(destination[2..10], ~userTimestamp);
        destination[10] = TimestampTrailerSize ^ 0xFF;
        Magic.CopyTo(destination[11..]);
        return TimestampTrailerSize;
    }

    /// <summary>
    /// The frame with a timestamp trailer appended, in <paramref name="scratch"/> (grown when too small, so a sender
    /// that reuses it allocates only until it has seen its largest frame).
    /// </summary>
    /// <param name="frame">The encoded frame.</param>
    /// <param name="userTimestamp">The capture time in epoch microseconds (non-zero).</param>
    /// <param name="scratch">The caller's reusable buffer.</param>
    /// <returns>The frame and its trailer, in <paramref name="scratch"/>.</returns>
    public static ReadOnlySpan<byte> Append(ReadOnlySpan<byte> frame, ulong userTimestamp, ref byte[] scratch)
    {
        int length = frame.Length + TimestampTrailerSize;
        if (scratch.Length < length)
        {
            scratch = new byte[Math.Max(length, scratch.Length * 2)];
        }

        frame.CopyTo(scratch);
        return scratch.AsSpan(0, frame.Length + WriteTimestamp(scratch.AsSpan(frame.Length), userTimestamp));
    }

    /// <summary>Now, as a user timestamp (epoch microseconds).</summary>
    /// <param name="time">The clock.</param>
    public static ulong Now(TimeProvider time) => (ulong)((time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks / 10);
}
