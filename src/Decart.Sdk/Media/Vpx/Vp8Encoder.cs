using System.Runtime.InteropServices;

namespace Decart.Sdk.Media.Vpx;

/// <summary>Settings of a <see cref="Vp8Encoder"/>; the defaults are tuned for a realtime session on a 2-core machine.</summary>
public sealed record Vp8EncoderOptions
{
    /// <summary>Frame width in pixels (the model's width).</summary>
    public required int Width { get; init; }

    /// <summary>Frame height in pixels (the model's height).</summary>
    public required int Height { get; init; }

    /// <summary>Frames per second (the model's fps).</summary>
    public int Fps { get; init; } = 30;

    /// <summary>Target bitrate in kbit/s. Default 1,500.</summary>
    public int TargetBitrateKbps { get; init; } = 1500;

    /// <summary>Encoder threads. Default: half the cores, at least 1, at most 4.</summary>
    public int Threads { get; init; } = Math.Clamp(Environment.ProcessorCount / 2, 1, 4);

    /// <summary>libvpx speed (<c>VP8E_SET_CPUUSED</c>, -16..16; higher is faster). Default 10: realtime on 2 cores at 1088×624.</summary>
    public int CpuUsed { get; init; } = 10;

    /// <summary>Whether the bitstream is error resilient (recommended with packet loss). Default on.</summary>
    public bool ErrorResilient { get; init; } = true;

    /// <summary>Longest distance between keyframes, in frames. Default 3,000 (keyframes come on request, by PLI).</summary>
    public int MaxKeyframeInterval { get; init; } = 3000;
}

/// <summary>
/// A VP8 encoder on the system libvpx with realtime settings: one-pass CBR, no lag, realtime deadline,
/// error resilient, keyframes on request (<see cref="RequestKeyframe"/>, e.g. on an RTCP PLI).
/// Not thread-safe: one thread encodes at a time.
/// </summary>
public sealed unsafe class Vp8Encoder : IDisposable, IFrameEncoder
{
    private readonly LibVpx.Api _api;
    private nint _context;
    private readonly nint _config;
    private readonly nint _image;
    private long _pts;
    private int _keyframeRequested = 1;

    /// <summary>Creates an encoder.</summary>
    /// <param name="options">Size, rate and tuning.</param>
    /// <exception cref="DecartException"><see cref="DecartErrorCode.InvalidOptions"/> for bad settings;
    /// <see cref="DecartErrorCode.WebRtcError"/> when libvpx is missing (the message says what to install) or refuses.</exception>
    public Vp8Encoder(Vp8EncoderOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Width is < 2 or > 16384 || options.Height is < 2 or > 16384)
        {
            throw new DecartException(DecartErrorCode.InvalidOptions, $"VP8 frame size {options.Width}x{options.Height} is out of range.");
        }

        if (options.Fps is < 1 or > 240 || options.TargetBitrateKbps is < 10 or > 100_000)
        {
            throw new DecartException(DecartErrorCode.InvalidOptions, $"VP8 fps {options.Fps} or bitrate {options.TargetBitrateKbps} kbit/s is out of range.");
        }

        Options = options;
        _api = LibVpx.Native;
        _config = (nint)NativeMemory.AllocZeroed(LibVpx.EncoderConfigSize);
        _context = (nint)NativeMemory.AllocZeroed(LibVpx.ContextSize);
        _image = (nint)NativeMemory.AllocZeroed(LibVpx.ImageSize);
        try
        {
            var iface = _api.Vp8Cx();
            LibVpx.Check(_api.EncConfigDefault(iface, _config, 0), 0, "config default");
            var cfg = (byte*)_config;
            Set(cfg, LibVpx.CfgThreads, options.Threads);
            Set(cfg, LibVpx.CfgWidth, options.Width);
            Set(cfg, LibVpx.CfgHeight, options.Height);
            Set(cfg, LibVpx.CfgTimebase, 1);
            Set(cfg, LibVpx.CfgTimebase + 4, options.Fps);
            Set(cfg, LibVpx.CfgErrorResilient, options.ErrorResilient ? 1 : 0);
            Set(cfg, LibVpx.CfgPass, 0);
            Set(cfg, LibVpx.CfgLagInFrames, 0);
            Set(cfg, LibVpx.CfgDropframeThreshold, 0);
            Set(cfg, LibVpx.CfgEndUsage, 1); // CBR
            Set(cfg, LibVpx.CfgTargetBitrate, options.TargetBitrateKbps);
            Set(cfg, LibVpx.CfgMinQuantizer, 2);
            Set(cfg, LibVpx.CfgMaxQuantizer, 56);
            Set(cfg, LibVpx.CfgUndershootPct, 100);
            Set(cfg, LibVpx.CfgOvershootPct, 15);
            Set(cfg, LibVpx.CfgBufferSize, 1000);
            Set(cfg, LibVpx.CfgBufferInitialSize, 500);
            Set(cfg, LibVpx.CfgBufferOptimalSize, 600);
            Set(cfg, LibVpx.CfgKeyframeMode, 1); // auto
            Set(cfg, LibVpx.CfgKeyframeMinDistance, 0);
            Set(cfg, LibVpx.CfgKeyframeMaxDistance, options.MaxKeyframeInterval);
            LibVpx.Check(_api.EncInit(_context, iface, _config, new CLong(0), LibVpx.EncoderAbiVersion), _context, "encoder init");
            LibVpx.Check(_api.ControlInt(_context, LibVpx.Vp8eSetCpuUsed, options.CpuUsed), _context, "set cpu-used");
            LibVpx.Check(_api.ControlInt(_context, LibVpx.Vp8eSetNoiseSensitivity, 0), _context, "set noise sensitivity");
            LibVpx.Check(_api.ControlInt(_context, LibVpx.Vp8eSetStaticThreshold, 1), _context, "set static threshold");
            LibVpx.Check(_api.ControlInt(_context, LibVpx.Vp8eSetMaxIntraBitratePct, 300), _context, "set max intra bitrate");
        }
        catch
        {
            FreeNative(destroy: false);
            throw;
        }
    }

    /// <summary>The settings the encoder runs with.</summary>
    public Vp8EncoderOptions Options { get; }

    /// <summary>Frames encoded so far.</summary>
    public long FramesEncoded => _pts;

    /// <summary>Makes the next encoded frame a keyframe (call on an RTCP PLI or FIR).</summary>
    public void RequestKeyframe() => Interlocked.Exchange(ref _keyframeRequested, 1);

    /// <summary>Largest encoded frame this encoder can produce for its size: a safe size for <see cref="Encode"/>'s destination.</summary>
    public int MaxEncodedSize => Math.Max(64 * 1024, Options.Width * Options.Height * 3 / 2);

    /// <summary>Encodes one frame into <paramref name="destination"/>.</summary>
    /// <param name="frame">An I420 frame of the encoder's size.</param>
    /// <param name="destination">Where the encoded frame goes; <see cref="MaxEncodedSize"/> bytes always suffice.</param>
    /// <param name="isKeyframe">Whether the output is a keyframe.</param>
    /// <returns>Bytes written; 0 when the encoder produced nothing for this frame.</returns>
    public int Encode(I420Frame frame, Span<byte> destination, out bool isKeyframe)
    {
        ArgumentNullException.ThrowIfNull(frame);
        ObjectDisposedException.ThrowIf(_context == 0, this);
        if (frame.Width != Options.Width || frame.Height != Options.Height)
        {
            throw new DecartException(DecartErrorCode.InvalidInput, $"frame is {frame.Width}x{frame.Height}, the encoder expects {Options.Width}x{Options.Height}.");
        }

        isKeyframe = false;
        long flags = Interlocked.Exchange(ref _keyframeRequested, 0) == 1 ? LibVpx.EncodeFlagForceKeyframe : 0;
        int written = 0;
        fixed (byte* pixels = frame.Data)
        {
            if (_api.ImgWrap(_image, LibVpx.ImgFmtI420, (uint)frame.Width, (uint)frame.Height, 1, pixels) == 0)
            {
                throw new DecartException(DecartErrorCode.WebRtcError, "libvpx could not wrap the frame.");
            }

            // Our planes are tightly packed with (w+1)/2 chroma; set them explicitly so odd sizes are right.
            var img = (byte*)_image;
            var planes = (byte**)(img + LibVpx.ImgPlanes);
            var strides = (int*)(img + LibVpx.ImgStrides);
            planes[0] = pixels;
            planes[1] = pixels + (frame.StrideY * frame.Height);
            planes[2] = planes[1] + (frame.StrideU * frame.ChromaHeight);
            strides[0] = frame.StrideY;
            strides[1] = frame.StrideU;
            strides[2] = frame.StrideV;
            LibVpx.Check(_api.Encode(_context, _image, _pts, new CULong(1), new CLong((nint)flags), new CULong((nuint)LibVpx.DeadlineRealtime)), _context, "encode");
        }

        _pts++;
        nint iterator = 0;
        nint packet;
        while ((packet = _api.GetCxData(_context, &iterator)) != 0)
        {
            var p = (byte*)packet;
            if (*(int*)(p + LibVpx.PktKind) != LibVpx.CodecCxFramePacket)
            {
                continue;
            }

            var buffer = *(byte**)(p + LibVpx.PktFrameBuffer);
            var size = (int)*(nuint*)(p + LibVpx.PktFrameSize);
            var pktFlags = *(uint*)(p + LibVpx.PktFrameFlags);
            if (written + size > destination.Length)
            {
                throw new DecartException(DecartErrorCode.InvalidInput, $"encoded frame of {written + size} bytes does not fit the {destination.Length}-byte destination.");
            }

            new ReadOnlySpan<byte>(buffer, size).CopyTo(destination[written..]);
            written += size;
            isKeyframe |= (pktFlags & LibVpx.FrameIsKey) != 0;
        }

        return written;
    }

    /// <summary>Changes the target bitrate (e.g. from a REMB) without a keyframe.</summary>
    /// <param name="kbps">New target in kbit/s.</param>
    public void SetTargetBitrate(int kbps)
    {
        ObjectDisposedException.ThrowIf(_context == 0, this);
        if (kbps is < 10 or > 100_000)
        {
            throw new DecartException(DecartErrorCode.InvalidOptions, $"bitrate {kbps} kbit/s is out of range.");
        }

        *(int*)((byte*)_config + LibVpx.CfgTargetBitrate) = kbps;
        LibVpx.Check(_api.EncConfigSet(_context, _config), _context, "set bitrate");
    }

    /// <summary>Releases the libvpx encoder.</summary>
    public void Dispose()
    {
        FreeNative(destroy: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases native memory if <see cref="Dispose"/> was not called.</summary>
    ~Vp8Encoder() => FreeNative(destroy: true);

    private static void Set(byte* cfg, int offset, int value) => *(int*)(cfg + offset) = value;

    private void FreeNative(bool destroy)
    {
        var context = Interlocked.Exchange(ref _context, 0);
        if (context == 0)
        {
            return;
        }

        if (destroy)
        {
            _api.Destroy(context);
        }

        NativeMemory.Free((void*)context);
        NativeMemory.Free((void*)_config);
        NativeMemory.Free((void*)_image);
    }
}
