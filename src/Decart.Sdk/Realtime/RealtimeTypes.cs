namespace Decart.Sdk.Realtime;

/// <summary>Whether the frames <b>sent</b> to the model are flipped horizontally. The local preview is never flipped.</summary>
public enum MirrorMode
{
    /// <summary>Never mirror.</summary>
    Off,

    /// <summary>Mirror only sources that face the user (front/selfie cameras).</summary>
    Auto,

    /// <summary>Always mirror.</summary>
    On,
}

/// <summary>The state of a realtime session, as <c>RealtimeClient.ConnectionChanged</c> reports it.</summary>
public enum ConnectionState
{
    /// <summary>Opening the WebSocket, sending the initial state, negotiating media.</summary>
    Connecting,

    /// <summary>The peer connection is up; the model has not started yet.</summary>
    Connected,

    /// <summary>The model is transforming the stream (after <c>generation_started</c>). Sticky until the connection is really lost.</summary>
    Generating,

    /// <summary>The connection dropped unexpectedly and the SDK is retrying.</summary>
    Reconnecting,

    /// <summary>Closed: by <c>RealtimeClient.DisconnectAsync</c>, a permanent error, or retries running out.</summary>
    Disconnected,
}

/// <summary>One tick of the billing clock: the model has been generating for <paramref name="Seconds"/>.</summary>
/// <param name="Seconds">Generation time so far in this session.</param>
public readonly record struct GenerationTick(double Seconds);

/// <summary>The model stopped generating.</summary>
/// <param name="Seconds">Total generation time.</param>
/// <param name="Reason">Why, as the service says (e.g. insufficient credits, session time limit).</param>
public readonly record struct GenerationEnded(double Seconds, string? Reason);

/// <summary>
/// What the model is told to do: a prompt, a reference image, or both. <c>RealtimeClient.SetAsync</c>
/// replaces the whole state at once, so leaving <see cref="Image"/> out clears it.
/// </summary>
public sealed record RealtimeState
{
    /// <summary>The style prompt, 1–1000 characters; null for none.</summary>
    public string? Prompt { get; init; }

    /// <summary>The reference image; null for none.</summary>
    public ImageInput? Image { get; init; }

    /// <summary>Whether the service may enhance the prompt (recommended). Default true.</summary>
    public bool Enhance { get; init; } = true;

    /// <summary>A state with neither prompt nor image: the model passes the video through.</summary>
    public static RealtimeState Passthrough { get; } = new();

    /// <inheritdoc />
    public override string ToString() => $"RealtimeState {{ Prompt = {(Prompt is null ? "null" : $"\"{Prompt}\"")}, Image = {(Image is null ? "null" : Image.ToString())}, Enhance = {Enhance} }}";
}

/// <summary>How a realtime session carries its media (<see cref="RealtimeConnectOptions.Transport"/>).</summary>
public enum RealtimeTransport
{
    /// <summary>
    /// Decart's current protocol (since May 2026, what its JS and Python SDKs speak): <c>livekit_join</c> on the
    /// control socket, then the camera is published to, and the model's output received from, a LiveKit room over one
    /// peer connection. The default.
    /// </summary>
    LiveKit,

    /// <summary>The older flow: the SDP offer/answer and ICE candidates travel on the control socket, one peer connection straight to the model's server.</summary>
    Direct,
}

/// <summary>Where the session waits in the service's queue before a model is free.</summary>
/// <param name="Position">The position (1 = next).</param>
/// <param name="QueueSize">How many sessions wait.</param>
public readonly record struct QueuePosition(int Position, int QueueSize);
