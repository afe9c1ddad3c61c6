using System.Text.Json;
using System.Text.Json.Serialization;

namespace Decart.Sdk.Realtime.Signaling;

/// <summary>Source-generated serialization for every signaling message (no reflection at run time).</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(PromptSignal))]
[JsonSerializable(typeof(SetImageSignal))]
[JsonSerializable(typeof(SetStateSignal))]
[JsonSerializable(typeof(SetImageRefSignal))]
[JsonSerializable(typeof(SetStateRefSignal))]
[JsonSerializable(typeof(SdpSignal))]
[JsonSerializable(typeof(IceCandidateSignal))]
[JsonSerializable(typeof(IceCandidateInit))]
[JsonSerializable(typeof(LiveKitJoinSignal))]
internal sealed partial class SignalingJsonContext : JsonSerializerContext;

/// <summary>Why an incoming signaling message was not understood.</summary>
internal enum SignalParseError
{
    /// <summary>Not valid JSON, or not a JSON object.</summary>
    MalformedJson,

    /// <summary>No string <c>type</c> property.</summary>
    MissingType,

    /// <summary>A <c>type</c> this client does not know; ignored by design (forward compatibility).</summary>
    UnknownType,

    /// <summary>A known type whose required fields are missing or of the wrong kind.</summary>
    InvalidFields,
}

/// <summary>Turns signaling messages into UTF-8 JSON and back. Never throws on what the server sends.</summary>
internal static class SignalingCodec
{
    /// <summary>Serializes an outgoing message.</summary>
    public static byte[] Serialize(OutgoingSignal message) => message switch
    {
        PromptSignal m => JsonSerializer.SerializeToUtf8Bytes(m, SignalingJsonContext.Default.PromptSignal),
        SetImageSignal m => JsonSerializer.SerializeToUtf8Bytes(m, SignalingJsonContext.Default.SetImageSignal),
        SetStateSignal m => JsonSerializer.SerializeToUtf8Bytes(m, SignalingJsonContext.Default.SetStateSignal),
        SetImageRefSignal m => JsonSerializer.SerializeToUtf8Bytes(m, SignalingJsonContext.Default.SetImageRefSignal),
        SetStateRefSignal m => JsonSerializer.SerializeToUtf8Bytes(m, SignalingJsonContext.Default.SetStateRefSignal),
        SdpSignal m => JsonSerializer.SerializeToUtf8Bytes(m, SignalingJsonContext.Default.SdpSignal),
        IceCandidateSignal m => JsonSerializer.SerializeToUtf8Bytes(m, SignalingJsonContext.Default.IceCandidateSignal),
        LiveKitJoinSignal m => JsonSerializer.SerializeToUtf8Bytes(m, SignalingJsonContext.Default.LiveKitJoinSignal),
        _ => throw new ArgumentOutOfRangeException(nameof(message), message.GetType().Name, "not a signaling message"),
    };

    /// <summary>Parses one server message.</summary>
    /// <param name="utf8">The WebSocket text message.</param>
    /// <param name="message">The message, when understood.</param>
    /// <param name="error">Why not, otherwise.</param>
    /// <param name="type">The <c>type</c> field when there was one (for logging unknown types).</param>
    /// <returns>Whether the message was understood.</returns>
    public static bool TryParse(ReadOnlySpan<byte> utf8, out IncomingSignal? message, out SignalParseError error, out string? type)
    {
        try
        {
            return TryParseCore(utf8, out message, out error, out type);
        }
        catch (InvalidOperationException)
        {
            // JsonDocument validates structure eagerly but string contents lazily: invalid UTF-8 inside a
            // string surfaces only when it is read.
            message = null;
            type = null;
            error = SignalParseError.MalformedJson;
            return false;
        }
    }

    private static bool TryParseCore(ReadOnlySpan<byte> utf8, out IncomingSignal? message, out SignalParseError error, out string? type)
    {
        message = null;
        type = null;
        error = SignalParseError.MalformedJson;
        JsonDocument document;
        try
        {
            var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = 16 });
            if (!JsonDocument.TryParseValue(ref reader, out var parsed) || parsed is null)
            {
                return false;
            }

            document = parsed;
        }
        catch (JsonException)
        {
            return false;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return false;
            }

            if (!root.TryGetProperty("type", out var typeElement) || typeElement.ValueKind != JsonValueKind.String)
            {
                error = SignalParseError.MissingType;
                return false;
            }

            type = typeElement.GetString();
            error = SignalParseError.InvalidFields;
            switch (type)
            {
                case "error":
                    message = new ErrorSignal(OptionalString(root, "error") ?? OptionalString(root, "message") ?? "unknown error");
                    return true;
                case "set_image_ack":
                    if (!TryBool(root, "success", out bool imageOk))
                    {
                        return false;
                    }

                    message = new SetImageAckSignal(imageOk, OptionalString(root, "error"));
                    return true;
                case "prompt_ack":
                    if (!TryBool(root, "success", out bool promptOk))
                    {
                        return false;
                    }

                    message = new PromptAckSignal(OptionalString(root, "prompt"), promptOk, OptionalString(root, "error"));
                    return true;
                case "session_id":
                    if (OptionalString(root, "session_id") is not { } sid)
                    {
                        return false;
                    }

                    message = new SessionIdSignal(sid, OptionalString(root, "server_ip"), OptionalInt(root, "server_port"));
                    return true;
                case "livekit_room_info":
                    if (OptionalString(root, "livekit_url") is not { Length: > 0 } roomUrl || OptionalString(root, "token") is not { Length: > 0 } roomToken)
                    {
                        return false;
                    }

                    message = new LiveKitRoomInfoSignal(roomUrl, roomToken, OptionalString(root, "room_name") ?? string.Empty, OptionalString(root, "session_id"));
                    return true;
                case "queue_position":
                    if (OptionalInt(root, "position") is not { } position)
                    {
                        return false;
                    }

                    message = new QueuePositionSignal(position, OptionalInt(root, "queue_size") ?? 0);
                    return true;
                case "generation_started":
                    message = new GenerationStartedSignal();
                    return true;
                case "generation_tick":
                    if (!TryNumber(root, "seconds", out double tick))
                    {
                        return false;
                    }

                    message = new GenerationTickSignal(tick);
                    return true;
                case "generation_ended":
                    message = new GenerationEndedSignal(TryNumber(root, "seconds", out double ended) ? ended : 0, OptionalString(root, "reason"));
                    return true;
                case "offer":
                case "answer":
                    if (OptionalString(root, "sdp") is not { Length: > 0 } sdp)
                    {
                        return false;
                    }

                    message = new RemoteSdpSignal(type, sdp);
                    return true;
                case "ice-candidate":
                    if (!root.TryGetProperty("candidate", out var candidate) || candidate.ValueKind == JsonValueKind.Null)
                    {
                        message = new RemoteCandidateSignal(null);
                        return true;
                    }

                    if (candidate.ValueKind != JsonValueKind.Object || OptionalString(candidate, "candidate") is not { } line)
                    {
                        return false;
                    }

                    message = new RemoteCandidateSignal(new IceCandidateInit(line, OptionalString(candidate, "sdpMid"), OptionalInt(candidate, "sdpMLineIndex")));
                    return true;
                default:
                    error = SignalParseError.UnknownType;
                    return false;
            }
        }
    }

    private static string? OptionalString(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static int? OptionalInt(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int n) ? n : null;

    private static bool TryBool(JsonElement obj, string name, out bool result)
    {
        result = false;
        if (!obj.TryGetProperty(name, out var value) || value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
        {
            return false;
        }

        result = value.GetBoolean();
        return true;
    }

    private static bool TryNumber(JsonElement obj, string name, out double result)
    {
        result = 0;
        return obj.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out result) && double.IsFinite(result);
    }
}
