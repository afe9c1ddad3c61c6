namespace Decart.Sdk.Media;

/// <summary>Halves a picture in each direction (a 2×2 box filter on every plane), for simulcast's smaller layers. No allocation.</summary>
internal static class FrameScaler
{
    /// <summary>Writes <paramref name="source"/> at half its width and height into <paramref name="destination"/>.</summary>
    /// <param name="source">The picture (width and height multiples of 4).</param>
    /// <param name="destination">A picture of half the size.</param>
    public static void Halve(I420Frame source, I420Frame destination)
    {
        if (destination.Width * 2 != source.Width || destination.Height * 2 != source.Height)
        {
            throw new ArgumentException($"{destination.Width}x{destination.Height} is not half of {source.Width}x{source.Height}", nameof(destination));
        }

        Plane(source.Y, source.StrideY, destination.Y, destination.StrideY, destination.Width, destination.Height);
        Plane(source.U, source.StrideU, destination.U, destination.StrideU, destination.ChromaWidth, destination.ChromaHeight);
        Plane(source.V, source.StrideV, destination.V, destination.StrideV, destination.ChromaWidth, destination.ChromaHeight);
        destination.Timestamp = source.Timestamp;
    }

    private static void Plane(ReadOnlySpan<byte> source, int sourceStride, Span<byte> destination, int destinationStride, int width, int height)
    {
        for (int y = 0; y < height; y++)
        {
            var top = source.Slice(2 * y * sourceStride, 2 * width);
            var bottom = source.Slice(((2 * y) + 1) * sourceStride, 2 * width);
            var row = destination.Slice(y * destinationStride, width);
            for (int x = 0; x < width; x++)
            {
                row[x] = (byte)((top[2 * x] + top[(2 * x) + 1] + bottom[2 * x] + bottom[(2 * x) + 1] + 2) >> 2);
            }
        }
    }
}
