using System.Buffers.Binary;

namespace Decart.Rtc.Rtp;

/// <summary>
/// The last <see cref="Capacity"/> packets sent, by sequence number, so NACKed packets can be sent again.
/// Slots are preallocated: storing and looking up allocate nothing.
/// </summary>
internal sealed class RtpSendBuffer
{
    private readonly byte[][] _slots;
    private readonly int[] _lengths;
    private readonly int[] _sequences;
    private readonly long[] _resentAt;

    /// <summary>Creates a buffer.</summary>
    /// <param name="capacity">Packets kept; a power of two (default 1024, ~1 s of 720p video).</param>
    /// <param name="maxPacketSize">Largest packet stored.</param>
    public RtpSendBuffer(int capacity = 1024, int maxPacketSize = 1500)
    {
        if (capacity < 1 || (capacity & (capacity - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(capacity), "capacity must be a power of two");
        }

        Capacity = capacity;
        MaxPacketSize = maxPacketSize;
        _slots = new byte[capacity][];
        _lengths = new int[capacity];
        _sequences = new int[capacity];
        _resentAt = new long[capacity];
        for (int i = 0; i < capacity; i++)
        {
            _slots[i] = new byte[maxPacketSize];
            _sequences[i] = -1;
        }
    }

    /// <summary>Packets kept.</summary>
    public int Capacity { get; }

    /// <summary>Largest packet stored.</summary>
    public int MaxPacketSize { get; }

    /// <summary>Stores a sent (unprotected) RTP packet under its sequence number.</summary>
    /// <param name="sequenceNumber">Its sequence number.</param>
    /// <param name="packet">The packet.</param>
    /// <returns>False when it is larger than <see cref="MaxPacketSize"/> (not stored).</returns>
    public bool Store(ushort sequenceNumber, ReadOnlySpan<byte> packet)
    {
        if (packet.Length > MaxPacketSize)
        {
            return false;
        }

        int slot = sequenceNumber & (Capacity - 1);
        packet.CopyTo(_slots[slot]);
        _lengths[slot] = packet.Length;
        _sequences[slot] = sequenceNumber;
        _resentAt[slot] = 0;
        return true;
    }

    /// <summary>
    /// Looks a packet up for a retransmission: only if it was not already sent again within <paramref name="minInterval"/>
    /// milliseconds (a receiver NACKs again until the copy arrives; sending each NACK's copy would multiply the rate
    /// exactly when the path is congested).
    /// </summary>
    /// <param name="sequenceNumber">The sequence number a NACK asked for.</param>
    /// <param name="nowMs">Now (<see cref="Environment.TickCount64"/>).</param>
    /// <param name="minInterval">Least time between two copies of one packet, ms (about one round trip).</param>
    /// <param name="packet">The stored packet.</param>
    /// <returns>Whether to send it again now (it is marked as sent).</returns>
    public bool TryGetForResend(ushort sequenceNumber, long nowMs, long minInterval, out ReadOnlySpan<byte> packet)
    {
        int slot = sequenceNumber & (Capacity - 1);
        if (_sequences[slot] != sequenceNumber || (_resentAt[slot] != 0 && nowMs - _resentAt[slot] < minInterval))
        {
            packet = default;
            return false;
        }

        _resentAt[slot] = nowMs;
        packet = _slots[slot].AsSpan(0, _lengths[slot]);
        return true;
    }

    /// <summary>Looks a packet up.</summary>
    /// <param name="sequenceNumber">The sequence number a NACK asked for.</param>
    /// <param name="packet">The stored packet.</param>
    /// <returns>Whether it is still in the buffer.</returns>
    public bool TryGet(ushort sequenceNumber, out ReadOnlySpan<byte> packet)
    {
        int slot = sequenceNumber & (Capacity - 1);
        if (_sequences[slot] != sequenceNumber)
        {
            packet = default;
            return false;
        }

        packet = _slots[slot].AsSpan(0, _lengths[slot]);
        return true;
    }
}

/// <summary>RTX (RFC 4588): retransmissions on their own SSRC and payload type, with the original sequence number first in the payload.</summary>
public static class Rtx
{
    /// <summary>Wraps an original packet as an RTX packet.</summary>
    /// <param name="destination">Buffer: original length + 2 bytes.</param>
    /// <param name="original">The original (unprotected) RTP packet.</param>
    /// <param name="rtxPayloadType">RTX payload type (its <c>apt</c> is the original's).</param>
    /// <param name="rtxSequence">The RTX stream's next sequence number.</param>
    /// <param name="rtxSsrc">The RTX stream's SSRC.</param>
    /// <returns>Bytes written, or 0 when <paramref name="original"/> is not valid RTP.</returns>
    public static int Wrap(Span<byte> destination, ReadOnlySpan<byte> original, byte rtxPayloadType, ushort rtxSequence, uint rtxSsrc)
    {
        if (!RtpHeader.TryParse(original, out var header, out _))
        {
            return 0;
        }

        original[..header.PayloadOffset].CopyTo(destination);
        destination[0] &= 0xDF; // padding is not carried over
        destination[1] = (byte)((destination[1] & 0x80) | rtxPayloadType);
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], rtxSequence);
        BinaryPrimitives.WriteUInt32BigEndian(destination[8..], rtxSsrc);
        BinaryPrimitives.WriteUInt16BigEndian(destination[header.PayloadOffset..], header.SequenceNumber);
        header.Payload(original).CopyTo(destination[(header.PayloadOffset + 2)..]);
        return header.PayloadOffset + 2 + header.PayloadLength;
    }

    /// <summary>Restores the original packet from an RTX packet.</summary>
    /// <param name="destination">Buffer: RTX length − 2 bytes.</param>
    /// <param name="rtx">The RTX packet.</param>
    /// <param name="originalPayloadType">The <c>apt</c> payload type.</param>
    /// <param name="originalSsrc">The media SSRC.</param>
    /// <returns>Bytes written, or 0 when malformed.</returns>
    public static int Unwrap(Span<byte> destination, ReadOnlySpan<byte> rtx, byte originalPayloadType, uint originalSsrc)
    {
        if (!RtpHeader.TryParse(rtx, out var header, out _) || header.PayloadLength < 2)
        {
            return 0;
        }

        var payload = header.Payload(rtx);
        rtx[..header.PayloadOffset].CopyTo(destination);
        destination[0] &= 0xDF;
        destination[1] = (byte)((destination[1] & 0x80) | originalPayloadType);
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], BinaryPrimitives.ReadUInt16BigEndian(payload));
        BinaryPrimitives.WriteUInt32BigEndian(destination[8..], originalSsrc);
        payload[2..].CopyTo(destination[header.PayloadOffset..]);
        return header.PayloadOffset + payload.Length - 2;
    }
}
