using Decart.Rtc.Sdp;
using Decart.Sdk.Media;
using Decart.Sdk.Models;
using Microsoft.Extensions.Logging;

namespace Decart.Sdk.Realtime;

/// <summary>One frame of the transformed stream, valid only during the callback (zero-copy).</summary>
public readonly ref struct ReceivedVideoFrame
{
    /// <summary>Creates a frame view.</summary>
    /// <param name="data">The encoded frame.</param>
    /// <param name="rtpTimestamp">Its RTP timestamp (90 kHz).</param>
    /// <param name="timestamp">Its time since the first received frame.</param>
    /// <param name="isKeyframe">Whether it is a keyframe.</param>
    /// <param name="codec">Its codec.</param>
    public ReceivedVideoFrame(ReadOnlySpan<byte> data, uint rtpTimestamp, TimeSpan timestamp, bool isKeyframe, VideoCodec codec)
    {
        Data = data;
        RtpTimestamp = rtpTimestamp;
        Timestamp = timestamp;
        IsKeyframe = isKeyframe;
        Codec = codec;
    }

    /// <summary>The encoded frame (VP8 frame or H.264 Annex B access unit).</summary>
    public ReadOnlySpan<byte> Data { get; }

    /// <summary>The RTP timestamp (90 kHz), as the server sent it.</summary>
    public uint RtpTimestamp { get; }

    /// <summary>Time since the first received frame, from the RTP clock.</summary>
    public TimeSpan Timestamp { get; }

    /// <summary>Whether it is a keyframe.</summary>
    public bool IsKeyframe { get; }

    /// <summary>The codec.</summary>
    public VideoCodec Codec { get; }
}

/// <summary>Receives each frame of the transformed stream on the media thread; copy what you keep, return quickly.</summary>
/// <param name="frame">The frame (valid during the call).</param>
public delegate void RealtimeFrameHandler(ReceivedVideoFrame frame);

/// <summary>Options of <see cref="RealtimeClient.SetImageAsync"/>.</summary>
public sealed record SetImageOptions
{
    /// <summary>A prompt sent with the image in the same message (null: the prompt in force is kept).</summary>
    public string? Prompt { get; init; }

    /// <summary>Prompt enhancement for <see cref="Prompt"/> (null: the server's default).</summary>
    public bool? Enhance { get; init; }
}

/// <summary>How <see cref="RealtimeApi.ConnectAsync"/> connects and behaves.</summary>
public sealed class RealtimeConnectOptions
{
    /// <summary>The realtime model (<see cref="RealtimeModels"/> or a custom <see cref="RealtimeModel"/>).</summary>
    public required RealtimeModel Model { get; init; }

    /// <summary>How the media travels: <see cref="RealtimeTransport.LiveKit"/> (Decart's current protocol, the default) or <see cref="RealtimeTransport.Direct"/> (the older direct WebRTC flow). The rest of the API is the same with either.</summary>
    public RealtimeTransport Transport { get; init; } = RealtimeTransport.LiveKit;

    /// <summary>Called whenever the service reports the session's place in its queue (LiveKit transport), like the client's <c>QueuePositionChanged</c> event.</summary>
    public Action<QueuePosition>? OnQueuePosition { get; init; }

    /// <summary>How long to wait for the room (<c>livekit_room_info</c>) after joining; the first queue position stops this timer. Default 15 s (Decart's JS SDK).</summary>
    public TimeSpan RoomInfoTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>The room's own timeouts (livekit-client's defaults unless a test shortens them).</summary>
    internal LiveKit.LiveKitTimeouts RoomTimeouts { get; init; } = new();

    /// <summary>Mirror the sent frames: off, on, or only for front ("user") cameras. Encoded sources cannot be flipped: <c>On</c> (or <c>Auto</c> with a front camera) is <see cref="DecartErrorCode.InvalidOptions"/>.</summary>
    public MirrorMode Mirror { get; init; }

    /// <summary>The state sent and acknowledged before the offer: prompt (+ enhance), image, or passthrough (null or <see cref="RealtimeState.Passthrough"/>).</summary>
    public RealtimeState? InitialState { get; init; }

    /// <summary>Rewrites each SDP offer before it is sent (direct: the one offer; LiveKit: the join offer and the publish offer) (e.g. <see cref="SdpNegotiation.KeepOnlyCodec(SessionDescription, string)"/>); return the description to send.</summary>
    public Func<SessionDescription, CancellationToken, ValueTask<SessionDescription>>? CustomizeOffer { get; init; }

    /// <summary>Automatic reconnection (default: 5 retries, 1 s, ×2, 10 s cap). <see cref="ReconnectPolicy.None"/> turns it off.</summary>
    public ReconnectPolicy Reconnect { get; init; } = ReconnectPolicy.Default;

    /// <summary>Called for every error, like the <see cref="RealtimeClient.Error"/> event (which needs a client to subscribe to).</summary>
    public Action<DecartException>? OnError { get; init; }

    /// <summary>Called on every state change from the first (<c>Connecting</c>) on, like <see cref="RealtimeClient.ConnectionChanged"/> (which can only be subscribed once the client exists).</summary>
    public Action<ConnectionState>? OnConnectionChanged { get; init; }

    /// <summary>Called for every warning (e.g. the source's frame size differs from the model's).</summary>
    public Action<string>? OnWarning { get; init; }

    /// <summary>Called for every received frame on the media thread (zero-copy). <see cref="RealtimeClient.ReadFramesAsync"/> is the pull alternative.</summary>
    public RealtimeFrameHandler? OnFrame { get; init; }

    /// <summary>
    /// Decoded output: each received frame is decoded on a worker (VP8 with libvpx, H.264 with OpenH264) and handed over
    /// as I420. Up to 30 frames wait for a slow sink; beyond that the frames up to the next keyframe are skipped (a frame
    /// after a skipped one would not decode), a keyframe is asked for, and <see cref="RealtimeClient.FramesDroppedBeforeDecode"/>
    /// counts them, so a stalled sink costs frames, never unbounded memory.
    /// </summary>
    public IVideoSink? DecodedSink { get; init; }

    /// <summary>
    /// The output resolution to ask the service for: <c>720p</c> or <c>1080p</c> (sent as the <c>resolution</c> query
    /// parameter, as Decart's JS SDK does); null (the default) for the model's own. Anything else is
    /// <see cref="DecartErrorCode.InvalidOptions"/>.
    /// </summary>
    public string? Resolution { get; init; }

    /// <summary>
    /// Extra query parameters for the realtime URL (the JS SDK's <c>queryParams</c>), e.g. a feature flag the service
    /// documents. They come first; <c>api_key</c>, <c>model</c>, <c>resolution</c> and <c>user_agent</c> are the SDK's
    /// and cannot be overridden (such keys are <see cref="DecartErrorCode.InvalidOptions"/>). At most 32, names up to 64
    /// characters, values up to 1,024.
    /// </summary>
    public IReadOnlyDictionary<string, string>? QueryParameters { get; init; }

    /// <summary>
    /// The codec to publish the camera in (Decart's JS SDK's <c>preferredVideoCodec</c>): <see cref="VideoCodec.H264"/>
    /// (what Decart's JS SDK 0.1.x sends by default; encoded with Debian's <c>libopenh264-7</c>) or
    /// <see cref="VideoCodec.Vp8"/> (libvpx). A source that encodes itself (<see cref="RawVideoSource"/>,
    /// <see cref="SyntheticVideoSource"/>) is switched to it before its first frame; an already-encoded source (a clip
    /// file, your own encoder) must produce it, else the connect fails with <see cref="DecartErrorCode.InvalidOptions"/>.
    /// Null (the default): the source's own codec.
    /// </summary>
    public VideoCodec? PreferredVideoCodec { get; init; }

    /// <summary>
    /// Measure glass-to-glass latency (LiveKit transport; Decart's JS SDK calls it <c>debugQuality</c>): every sent
    /// frame carries its capture time in a packet trailer (livekit-client's LKTS format, 15 bytes), the join announces
    /// <c>client_capabilities.frame_timing</c>, the service copies the capture time onto the output frame made from
    /// it, and <see cref="RealtimeClient.GlassToGlass"/> reports the median and p90 of capture → receipt. On the direct
    /// transport (no trailer there) frames are matched by RTP timestamp: valid when the server gives each output the RTP
    /// timestamp of the input it was made from (the simulator does); an output matching no frame sent in the last ~2 s
    /// is not a sample. Off by default, as in Decart's JS SDK. The time to first frame is measured either way.
    /// </summary>
    public bool MeasureGlassToGlass { get; init; }

    /// <summary>
    /// Let the camera's bitrate follow the network (default on): a source that encodes itself
    /// (<see cref="RawVideoSource"/>, <see cref="SyntheticVideoSource"/>) gets its encoder's target lowered when the peer
    /// reports loss over 10 % and raised again below 2 %, never above the peer's REMB estimate, between
    /// <see cref="MinBitrateKbps"/> and <see cref="MaxBitrateKbps"/>; once per <see cref="StatsInterval"/>. An encoded
    /// source (a file) is sent as it is.
    /// </summary>
    public bool AdaptBitrate { get; init; } = true;

    /// <summary>The most the camera may send, kbit/s (Decart's JS SDK: 3,500). The adaptive sender never goes above it.</summary>
    public int MaxBitrateKbps { get; init; } = 3500;

    /// <summary>The least the adaptive sender goes down to, kbit/s. Default 300.</summary>
    public int MinBitrateKbps { get; init; } = 300;

    /// <summary>How often <see cref="RealtimeClient.StatsUpdated"/> fires and the connection quality is judged. Default 1 s (Decart's JS SDK); at least 500 ms.</summary>
    public TimeSpan StatsInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Called when the connection-quality verdict changes, like <see cref="RealtimeClient.ConnectionQualityChanged"/> (Decart's JS SDK's <c>onConnectionQuality</c>).</summary>
    public Action<ConnectionQualityReport>? OnConnectionQuality { get; init; }

    /// <summary>Where to log (default: the <see cref="DecartClient"/>'s). The key is never logged.</summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>How long a prompt waits for its ack. Default 15 s.</summary>
    public TimeSpan PromptTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>How long an image/state update waits for its ack. Default 30 s.</summary>
    public TimeSpan StateTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long one connection attempt may take, signaling to media. Default 5 min (the reference client's).</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>How long the peer may stay silent before the connection counts as lost (ICE consent, RFC 7675). Default 30 s.</summary>
    public TimeSpan ConsentTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>A source whose frame size differs from the model's fails with <see cref="DecartErrorCode.InvalidOptions"/> instead of a warning.</summary>
    public bool StrictFormat { get; init; }

    /// <summary>Dispose the source when the client is disposed. Default false: the source stays yours.</summary>
    public bool OwnsSource { get; init; }

    /// <summary>The clock for reconnect backoff and ack timeouts (tests pass a fake one).</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Called before each retry with the retry number (1-based), the delay before it and the failure that caused it.</summary>
    public Action<int, TimeSpan, DecartException>? OnRetry { get; init; }

    /// <inheritdoc />
    public override string ToString() => $"RealtimeConnectOptions {{ Model = {Model}, Transport = {Transport}, Mirror = {Mirror}, InitialState = {InitialState}, Reconnect = {Reconnect} }}";
}
