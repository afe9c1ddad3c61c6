using System.Buffers.Binary;
using System.IO.Compression;
using Decart.Sdk.Media;

namespace Decart.Sdk.Tests.Media;

public class PngWriterTests
{
    [Theory]
    [InlineData(64, 48)]
    [InlineData(33, 17)]
    public void Snapshot_is_a_valid_png_with_correct_crcs_and_pixels(int width, int height)
    {
        using var frame = I420Frame.Rent(width, height);
        frame.Fill(235, 128, 128); // white
        frame.Y[0] = 16;            // one black pixel at the top left

        var png = PngWriter.Encode(frame);

        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, png[..8]);
        int offset = 8;
        var chunks = new List<string>();
        using var idat = new MemoryStream();
        while (offset < png.Length)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(offset));
            string type = System.Text.Encoding.ASCII.GetString(png, offset + 4, 4);
            var body = png.AsSpan(offset + 8, length);
            uint crc = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(offset + 8 + length));
            Assert.Equal(ReferenceCrc(png.AsSpan(offset + 4, length + 4)), crc);
            if (type == "IHDR")
            {
                Assert.Equal(width, BinaryPrimitives.ReadInt32BigEndian(body));
                Assert.Equal(height, BinaryPrimitives.ReadInt32BigEndian(body[4..]));
            }

            if (type == "IDAT")
            {
                idat.Write(body);
            }

            chunks.Add(type);
            offset += 12 + length;
        }

        Assert.Equal(["IHDR", "IDAT", "IEND"], chunks);
        idat.Position = 0;
        using var z = new ZLibStream(idat, CompressionMode.Decompress);
        using var raw = new MemoryStream();
        z.CopyTo(raw);
        var pixels = raw.ToArray();
        Assert.Equal(height * (1 + (width * 3)), pixels.Length);
        Assert.Equal(0, pixels[1]);    // black pixel: R
        Assert.Equal(255, pixels[4]);  // its neighbour is white
    }

    private static uint ReferenceCrc(ReadOnlySpan<byte> data)
    {
        // Bitwise CRC-32, independent of the table-driven one under test.
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
            }
        }

        return ~crc;
    }
}
