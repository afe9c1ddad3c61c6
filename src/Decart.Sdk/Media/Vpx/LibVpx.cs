using System.Runtime.InteropServices;

namespace Decart.Sdk.Media.Vpx;

/// <summary>
/// Entry points of the system libvpx, bound at first use with <see cref="NativeLibrary"/> so that a missing
/// library is a <see cref="DecartException"/> naming the package to install, not a
/// <see cref="DllNotFoundException"/> from deep inside a frame loop. Struct offsets are those of libvpx's
/// encoder ABI 25 / decoder ABI 12 (libvpx 1.10–1.13, e.g. Debian 12's <c>libvpx7</c>); libvpx itself
/// rejects a mismatched ABI at init, which surfaces as a clear error too.
/// </summary>
internal static unsafe class LibVpx
{
    public const int EncoderAbiVersion = 25;
    public const int DecoderAbiVersion = 12;

    public const int ContextSize = 56;
    public const int EncoderConfigSize = 504;
    public const int ImageSize = 136;
    public const int DecoderConfigSize = 12;

    public const int ImgFmtI420 = 0x102;
    public const int CodecCxFramePacket = 0;
    public const uint FrameIsKey = 1;
    public const long EncodeFlagForceKeyframe = 1;
    public const ulong DeadlineRealtime = 1;
    public const int Vp8eSetCpuUsed = 13;
    public const int Vp8eSetNoiseSensitivity = 15;
    public const int Vp8eSetStaticThreshold = 17;
    public const int Vp8eSetTokenPartitions = 18;
    public const int Vp8eSetMaxIntraBitratePct = 26;

    // vpx_codec_enc_cfg_t field offsets (ABI 25).
    public const int CfgThreads = 4;
    public const int CfgWidth = 12;
    public const int CfgHeight = 16;
    public const int CfgTimebase = 28;
    public const int CfgErrorResilient = 36;
    public const int CfgPass = 40;
    public const int CfgLagInFrames = 44;
    public const int CfgDropframeThreshold = 48;
    public const int CfgEndUsage = 72;
    public const int CfgTargetBitrate = 112;
    public const int CfgMinQuantizer = 116;
    public const int CfgMaxQuantizer = 120;
    public const int CfgUndershootPct = 124;
    public const int CfgOvershootPct = 128;
    public const int CfgBufferSize = 132;
    public const int CfgBufferInitialSize = 136;
    public const int CfgBufferOptimalSize = 140;
    public const int CfgKeyframeMode = 160;
    public const int CfgKeyframeMinDistance = 164;
    public const int CfgKeyframeMaxDistance = 168;

    // vpx_image_t field offsets.
    public const int ImgDisplayWidth = 24;
    public const int ImgDisplayHeight = 28;
    public const int ImgPlanes = 48;
    public const int ImgStrides = 80;

    // vpx_codec_cx_pkt_t field offsets.
    public const int PktKind = 0;
    public const int PktFrameBuffer = 8;
    public const int PktFrameSize = 16;
    public const int PktFrameFlags = 40;

    private static readonly Lazy<Api> Loaded = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The bound entry points; throws <see cref="DecartException"/> when libvpx cannot be loaded.</summary>
    public static Api Native => Loaded.Value;

    /// <summary>Whether libvpx could be loaded on this machine.</summary>
    public static bool IsAvailable => NativeCodecLibrary.IsAvailable(Loaded);

    /// <summary>How to install libvpx on the current OS, for error messages.</summary>
    public static string InstallHint =>
        OperatingSystem.IsWindows() ? "install libvpx (e.g. `vcpkg install libvpx` or `winget`/MSYS2 `mingw-w64-x86_64-libvpx`) and put vpx.dll on the PATH"
        : OperatingSystem.IsMacOS() ? "install libvpx with Homebrew: `brew install libvpx`"
        : "install libvpx: `sudo apt-get install libvpx7` on Debian/Ubuntu (`dnf install libvpx` on Fedora)";

    public static void Check(int result, nint context, string what)
    {
        if (result == 0)
        {
            return;
        }

        string detail = context == 0 ? $"error {result}" : Describe(context);
        throw new DecartException(DecartErrorCode.WebRtcError, $"libvpx {what} failed: {detail}.");
    }

    public static string Describe(nint context)
    {
        var api = Native;
        string error = Marshal.PtrToStringAnsi(api.CodecError(context)) ?? "unknown error";
        var detailPtr = api.CodecErrorDetail(context);
        return detailPtr == 0 ? error : $"{error} ({Marshal.PtrToStringAnsi(detailPtr)})";
    }

    private static Api Load()
    {
        string[] names = OperatingSystem.IsWindows() ? ["vpx", "libvpx", "vpx-1"]
            : OperatingSystem.IsMacOS() ? ["libvpx.dylib", "libvpx.9.dylib", "libvpx.8.dylib", "libvpx.7.dylib", "/opt/homebrew/lib/libvpx.dylib", "/usr/local/lib/libvpx.dylib"]
            : ["libvpx.so.7", "libvpx.so", "libvpx.so.8", "libvpx.so.9", "libvpx.so.6"];
        return NativeCodecLibrary.Load("libvpx (the VP8 codec library)", names, InstallHint, handle => new Api(handle));
    }

    /// <summary>Function pointers into libvpx.</summary>
    internal sealed class Api
    {
        public Api(nint lib)
        {
            Vp8Cx = (delegate* unmanaged<nint>)NativeLibrary.GetExport(lib, "vpx_codec_vp8_cx");
            Vp8Dx = (delegate* unmanaged<nint>)NativeLibrary.GetExport(lib, "vpx_codec_vp8_dx");
            EncConfigDefault = (delegate* unmanaged<nint, nint, uint, int>)NativeLibrary.GetExport(lib, "vpx_codec_enc_config_default");
            EncConfigSet = (delegate* unmanaged<nint, nint, int>)NativeLibrary.GetExport(lib, "vpx_codec_enc_config_set");
            EncInit = (delegate* unmanaged<nint, nint, nint, CLong, int, int>)NativeLibrary.GetExport(lib, "vpx_codec_enc_init_ver");
            DecInit = (delegate* unmanaged<nint, nint, nint, CLong, int, int>)NativeLibrary.GetExport(lib, "vpx_codec_dec_init_ver");
            Encode = (delegate* unmanaged<nint, nint, long, CULong, CLong, CULong, int>)NativeLibrary.GetExport(lib, "vpx_codec_encode");
            GetCxData = (delegate* unmanaged<nint, nint*, nint>)NativeLibrary.GetExport(lib, "vpx_codec_get_cx_data");
            Decode = (delegate* unmanaged<nint, byte*, uint, nint, CLong, int>)NativeLibrary.GetExport(lib, "vpx_codec_decode");
            GetFrame = (delegate* unmanaged<nint, nint*, nint>)NativeLibrary.GetExport(lib, "vpx_codec_get_frame");
            Destroy = (delegate* unmanaged<nint, int>)NativeLibrary.GetExport(lib, "vpx_codec_destroy");
            ControlInt = (delegate* unmanaged<nint, int, int, int>)NativeLibrary.GetExport(lib, "vpx_codec_control_");
            ImgWrap = (delegate* unmanaged<nint, int, uint, uint, uint, byte*, nint>)NativeLibrary.GetExport(lib, "vpx_img_wrap");
            CodecError = (delegate* unmanaged<nint, nint>)NativeLibrary.GetExport(lib, "vpx_codec_error");
            CodecErrorDetail = (delegate* unmanaged<nint, nint>)NativeLibrary.GetExport(lib, "vpx_codec_error_detail");
        }

        public readonly delegate* unmanaged<nint> Vp8Cx;

        public readonly delegate* unmanaged<nint> Vp8Dx;

        public readonly delegate* unmanaged<nint, nint, uint, int> EncConfigDefault;

        public readonly delegate* unmanaged<nint, nint, int> EncConfigSet;

        public readonly delegate* unmanaged<nint, nint, nint, CLong, int, int> EncInit;

        public readonly delegate* unmanaged<nint, nint, nint, CLong, int, int> DecInit;

        public readonly delegate* unmanaged<nint, nint, long, CULong, CLong, CULong, int> Encode;

        public readonly delegate* unmanaged<nint, nint*, nint> GetCxData;

        public readonly delegate* unmanaged<nint, byte*, uint, nint, CLong, int> Decode;

        public readonly delegate* unmanaged<nint, nint*, nint> GetFrame;

        public readonly delegate* unmanaged<nint, int> Destroy;

        /// <summary><c>vpx_codec_control_</c> is variadic; one int argument passes in a register on x86-64 and arm64 SysV.</summary>
        public readonly delegate* unmanaged<nint, int, int, int> ControlInt;

        public readonly delegate* unmanaged<nint, int, uint, uint, uint, byte*, nint> ImgWrap;

        public readonly delegate* unmanaged<nint, nint> CodecError;

        public readonly delegate* unmanaged<nint, nint> CodecErrorDetail;
    }
}
