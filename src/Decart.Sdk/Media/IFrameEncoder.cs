namespace Decart.Sdk.Media;

/// <summary>What <see cref="RawVideoSource"/> needs from a video encoder (VP8 through libvpx, H.264 through OpenH264).</summary>
internal interface IFrameEncoder : IDisposable
{
    /// <summary>The largest encoded frame, for the output buffer.</summary>
    int MaxEncodedSize { get; }

    /// <summary>Encodes one frame.</summary>
    /// <param name="frame">The picture.</param>
    /// <param name="destination">Where the encoded frame goes.</param>
    /// <param name="isKeyframe">Whether it is a keyframe.</param>
    /// <returns>Bytes written (0: the encoder skipped the frame).</returns>
    int Encode(I420Frame frame, Span<byte> destination, out bool isKeyframe);

    /// <summary>Makes the next frame a keyframe.</summary>
    void RequestKeyframe();

    /// <summary>Changes the target bitrate from the next frame on, without a keyframe.</summary>
    /// <param name="kbps">The target, kbit/s.</param>
    void SetTargetBitrate(int kbps);
}
