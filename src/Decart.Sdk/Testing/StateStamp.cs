using Decart.Sdk.Media;

namespace Decart.Sdk.Testing;

/// <summary>
/// The state stamp the Decart simulator draws on every frame its model makes: which state version (each
/// acknowledged prompt or image update gets the next one) and which input frame the output frame was made from.
/// It is a block of large black and white cells at the bottom-left corner, with a checksum, sized to survive VP8
/// and H.264 at a realtime bitrate, so a test can read it from a decoded frame and assert, frame by frame, which
/// prompt the model was showing (e.g. "every frame after <c>SetAsync</c> returned carries version ≥ v").
/// </summary>
/// <param name="Version">The session's state version the frame was made with (0: no state yet); wraps at 65,536.</param>
/// <param name="InputFrame">The number of the input frame it was made from (1 = the first received); wraps at 2^24.</param>
/// <param name="OutputFrame">The number of this output frame (1 = the first the model made; one the media connection could not send yet still counts); wraps at 2^24.</param>
public readonly record struct StateStamp(int Version, int InputFrame, int OutputFrame)
{
    /// <summary>Cells per row of the stamp.</summary>
    internal const int Columns = 20;

    /// <summary>Rows of cells.</summary>
    internal const int Rows = 4;

    private const byte One = 235;
    private const byte Zero = 16;

    // 4 sync cells, 16 bits of version, 24 + 24 bits of frame numbers, an 8-bit CRC, 4 closing sync cells = 80 cells.
    private static ReadOnlySpan<byte> Head => [1, 0, 1, 0];

    private static ReadOnlySpan<byte> Tail => [0, 1, 0, 1];

    /// <summary>The side of one cell in pixels for a frame of this width: 8 to 32, a multiple of 4 (16 at 1088 wide).</summary>
    /// <param name="width">Frame width.</param>
    /// <returns>Cell size in pixels.</returns>
    public static int CellSize(int width) => Math.Clamp(width / 68, 8, 32) & ~3;

    /// <summary>The stamp's rectangle in a frame of this size (bottom-left corner), or empty when the frame is too small.</summary>
    /// <param name="width">Frame width.</param>
    /// <param name="height">Frame height.</param>
    /// <returns>X, Y, width and height in pixels.</returns>
    public static (int X, int Y, int Width, int Height) Bounds(int width, int height)
    {
        int cell = CellSize(width);
        int w = Columns * cell;
        int h = Rows * cell;
        return w > width || h > height ? default : (0, (height - h) & ~1, w, h);
    }

    /// <summary>Reads the stamp from a decoded frame.</summary>
    /// <param name="frame">A frame of the simulator's model output, decoded (lossy codecs are fine).</param>
    /// <param name="stamp">The stamp, when one was found.</param>
    /// <returns>False when the frame carries no readable stamp (too small, damaged, not the simulator's output).</returns>
    public static bool TryRead(I420Frame frame, out StateStamp stamp)
    {
        ArgumentNullException.ThrowIfNull(frame);
        stamp = default;
        var (x0, y0, w, _) = Bounds(frame.Width, frame.Height);
        if (w == 0)
        {
            return false;
        }

        int cell = CellSize(frame.Width);
        Span<byte> bits = stackalloc byte[Columns * Rows];
        for (int i = 0; i < bits.Length; i++)
        {
            int cx = x0 + ((i % Columns) * cell);
            int cy = y0 + ((i / Columns) * cell);
            bits[i] = MeanLuma(frame, cx + (cell / 4), cy + (cell / 4), cell / 2) > 126 ? (byte)1 : (byte)0;
        }

        if (!bits[..4].SequenceEqual(Head) || !bits[^4..].SequenceEqual(Tail))
        {
            return false;
        }

        Span<byte> payload = stackalloc byte[9];
        for (int b = 0; b < 72; b++)
        {
            payload[b / 8] |= (byte)(bits[4 + b] << (7 - (b % 8)));
        }

        if (Crc8(payload[..8]) != payload[8])
        {
            return false;
        }

        stamp = new StateStamp(
            (payload[0] << 8) | payload[1],
            (payload[2] << 16) | (payload[3] << 8) | payload[4],
            (payload[5] << 16) | (payload[6] << 8) | payload[7]);
        return true;
    }

    /// <summary>Draws this stamp onto a frame (what the simulator's model does to every output frame).</summary>
    /// <param name="frame">The frame to draw on; a frame smaller than the stamp is left as is.</param>
    internal void Write(I420Frame frame)
    {
        var (x0, y0, w, h) = Bounds(frame.Width, frame.Height);
        if (w == 0)
        {
            return;
        }

        Span<byte> payload = stackalloc byte[9];
        payload[0] = (byte)(Version >> 8);
        payload[1] = (byte)Version;
        payload[2] = (byte)(InputFrame >> 16);
        payload[3] = (byte)(InputFrame >> 8);
        payload[4] = (byte)InputFrame;
        payload[5] = (byte)(OutputFrame >> 16);
        payload[6] = (byte)(OutputFrame >> 8);
        payload[7] = (byte)OutputFrame;
        payload[8] = Crc8(payload[..8]);
        int cell = CellSize(frame.Width);
        for (int i = 0; i < Columns * Rows; i++)
        {
            int bit = i < 4 ? Head[i] : i >= (Columns * Rows) - 4 ? Tail[i - ((Columns * Rows) - 4)] : (payload[(i - 4) / 8] >> (7 - ((i - 4) % 8))) & 1;
            int cx = x0 + ((i % Columns) * cell);
            int cy = y0 + ((i / Columns) * cell);
            for (int row = cy; row < cy + cell; row++)
            {
                frame.Y.Slice((row * frame.StrideY) + cx, cell).Fill(bit == 1 ? One : Zero);
            }
        }

        // Neutral chroma under the stamp, so a tone applied to the picture does not bleed into the cells.
        for (int row = y0 / 2; row < (y0 + h) / 2; row++)
        {
            frame.U.Slice((row * frame.StrideU) + (x0 / 2), w / 2).Fill(128);
            frame.V.Slice((row * frame.StrideV) + (x0 / 2), w / 2).Fill(128);
        }
    }

    private static int MeanLuma(I420Frame frame, int x, int y, int size)
    {
        int sum = 0;
        for (int row = y; row < y + size; row++)
        {
            foreach (byte value in frame.Y.Slice((row * frame.StrideY) + x, size))
            {
                sum += value;
            }
        }

        return sum / (size * size);
    }

    private static byte Crc8(ReadOnlySpan<byte> data)
    {
        // CRC-8 (polynomial x^8 + x^2 + x + 1), bitwise: nine bytes per frame need no table.
        int crc = 0;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int i = 0; i < 8; i++)
            {
                crc = (crc & 0x80) != 0 ? ((crc << 1) ^ 0x07) & 0xFF : (crc << 1) & 0xFF;
            }
        }

        return (byte)crc;
    }
}
