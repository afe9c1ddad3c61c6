using System.Buffers;

namespace Decart.Sdk.Media;

/// <summary>
/// A raw video frame in I420 (YUV 4:2:0 planar) layout: a full-size Y plane followed by quarter-size U and
/// V planes. The pixels live in one buffer rented from <see cref="ArrayPool{T}.Shared"/>; dispose the frame
/// to return it. Odd widths and heights are allowed: chroma planes are <c>(w + 1) / 2</c> by <c>(h + 1) / 2</c>.
/// </summary>
public sealed class I420Frame : IDisposable
{
    private byte[]? _buffer;

    private I420Frame(int width, int height, byte[] buffer)
    {
        Width = width;
        Height = height;
        StrideY = width;
        ChromaWidth = (width + 1) / 2;
        ChromaHeight = (height + 1) / 2;
        StrideU = ChromaWidth;
        StrideV = ChromaWidth;
        _buffer = buffer;
    }

    /// <summary>Width of the picture in pixels.</summary>
    public int Width { get; }

    /// <summary>Height of the picture in pixels.</summary>
    public int Height { get; }

    /// <summary>Width of the U and V planes: <c>(Width + 1) / 2</c>.</summary>
    public int ChromaWidth { get; }

    /// <summary>Height of the U and V planes: <c>(Height + 1) / 2</c>.</summary>
    public int ChromaHeight { get; }

    /// <summary>Bytes between the starts of two Y rows.</summary>
    public int StrideY { get; }

    /// <summary>Bytes between the starts of two U rows.</summary>
    public int StrideU { get; }

    /// <summary>Bytes between the starts of two V rows.</summary>
    public int StrideV { get; }

    /// <summary>When the frame was captured, relative to the start of its stream.</summary>
    public TimeSpan Timestamp { get; set; }

    /// <summary>Total bytes of the three planes.</summary>
    public int Length => (StrideY * Height) + (StrideU * ChromaHeight) + (StrideV * ChromaHeight);

    /// <summary>The Y (luma) plane.</summary>
    public Span<byte> Y => Buffer.AsSpan(0, StrideY * Height);

    /// <summary>The U (Cb) plane.</summary>
    public Span<byte> U => Buffer.AsSpan(StrideY * Height, StrideU * ChromaHeight);

    /// <summary>The V (Cr) plane.</summary>
    public Span<byte> V => Buffer.AsSpan((StrideY * Height) + (StrideU * ChromaHeight), StrideV * ChromaHeight);

    /// <summary>All three planes, back to back (Y, U, V) as libvpx and IVF raw files expect.</summary>
    public Span<byte> Data => Buffer.AsSpan(0, Length);

    private byte[] Buffer => _buffer ?? throw new ObjectDisposedException(nameof(I420Frame));

    /// <summary>The frame's pixels as memory (for asynchronous pipe I/O), <see cref="Length"/> bytes.</summary>
    internal Memory<byte> Memory => Buffer.AsMemory(0, Length);

    /// <summary>Rents a frame of the given size. Its contents are unspecified until written.</summary>
    /// <param name="width">Width in pixels, 1 to 16384.</param>
    /// <param name="height">Height in pixels, 1 to 16384.</param>
    /// <returns>A frame to dispose when done.</returns>
    /// <exception cref="DecartException"><see cref="DecartErrorCode.InvalidInput"/> for an out-of-range size.</exception>
    public static I420Frame Rent(int width, int height)
    {
        if (width is < 1 or > 16384 || height is < 1 or > 16384)
        {
            throw new DecartException(DecartErrorCode.InvalidInput, $"frame size {width}x{height} is out of range (1..16384).");
        }

        int chroma = ((width + 1) / 2) * ((height + 1) / 2);
        return new I420Frame(width, height, ArrayPool<byte>.Shared.Rent((width * height) + (2 * chroma)));
    }

    /// <summary>Copies this frame's pixels and timestamp into a new rented frame.</summary>
    /// <returns>The copy.</returns>
    public I420Frame Clone()
    {
        var copy = Rent(Width, Height);
        Data.CopyTo(copy.Data);
        copy.Timestamp = Timestamp;
        return copy;
    }

    /// <summary>Fills the frame with one colour.</summary>
    /// <param name="y">Luma.</param>
    /// <param name="u">Cb.</param>
    /// <param name="v">Cr.</param>
    public void Fill(byte y, byte u, byte v)
    {
        Y.Fill(y);
        U.Fill(u);
        V.Fill(v);
    }

    /// <summary>Returns the pixel buffer to the pool. The frame cannot be used afterwards.</summary>
    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, null);
        if (buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
