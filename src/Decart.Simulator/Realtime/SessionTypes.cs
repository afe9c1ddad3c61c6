using System.Text.Json.Serialization;

namespace Decart.Simulator.Realtime;

/// <summary>Where a simulated session is.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<SessionPhase>))]
public enum SessionPhase
{
    /// <summary>WebSocket open; no media yet.</summary>
    [JsonStringEnumMemberName("connecting")]
    Connecting,

    /// <summary>The peer connection is up.</summary>
    [JsonStringEnumMemberName("connected")]
    Connected,

    /// <summary>Echoed ("transformed") media is flowing; <c>generation_started</c> was sent.</summary>
    [JsonStringEnumMemberName("generating")]
    Generating,

    /// <summary>Over; kept for inspection.</summary>
    [JsonStringEnumMemberName("ended")]
    Ended,
}

/// <summary>One state the session applied (and acknowledged with success).</summary>
/// <param name="Prompt">The prompt in force afterwards (null: none).</param>
/// <param name="Enhance">Prompt enhancement in force afterwards.</param>
/// <param name="ImageHash">SHA-256 (hex, lower case) of the decoded reference image in force afterwards, or null.</param>
/// <param name="Via">The message that set it: <c>prompt</c> or <c>set_image</c>.</param>
/// <param name="At">When.</param>
public sealed record AppliedState(string? Prompt, bool Enhance, string? ImageHash, string Via, DateTimeOffset At)
{
    /// <summary>The state version (1 for the first update of the session, then one more per update); output frames made with it carry it in their stamp.</summary>
    public int Version { get; init; }
}

/// <summary>What the control API lists for a session (<c>GET /_sim/sessions</c>).</summary>
/// <param name="Id">Session id.</param>
/// <param name="Model">Model name.</param>
/// <param name="State">Phase.</param>
/// <param name="StartedAt">When the WebSocket was accepted.</param>
/// <param name="EndedAt">When it ended.</param>
/// <param name="EndReason">Why it ended.</param>
/// <param name="Codec">Negotiated codec.</param>
/// <param name="FramesIn">Frames received from the client.</param>
/// <param name="FramesOut">Frames echoed back.</param>
/// <param name="FramesDropped">Frames not echoed (queue overflow, waiting for a keyframe).</param>
/// <param name="Prompt">Current prompt.</param>
/// <param name="Enhance">Current prompt enhancement.</param>
/// <param name="ImageHash">SHA-256 of the current image.</param>
/// <param name="GenerationSeconds">Seconds of generation ticked so far.</param>
/// <param name="FrameWidth">Last frame width read from a keyframe.</param>
/// <param name="FrameHeight">Last frame height read from a keyframe.</param>
/// <param name="MeasuredFps">Measured input frame rate.</param>
/// <param name="Warnings">Constraint warnings (lenient mode).</param>
/// <param name="IgnoredMessages">Unknown or out-of-order messages ignored.</param>
/// <param name="MalformedMessages">Messages that were not JSON objects with a type.</param>
/// <param name="RejectedUpdates">Prompt/image updates answered with <c>success:false</c>.</param>
/// <param name="Faults">Faults applying to this session.</param>
public sealed record SessionInfo(
    string Id,
    string Model,
    SessionPhase State,
    DateTimeOffset StartedAt,
    DateTimeOffset? EndedAt,
    string? EndReason,
    string? Codec,
    long FramesIn,
    long FramesOut,
    long FramesDropped,
    string? Prompt,
    bool Enhance,
    string? ImageHash,
    long GenerationSeconds,
    int? FrameWidth,
    int? FrameHeight,
    double? MeasuredFps,
    IReadOnlyList<string> Warnings,
    long IgnoredMessages,
    long MalformedMessages,
    long RejectedUpdates,
    IReadOnlyList<Faults.Fault> Faults)
{
    /// <summary>The protocol generation: <c>direct</c> or <c>livekit</c>.</summary>
    public string Protocol { get; init; } = "direct";

    /// <summary>The LiveKit room of a <c>livekit</c> session.</summary>
    public string? RoomName { get; init; }

    /// <summary>The <c>resolution</c> the client asked for (<c>720p</c>/<c>1080p</c>), or null.</summary>
    public string? Resolution { get; init; }

    /// <summary>The session's place in the model's queue while it waits (1 = next), or null.</summary>
    public int? QueuePosition { get; init; }

    /// <summary>Viewers watching the session now (receive-only room participants from <c>/watch-stream</c>).</summary>
    public int Viewers { get; init; }

    /// <summary>The camera's simulcast layer the model is fed from (LiveKit rooms).</summary>
    public string? InputLayer { get; init; }

    /// <summary>The model mode asked for (<c>transform</c> or <c>echo</c>).</summary>
    public Model.ModelMode ModelMode { get; init; }

    /// <summary>What the model runs once media flows (<c>echo</c> in transform mode when the codec's library is missing), or null before.</summary>
    public string? EffectiveModelMode { get; init; }

    /// <summary>The state version (one per acknowledged update; output frames carry it in their stamp).</summary>
    public int StateVersion { get; init; }

    /// <summary>Padding-only packets the client sent (its bandwidth probes): counted in the transport-wide feedback, then dropped.</summary>
    public long PaddingPacketsIn { get; init; }

    /// <summary>Input frames the model could not decode.</summary>
    public long DecodeErrors { get; init; }
}
