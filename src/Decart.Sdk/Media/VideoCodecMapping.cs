using Decart.Rtc.Codecs;

namespace Decart.Sdk.Media;

/// <summary>The one mapping between the SDK's <see cref="VideoCodec"/> and the media stack's <see cref="RtpCodec"/>.</summary>
internal static class VideoCodecMapping
{
    /// <summary>The stack's payload format for a codec.</summary>
    /// <param name="codec">The SDK's codec.</param>
    /// <returns>Its format.</returns>
    public static RtpCodec ToRtp(this VideoCodec codec) => codec == VideoCodec.H264 ? RtpCodec.H264 : RtpCodec.Vp8;

    /// <summary>The SDK's codec for a payload format.</summary>
    /// <param name="codec">The stack's format.</param>
    /// <returns>The SDK's codec.</returns>
    public static VideoCodec ToVideoCodec(this RtpCodec codec) => codec == RtpCodec.H264 ? VideoCodec.H264 : VideoCodec.Vp8;
}
