using System.Buffers.Binary;

namespace Decart.Rtc.Codecs;

/// <summary>H.264 NAL unit helpers: Annex B start-code splitting, keyframe detection, SPS dimensions.</summary>
public static class H264Nal
{
    /// <summary>Type of a NAL unit header byte.</summary>
    /// <param name="header">The first byte of a NAL unit.</param>
    /// <returns>nal_unit_type (0–31).</returns>
    public static int Type(byte header) => header & 0x1F;

    /// <summary>The next NAL unit of an Annex B stream (after 00 00 01 or 00 00 00 01).</summary>
    /// <param name="stream">The remaining stream; advanced past the NAL.</param>
    /// <param name="nal">The NAL unit without its start code.</param>
    /// <returns>False at the end.</returns>
    public static bool TryReadNext(scoped ref ReadOnlySpan<byte> stream, out ReadOnlySpan<byte> nal)
    {
        nal = default;
        int start = FindStartCode(stream, 0, out int codeLength);
        if (start < 0)
        {
            // No start code: treat the rest as one NAL (tolerates a stream that starts mid-NAL).
            if (stream.IsEmpty)
            {
                return false;
            }

            nal = stream;
            stream = default;
            return true;
        }

        int body = start + codeLength;
        int next = FindStartCode(stream, body, out _);
        int end = next < 0 ? stream.Length : next;
        nal = stream[body..end];
        stream = next < 0 ? default : stream[next..];
        if (nal.IsEmpty)
        {
            return TryReadNext(ref stream, out nal);
        }

        return true;
    }

    /// <summary>
    /// Splits an Annex B byte stream (an <c>.h264</c> file) into access units: a new unit starts at an access unit
    /// delimiter, an SPS, or the first slice of a picture (<c>first_mb_in_slice</c> = 0) once the current unit has
    /// a slice. Each unit is rewritten with 4-byte start codes, ready for <see cref="H264Packetizer"/>.
    /// </summary>
    /// <param name="stream">The byte stream.</param>
    /// <returns>The access units in order.</returns>
    public static List<byte[]> SplitAccessUnits(ReadOnlySpan<byte> stream)
    {
        var units = new List<byte[]>();
        var current = new List<byte>();
        bool hasSlice = false;
        var rest = stream;
        while (TryReadNext(ref rest, out var nal))
        {
            int type = Type(nal[0]);
            bool firstSliceOfPicture = type is 1 or 5 && nal.Length > 1 && (nal[1] & 0x80) != 0;
            if ((firstSliceOfPicture || type is 7 or 9) && hasSlice)
            {
                units.Add([.. current]);
                current.Clear();
                hasSlice = false;
            }

            current.AddRange((ReadOnlySpan<byte>)[0, 0, 0, 1]);
            current.AddRange(nal);
            hasSlice |= type is 1 or 5;
        }

        if (current.Count > 0)
        {
            units.Add([.. current]);
        }

        return units;
    }

    /// <summary>Whether an Annex B access unit contains an IDR slice (type 5) or an SPS (type 7).</summary>
    /// <param name="accessUnit">The access unit.</param>
    /// <returns>True for a keyframe.</returns>
    public static bool IsKeyframe(ReadOnlySpan<byte> accessUnit)
    {
        var rest = accessUnit;
        while (TryReadNext(ref rest, out var nal))
        {
            int t = Type(nal[0]);
            if (t is 5 or 7)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Width and height from the first SPS in an access unit.</summary>
    /// <param name="accessUnit">An Annex B access unit (or a bare SPS NAL).</param>
    /// <param name="width">Cropped width.</param>
    /// <param name="height">Cropped height.</param>
    /// <returns>False when there is no parseable SPS.</returns>
    public static bool TryReadSize(ReadOnlySpan<byte> accessUnit, out int width, out int height)
    {
        width = height = 0;
        var rest = accessUnit;
        while (TryReadNext(ref rest, out var nal))
        {
            if (Type(nal[0]) == 7)
            {
                return TryParseSps(nal, out width, out height);
            }
        }

        return false;
    }

    /// <summary>Width and height from an SPS NAL unit (with its header byte).</summary>
    /// <param name="sps">The SPS.</param>
    /// <param name="width">Cropped width.</param>
    /// <param name="height">Cropped height.</param>
    /// <returns>False for a malformed SPS (never throws).</returns>
    public static bool TryParseSps(ReadOnlySpan<byte> sps, out int width, out int height)
    {
        width = height = 0;
        if (sps.Length < 4 || Type(sps[0]) != 7)
        {
            return false;
        }

        Span<byte> rbsp = stackalloc byte[Math.Min(sps.Length, 512)];
        int n = Unescape(sps[1..Math.Min(sps.Length, 512)], rbsp);
        var r = new BitReader(rbsp[..n]);
        int profile = r.Bits(8);
        r.Bits(8); // constraint flags
        r.Bits(8); // level
        r.Ue(); // sps id
        int chromaFormat = 1;
        if (profile is 100 or 110 or 122 or 244 or 44 or 83 or 86 or 118 or 128 or 138 or 139 or 134 or 135)
        {
            chromaFormat = r.Ue();
            if (chromaFormat == 3)
            {
                r.Bits(1);
            }

            r.Ue(); // bit depth luma
            r.Ue(); // bit depth chroma
            r.Bits(1); // qpprime
            if (r.Bits(1) == 1)
            {
                for (int i = 0; i < (chromaFormat != 3 ? 8 : 12); i++)
                {
                    if (r.Bits(1) == 1)
                    {
                        SkipScalingList(ref r, i < 6 ? 16 : 64);
                    }
                }
            }
        }

        r.Ue(); // log2_max_frame_num
        int pocType = r.Ue();
        if (pocType == 0)
        {
            r.Ue();
        }
        else if (pocType == 1)
        {
            r.Bits(1);
            r.Se();
            r.Se();
            int cycle = r.Ue();
            for (int i = 0; i < cycle && i < 256; i++)
            {
                r.Se();
            }
        }

        r.Ue(); // max_num_ref_frames
        r.Bits(1); // gaps
        int widthMbs = r.Ue() + 1;
        int heightMapUnits = r.Ue() + 1;
        int frameMbsOnly = r.Bits(1);
        if (frameMbsOnly == 0)
        {
            r.Bits(1);
        }

        r.Bits(1); // direct_8x8
        int cropLeft = 0, cropRight = 0, cropTop = 0, cropBottom = 0;
        if (r.Bits(1) == 1)
        {
            cropLeft = r.Ue();
            cropRight = r.Ue();
            cropTop = r.Ue();
            cropBottom = r.Ue();
        }

        if (r.Overrun || widthMbs > 1024 || heightMapUnits > 1024)
        {
            return false;
        }

        int cropUnitX = chromaFormat is 1 or 2 ? 2 : 1;
        int cropUnitY = (chromaFormat == 1 ? 2 : 1) * (2 - frameMbsOnly);
        width = (widthMbs * 16) - ((cropLeft + cropRight) * cropUnitX);
        height = ((2 - frameMbsOnly) * heightMapUnits * 16) - ((cropTop + cropBottom) * cropUnitY);
        return width > 0 && height > 0;
    }

    private static void SkipScalingList(ref BitReader r, int size)
    {
        int last = 8, next = 8;
        for (int j = 0; j < size && !r.Overrun; j++)
        {
            if (next != 0)
            {
                next = (last + r.Se() + 256) % 256;
            }

            last = next == 0 ? last : next;
        }
    }

    /// <summary>Removes emulation prevention bytes (00 00 03 → 00 00).</summary>
    private static int Unescape(ReadOnlySpan<byte> nal, Span<byte> rbsp)
    {
        int n = 0, zeros = 0;
        foreach (byte b in nal)
        {
            if (zeros >= 2 && b == 3)
            {
                zeros = 0;
                continue;
            }

            zeros = b == 0 ? zeros + 1 : 0;
            rbsp[n++] = b;
        }

        return n;
    }

    private static int FindStartCode(ReadOnlySpan<byte> data, int from, out int length)
    {
        // A vectorized search for 00 00 01; a zero just before it (within the searched range) makes it 00 00 00 01.
        int found = from < data.Length ? data[from..].IndexOf((ReadOnlySpan<byte>)[0, 0, 1]) : -1;
        if (found < 0)
        {
            length = 0;
            return -1;
        }

        int at = from + found;
        if (at > from && data[at - 1] == 0)
        {
            length = 4;
            return at - 1;
        }

        length = 3;
        return at;
    }

    private ref struct BitReader
    {
        private readonly ReadOnlySpan<byte> _data;
        private int _bit;

        public BitReader(ReadOnlySpan<byte> data)
        {
            _data = data;
            _bit = 0;
            Overrun = false;
        }

        public bool Overrun { get; private set; }

        public int Bits(int count)
        {
            int value = 0;
            for (int i = 0; i < count; i++)
            {
                if (_bit >= _data.Length * 8)
                {
                    Overrun = true;
                    return 0;
                }

                value = (value << 1) | ((_data[_bit >> 3] >> (7 - (_bit & 7))) & 1);
                _bit++;
            }

            return value;
        }

        public int Ue()
        {
            int zeros = 0;
            while (Bits(1) == 0 && !Overrun)
            {
                if (++zeros > 31)
                {
                    Overrun = true;
                    return 0;
                }
            }

            return zeros == 0 ? 0 : (int)Math.Min(int.MaxValue, (1L << zeros) - 1 + Bits(zeros));
        }

        public int Se()
        {
            int k = Ue();
            return (k & 1) != 0 ? (k + 1) / 2 : -(k / 2);
        }
    }
}

/// <summary>
/// Splits an Annex B access unit into RTP payloads (RFC 6184, packetization mode 1): consecutive small NALs
/// aggregated in STAP-A, NALs that fit sent alone, larger ones fragmented as FU-A. Allocation-free.
/// </summary>
public ref struct H264Packetizer
{
    private readonly int _maxPayload;
    private ReadOnlySpan<byte> _rest;
    private ReadOnlySpan<byte> _current;
    private int _fragmentOffset;
    private bool _hasCurrent;

    /// <summary>Starts packetizing an access unit.</summary>
    /// <param name="accessUnit">Annex B bytes (start codes between NALs).</param>
    /// <param name="maxPayloadSize">Largest RTP payload (e.g. 1200).</param>
    public H264Packetizer(ReadOnlySpan<byte> accessUnit, int maxPayloadSize)
    {
        if (maxPayloadSize < 16)
        {
            throw new ArgumentOutOfRangeException(nameof(maxPayloadSize));
        }

        _maxPayload = maxPayloadSize;
        _rest = accessUnit;
        _current = default;
        _fragmentOffset = 0;
        _hasCurrent = false;
    }

    /// <summary>Writes the next payload.</summary>
    /// <param name="destination">At least <c>maxPayloadSize</c> bytes.</param>
    /// <param name="written">Payload length.</param>
    /// <param name="isLast">Whether this is the access unit's last payload (set the RTP marker).</param>
    /// <returns>False when done.</returns>
    public bool TryWriteNext(Span<byte> destination, out int written, out bool isLast)
    {
        written = 0;
        isLast = false;
        if (!_hasCurrent && !Advance())
        {
            return false;
        }

        if (_fragmentOffset > 0 || _current.Length > _maxPayload)
        {
            // FU-A: indicator (F, NRI, type 28), header (S, E, type), fragment.
            byte nalHeader = _current[0];
            int start = _fragmentOffset == 0 ? 1 : _fragmentOffset;
            int chunk = Math.Min(_maxPayload - 2, _current.Length - start);
            bool first = _fragmentOffset == 0;
            bool last = start + chunk >= _current.Length;
            destination[0] = (byte)((nalHeader & 0xE0) | 28);
            destination[1] = (byte)((first ? 0x80 : 0) | (last ? 0x40 : 0) | (nalHeader & 0x1F));
            _current.Slice(start, chunk).CopyTo(destination[2..]);
            written = 2 + chunk;
            _fragmentOffset = start + chunk;
            if (last)
            {
                _hasCurrent = false;
                _fragmentOffset = 0;
                isLast = !HasMore();
            }

            return true;
        }

        // Try STAP-A: this NAL plus following ones that fit.
        var peek = _rest;
        int total = 1 + 2 + _current.Length;
        int count = 1;
        byte nri = (byte)(_current[0] & 0x60);
        while (H264Nal.TryReadNext(ref peek, out var next) && total + 2 + next.Length <= _maxPayload)
        {
            total += 2 + next.Length;
            nri = Math.Max(nri, (byte)(next[0] & 0x60));
            count++;
        }

        if (count == 1)
        {
            _current.CopyTo(destination);
            written = _current.Length;
            _hasCurrent = false;
            isLast = !HasMore();
            return true;
        }

        destination[0] = (byte)(nri | 24);
        int offset = 1;
        for (int i = 0; i < count; i++)
        {
            if (i > 0)
            {
                var rest = _rest;
                H264Nal.TryReadNext(ref rest, out var next);
                _rest = rest;
                _current = next;
            }

            BinaryPrimitives.WriteUInt16BigEndian(destination[offset..], (ushort)_current.Length);
            _current.CopyTo(destination[(offset + 2)..]);
            offset += 2 + _current.Length;
        }

        written = offset;
        _hasCurrent = false;
        isLast = !HasMore();
        return true;
    }

    private bool Advance()
    {
        var rest = _rest;
        if (!H264Nal.TryReadNext(ref rest, out var nal))
        {
            return false;
        }

        _rest = rest;
        _current = nal;
        _hasCurrent = true;
        _fragmentOffset = 0;
        return true;
    }

    private readonly bool HasMore()
    {
        var peek = _rest;
        return H264Nal.TryReadNext(ref peek, out _);
    }
}

/// <summary>Turns RFC 6184 payloads back into Annex B (single NAL, STAP-A, FU-A).</summary>
public static class H264Depacketizer
{
    private static ReadOnlySpan<byte> StartCode => [0, 0, 0, 1];

    /// <summary>Appends a payload's NAL unit(s) to <paramref name="output"/> in Annex B form.</summary>
    /// <param name="payload">One RTP payload.</param>
    /// <param name="output">The access unit being assembled.</param>
    /// <param name="written">Bytes appended.</param>
    /// <returns>False for a malformed or unsupported payload, or when <paramref name="output"/> is full.</returns>
    public static bool TryAppend(ReadOnlySpan<byte> payload, Span<byte> output, out int written)
    {
        written = 0;
        if (payload.IsEmpty)
        {
            return false;
        }

        int type = payload[0] & 0x1F;
        switch (type)
        {
            case >= 1 and <= 23:
                if (output.Length < 4 + payload.Length)
                {
                    return false;
                }

                StartCode.CopyTo(output);
                payload.CopyTo(output[4..]);
                written = 4 + payload.Length;
                return true;
            case 24:
                int i = 1;
                while (i + 2 <= payload.Length)
                {
                    int size = BinaryPrimitives.ReadUInt16BigEndian(payload[i..]);
                    if (size == 0 || i + 2 + size > payload.Length || written + 4 + size > output.Length)
                    {
                        return false;
                    }

                    StartCode.CopyTo(output[written..]);
                    payload.Slice(i + 2, size).CopyTo(output[(written + 4)..]);
                    written += 4 + size;
                    i += 2 + size;
                }

                return written > 0;
            case 28:
                if (payload.Length < 3)
                {
                    return false;
                }

                bool start = (payload[1] & 0x80) != 0;
                var fragment = payload[2..];
                int need = fragment.Length + (start ? 5 : 0);
                if (output.Length < need)
                {
                    return false;
                }

                if (start)
                {
                    StartCode.CopyTo(output);
                    output[4] = (byte)((payload[0] & 0xE0) | (payload[1] & 0x1F));
                    written = 5;
                }

                fragment.CopyTo(output[written..]);
                written += fragment.Length;
                return true;
            default:
                return false;
        }
    }

    /// <summary>Whether a payload starts an IDR or SPS (a keyframe's first NAL).</summary>
    /// <param name="payload">One RTP payload.</param>
    /// <returns>True when it carries an SPS/IDR start.</returns>
    public static bool StartsKeyframe(ReadOnlySpan<byte> payload)
    {
        if (payload.IsEmpty)
        {
            return false;
        }

        int type = payload[0] & 0x1F;
        return type switch
        {
            5 or 7 => true,
            24 => payload.Length > 3 && (payload[3] & 0x1F) is 5 or 7,
            28 => payload.Length > 1 && (payload[1] & 0x80) != 0 && (payload[1] & 0x1F) is 5 or 7,
            _ => false,
        };
    }
}
