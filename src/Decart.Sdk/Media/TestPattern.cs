namespace Decart.Sdk.Media;

/// <summary>
/// Draws a synthetic camera picture: vertical colour bars, a box that moves with time, and the frame number
/// in large seven-segment digits at the top left — easy for a person to read in a snapshot and for a test to
/// decode back (<see cref="ReadCounter"/>), even after a lossy codec.
/// </summary>
public static class TestPattern
{
    private const int Digits = 6;

    // Segments a..g per digit, bit 0 = a (top), then b (top right), c (bottom right), d (bottom), e (bottom left), f (top left), g (middle).
    private static ReadOnlySpan<byte> SegmentMap => [0x3F, 0x06, 0x5B, 0x4F, 0x66, 0x6D, 0x7D, 0x07, 0x7F, 0x6F];

    private static ReadOnlySpan<byte> BarY => [235, 210, 170, 145, 106, 81, 41, 16];

    private static ReadOnlySpan<byte> BarU => [128, 16, 166, 54, 202, 90, 240, 128];

    private static ReadOnlySpan<byte> BarV => [128, 146, 16, 34, 222, 240, 110, 128];

    /// <summary>Draws frame number <paramref name="index"/> into <paramref name="frame"/>.</summary>
    /// <param name="frame">The frame to overwrite.</param>
    /// <param name="index">The frame number shown (modulo one million) and the box position.</param>
    public static void Render(I420Frame frame, long index)
    {
        ArgumentNullException.ThrowIfNull(frame);
        int w = frame.Width;
        int h = frame.Height;
        var y = frame.Y;
        var u = frame.U;
        var v = frame.V;

        for (int row = 0; row < h; row++)
        {
            var line = y.Slice(row * frame.StrideY, w);
            for (int bar = 0; bar < 8; bar++)
            {
                int x0 = bar * w / 8;
                int x1 = (bar + 1) * w / 8;
                line[x0..x1].Fill(BarY[bar]);
            }
        }

        for (int row = 0; row < frame.ChromaHeight; row++)
        {
            var uLine = u.Slice(row * frame.StrideU, frame.ChromaWidth);
            var vLine = v.Slice(row * frame.StrideV, frame.ChromaWidth);
            for (int bar = 0; bar < 8; bar++)
            {
                int x0 = bar * frame.ChromaWidth / 8;
                int x1 = (bar + 1) * frame.ChromaWidth / 8;
                uLine[x0..x1].Fill(BarU[bar]);
                vLine[x0..x1].Fill(BarV[bar]);
            }
        }

        // A box sweeping left to right, one box width per second at 30 fps.
        int box = Math.Max(8, h / 6);
        int span = Math.Max(1, w - box);
        int bx = (int)((index * box / 30) % span);
        int by = h - box - Math.Max(2, h / 20);
        FillRect(frame, bx, by, box, box, 255, 128, 128);

        DrawCounter(frame, index);
    }

    /// <summary>Reads back the frame number drawn by <see cref="Render"/>, tolerating codec noise.</summary>
    /// <param name="frame">A frame showing the pattern (possibly decoded from a lossy stream).</param>
    /// <returns>The number, or -1 when the digits cannot be read.</returns>
    public static long ReadCounter(I420Frame frame)
    {
        ArgumentNullException.ThrowIfNull(frame);
        var (cell, x0, y0) = Layout(frame);
        long value = 0;
        for (int d = 0; d < Digits; d++)
        {
            int bits = 0;
            for (int s = 0; s < 7; s++)
            {
                var (sx, sy, sw, sh) = Segment(s, cell, x0 + (d * cell * 6), y0);
                if (Mean(frame, sx, sy, sw, sh) > 128)
                {
                    bits |= 1 << s;
                }
            }

            int digit = SegmentMap.IndexOf((byte)bits);
            if (digit < 0)
            {
                return -1;
            }

            value = (value * 10) + digit;
        }

        return value;
    }

    private static void DrawCounter(I420Frame frame, long index)
    {
        var (cell, x0, y0) = Layout(frame);
        FillRect(frame, x0 - cell, y0 - cell, (Digits * cell * 6) + cell, (cell * 9) + (2 * cell), 16, 128, 128);
        long n = Math.Abs(index) % 1_000_000;
        for (int d = Digits - 1; d >= 0; d--)
        {
            int digit = (int)(n % 10);
            n /= 10;
            byte segments = SegmentMap[digit];
            for (int s = 0; s < 7; s++)
            {
                if ((segments & (1 << s)) != 0)
                {
                    var (sx, sy, sw, sh) = Segment(s, cell, x0 + (d * cell * 6), y0);
                    FillRect(frame, sx, sy, sw, sh, 235, 128, 128);
                }
            }
        }
    }

    private static (int Cell, int X0, int Y0) Layout(I420Frame frame)
    {
        int cell = Math.Max(2, Math.Min(frame.Width / 80, frame.Height / 40));
        return (cell, cell * 2, cell * 2);
    }

    /// <summary>Segment rectangle: digits are 5 cells wide and 9 tall, strokes one cell thick.</summary>
    private static (int X, int Y, int W, int H) Segment(int s, int c, int x, int y) => s switch
    {
        0 => (x + c, y, 3 * c, c),
        1 => (x + (4 * c), y + c, c, 3 * c),
        2 => (x + (4 * c), y + (5 * c), c, 3 * c),
        3 => (x + c, y + (8 * c), 3 * c, c),
        4 => (x, y + (5 * c), c, 3 * c),
        5 => (x, y + c, c, 3 * c),
        _ => (x + c, y + (4 * c), 3 * c, c),
    };

    private static void FillRect(I420Frame frame, int x, int y, int w, int h, byte luma, byte cb, byte cr)
    {
        int x0 = Math.Clamp(x, 0, frame.Width);
        int y0 = Math.Clamp(y, 0, frame.Height);
        int x1 = Math.Clamp(x + w, 0, frame.Width);
        int y1 = Math.Clamp(y + h, 0, frame.Height);
        for (int row = y0; row < y1; row++)
        {
            frame.Y.Slice((row * frame.StrideY) + x0, x1 - x0).Fill(luma);
        }

        for (int row = y0 / 2; row < (y1 + 1) / 2; row++)
        {
            int cx0 = x0 / 2;
            int cx1 = Math.Min((x1 + 1) / 2, frame.ChromaWidth);
            frame.U.Slice((row * frame.StrideU) + cx0, cx1 - cx0).Fill(cb);
            frame.V.Slice((row * frame.StrideV) + cx0, cx1 - cx0).Fill(cr);
        }
    }

    private static int Mean(I420Frame frame, int x, int y, int w, int h)
    {
        // Sample the inner half of the stroke so codec ringing at its edges does not matter.
        int ix = x + (w / 4);
        int iy = y + (h / 4);
        int iw = Math.Max(1, w / 2);
        int ih = Math.Max(1, h / 2);
        long sum = 0;
        int count = 0;
        for (int row = iy; row < Math.Min(iy + ih, frame.Height); row++)
        {
            for (int col = ix; col < Math.Min(ix + iw, frame.Width); col++)
            {
                sum += frame.Y[(row * frame.StrideY) + col];
                count++;
            }
        }

        return count == 0 ? 0 : (int)(sum / count);
    }
}
