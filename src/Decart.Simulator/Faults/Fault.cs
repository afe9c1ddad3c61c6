using System.Text.Json.Serialization;

namespace Decart.Simulator.Faults;

/// <summary>What a fault does (Toxiproxy's "toxic" type).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<FaultType>))]
public enum FaultType
{
    /// <summary>Delay media packets (and/or signaling messages) by <see cref="Fault.LatencyMs"/> ± <see cref="Fault.JitterMs"/>.</summary>
    [JsonStringEnumMemberName("latency")]
    Latency,

    /// <summary>Drop <see cref="Fault.LossPercent"/> % of media packets.</summary>
    [JsonStringEnumMemberName("loss")]
    Loss,

    /// <summary>Cap media to <see cref="Fault.BandwidthKbps"/>: packets queue behind the cap, and drop beyond 500 ms of queue.</summary>
    [JsonStringEnumMemberName("bandwidth")]
    Bandwidth,

    /// <summary>Drop the session (per <see cref="Fault.Mode"/>) now, after <see cref="Fault.AfterSeconds"/> or after <see cref="Fault.AfterFrames"/> received frames.</summary>
    [JsonStringEnumMemberName("drop")]
    Drop,

    /// <summary>Refuse the next <see cref="Fault.Count"/> connection attempts with <see cref="Fault.Error"/>.</summary>
    [JsonStringEnumMemberName("refuse")]
    Refuse,

    /// <summary>Black-hole media for <see cref="Fault.StallSeconds"/> (ICE keeps answering, so consent survives short stalls).</summary>
    [JsonStringEnumMemberName("stall")]
    Stall,

    /// <summary>Hold every <c>prompt_ack</c>/<c>set_image_ack</c> for <see cref="Fault.DelayMs"/>.</summary>
    [JsonStringEnumMemberName("delay_acks")]
    DelayAcks,

    /// <summary>Send a server <c>error</c> message carrying <see cref="Fault.Error"/> (the session stays open).</summary>
    [JsonStringEnumMemberName("server_error")]
    ServerError,

    /// <summary>End generation: <c>generation_ended</c> with <see cref="Fault.Reason"/> (default <c>insufficient_credits</c>), then close.</summary>
    [JsonStringEnumMemberName("end_generation")]
    EndGeneration,

    /// <summary>
    /// Queue new LiveKit sessions: after <c>livekit_join</c> the session waits in a queue of <see cref="Fault.Count"/>
    /// and is told its place (<c>queue_position</c>, <see cref="Fault.Count"/> down to 1, <see cref="Fault.DelayMs"/>
    /// apart, default 500 ms) before <c>livekit_room_info</c>.
    /// </summary>
    [JsonStringEnumMemberName("queue")]
    Queue,
}

/// <summary>Which way a fault applies (Toxiproxy's upstream/downstream).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<FaultDirection>))]
public enum FaultDirection
{
    /// <summary>Both ways.</summary>
    [JsonStringEnumMemberName("both")]
    Both,

    /// <summary>From the simulator toward the client (the echoed video, acks, server messages).</summary>
    [JsonStringEnumMemberName("to_client")]
    ToClient,

    /// <summary>From the client toward the simulator (the camera video, client messages).</summary>
    [JsonStringEnumMemberName("from_client")]
    FromClient,
}

/// <summary>Whether a latency fault delays media packets, signaling messages or both.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<FaultTarget>))]
public enum FaultTarget
{
    /// <summary>Media datagrams only.</summary>
    [JsonStringEnumMemberName("media")]
    Media,

    /// <summary>WebSocket messages only.</summary>
    [JsonStringEnumMemberName("signaling")]
    Signaling,

    /// <summary>Both.</summary>
    [JsonStringEnumMemberName("both")]
    Both,
}

/// <summary>How a session is dropped.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<DropMode>))]
public enum DropMode
{
    /// <summary>Close the WebSocket abruptly and tear the peer connection down.</summary>
    [JsonStringEnumMemberName("websocket")]
    WebSocket,

    /// <summary>Black-hole media and ICE: nothing is answered any more, so the client's consent freshness fails. The WebSocket stays open.</summary>
    [JsonStringEnumMemberName("media")]
    Media,

    /// <summary>Both at once.</summary>
    [JsonStringEnumMemberName("both")]
    Both,

    /// <summary>
    /// LiveKit sessions: the room server sends <c>leave</c> (DISCONNECT) and closes the room's signal connection, as a
    /// real room does when its server goes away; the client's room disconnects and the session ends. On a direct
    /// session it is the same as <see cref="WebSocket"/>.
    /// </summary>
    [JsonStringEnumMemberName("room")]
    Room,

    /// <summary>
    /// LiveKit sessions: the room server sends <c>leave</c> with action RECONNECT (the server asks for a full
    /// reconnect, as LiveKit does when a node drains) and closes the room's signal connection; the session ends, so a
    /// client's attempt to rejoin the same room is refused and it reconnects the whole session. Direct: as
    /// <see cref="WebSocket"/>.
    /// </summary>
    [JsonStringEnumMemberName("room-reconnect")]
    RoomReconnect,

    /// <summary>As <see cref="RoomReconnect"/> with action RESUME (the server asks the client to resume its connection).</summary>
    [JsonStringEnumMemberName("room-resume")]
    RoomResume,
}

/// <summary>
/// One fault: a type, its parameters, a scope (<see cref="SessionId"/> null = every session), a direction and a
/// probability. A one-shot fault (<see cref="FaultType.Drop"/>, <see cref="FaultType.ServerError"/>,
/// <see cref="FaultType.EndGeneration"/>, <see cref="FaultType.Stall"/>) without <see cref="AfterSeconds"/>/<see cref="AfterFrames"/> acts on the
/// sessions open when it is added and is then spent; with a condition it stays and acts once on every matching
/// session (new ones too) when the condition is met, until removed.
/// </summary>
public sealed record Fault
{
    /// <summary>Assigned when added.</summary>
    public string? Id { get; init; }

    /// <summary>What it does.</summary>
    public FaultType Type { get; init; }

    /// <summary>Only this session; null for all.</summary>
    public string? SessionId { get; init; }

    /// <summary>Which way. Default both.</summary>
    public FaultDirection Direction { get; init; }

    /// <summary>Chance (0–1) that it applies to a given packet/message/session. Default 1.</summary>
    public double Probability { get; init; } = 1;

    /// <summary>Latency: what is delayed. Default media.</summary>
    public FaultTarget Target { get; init; }

    /// <summary>Latency in ms.</summary>
    public int LatencyMs { get; init; }

    /// <summary>Uniform jitter ± ms around <see cref="LatencyMs"/>.</summary>
    public int JitterMs { get; init; }

    /// <summary>Loss in percent (0–100).</summary>
    public double LossPercent { get; init; }

    /// <summary>Bandwidth cap in kbit/s.</summary>
    public int BandwidthKbps { get; init; }

    /// <summary>Drop/error/end: act this many seconds after the session started (or the fault was added, if later).</summary>
    public double? AfterSeconds { get; init; }

    /// <summary>Drop/error/end: act once the session has received this many frames.</summary>
    public long? AfterFrames { get; init; }

    /// <summary>Drop: how. Default both.</summary>
    public DropMode Mode { get; init; } = DropMode.Both;

    /// <summary>Refuse: how many connection attempts. Default 1.</summary>
    public int Count { get; init; } = 1;

    /// <summary>Refuse/server error: the error text sent. Defaults: "Service temporarily unavailable" / "Internal server error".</summary>
    public string? Error { get; init; }

    /// <summary>Stall: for how long.</summary>
    public double StallSeconds { get; init; }

    /// <summary>Delay acks: by how much.</summary>
    public int DelayMs { get; init; }

    /// <summary>End generation: the reason sent. Default <c>insufficient_credits</c>.</summary>
    public string? Reason { get; init; }

    /// <summary>Whether this is a one-shot action rather than a standing impairment.</summary>
    [JsonIgnore]
    public bool IsAction => Kind?.IsAction ?? false;

    /// <summary>The kind that gives this fault its rules and behaviour (null for an undefined type).</summary>
    [JsonIgnore]
    internal Kinds.FaultKind? Kind => Kinds.FaultKinds.Of(Type);

    /// <summary>Checks the parameters.</summary>
    /// <returns>Null when valid, else which field is wrong and why.</returns>
    public string? Validate()
    {
        if (Kind is null)
        {
            return "type: unknown fault type";
        }

        if (double.IsNaN(Probability) || Probability is < 0 or > 1)
        {
            return "probability: must be between 0 and 1";
        }

        if (AfterSeconds is { } s && (double.IsNaN(s) || s < 0))
        {
            return "afterSeconds: must be >= 0";
        }

        if (AfterFrames is < 0)
        {
            return "afterFrames: must be >= 0";
        }

        return Kind.Validate(this);
    }
}
