using System.Buffers.Binary;
using System.IO.Compression;

namespace Decart.Simulator.Rest;

/// <summary>Makes the simulator's "generated" images: real, deterministic PNGs whose colours come from a seed.</summary>
internal static class PngImage
{
    /// <summary>A width×height RGB gradient whose colours are derived from <paramref name="seed"/>.</summary>
    /// <param name="width">Width.</param>
    /// <param name="height">Height.</param>
    /// <param name="seed">Any bytes (e.g. a hash of the inputs).</param>
    /// <returns>PNG file bytes.</returns>
    public static byte[] Gradient(int width, int height, ReadOnlySpan<byte> seed)
    {
        byte r0 = seed.Length > 0 ? seed[0] : (byte)0, g0 = seed.Length > 1 ? seed[1] : (byte)0, b0 = seed.Length > 2 ? seed[2] : (byte)0;
        byte r1 = seed.Length > 3 ? seed[3] : (byte)255, g1 = seed.Length > 4 ? seed[4] : (byte)255, b1 = seed.Length > 5 ? seed[5] : (byte)255;
        var raw = new byte[height * (1 + (width * 3))];
        for (int y = 0; y < height; y++)
        {
            int row = y * (1 + (width * 3));
            raw[row] = 0;
            for (int x = 0; x < width; x++)
            {
                int t = width == 1 ? 0 : x * 255 / (width - 1);
                int s = height == 1 ? 0 : y * 255 / (height - 1);
                raw[row + 1 + (x * 3)] = (byte)(((r0 * (255 - t)) + (r1 * t)) / 255);
                raw[row + 2 + (x * 3)] = (byte)(((g0 * (255 - s)) + (g1 * s)) / 255);
                raw[row + 3 + (x * 3)] = (byte)((b0 + b1 + x + y) & 0xFF);
            }
        }

        using var png = new MemoryStream();
        png.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8;
        ihdr[9] = 2;
        Chunk(png, "IHDR", ihdr);
        using (var compressed = new MemoryStream())
        {
            using (var z = new ZLibStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
            {
                z.Write(raw);
            }

            Chunk(png, "IDAT", compressed.ToArray());
        }

        Chunk(png, "IEND", []);
        return png.ToArray();
    }

    private static void Chunk(Stream output, string type, byte[] data)
    {
        var header = new byte[8];
        BinaryPrimitives.WriteInt32BigEndian(header, data.Length);
        System.Text.Encoding.ASCII.GetBytes(type, header.AsSpan(4));
        output.Write(header);
        output.Write(data);
        uint crc = ~Decart.Rtc.Stun.Crc32.Append(Decart.Rtc.Stun.Crc32.Append(0xFFFFFFFF, header.AsSpan(4)), data);
        var trailer = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(trailer, crc);
        output.Write(trailer);
    }
}
