using System.Runtime.InteropServices;

namespace Decart.Sdk.Media.OpenH264;

/// <summary>
/// Cisco's OpenH264 (Debian's <c>libopenh264-7</c>) loaded at run time, with the struct layouts and enum values of
/// its C API (<c>wels/codec_api.h</c>, x86-64/arm64 LP64) written out as offsets. Encoder and decoder objects are
/// pointers to a table of function pointers, called through <see cref="Slot"/>.
/// </summary>
internal static unsafe class LibOpenH264
{
    // SEncParamBase (24 bytes): iUsageType, iPicWidth, iPicHeight, iTargetBitrate (bit/s), iRCMode, fMaxFrameRate.
    public const int EncParamBaseSize = 24;

    // SSourcePicture (72 bytes).
    public const int SourcePictureSize = 72;
    public const int SrcColorFormat = 0;
    public const int SrcStrides = 4;
    public const int SrcPlanes = 24;
    public const int SrcWidth = 56;
    public const int SrcHeight = 60;
    public const int SrcTimestamp = 64;

    // SFrameBSInfo (5,144 bytes) and its SLayerBSInfo entries (40 bytes each).
    public const int FrameBsInfoSize = 5144;
    public const int FrameLayerCount = 0;
    public const int FrameLayers = 8;
    public const int FrameType = 5128;
    public const int LayerSize = 40;
    public const int LayerNalCount = 16;
    public const int LayerNalLengths = 24;
    public const int LayerBuffer = 32;

    // SDecodingParam (32 bytes) and SBufferInfo (72 bytes).
    public const int DecodingParamSize = 32;
    public const int DecEcActiveIdc = 16;
    public const int DecVideoProperty = 24;
    public const int BufferInfoSize = 72;
    public const int BufStatus = 0;
    public const int BufWidth = 24;
    public const int BufHeight = 28;
    public const int BufStrides = 36;
    public const int BufPlanes = 48;

    public const int UsageCameraRealTime = 0;
    public const int RcBitrateMode = 1;
    public const int VideoFormatI420 = 23;
    public const int FrameTypeIdr = 1;
    public const int FrameTypeI = 2;
    public const int FrameTypeSkip = 4;
    public const int EncoderOptionIdrInterval = 1;
    public const int EncoderOptionRcFrameSkip = 9;
    public const int EncoderOptionBitrate = 5;
    public const int SpatialLayerAll = 4;
    public const int EncoderOptionTraceLevel = 25;
    public const int DecoderOptionTraceLevel = 9;
    public const int ErrorConcealmentSliceCopy = 2;
    public const int LogQuiet = 0;

    // Function-table slots (ISVCEncoderVtbl, ISVCDecoderVtbl).
    public const int EncInitialize = 0;
    public const int EncUninitialize = 3;
    public const int EncEncodeFrame = 4;
    public const int EncForceIntraFrame = 6;
    public const int EncSetOption = 7;
    public const int DecInitialize = 0;
    public const int DecUninitialize = 1;
    public const int DecDecodeFrameNoDelay = 3;
    public const int DecSetOption = 8;

    private static readonly Lazy<Api> Loaded = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The bound entry points; throws <see cref="DecartException"/> when OpenH264 cannot be loaded.</summary>
    public static Api Native => Loaded.Value;

    /// <summary>Whether OpenH264 could be loaded on this machine.</summary>
    public static bool IsAvailable => NativeCodecLibrary.IsAvailable(Loaded);

    /// <summary>How to install OpenH264, for error messages.</summary>
    public static string InstallHint =>
        OperatingSystem.IsWindows() ? "download Cisco's openh264 binary (openh264-2.x-win64.dll) and put it on the PATH as openh264.dll"
        : OperatingSystem.IsMacOS() ? "install OpenH264 with Homebrew: `brew install openh264`"
        : "install OpenH264: `sudo apt-get install libopenh264-7` on Debian/Ubuntu";

    /// <summary>The function in slot <paramref name="slot"/> of an OpenH264 object's table.</summary>
    public static nint Slot(nint instance, int slot) => (*(nint**)instance)[slot];

    private static Api Load()
    {
        string[] names = OperatingSystem.IsWindows() ? ["openh264", "openh264-2.3.1-win64", "openh264-2.4.1-win64"]
            : OperatingSystem.IsMacOS() ? ["libopenh264.dylib", "libopenh264.7.dylib", "/opt/homebrew/lib/libopenh264.dylib", "/usr/local/lib/libopenh264.dylib"]
            : ["libopenh264.so.7", "libopenh264.so", "libopenh264.so.6", "libopenh264.so.8"];
        return NativeCodecLibrary.Load("OpenH264 (the H.264 codec library)", names, InstallHint, handle => new Api(handle));
    }

    /// <summary>The library's exported constructors and destructors.</summary>
    internal sealed class Api
    {
        public Api(nint lib)
        {
            CreateEncoder = (delegate* unmanaged<nint*, int>)NativeLibrary.GetExport(lib, "WelsCreateSVCEncoder");
            DestroyEncoder = (delegate* unmanaged<nint, void>)NativeLibrary.GetExport(lib, "WelsDestroySVCEncoder");
            CreateDecoder = (delegate* unmanaged<nint*, CLong>)NativeLibrary.GetExport(lib, "WelsCreateDecoder");
            DestroyDecoder = (delegate* unmanaged<nint, void>)NativeLibrary.GetExport(lib, "WelsDestroyDecoder");
        }

        public readonly delegate* unmanaged<nint*, int> CreateEncoder;

        public readonly delegate* unmanaged<nint, void> DestroyEncoder;

        public readonly delegate* unmanaged<nint*, CLong> CreateDecoder;

        public readonly delegate* unmanaged<nint, void> DestroyDecoder;
    }
}
