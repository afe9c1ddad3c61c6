using System.Text.Json.Serialization;

namespace Decart.Sdk.Realtime.Signaling;

/// <summary>A message the client sends on the realtime WebSocket.</summary>
internal abstract record OutgoingSignal;

/// <summary>A message the server sends on the realtime WebSocket.</summary>
internal abstract record IncomingSignal;

/// <summary><c>{"type":"prompt","prompt":…,"enhance_prompt":…}</c>.</summary>
internal sealed record PromptSignal(
    [property: JsonPropertyName("prompt")] string Prompt,
    [property: JsonPropertyName("enhance_prompt")] bool EnhancePrompt) : OutgoingSignal
{
    [JsonPropertyName("type")]
    public string Type => "prompt";
}

/// <summary><c>{"type":"set_image","image_data":…|null,"prompt":…?,"enhance_prompt":…?}</c>; with both image and prompt it is the atomic <c>set()</c>.</summary>
internal sealed record SetImageSignal(
    [property: JsonPropertyName("image_data")] string? ImageData,
    [property: JsonPropertyName("prompt"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Prompt,
    [property: JsonPropertyName("enhance_prompt"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? EnhancePrompt) : OutgoingSignal
{
    [JsonPropertyName("type")]
    public string Type => "set_image";
}

/// <summary><c>set_image</c> that replaces the whole state: <c>prompt</c> is always written (null clears it).</summary>
/// <param name="ImageData">Base64 of the image, or null to clear it.</param>
/// <param name="Prompt">The prompt, or null to clear it.</param>
/// <param name="EnhancePrompt">Prompt enhancement.</param>
internal sealed record SetStateSignal(
    [property: JsonPropertyName("image_data")] string? ImageData,
    [property: JsonPropertyName("prompt")] string? Prompt,
    [property: JsonPropertyName("enhance_prompt")] bool EnhancePrompt) : OutgoingSignal
{
    /// <summary>The message type.</summary>
    [JsonPropertyName("type")]
    public string Type => "set_image";
}

/// <summary><c>set_image</c> naming an uploaded file (<c>image_ref</c>) instead of carrying the bytes; otherwise as <see cref="SetImageSignal"/>.</summary>
/// <param name="ImageRef">The file's id, <c>file_…</c>.</param>
/// <param name="Prompt">A prompt to set with it, or null to keep the current one.</param>
/// <param name="EnhancePrompt">Prompt enhancement, or null for the server's default.</param>
internal sealed record SetImageRefSignal(
    [property: JsonPropertyName("image_ref")] string ImageRef,
    [property: JsonPropertyName("prompt"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Prompt,
    [property: JsonPropertyName("enhance_prompt"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? EnhancePrompt) : OutgoingSignal
{
    /// <summary>The message type.</summary>
    [JsonPropertyName("type")]
    public string Type => "set_image";
}

/// <summary><c>set_image</c> replacing the whole state with an uploaded file as the image: <c>prompt</c> always written.</summary>
/// <param name="ImageRef">The file's id, <c>file_…</c>.</param>
/// <param name="Prompt">The prompt, or null to clear it.</param>
/// <param name="EnhancePrompt">Prompt enhancement.</param>
internal sealed record SetStateRefSignal(
    [property: JsonPropertyName("image_ref")] string ImageRef,
    [property: JsonPropertyName("prompt")] string? Prompt,
    [property: JsonPropertyName("enhance_prompt")] bool EnhancePrompt) : OutgoingSignal
{
    /// <summary>The message type.</summary>
    [JsonPropertyName("type")]
    public string Type => "set_image";
}

/// <summary>Picks the <c>set_image</c> form for an image: <c>image_ref</c> for an uploaded file, else <c>image_data</c>.</summary>
internal static class ImageSignals
{
    /// <summary><c>SetImageAsync</c>: the image (or null to clear it), the prompt only when given.</summary>
    public static OutgoingSignal SetImage(ImageInput? image, string? prompt, bool? enhance) =>
        image?.FileRef is { } id ? new SetImageRefSignal(id, prompt, enhance) : new SetImageSignal(image?.ToBase64(), prompt, enhance);

    /// <summary><c>SetAsync</c> and restored state: image and prompt together, each null clearing it.</summary>
    public static OutgoingSignal SetState(ImageInput? image, string? prompt, bool enhance) =>
        image?.FileRef is { } id ? new SetStateRefSignal(id, prompt, enhance) : new SetStateSignal(image?.ToBase64(), prompt, enhance);
}

/// <summary><c>{"type":"offer"|"answer","sdp":…}</c> in either direction.</summary>
internal sealed record SdpSignal(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("sdp")] string Sdp) : OutgoingSignal;

/// <summary>The <c>candidate</c> object of an <c>ice-candidate</c> message (RTCIceCandidateInit).</summary>
internal sealed record IceCandidateInit(
    [property: JsonPropertyName("candidate")] string Candidate,
    [property: JsonPropertyName("sdpMid")] string? SdpMid,
    [property: JsonPropertyName("sdpMLineIndex")] int? SdpMLineIndex);

/// <summary><c>{"type":"ice-candidate","candidate":{…}|null}</c>; null ends the trickle.</summary>
internal sealed record IceCandidateSignal(
    [property: JsonPropertyName("candidate")] IceCandidateInit? Candidate) : OutgoingSignal
{
    [JsonPropertyName("type")]
    public string Type => "ice-candidate";
}

/// <summary><c>{"type":"livekit_join","passthrough":…,"client_capabilities":{"frame_timing":true}?}</c>: media goes through a LiveKit room.</summary>
internal sealed record LiveKitJoinSignal(
    [property: JsonPropertyName("passthrough")] bool Passthrough,
    [property: JsonPropertyName("client_capabilities"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ClientCapabilities? ClientCapabilities) : OutgoingSignal
{
    /// <summary>The message type.</summary>
    [JsonPropertyName("type")]
    public string Type => "livekit_join";
}

/// <summary>The <c>client_capabilities</c> of a <c>livekit_join</c>.</summary>
internal sealed record ClientCapabilities([property: JsonPropertyName("frame_timing")] bool FrameTiming);

/// <summary>Server: <c>{"type":"livekit_room_info","livekit_url":…,"token":…,"room_name":…,"session_id":…}</c>. The token never appears in <see cref="ToString"/>.</summary>
internal sealed record LiveKitRoomInfoSignal(string LivekitUrl, string Token, string RoomName, string? SessionId) : IncomingSignal
{
    /// <inheritdoc />
    public override string ToString() => $"LiveKitRoomInfoSignal {{ RoomName = {RoomName}, SessionId = {SessionId}, Token = *** }}";
}

/// <summary>Server: <c>{"type":"queue_position","position":…,"queue_size":…}</c>.</summary>
internal sealed record QueuePositionSignal(int Position, int QueueSize) : IncomingSignal;

/// <summary>Server: <c>{"type":"error","error":…}</c>.</summary>
internal sealed record ErrorSignal(string Error) : IncomingSignal;

/// <summary>Server: <c>{"type":"set_image_ack","success":…,"error":…}</c>.</summary>
internal sealed record SetImageAckSignal(bool Success, string? Error) : IncomingSignal;

/// <summary>Server: <c>{"type":"prompt_ack","prompt":…,"success":…,"error":…}</c>.</summary>
internal sealed record PromptAckSignal(string? Prompt, bool Success, string? Error) : IncomingSignal;

/// <summary>Server: <c>{"type":"session_id","session_id":…,"server_ip":…,"server_port":…}</c>.</summary>
internal sealed record SessionIdSignal(string SessionId, string? ServerIp, int? ServerPort) : IncomingSignal;

/// <summary>Server: <c>{"type":"generation_started"}</c>.</summary>
internal sealed record GenerationStartedSignal : IncomingSignal;

/// <summary>Server: <c>{"type":"generation_tick","seconds":…}</c>.</summary>
internal sealed record GenerationTickSignal(double Seconds) : IncomingSignal;

/// <summary>Server: <c>{"type":"generation_ended","seconds":…,"reason":…}</c>.</summary>
internal sealed record GenerationEndedSignal(double Seconds, string? Reason) : IncomingSignal;

/// <summary>Server: an <c>offer</c> (the client answers) or an <c>answer</c> to the client's offer.</summary>
internal sealed record RemoteSdpSignal(string Type, string Sdp) : IncomingSignal;

/// <summary>Server: a trickled candidate, or null at the end of candidates.</summary>
internal sealed record RemoteCandidateSignal(IceCandidateInit? Candidate) : IncomingSignal;
