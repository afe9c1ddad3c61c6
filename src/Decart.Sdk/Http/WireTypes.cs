using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Decart.Sdk.Http;

/// <summary>A queued job's state.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<JobStatus>))]
public enum JobStatus
{
    /// <summary>Waiting to start (<c>pending</c>).</summary>
    [JsonStringEnumMemberName("pending")]
    Pending,

    /// <summary>Running (<c>processing</c>).</summary>
    [JsonStringEnumMemberName("processing")]
    Processing,

    /// <summary>Done; the result can be downloaded (<c>completed</c>).</summary>
    [JsonStringEnumMemberName("completed")]
    Completed,

    /// <summary>Failed; there is no result (<c>failed</c>).</summary>
    [JsonStringEnumMemberName("failed")]
    Failed,
}

/// <summary>A job as the service describes it: <c>{ job_id, status }</c>.</summary>
/// <param name="JobId">The job's id.</param>
/// <param name="Status">Its state.</param>
public sealed record JobInfo(
    [property: JsonPropertyName("job_id")] string JobId,
    [property: JsonPropertyName("status")] JobStatus Status);

/// <summary>A finished job's output.</summary>
/// <param name="JobId">The job's id.</param>
/// <param name="Data">The result bytes (a video).</param>
/// <param name="ContentType">Their media type, e.g. <c>video/mp4</c>.</param>
public sealed record JobResult(string JobId, byte[] Data, string ContentType);

/// <summary>An uploaded file (<c>client.Files</c>): pass <see cref="Id"/> to <c>ImageInput.FromFileRef</c> to reuse it in realtime sessions without sending the bytes again.</summary>
/// <param name="Id">The reference id, <c>file_…</c>.</param>
/// <param name="FileName">The name it was uploaded with, if any.</param>
/// <param name="MimeType">Its media type, e.g. <c>image/png</c>.</param>
/// <param name="SizeBytes">Its size.</param>
/// <param name="CreatedAt">When it was uploaded.</param>
/// <param name="ExpiresAt">When it expires; null for a persistent file.</param>
public sealed record FileReference(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("filename")] string? FileName,
    [property: JsonPropertyName("mime_type")] string MimeType,
    [property: JsonPropertyName("size_bytes")] long SizeBytes,
    [property: JsonPropertyName("created_at")] DateTimeOffset CreatedAt,
    [property: JsonPropertyName("expires_at")] DateTimeOffset? ExpiresAt);

/// <summary>How long an uploaded file lives.</summary>
public sealed record FileUploadOptions
{
    /// <summary>Its time to live, whole seconds from 60 s to 30 days; null (with <see cref="Persistent"/> false) for the service's default (24 h).</summary>
    public TimeSpan? Ttl { get; init; }

    /// <summary>Never expires (delete it with <c>DeleteAsync</c>). Not with <see cref="Ttl"/>.</summary>
    public bool Persistent { get; init; }
}

/// <summary>The output of a synchronous generation.</summary>
/// <param name="Data">The result bytes (an image).</param>
/// <param name="ContentType">Their media type, e.g. <c>image/png</c>.</param>
public sealed record ProcessResult(byte[] Data, string ContentType);

/// <summary>Realtime limits of a client token.</summary>
public sealed record RealtimeTokenConstraints
{
    /// <summary>Longest realtime session a token allows, in seconds.</summary>
    [JsonPropertyName("maxSessionDuration")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? MaxSessionDuration { get; init; }
}

/// <summary>Operational limits of a client token.</summary>
public sealed record TokenConstraints
{
    /// <summary>Realtime limits.</summary>
    [JsonPropertyName("realtime")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public RealtimeTokenConstraints? Realtime { get; init; }
}

/// <summary>What a client token is limited to.</summary>
public sealed record TokenPermissions
{
    /// <summary>Models the token may use.</summary>
    [JsonPropertyName("models")]
    public IReadOnlyList<string>? Models { get; init; }

    /// <summary>Web origins the token may be used from.</summary>
    [JsonPropertyName("origins")]
    public IReadOnlyList<string>? Origins { get; init; }
}

/// <summary>Options of <see cref="TokensClient.CreateAsync"/>.</summary>
public sealed record CreateTokenOptions
{
    /// <summary>Custom key-value pairs attached to the token.</summary>
    [JsonPropertyName("metadata")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public JsonObject? Metadata { get; init; }

    /// <summary>Seconds until the token expires, 1–3600 (service default 60).</summary>
    [JsonPropertyName("expiresIn")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? ExpiresIn { get; init; }

    /// <summary>Models the token may use (at most 20).</summary>
    [JsonPropertyName("allowedModels")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? AllowedModels { get; init; }

    /// <summary>Full web origins (<c>https://example.com</c>) the token may be used from (at most 20); checked against the WebSocket <c>Origin</c>.</summary>
    [JsonPropertyName("allowedOrigins")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? AllowedOrigins { get; init; }

    /// <summary>Operational limits.</summary>
    [JsonPropertyName("constraints")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public TokenConstraints? Constraints { get; init; }
}

/// <summary>A short-lived client token: safe to hand to a browser or device in place of the API key.</summary>
public sealed record ClientToken
{
    /// <summary>The token (<c>ek_…</c>), usable wherever an API key is.</summary>
    [JsonPropertyName("apiKey")]
    public required string ApiKey { get; init; }

    /// <summary>A signed JWT mirroring the token, when the service sends one.</summary>
    [JsonPropertyName("token")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Token { get; init; }

    /// <summary>When it stops being accepted for new sessions.</summary>
    [JsonPropertyName("expiresAt")]
    public required DateTimeOffset ExpiresAt { get; init; }

    /// <summary>Present when models or origins were restricted.</summary>
    [JsonPropertyName("permissions")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public TokenPermissions? Permissions { get; init; }

    /// <summary>Present when constraints were set.</summary>
    [JsonPropertyName("constraints")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public TokenConstraints? Constraints { get; init; }

    /// <summary>Describes the token without revealing it.</summary>
    /// <returns>A description.</returns>
    public override string ToString() => $"ClientToken {{ ApiKey = {SecretRedactor.Mask}, ExpiresAt = {ExpiresAt:O} }}";
}

/// <summary>Source-generated JSON for every REST wire type.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, UseStringEnumConverter = true)]
[JsonSerializable(typeof(JobInfo))]
[JsonSerializable(typeof(FileReference))]
[JsonSerializable(typeof(CreateTokenOptions))]
[JsonSerializable(typeof(ClientToken))]
[JsonSerializable(typeof(JsonObject))]
internal sealed partial class DecartJsonContext : JsonSerializerContext;
