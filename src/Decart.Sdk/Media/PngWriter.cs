using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;

namespace Decart.Sdk.Media;

/// <summary>
/// Writes I420 frames as PNG snapshots (8-bit RGB, BT.601 limited-range conversion), so users and tests
/// can look at what was sent and received.
/// </summary>
public static class PngWriter
{
    private static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Writes <paramref name="frame"/> as a PNG file at <paramref name="path"/>, replacing any file there.</summary>
    /// <param name="frame">The frame.</param>
    /// <param name="path">Where to write.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task that completes when the file is written.</returns>
    public static async Task WriteAsync(I420Frame frame, string path, CancellationToken cancellationToken = default)
    {
        var bytes = Encode(frame);
        await File.WriteAllBytesAsync(path, bytes, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Encodes <paramref name="frame"/> as PNG bytes.</summary>
    /// <param name="frame">The frame.</param>
    /// <returns>A complete PNG file.</returns>
    public static byte[] Encode(I420Frame frame)
    {
        ArgumentNullException.ThrowIfNull(frame);
        using var output = new MemoryStream();
        output.Write(Signature);

        Span<byte> ihdr = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, frame.Width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr[4..], frame.Height);
        ihdr[8] = 8;  // bit depth
        ihdr[9] = 2;  // colour type: truecolour
        ihdr[10] = 0; // deflate
        ihdr[11] = 0; // adaptive filtering
        ihdr[12] = 0; // no interlace
        WriteChunk(output, "IHDR"u8, ihdr);

        using (var idat = new MemoryStream())
        {
            using (var zlib = new ZLibStream(idat, CompressionLevel.Fastest, leaveOpen: true))
            {
                int rowBytes = 1 + (frame.Width * 3);
                byte[] row = ArrayPool<byte>.Shared.Rent(rowBytes);
                try
                {
                    for (int y = 0; y < frame.Height; y++)
                    {
                        row[0] = 0; // filter: none
                        ConvertRow(frame, y, row.AsSpan(1, frame.Width * 3));
                        zlib.Write(row, 0, rowBytes);
                    }
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(row);
                }
            }

            WriteChunk(output, "IDAT"u8, idat.GetBuffer().AsSpan(0, (int)idat.Length));
        }

        WriteChunk(output, "IEND"u8, []);
        return output.ToArray();
    }

    private static void ConvertRow(I420Frame frame, int y, Span<byte> rgb)
    {
        var yRow = frame.Y.Slice(y * frame.StrideY, frame.Width);
        var uRow = frame.U.Slice((y / 2) * frame.StrideU, frame.ChromaWidth);
        var vRow = frame.V.Slice((y / 2) * frame.StrideV, frame.ChromaWidth);
        for (int x = 0; x < frame.Width; x++)
        {
            int c = yRow[x] - 16;
            int d = uRow[x / 2] - 128;
            int e = vRow[x / 2] - 128;
            rgb[(x * 3) + 0] = Clamp(((298 * c) + (409 * e) + 128) >> 8);
            rgb[(x * 3) + 1] = Clamp(((298 * c) - (100 * d) - (208 * e) + 128) >> 8);
            rgb[(x * 3) + 2] = Clamp(((298 * c) + (516 * d) + 128) >> 8);
        }
    }

    private static byte Clamp(int value) => (byte)Math.Clamp(value, 0, 255);

    private static void WriteChunk(Stream output, ReadOnlySpan<byte> type, ReadOnlySpan<byte> data)
    {
        Span<byte> header = stackalloc byte[8];
        BinaryPrimitives.WriteInt32BigEndian(header, data.Length);
        type.CopyTo(header[4..]);
        output.Write(header);
        output.Write(data);
        uint crc = ~Decart.Rtc.Stun.Crc32.Append(Decart.Rtc.Stun.Crc32.Append(0xFFFFFFFFu, type), data);
        Span<byte> trailer = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(trailer, crc);
        output.Write(trailer);
    }
}
