namespace Decart.Sdk.Media;

/// <summary>What a source or camera produces: picture size and frame rate.</summary>
/// <param name="Width">Width in pixels.</param>
/// <param name="Height">Height in pixels.</param>
/// <param name="Fps">Frames per second.</param>
public readonly record struct VideoFormat(int Width, int Height, int Fps)
{
    /// <inheritdoc />
    public override string ToString() => $"{Width}x{Height}@{Fps}";
}

/// <summary>The codec of encoded video frames.</summary>
public enum VideoCodec
{
    /// <summary>VP8 (RFC 6386); the codec Decart prefers.</summary>
    Vp8,

    /// <summary>H.264 / AVC, Annex B access units (start codes), packetization mode 1.</summary>
    H264,
}

/// <summary>Which way a camera faces; <see cref="Realtime.MirrorMode.Auto"/> mirrors only <see cref="User"/>.</summary>
public enum FacingMode
{
    /// <summary>Not known (not a camera, or the capture library does not say).</summary>
    Unknown,

    /// <summary>Front camera, facing the user (a selfie camera): mirrored under <c>Mirror = Auto</c>.</summary>
    User,

    /// <summary>Back camera, facing away from the user.</summary>
    Environment,
}

/// <summary>One encoded video frame (a VP8 frame or an H.264 access unit) with its capture time.</summary>
/// <param name="Data">The encoded bytes. Valid until the consumer returns from the call it was handed to.</param>
/// <param name="Timestamp">Capture time relative to the start of the stream.</param>
/// <param name="IsKeyframe">Whether the frame can be decoded on its own.</param>
/// <param name="Codec">Its codec.</param>
public readonly record struct EncodedVideoFrame(ReadOnlyMemory<byte> Data, TimeSpan Timestamp, bool IsKeyframe, VideoCodec Codec)
{
    /// <summary>The simulcast layer (RID) the frame belongs to, or null when the source sends one stream.</summary>
    public string? Layer { get; init; }
}

/// <summary>One simulcast layer of a source: its RID, picture size and target bitrate.</summary>
/// <param name="Rid">The RID (<c>q</c>, <c>h</c>, <c>f</c>, as LiveKit names them).</param>
/// <param name="Width">Width in pixels.</param>
/// <param name="Height">Height in pixels.</param>
/// <param name="BitrateKbps">Target bitrate, kbit/s.</param>
public sealed record SimulcastLayer(string Rid, int Width, int Height, int BitrateKbps);

/// <summary>
/// A source that can encode each frame at several sizes (simulcast): it yields one <see cref="EncodedVideoFrame"/> per
/// layer with <see cref="EncodedVideoFrame.Layer"/> set, smallest first, all with the capture's timestamp. On the
/// LiveKit transport the session publishes every layer (a room forwards the one each subscriber can take); on the direct
/// transport only the largest is sent.
/// </summary>
public interface ISimulcastVideoSource : IVideoSource
{
    /// <summary>The layers, smallest first; empty when the source sends one stream.</summary>
    IReadOnlyList<SimulcastLayer> Layers { get; }
}

/// <summary>
/// A source of <b>encoded</b> video for a realtime session: the SDK reads frames from it at its own pace and
/// sends them. Sources of raw frames (cameras, games) encode through the SDK's VP8 encoder.
/// </summary>
public interface IVideoSource
{
    /// <summary>The size and rate the source produces.</summary>
    VideoFormat Format { get; }

    /// <summary>The codec of the frames.</summary>
    VideoCodec Codec { get; }

    /// <summary>Which way the camera faces (for <c>Mirror = Auto</c>).</summary>
    FacingMode Facing { get; }

    /// <summary>The frames, paced by the source (a file source sleeps between frames; a camera yields as it captures).</summary>
    /// <param name="cancellationToken">Stops the stream.</param>
    /// <returns>Frames until the source ends or the token fires.</returns>
    IAsyncEnumerable<EncodedVideoFrame> ReadFramesAsync(CancellationToken cancellationToken);

    /// <summary>Asks the source for a keyframe as soon as it can (the receiver lost one). Sources that cannot, ignore it.</summary>
    void RequestKeyframe();
}

/// <summary>
/// Receives decoded pictures of the transformed stream (set <c>RealtimeConnectOptions.DecodedSink</c>): the SDK
/// decodes VP8 (libvpx) or H.264 (OpenH264) on its own worker, so a slow sink never stalls the media thread.
/// </summary>
public interface IVideoSink
{
    /// <summary>One decoded picture; the sink owns it and disposes it (it comes from a pool).</summary>
    /// <param name="frame">The picture, with <see cref="I420Frame.Timestamp"/> set from the RTP clock.</param>
    void OnFrame(I420Frame frame);
}
