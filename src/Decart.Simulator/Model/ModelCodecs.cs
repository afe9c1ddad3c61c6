using Decart.Rtc.Codecs;
using Decart.Sdk.Media;
using Decart.Sdk.Media.OpenH264;
using Decart.Sdk.Media.Vpx;

namespace Decart.Simulator.Model;

/// <summary>The decoder of a transform pipeline: one codec's frames in, pictures out.</summary>
internal interface IModelDecoder : IDisposable
{
    /// <summary>Decodes one frame; null when it makes no picture; <see cref="Decart.Sdk.DecartException"/> when it is damaged.</summary>
    I420Frame? Decode(ReadOnlySpan<byte> frame);
}

/// <summary>The encoder of a transform pipeline: pictures at the model's size in, one codec's frames out.</summary>
internal interface IModelEncoder : IDisposable
{
    /// <summary>A destination size that always suffices.</summary>
    int MaxEncodedSize { get; }

    /// <summary>Encodes one picture; returns the bytes written.</summary>
    int Encode(I420Frame picture, Span<byte> destination);

    /// <summary>Makes the next frame a keyframe (thread-safe).</summary>
    void RequestKeyframe();
}

/// <summary>The codecs the simulator's model can transform with: VP8 (libvpx) and H.264 (OpenH264).</summary>
internal static class ModelCodecs
{
    /// <summary>The model's output bitrate, kbit/s: what Decart's service sends at 1088×624.</summary>
    public const int OutputKbps = 2500;

    /// <summary>Whether this machine can decode and encode <paramref name="codec"/> (<c>VP8</c>, <c>H264</c>).</summary>
    public static bool CanTransform(RtpCodec codec) => codec == RtpCodec.H264 ? Decart.Sdk.Media.OpenH264.LibOpenH264.IsAvailable : LibVpx.IsAvailable;

    public static IModelDecoder Decoder(RtpCodec codec) => codec == RtpCodec.H264 ? new H264(new H264Decoder()) : new Vp8(new Vp8Decoder(threads: 1));

    /// <summary>Seconds between the model's keyframes (besides those asked for by PLI), so a viewer that joins late or lost one recovers without asking.</summary>
    public const int KeyframeSeconds = 3;

    public static IModelEncoder Encoder(RtpCodec codec, int width, int height, int fps) => codec == RtpCodec.H264
        ? new H264Out(new H264Encoder(new H264EncoderOptions { Width = width & ~1, Height = height & ~1, Fps = Math.Min(fps, 60), TargetBitrateKbps = OutputKbps, MaxKeyframeInterval = fps * KeyframeSeconds }))
        : new Vp8Out(new Vp8Encoder(new Vp8EncoderOptions { Width = width, Height = height, Fps = fps, TargetBitrateKbps = OutputKbps, Threads = 1, MaxKeyframeInterval = fps * KeyframeSeconds }));

    private sealed class Vp8(Vp8Decoder decoder) : IModelDecoder
    {
        public I420Frame? Decode(ReadOnlySpan<byte> frame) => decoder.Decode(frame);

        public void Dispose() => decoder.Dispose();
    }

    private sealed class H264(H264Decoder decoder) : IModelDecoder
    {
        public I420Frame? Decode(ReadOnlySpan<byte> frame) => decoder.Decode(frame);

        public void Dispose() => decoder.Dispose();
    }

    private sealed class Vp8Out(Vp8Encoder encoder) : IModelEncoder
    {
        public int MaxEncodedSize => encoder.MaxEncodedSize;

        public int Encode(I420Frame picture, Span<byte> destination) => encoder.Encode(picture, destination, out _);

        public void RequestKeyframe() => encoder.RequestKeyframe();

        public void Dispose() => encoder.Dispose();
    }

    private sealed class H264Out(H264Encoder encoder) : IModelEncoder
    {
        public int MaxEncodedSize => encoder.MaxEncodedSize;

        public int Encode(I420Frame picture, Span<byte> destination) => encoder.Encode(picture, destination, out _);

        public void RequestKeyframe() => encoder.RequestKeyframe();

        public void Dispose() => encoder.Dispose();
    }
}
