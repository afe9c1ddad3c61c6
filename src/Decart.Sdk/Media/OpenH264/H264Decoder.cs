using System.Runtime.InteropServices;

namespace Decart.Sdk.Media.OpenH264;

/// <summary>
/// An H.264 decoder on Cisco's OpenH264 (Debian's <c>libopenh264-7</c>): Annex B access units in, I420 frames out.
/// Error concealment is off, so a damaged or undecodable access unit is a <see cref="DecartException"/> for that unit
/// only; the decoder stays usable (send a PLI and wait for an IDR). Not thread-safe.
/// </summary>
public sealed unsafe class H264Decoder : IDisposable
{
    private readonly LibOpenH264.Api _api;
    private nint _decoder;
    private readonly nint _info;

    /// <summary>Creates a decoder.</summary>
    /// <exception cref="DecartException"><see cref="DecartErrorCode.WebRtcError"/> when OpenH264 is missing (the message says what to install) or refuses.</exception>
    public H264Decoder()
    {
        _api = LibOpenH264.Native;
        nint decoder = 0;
        if (_api.CreateDecoder(&decoder).Value != 0 || decoder == 0)
        {
            throw new DecartException(DecartErrorCode.WebRtcError, "OpenH264 could not create a decoder.");
        }

        _decoder = decoder;
        _info = (nint)NativeMemory.AllocZeroed(LibOpenH264.BufferInfoSize);
        try
        {
            int quiet = LibOpenH264.LogQuiet;
            var setOption = (delegate* unmanaged<nint, int, void*, CLong>)LibOpenH264.Slot(_decoder, LibOpenH264.DecSetOption);
            setOption(_decoder, LibOpenH264.DecoderOptionTraceLevel, &quiet);
            var param = stackalloc byte[LibOpenH264.DecodingParamSize];
            new Span<byte>(param, LibOpenH264.DecodingParamSize).Clear();
            *(int*)(param + LibOpenH264.DecEcActiveIdc) = 0;               // no concealment: errors are errors
            *(uint*)(param + LibOpenH264.DecVideoProperty) = 8;            // sVideoProperty.size
            *(int*)(param + LibOpenH264.DecVideoProperty + 4) = 0;         // VIDEO_BITSTREAM_AVC
            var initialize = (delegate* unmanaged<nint, byte*, CLong>)LibOpenH264.Slot(_decoder, LibOpenH264.DecInitialize);
            long result = initialize(_decoder, param).Value;
            if (result != 0)
            {
                throw new DecartException(DecartErrorCode.WebRtcError, $"OpenH264 refused the decoder settings (error {result}).");
            }
        }
        catch
        {
            Free();
            throw;
        }
    }

    /// <summary>Frames decoded so far.</summary>
    public long FramesDecoded { get; private set; }

    /// <summary>Decodes one access unit.</summary>
    /// <param name="accessUnit">A complete Annex B access unit (start codes included).</param>
    /// <returns>The picture (rented: dispose it), or <see langword="null"/> when the unit produced none (parameter sets alone).</returns>
    /// <exception cref="DecartException"><see cref="DecartErrorCode.InvalidInput"/> for an empty or undecodable unit.</exception>
    public I420Frame? Decode(ReadOnlySpan<byte> accessUnit)
    {
        ObjectDisposedException.ThrowIf(_decoder == 0, this);
        if (accessUnit.IsEmpty)
        {
            throw new DecartException(DecartErrorCode.InvalidInput, "cannot decode an empty H.264 access unit.");
        }

        var info = (byte*)_info;
        new Span<byte>(info, LibOpenH264.BufferInfoSize).Clear();
        var planes = stackalloc byte*[3];
        int state;
        fixed (byte* data = accessUnit)
        {
            var decode = (delegate* unmanaged<nint, byte*, int, byte**, nint, int>)LibOpenH264.Slot(_decoder, LibOpenH264.DecDecodeFrameNoDelay);
            state = decode(_decoder, data, accessUnit.Length, planes, _info);
        }

        if (state != 0)
        {
            throw new DecartException(DecartErrorCode.InvalidInput, $"H.264 access unit could not be decoded (OpenH264 state 0x{state:x}).");
        }

        if (*(int*)(info + LibOpenH264.BufStatus) != 1)
        {
            return null;
        }

        int width = *(int*)(info + LibOpenH264.BufWidth);
        int height = *(int*)(info + LibOpenH264.BufHeight);
        var strides = (int*)(info + LibOpenH264.BufStrides);
        var dst = (byte**)(info + LibOpenH264.BufPlanes);
        var frame = I420Frame.Rent(width, height);
        CopyPlane(dst[0], strides[0], frame.Y, frame.StrideY, width, height);
        CopyPlane(dst[1], strides[1], frame.U, frame.StrideU, frame.ChromaWidth, frame.ChromaHeight);
        CopyPlane(dst[2], strides[1], frame.V, frame.StrideV, frame.ChromaWidth, frame.ChromaHeight);
        FramesDecoded++;
        return frame;
    }

    /// <summary>Releases the OpenH264 decoder.</summary>
    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases native memory if <see cref="Dispose"/> was not called.</summary>
    ~H264Decoder() => Free();

    private static void CopyPlane(byte* source, int sourceStride, Span<byte> destination, int destinationStride, int width, int height)
    {
        for (int row = 0; row < height; row++)
        {
            new ReadOnlySpan<byte>(source + ((long)row * sourceStride), width).CopyTo(destination.Slice(row * destinationStride, width));
        }
    }

    private void Free()
    {
        var decoder = Interlocked.Exchange(ref _decoder, 0);
        if (decoder != 0)
        {
            var uninitialize = (delegate* unmanaged<nint, CLong>)LibOpenH264.Slot(decoder, LibOpenH264.DecUninitialize);
            uninitialize(decoder);
            _api.DestroyDecoder(decoder);
            NativeMemory.Free((void*)_info);
        }
    }
}
