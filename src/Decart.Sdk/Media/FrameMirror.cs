using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Decart.Sdk.Media;

/// <summary>
/// Horizontal mirroring of I420 frames, as <c>mirror</c> does to the frames sent to a front camera
/// session. Rows are reversed with 256- or 128-bit vector shuffles where the CPU has them, and a scalar
/// loop otherwise; both give identical bytes.
/// </summary>
public static class FrameMirror
{
    /// <summary>Writes the horizontal mirror image of <paramref name="source"/> into <paramref name="destination"/>.</summary>
    /// <param name="source">The frame to read.</param>
    /// <param name="destination">A frame of the same size to write; may not be <paramref name="source"/> itself.</param>
    /// <exception cref="DecartException"><see cref="DecartErrorCode.InvalidInput"/> when the sizes differ or both are the same frame.</exception>
    public static void MirrorHorizontal(I420Frame source, I420Frame destination)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(destination);
        if (ReferenceEquals(source, destination))
        {
            throw new DecartException(DecartErrorCode.InvalidInput, "mirror needs a separate destination frame; use MirrorHorizontalInPlace.");
        }

        if (source.Width != destination.Width || source.Height != destination.Height)
        {
            throw new DecartException(DecartErrorCode.InvalidInput, $"mirror destination is {destination.Width}x{destination.Height}, source is {source.Width}x{source.Height}.");
        }

        MirrorPlane(source.Y, source.StrideY, destination.Y, destination.StrideY, source.Width, source.Height);
        MirrorPlane(source.U, source.StrideU, destination.U, destination.StrideU, source.ChromaWidth, source.ChromaHeight);
        MirrorPlane(source.V, source.StrideV, destination.V, destination.StrideV, source.ChromaWidth, source.ChromaHeight);
        destination.Timestamp = source.Timestamp;
    }

    /// <summary>Mirrors <paramref name="frame"/> horizontally in place.</summary>
    /// <param name="frame">The frame to flip.</param>
    public static void MirrorHorizontalInPlace(I420Frame frame)
    {
        ArgumentNullException.ThrowIfNull(frame);
        ReversePlaneInPlace(frame.Y, frame.StrideY, frame.Width, frame.Height);
        ReversePlaneInPlace(frame.U, frame.StrideU, frame.ChromaWidth, frame.ChromaHeight);
        ReversePlaneInPlace(frame.V, frame.StrideV, frame.ChromaWidth, frame.ChromaHeight);
    }

    /// <summary>Mirrors one plane: each of <paramref name="height"/> rows of <paramref name="width"/> bytes is reversed.</summary>
    /// <param name="source">Source plane.</param>
    /// <param name="sourceStride">Bytes between source rows.</param>
    /// <param name="destination">Destination plane (must not overlap the source).</param>
    /// <param name="destinationStride">Bytes between destination rows.</param>
    /// <param name="width">Row width in bytes.</param>
    /// <param name="height">Number of rows.</param>
    public static void MirrorPlane(ReadOnlySpan<byte> source, int sourceStride, Span<byte> destination, int destinationStride, int width, int height)
    {
        for (int row = 0; row < height; row++)
        {
            ReverseRow(source.Slice(row * sourceStride, width), destination.Slice(row * destinationStride, width));
        }
    }

    /// <summary>The plain per-byte loop every vector path must match; kept public as the benchmark baseline.</summary>
    /// <param name="source">Source plane.</param>
    /// <param name="sourceStride">Bytes between source rows.</param>
    /// <param name="destination">Destination plane.</param>
    /// <param name="destinationStride">Bytes between destination rows.</param>
    /// <param name="width">Row width in bytes.</param>
    /// <param name="height">Number of rows.</param>
    public static void MirrorPlaneScalar(ReadOnlySpan<byte> source, int sourceStride, Span<byte> destination, int destinationStride, int width, int height)
    {
        for (int row = 0; row < height; row++)
        {
            var src = source.Slice(row * sourceStride, width);
            var dst = destination.Slice(row * destinationStride, width);
            for (int i = 0; i < width; i++)
            {
                dst[width - 1 - i] = src[i];
            }
        }
    }

    private static void ReversePlaneInPlace(Span<byte> plane, int stride, int width, int height)
    {
        for (int row = 0; row < height; row++)
        {
            plane.Slice(row * stride, width).Reverse();
        }
    }

    /// <summary>dst[i] = src[n - 1 - i], using the widest vector the CPU accelerates.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ReverseRow(ReadOnlySpan<byte> src, Span<byte> dst)
    {
        int n = src.Length;
        ref byte s = ref MemoryMarshal.GetReference(src);
        ref byte d = ref MemoryMarshal.GetReference(dst);
        int i = 0;
        if (Avx2.IsSupported && n >= Vector256<byte>.Count)
        {
            // vpshufb reverses the bytes inside each 128-bit lane; vpermq then swaps the two lanes.
            var inLane = Vector256.Create(
                (byte)15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0,
                15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
            for (; i <= n - Vector256<byte>.Count; i += Vector256<byte>.Count)
            {
                var v = Avx2.Shuffle(Vector256.LoadUnsafe(ref s, (nuint)i), inLane);
                Avx2.Permute4x64(v.AsUInt64(), 0b01_00_11_10).AsByte().StoreUnsafe(ref d, (nuint)(n - i - Vector256<byte>.Count));
            }
        }

        if (Vector128.IsHardwareAccelerated && n - i >= Vector128<byte>.Count)
        {
            var reverse = Vector128.Create((byte)15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
            for (; i <= n - Vector128<byte>.Count; i += Vector128<byte>.Count)
            {
                var v = Vector128.LoadUnsafe(ref s, (nuint)i);
                Vector128.Shuffle(v, reverse).StoreUnsafe(ref d, (nuint)(n - i - Vector128<byte>.Count));
            }
        }

        for (; i < n; i++)
        {
            Unsafe.Add(ref d, n - 1 - i) = Unsafe.Add(ref s, i);
        }
    }
}
