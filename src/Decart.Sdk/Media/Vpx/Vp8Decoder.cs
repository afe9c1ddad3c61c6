using System.Runtime.InteropServices;

namespace Decart.Sdk.Media.Vpx;

/// <summary>
/// A VP8 decoder on the system libvpx: encoded frames in, I420 frames out. A corrupt frame is a
/// <see cref="DecartException"/> for that frame only; the decoder stays usable (send a PLI and wait for a keyframe).
/// Not thread-safe.
/// </summary>
public sealed unsafe class Vp8Decoder : IDisposable
{
    private readonly LibVpx.Api _api;
    private nint _context;

    /// <summary>Creates a decoder.</summary>
    /// <param name="threads">Decoder threads (1 is plenty for 720p VP8).</param>
    /// <exception cref="DecartException"><see cref="DecartErrorCode.WebRtcError"/> when libvpx is missing (the message says what to install).</exception>
    public Vp8Decoder(int threads = 1)
    {
        _api = LibVpx.Native;
        _context = (nint)NativeMemory.AllocZeroed(LibVpx.ContextSize);
        var cfg = stackalloc int[3];
        cfg[0] = Math.Clamp(threads, 1, 8);
        try
        {
            LibVpx.Check(_api.DecInit(_context, _api.Vp8Dx(), (nint)cfg, new CLong(0), LibVpx.DecoderAbiVersion), _context, "decoder init");
        }
        catch
        {
            NativeMemory.Free((void*)_context);
            _context = 0;
            throw;
        }
    }

    /// <summary>Frames decoded so far.</summary>
    public long FramesDecoded { get; private set; }

    /// <summary>Decodes one encoded frame.</summary>
    /// <param name="encoded">A complete VP8 frame.</param>
    /// <returns>The picture (rented: dispose it), or <see langword="null"/> when the decoder produced none (e.g. a hidden frame).</returns>
    /// <exception cref="DecartException"><see cref="DecartErrorCode.InvalidInput"/> for an empty or corrupt frame.</exception>
    public I420Frame? Decode(ReadOnlySpan<byte> encoded)
    {
        ObjectDisposedException.ThrowIf(_context == 0, this);
        if (encoded.IsEmpty)
        {
            throw new DecartException(DecartErrorCode.InvalidInput, "cannot decode an empty VP8 frame.");
        }

        fixed (byte* data = encoded)
        {
            int result = _api.Decode(_context, data, (uint)encoded.Length, 0, new CLong(0));
            if (result != 0)
            {
                throw new DecartException(DecartErrorCode.InvalidInput, $"VP8 frame could not be decoded: {LibVpx.Describe(_context)}.");
            }
        }

        nint iterator = 0;
        I420Frame? last = null;
        nint image;
        while ((image = _api.GetFrame(_context, &iterator)) != 0)
        {
            last?.Dispose();
            last = CopyOut((byte*)image);
        }

        if (last is not null)
        {
            FramesDecoded++;
        }

        return last;
    }

    /// <summary>Releases the libvpx decoder.</summary>
    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases native memory if <see cref="Dispose"/> was not called.</summary>
    ~Vp8Decoder() => Free();

    private static I420Frame CopyOut(byte* img)
    {
        int width = (int)*(uint*)(img + LibVpx.ImgDisplayWidth);
        int height = (int)*(uint*)(img + LibVpx.ImgDisplayHeight);
        var planes = (byte**)(img + LibVpx.ImgPlanes);
        var strides = (int*)(img + LibVpx.ImgStrides);
        var frame = I420Frame.Rent(width, height);
        CopyPlane(planes[0], strides[0], frame.Y, frame.StrideY, width, height);
        CopyPlane(planes[1], strides[1], frame.U, frame.StrideU, frame.ChromaWidth, frame.ChromaHeight);
        CopyPlane(planes[2], strides[2], frame.V, frame.StrideV, frame.ChromaWidth, frame.ChromaHeight);
        return frame;
    }

    private static void CopyPlane(byte* source, int sourceStride, Span<byte> destination, int destinationStride, int width, int height)
    {
        for (int row = 0; row < height; row++)
        {
            new ReadOnlySpan<byte>(source + ((nint)row * sourceStride), width).CopyTo(destination.Slice(row * destinationStride, width));
        }
    }

    private void Free()
    {
        var context = Interlocked.Exchange(ref _context, 0);
        if (context != 0)
        {
            _api.Destroy(context);
            NativeMemory.Free((void*)context);
        }
    }
}
