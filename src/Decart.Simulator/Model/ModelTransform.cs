using System.Security.Cryptography;
using System.Text;
using Decart.Sdk.Media;
using Decart.Sdk.Testing;

namespace Decart.Simulator.Model;

/// <summary>What the model draws with: the session's state as of one output frame (made once per state, not per frame).</summary>
public sealed class RenderState
{
    private readonly byte[]? _promptDigest;

    /// <summary>Creates a state.</summary>
    /// <param name="version">State version (0: no state applied yet, a passthrough session).</param>
    /// <param name="prompt">The prompt in force, or null.</param>
    /// <param name="enhance">Prompt enhancement in force.</param>
    /// <param name="imageHash">SHA-256 (hex) of the reference image in force, or null.</param>
    public RenderState(int version, string? prompt, bool enhance, string? imageHash)
    {
        Version = version;
        Prompt = prompt;
        Enhance = enhance;
        ImageHash = imageHash;
        _promptDigest = prompt is null ? null : SHA256.HashData(Encoding.UTF8.GetBytes(prompt));
        PromptHash = _promptDigest is null ? null : Convert.ToHexStringLower(_promptDigest)[..8];
        BannerText = (enhance ? "+ " : string.Empty) + (prompt ?? string.Empty);
        ImageDigest = imageHash is null ? null : Convert.FromHexString(imageHash);
    }

    /// <summary>State version (0: none yet).</summary>
    public int Version { get; }

    /// <summary>The prompt, or null.</summary>
    public string? Prompt { get; }

    /// <summary>Prompt enhancement.</summary>
    public bool Enhance { get; }

    /// <summary>SHA-256 (hex) of the reference image, or null.</summary>
    public string? ImageHash { get; }

    /// <summary>No state: the picture passes through unmodified except for the stamp.</summary>
    public bool IsPassthrough => Prompt is null && ImageHash is null;

    /// <summary>First 8 hex digits of SHA-256 of the prompt (UTF-8), or null: what the frame log shows.</summary>
    public string? PromptHash { get; }

    /// <summary>The tone (Cb, Cr) the prompt gives the picture, or null without a prompt.</summary>
    internal (byte U, byte V)? Tone => _promptDigest is null ? null : ((byte)(48 + (_promptDigest[0] % 160)), (byte)(48 + (_promptDigest[1] % 160)));

    /// <summary>The banner's text: the prompt, after a <c>+</c> when enhancement is on.</summary>
    internal string BannerText { get; }

    /// <summary>The reference image's hash as bytes (the inset's colours), or null.</summary>
    internal byte[]? ImageDigest { get; }
}

/// <summary>
/// The simulator's visible, deterministic "restyling": a colour tone derived from the prompt, the prompt in a banner
/// along the bottom (a leading <c>+</c> when enhancement is on), a mosaic derived from the reference image's hash as an
/// inset, and the <see cref="StateStamp"/> at the bottom-left. Luma outside those overlays is kept, so a test
/// pattern's frame counter (top corners) still reads. The same state always gives the same picture.
/// </summary>
internal static class ModelTransform
{
    private const int GlyphWidth = 5;
    private const int GlyphHeight = 7;

    /// <summary>Scales <paramref name="input"/> into <paramref name="output"/> (nearest neighbour when the sizes differ) and draws the state and the stamp.</summary>
    /// <param name="input">The decoded input picture (any size).</param>
    /// <param name="output">The model-sized output picture to fill.</param>
    /// <param name="state">The state to draw.</param>
    /// <param name="stamp">The stamp to draw.</param>
    public static void Apply(I420Frame input, I420Frame output, RenderState state, StateStamp stamp)
    {
        Scale(input, output);
        if (!state.IsPassthrough)
        {
            int cell = StateStamp.CellSize(output.Width);
            if (state.Tone is var (u, v))
            {
                Tone(output, u, v);
            }

            Banner(output, cell, state.BannerText);
            if (state.ImageDigest is { } digest)
            {
                Inset(output, cell, digest);
            }
        }

        stamp.Write(output);
    }

    private static void Scale(I420Frame input, I420Frame output)
    {
        if (input.Width == output.Width && input.Height == output.Height)
        {
            for (int row = 0; row < input.Height; row++)
            {
                input.Y.Slice(row * input.StrideY, input.Width).CopyTo(output.Y.Slice(row * output.StrideY));
            }

            for (int row = 0; row < input.ChromaHeight; row++)
            {
                input.U.Slice(row * input.StrideU, input.ChromaWidth).CopyTo(output.U.Slice(row * output.StrideU));
                input.V.Slice(row * input.StrideV, input.ChromaWidth).CopyTo(output.V.Slice(row * output.StrideV));
            }

            return;
        }

        ScalePlane(input.Y, input.StrideY, input.Width, input.Height, output.Y, output.StrideY, output.Width, output.Height);
        ScalePlane(input.U, input.StrideU, input.ChromaWidth, input.ChromaHeight, output.U, output.StrideU, output.ChromaWidth, output.ChromaHeight);
        ScalePlane(input.V, input.StrideV, input.ChromaWidth, input.ChromaHeight, output.V, output.StrideV, output.ChromaWidth, output.ChromaHeight);
    }

    private static void ScalePlane(Span<byte> src, int srcStride, int srcW, int srcH, Span<byte> dst, int dstStride, int dstW, int dstH)
    {
        for (int y = 0; y < dstH; y++)
        {
            var from = src.Slice(y * srcH / dstH * srcStride, srcW);
            var to = dst.Slice(y * dstStride, dstW);
            for (int x = 0; x < dstW; x++)
            {
                to[x] = from[x * srcW / dstW];
            }
        }
    }

    private static void Tone(I420Frame frame, byte u, byte v)
    {
        for (int row = 0; row < frame.ChromaHeight; row++)
        {
            var uLine = frame.U.Slice(row * frame.StrideU, frame.ChromaWidth);
            var vLine = frame.V.Slice(row * frame.StrideV, frame.ChromaWidth);
            for (int x = 0; x < uLine.Length; x++)
            {
                uLine[x] = (byte)((uLine[x] + u) >> 1);
                vLine[x] = (byte)((vLine[x] + v) >> 1);
            }
        }
    }

    private static void Banner(I420Frame frame, int cell, string text)
    {
        var (_, stampY, stampW, stampH) = StateStamp.Bounds(frame.Width, frame.Height);
        int x0 = stampW == 0 ? 0 : stampW + cell;
        int height = stampH == 0 ? Math.Max(GlyphHeight + 2, frame.Height / 10) : stampH;
        int y0 = stampH == 0 ? frame.Height - height : stampY;
        if (x0 >= frame.Width)
        {
            return;
        }

        Fill(frame, x0, y0, frame.Width - x0, height, 32, 128, 128);
        int scale = Math.Max(1, height * 6 / 10 / GlyphHeight);
        int advance = (GlyphWidth + 1) * scale;
        int x = x0 + (cell / 2);
        int y = y0 + ((height - (GlyphHeight * scale)) / 2);
        foreach (char c in text)
        {
            if (x + (GlyphWidth * scale) > frame.Width)
            {
                break;
            }

            var glyph = Glyph(char.ToUpperInvariant(c));
            for (int gy = 0; gy < GlyphHeight; gy++)
            {
                for (int gx = 0; gx < GlyphWidth; gx++)
                {
                    if ((glyph[gy] & (0x10 >> gx)) != 0)
                    {
                        Fill(frame, x + (gx * scale), y + (gy * scale), scale, scale, 235, 128, 128);
                    }
                }
            }

            x += advance;
        }
    }

    private static void Inset(I420Frame frame, int cell, byte[] hash)
    {
        // A 4x4 mosaic from the image's hash in a white frame, above the banner at the right: a different image shows
        // different colours, the same image always the same ones.
        int size = Math.Max(16, Math.Min(frame.Width, frame.Height) / 5) & ~3;
        int x0 = (frame.Width - size - cell) & ~1;
        int y0 = (frame.Height - (StateStamp.Rows * cell) - size - cell) & ~1;
        if (x0 < 0 || y0 < 0)
        {
            return;
        }

        Fill(frame, x0 - 2, y0 - 2, size + 4, size + 4, 235, 128, 128);
        int tile = size / 4;
        for (int i = 0; i < 16; i++)
        {
            byte y = (byte)(40 + (hash[i] % 180));
            byte u = (byte)(16 + (hash[16 + (i % 16)] % 224));
            byte v = (byte)(16 + (hash[(i * 7) % 32] % 224));
            Fill(frame, x0 + ((i % 4) * tile), y0 + ((i / 4) * tile), tile, tile, y, u, v);
        }
    }

    private static void Fill(I420Frame frame, int x, int y, int w, int h, byte luma, byte cb, byte cr)
    {
        int x0 = Math.Clamp(x, 0, frame.Width);
        int y0 = Math.Clamp(y, 0, frame.Height);
        int x1 = Math.Clamp(x + w, 0, frame.Width);
        int y1 = Math.Clamp(y + h, 0, frame.Height);
        if (x1 <= x0 || y1 <= y0)
        {
            return;
        }

        for (int row = y0; row < y1; row++)
        {
            frame.Y.Slice((row * frame.StrideY) + x0, x1 - x0).Fill(luma);
        }

        int cx0 = x0 / 2;
        int cx1 = Math.Min((x1 + 1) / 2, frame.ChromaWidth);
        for (int row = y0 / 2; row < Math.Min((y1 + 1) / 2, frame.ChromaHeight); row++)
        {
            frame.U.Slice((row * frame.StrideU) + cx0, cx1 - cx0).Fill(cb);
            frame.V.Slice((row * frame.StrideV) + cx0, cx1 - cx0).Fill(cr);
        }
    }

    /// <summary>A 5x7 glyph, one byte per row, bit 4 the leftmost pixel; unknown characters are a box.</summary>
    private static ReadOnlySpan<byte> Glyph(char c)
    {
        int index = c switch
        {
            >= 'A' and <= 'Z' => c - 'A',
            >= '0' and <= '9' => 26 + (c - '0'),
            ' ' => 36,
            '.' => 37,
            ',' => 38,
            '!' => 39,
            '?' => 40,
            '-' => 41,
            '\'' => 42,
            ':' => 43,
            '/' => 44,
            '+' => 45,
            _ => 46,
        };
        return Font.Slice(index * GlyphHeight, GlyphHeight);
    }

    private static ReadOnlySpan<byte> Font =>
    [
        0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11, // A
        0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E, // B
        0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E, // C
        0x1E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1E, // D
        0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F, // E
        0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10, // F
        0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F, // G
        0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11, // H
        0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E, // I
        0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C, // J
        0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11, // K
        0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F, // L
        0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11, // M
        0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11, // N
        0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E, // O
        0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10, // P
        0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D, // Q
        0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11, // R
        0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E, // S
        0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, // T
        0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E, // U
        0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04, // V
        0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A, // W
        0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11, // X
        0x11, 0x11, 0x0A, 0x04, 0x04, 0x04, 0x04, // Y
        0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F, // Z
        0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E, // 0
        0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E, // 1
        0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F, // 2
        0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E, // 3
        0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02, // 4
        0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E, // 5
        0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E, // 6
        0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08, // 7
        0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E, // 8
        0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C, // 9
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // space
        0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C, // .
        0x00, 0x00, 0x00, 0x00, 0x0C, 0x04, 0x08, // ,
        0x04, 0x04, 0x04, 0x04, 0x04, 0x00, 0x04, // !
        0x0E, 0x11, 0x01, 0x02, 0x04, 0x00, 0x04, // ?
        0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00, // -
        0x04, 0x04, 0x08, 0x00, 0x00, 0x00, 0x00, // '
        0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00, // :
        0x01, 0x01, 0x02, 0x04, 0x08, 0x10, 0x10, // /
        0x00, 0x04, 0x04, 0x1F, 0x04, 0x04, 0x00, // +
        0x1F, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1F, // anything else
    ];
}
