namespace Decart.Sdk;

/// <summary>Settings of a <see cref="DecartClient"/>. Bind them from configuration with <c>services.AddDecartClient(section)</c>.</summary>
public sealed class DecartClientOptions
{
    /// <summary>The REST base URL used when none is set.</summary>
    public static readonly Uri DefaultBaseUrl = new("https://api.decart.ai");

    /// <summary>The realtime base URL used when none is set.</summary>
    public static readonly Uri DefaultRealtimeBaseUrl = new("wss://api3.decart.ai");

    /// <summary>The environment variable read when <see cref="ApiKey"/> is not set.</summary>
    public const string ApiKeyEnvironmentVariable = "DECART_API_KEY";

    /// <summary>
    /// The API key, or a short-lived client token (<c>ek_…</c>). When null, <c>DECART_API_KEY</c> is read.
    /// Never ship the permanent key to a user's device: mint client tokens on your server with
    /// <see cref="Http.TokensClient.CreateAsync"/>.
    /// </summary>
    public string? ApiKey { get; set; }

    /// <summary>REST base URL. Default <c>https://api.decart.ai</c>.</summary>
    public Uri BaseUrl { get; set; } = DefaultBaseUrl;

    /// <summary>Realtime (WebSocket) base URL. Default <c>wss://api3.decart.ai</c>.</summary>
    public Uri RealtimeBaseUrl { get; set; } = DefaultRealtimeBaseUrl;

    /// <summary>An integration tag appended to the User-Agent, e.g. <c>my-app/1.2</c>.</summary>
    public string? Integration { get; set; }

    /// <summary>Time limit of one REST request. Default 5 minutes (synchronous generation can be slow).</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Describes the options without the key.</summary>
    /// <returns>A description.</returns>
    public override string ToString() => $"DecartClientOptions {{ BaseUrl = {BaseUrl}, RealtimeBaseUrl = {RealtimeBaseUrl}, ApiKey = {(string.IsNullOrEmpty(ApiKey) ? "(unset)" : SecretRedactor.Mask)}, Integration = {Integration}, Timeout = {Timeout} }}";
}
