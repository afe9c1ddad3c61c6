using System.Runtime.InteropServices;

namespace Decart.Sdk.Media.OpenH264;

/// <summary>Settings of an <see cref="H264Encoder"/>: realtime camera usage, bitrate rate control, no skipped frames.</summary>
public sealed record H264EncoderOptions
{
    /// <summary>Frame width in pixels (even; the model's width).</summary>
    public required int Width { get; init; }

    /// <summary>Frame height in pixels (even; the model's height).</summary>
    public required int Height { get; init; }

    /// <summary>Frames per second (the model's fps). Default 30.</summary>
    public int Fps { get; init; } = 30;

    /// <summary>Target bitrate in kbit/s. Default 2,500.</summary>
    public int TargetBitrateKbps { get; init; } = 2500;

    /// <summary>Longest distance between IDR frames, in frames; 0 = only on request. Default 0 (IDRs come on request, by PLI).</summary>
    public int MaxKeyframeInterval { get; init; }
}

/// <summary>
/// An H.264 encoder on Cisco's OpenH264 (Debian's <c>libopenh264-7</c>): I420 in, an Annex B access unit out
/// (constrained baseline, SPS and PPS before every IDR — what WebRTC's H.264 packetization-mode 1 carries), IDR on
/// request (<see cref="RequestKeyframe"/>). Not thread-safe: one thread encodes at a time.
/// </summary>
public sealed unsafe class H264Encoder : IDisposable, IFrameEncoder
{
    private readonly LibOpenH264.Api _api;
    private nint _encoder;
    private readonly nint _picture;
    private readonly nint _info;
    private long _frames;
    private int _keyframeRequested;

    /// <summary>Creates an encoder.</summary>
    /// <param name="options">Size, rate and bitrate.</param>
    /// <exception cref="DecartException"><see cref="DecartErrorCode.InvalidOptions"/> for bad settings (an odd size among them);
    /// <see cref="DecartErrorCode.WebRtcError"/> when OpenH264 is missing (the message says what to install) or refuses.</exception>
    public H264Encoder(H264EncoderOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Width is < 16 or > 4096 || options.Height is < 16 or > 4096 || options.Width % 2 != 0 || options.Height % 2 != 0)
        {
            throw new DecartException(DecartErrorCode.InvalidOptions, $"H.264 frame size {options.Width}x{options.Height} must be even and 16..4096.");
        }

        if (options.Fps is < 1 or > 60 || options.TargetBitrateKbps is < 50 or > 100_000 || options.MaxKeyframeInterval < 0)
        {
            throw new DecartException(DecartErrorCode.InvalidOptions, $"H.264 fps {options.Fps}, bitrate {options.TargetBitrateKbps} kbit/s or keyframe interval {options.MaxKeyframeInterval} is out of range.");
        }

        Options = options;
        _api = LibOpenH264.Native;
        nint encoder = 0;
        if (_api.CreateEncoder(&encoder) != 0 || encoder == 0)
        {
            throw new DecartException(DecartErrorCode.WebRtcError, "OpenH264 could not create an encoder.");
        }

        _encoder = encoder;
        _picture = (nint)NativeMemory.AllocZeroed(LibOpenH264.SourcePictureSize);
        _info = (nint)NativeMemory.AllocZeroed(LibOpenH264.FrameBsInfoSize);
        try
        {
            SetIntOption(LibOpenH264.EncoderOptionTraceLevel, LibOpenH264.LogQuiet);
            var param = stackalloc byte[LibOpenH264.EncParamBaseSize];
            new Span<byte>(param, LibOpenH264.EncParamBaseSize).Clear();
            ((int*)param)[0] = LibOpenH264.UsageCameraRealTime;
            ((int*)param)[1] = options.Width;
            ((int*)param)[2] = options.Height;
            ((int*)param)[3] = options.TargetBitrateKbps * 1000;
            ((int*)param)[4] = LibOpenH264.RcBitrateMode;
            ((float*)param)[5] = options.Fps;
            var initialize = (delegate* unmanaged<nint, byte*, int>)LibOpenH264.Slot(_encoder, LibOpenH264.EncInitialize);
            int result = initialize(_encoder, param);
            if (result != 0)
            {
                throw new DecartException(DecartErrorCode.WebRtcError, $"OpenH264 refused the encoder settings (error {result}).");
            }

            SetIntOption(LibOpenH264.EncoderOptionTraceLevel, LibOpenH264.LogQuiet);
            SetIntOption(LibOpenH264.EncoderOptionIdrInterval, options.MaxKeyframeInterval);
            byte skip = 0; // a realtime model never skips a frame it was asked to make
            var setOption = (delegate* unmanaged<nint, int, void*, int>)LibOpenH264.Slot(_encoder, LibOpenH264.EncSetOption);
            setOption(_encoder, LibOpenH264.EncoderOptionRcFrameSkip, &skip);
        }
        catch
        {
            Free();
            throw;
        }
    }

    /// <summary>The settings the encoder runs with.</summary>
    public H264EncoderOptions Options { get; }

    /// <summary>Frames encoded so far.</summary>
    public long FramesEncoded => _frames;

    /// <summary>A safe size for <see cref="Encode"/>'s destination.</summary>
    public int MaxEncodedSize => Math.Max(64 * 1024, Options.Width * Options.Height * 3 / 2);

    /// <summary>Makes the next encoded frame an IDR (call on an RTCP PLI or FIR).</summary>
    public void RequestKeyframe() => Interlocked.Exchange(ref _keyframeRequested, 1);

    /// <summary>Changes the target bitrate (e.g. from the network's estimate) from the next frame on, without a keyframe.</summary>
    /// <param name="kbps">New target in kbit/s (10–100,000).</param>
    /// <exception cref="DecartException"><see cref="DecartErrorCode.InvalidOptions"/> out of range.</exception>
    public void SetTargetBitrate(int kbps)
    {
        ObjectDisposedException.ThrowIf(_encoder == 0, this);
        if (kbps is < 10 or > 100_000)
        {
            throw new DecartException(DecartErrorCode.InvalidOptions, $"bitrate {kbps} kbit/s is out of range.");
        }

        // SBitrateInfo { LAYER_NUM iLayer; int iBitrate; } for all spatial layers, in bit/s.
        var info = stackalloc int[2];
        info[0] = LibOpenH264.SpatialLayerAll;
        info[1] = kbps * 1000;
        var setOption = (delegate* unmanaged<nint, int, void*, int>)LibOpenH264.Slot(_encoder, LibOpenH264.EncSetOption);
        int result = setOption(_encoder, LibOpenH264.EncoderOptionBitrate, info);
        if (result != 0)
        {
            throw new DecartException(DecartErrorCode.WebRtcError, $"OpenH264 refused the bitrate {kbps} kbit/s (error {result}).");
        }
    }

    /// <summary>Encodes one frame as an Annex B access unit into <paramref name="destination"/>.</summary>
    /// <param name="frame">An I420 frame of the encoder's size.</param>
    /// <param name="destination">Where the access unit goes; <see cref="MaxEncodedSize"/> bytes always suffice.</param>
    /// <param name="isKeyframe">Whether it is an IDR.</param>
    /// <returns>Bytes written; 0 when the encoder produced nothing for this frame.</returns>
    /// <exception cref="DecartException"><see cref="DecartErrorCode.InvalidInput"/> for a frame of another size or a too small destination.</exception>
    public int Encode(I420Frame frame, Span<byte> destination, out bool isKeyframe)
    {
        ArgumentNullException.ThrowIfNull(frame);
        ObjectDisposedException.ThrowIf(_encoder == 0, this);
        if (frame.Width != Options.Width || frame.Height != Options.Height)
        {
            throw new DecartException(DecartErrorCode.InvalidInput, $"frame is {frame.Width}x{frame.Height}, the encoder expects {Options.Width}x{Options.Height}.");
        }

        isKeyframe = false;
        if (Interlocked.Exchange(ref _keyframeRequested, 0) == 1)
        {
            // ForceIntraFrame(bool bIDR, int iLayerId = -1): the C++ default must be passed explicitly from C.
            var force = (delegate* unmanaged<nint, byte, int, int>)LibOpenH264.Slot(_encoder, LibOpenH264.EncForceIntraFrame);
            force(_encoder, 1, -1);
        }

        int result;
        fixed (byte* pixels = frame.Data)
        {
            var pic = (byte*)_picture;
            *(int*)(pic + LibOpenH264.SrcColorFormat) = LibOpenH264.VideoFormatI420;
            var strides = (int*)(pic + LibOpenH264.SrcStrides);
            strides[0] = frame.StrideY;
            strides[1] = frame.StrideU;
            strides[2] = frame.StrideV;
            var planes = (byte**)(pic + LibOpenH264.SrcPlanes);
            planes[0] = pixels;
            planes[1] = pixels + (frame.StrideY * frame.Height);
            planes[2] = planes[1] + (frame.StrideU * frame.ChromaHeight);
            *(int*)(pic + LibOpenH264.SrcWidth) = frame.Width;
            *(int*)(pic + LibOpenH264.SrcHeight) = frame.Height;
            *(long*)(pic + LibOpenH264.SrcTimestamp) = _frames * 1000 / Options.Fps;
            var encode = (delegate* unmanaged<nint, nint, nint, int>)LibOpenH264.Slot(_encoder, LibOpenH264.EncEncodeFrame);
            result = encode(_encoder, _picture, _info);
        }

        _frames++;
        if (result != 0)
        {
            throw new DecartException(DecartErrorCode.WebRtcError, $"OpenH264 could not encode the frame (error {result}).");
        }

        var info = (byte*)_info;
        int type = *(int*)(info + LibOpenH264.FrameType);
        if (type == LibOpenH264.FrameTypeSkip)
        {
            return 0;
        }

        isKeyframe = type is LibOpenH264.FrameTypeIdr or LibOpenH264.FrameTypeI;
        int written = 0;
        int layers = *(int*)(info + LibOpenH264.FrameLayerCount);
        for (int l = 0; l < layers; l++)
        {
            var layer = info + LibOpenH264.FrameLayers + (l * LibOpenH264.LayerSize);
            int nals = *(int*)(layer + LibOpenH264.LayerNalCount);
            var lengths = *(int**)(layer + LibOpenH264.LayerNalLengths);
            var buffer = *(byte**)(layer + LibOpenH264.LayerBuffer);
            int size = 0;
            for (int n = 0; n < nals; n++)
            {
                size += lengths[n];
            }

            if (written + size > destination.Length)
            {
                throw new DecartException(DecartErrorCode.InvalidInput, $"encoded frame of {written + size} bytes does not fit the {destination.Length}-byte destination.");
            }

            new ReadOnlySpan<byte>(buffer, size).CopyTo(destination[written..]); // NAL units with their start codes
            written += size;
        }

        return written;
    }

    /// <summary>Releases the OpenH264 encoder.</summary>
    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases native memory if <see cref="Dispose"/> was not called.</summary>
    ~H264Encoder() => Free();

    private void SetIntOption(int option, int value)
    {
        var setOption = (delegate* unmanaged<nint, int, void*, int>)LibOpenH264.Slot(_encoder, LibOpenH264.EncSetOption);
        setOption(_encoder, option, &value);
    }

    private void Free()
    {
        var encoder = Interlocked.Exchange(ref _encoder, 0);
        if (encoder != 0)
        {
            var uninitialize = (delegate* unmanaged<nint, int>)LibOpenH264.Slot(encoder, LibOpenH264.EncUninitialize);
            uninitialize(encoder);
            _api.DestroyEncoder(encoder);
            NativeMemory.Free((void*)_picture);
            NativeMemory.Free((void*)_info);
        }
    }
}
