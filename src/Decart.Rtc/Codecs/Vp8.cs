using System.Buffers.Binary;

namespace Decart.Rtc.Codecs;

/// <summary>A parsed VP8 RTP payload descriptor (RFC 7741 §4.2).</summary>
public readonly struct Vp8Descriptor
{
    /// <summary>S bit: the packet starts a VP8 partition.</summary>
    public bool StartOfPartition { get; init; }

    /// <summary>Partition index (PID).</summary>
    public int PartitionId { get; init; }

    /// <summary>N bit: the frame is not used as a reference.</summary>
    public bool NonReference { get; init; }

    /// <summary>PictureID, or -1 when absent.</summary>
    public int PictureId { get; init; }

    /// <summary>TL0PICIDX, or -1 when absent.</summary>
    public int Tl0PicIdx { get; init; }

    /// <summary>Bytes of descriptor before the VP8 data.</summary>
    public int HeaderSize { get; init; }

    /// <summary>Whether this packet starts a frame: S set on partition 0.</summary>
    public bool StartsFrame => StartOfPartition && PartitionId == 0;

    /// <summary>Parses the descriptor at the start of an RTP payload.</summary>
    /// <param name="payload">The RTP payload.</param>
    /// <param name="descriptor">The descriptor.</param>
    /// <returns>False for a truncated or empty descriptor (never throws).</returns>
    public static bool TryParse(ReadOnlySpan<byte> payload, out Vp8Descriptor descriptor)
    {
        descriptor = default;
        if (payload.Length < 1)
        {
            return false;
        }

        byte b0 = payload[0];
        int i = 1;
        int pictureId = -1, tl0 = -1;
        if ((b0 & 0x80) != 0)
        {
            if (payload.Length < 2)
            {
                return false;
            }

            byte x = payload[1];
            i = 2;
            if ((x & 0x80) != 0)
            {
                if (payload.Length < i + 1)
                {
                    return false;
                }

                if ((payload[i] & 0x80) != 0)
                {
                    if (payload.Length < i + 2)
                    {
                        return false;
                    }

                    pictureId = BinaryPrimitives.ReadUInt16BigEndian(payload[i..]) & 0x7FFF;
                    i += 2;
                }
                else
                {
                    pictureId = payload[i] & 0x7F;
                    i += 1;
                }
            }

            if ((x & 0x40) != 0)
            {
                if (payload.Length < i + 1)
                {
                    return false;
                }

                tl0 = payload[i++];
            }

            if ((x & 0x30) != 0)
            {
                if (payload.Length < i + 1)
                {
                    return false;
                }

                i++;
            }
        }

        if (i > payload.Length)
        {
            return false;
        }

        descriptor = new Vp8Descriptor
        {
            NonReference = (b0 & 0x20) != 0,
            StartOfPartition = (b0 & 0x10) != 0,
            PartitionId = b0 & 0x0F,
            PictureId = pictureId,
            Tl0PicIdx = tl0,
            HeaderSize = i,
        };
        return true;
    }
}

/// <summary>Splits a VP8 frame into RTP payloads (RFC 7741) with a 15-bit PictureID, as Chromium sends them. Allocation-free.</summary>
public ref struct Vp8Packetizer
{
    /// <summary>Descriptor bytes each payload starts with.</summary>
    public const int DescriptorSize = 4;

    private readonly ReadOnlySpan<byte> _frame;
    private readonly int _maxPayload;
    private readonly ushort _pictureId;
    private int _offset;

    /// <summary>Starts packetizing a frame.</summary>
    /// <param name="frame">One encoded VP8 frame.</param>
    /// <param name="maxPayloadSize">Largest RTP payload, descriptor included (e.g. 1200).</param>
    /// <param name="pictureId">The frame's PictureID (15 bits; increment per frame).</param>
    public Vp8Packetizer(ReadOnlySpan<byte> frame, int maxPayloadSize, ushort pictureId)
    {
        if (maxPayloadSize <= DescriptorSize)
        {
            throw new ArgumentOutOfRangeException(nameof(maxPayloadSize));
        }

        _frame = frame;
        _maxPayload = maxPayloadSize;
        _pictureId = (ushort)(pictureId & 0x7FFF);
        _offset = 0;
    }

    /// <summary>Whether all of the frame has been written.</summary>
    public readonly bool IsDone => _offset >= _frame.Length && _frame.Length > 0;

    /// <summary>Writes the next payload.</summary>
    /// <param name="destination">At least <c>maxPayloadSize</c> bytes.</param>
    /// <param name="written">Payload length.</param>
    /// <param name="isLast">Whether this is the frame's last payload (set the RTP marker).</param>
    /// <returns>False when the frame is done (or empty).</returns>
    public bool TryWriteNext(Span<byte> destination, out int written, out bool isLast)
    {
        written = 0;
        isLast = false;
        if (_offset >= _frame.Length)
        {
            return false;
        }

        int chunk = Math.Min(_maxPayload - DescriptorSize, _frame.Length - _offset);
        destination[0] = (byte)(0x80 | (_offset == 0 ? 0x10 : 0)); // X, S on the first packet, PID 0
        destination[1] = 0x80; // I
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)(0x8000 | _pictureId)); // M + 15-bit PictureID
        _frame.Slice(_offset, chunk).CopyTo(destination[DescriptorSize..]);
        _offset += chunk;
        written = DescriptorSize + chunk;
        isLast = _offset >= _frame.Length;
        return true;
    }
}

/// <summary>Reads the VP8 bitstream's frame header (RFC 6386 §9.1).</summary>
public static class Vp8Bitstream
{
    /// <summary>Whether a VP8 frame is a keyframe (bit 0 of the frame tag is 0).</summary>
    /// <param name="frame">The frame.</param>
    /// <returns>True for a keyframe.</returns>
    public static bool IsKeyframe(ReadOnlySpan<byte> frame) => frame.Length >= 3 && (frame[0] & 1) == 0;

    /// <summary>Width and height from a keyframe header.</summary>
    /// <param name="frame">A keyframe (at least 10 bytes).</param>
    /// <param name="width">Width in pixels.</param>
    /// <param name="height">Height in pixels.</param>
    /// <returns>False for delta frames or a bad start code.</returns>
    public static bool TryReadKeyframeSize(ReadOnlySpan<byte> frame, out int width, out int height)
    {
        width = height = 0;
        if (frame.Length < 10 || !IsKeyframe(frame) || frame[3] != 0x9d || frame[4] != 0x01 || frame[5] != 0x2a)
        {
            return false;
        }

        width = BinaryPrimitives.ReadUInt16LittleEndian(frame[6..]) & 0x3FFF;
        height = BinaryPrimitives.ReadUInt16LittleEndian(frame[8..]) & 0x3FFF;
        return width > 0 && height > 0;
    }
}
