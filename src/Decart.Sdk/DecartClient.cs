using Decart.Sdk.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Decart.Sdk;

/// <summary>
/// The entry point of the SDK: REST APIs (<see cref="Process"/>, <see cref="Queue"/>, <see cref="Tokens"/>, <see cref="Files"/>)
/// and realtime sessions. Thread-safe; create one per API key and reuse it.
/// </summary>
public sealed class DecartClient : IDisposable
{
    private readonly HttpClient _httpClient;
    private readonly bool _ownsHttpClient;

    /// <summary>Creates a client.</summary>
    /// <param name="options">Key, URLs and timeouts. The key falls back to <c>DECART_API_KEY</c>.</param>
    /// <param name="httpClient">An HttpClient to send REST requests with (e.g. from <c>IHttpClientFactory</c>); the client does not dispose it. Null: the client makes and owns one.</param>
    /// <param name="loggerFactory">Where to log; the key is never logged.</param>
    /// <exception cref="DecartException"><see cref="DecartErrorCode.InvalidApiKey"/> when no key is given or set in the environment;
    /// <see cref="DecartErrorCode.InvalidBaseUrl"/> for an unusable URL.</exception>
    public DecartClient(DecartClientOptions options, HttpClient? httpClient = null, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var key = string.IsNullOrWhiteSpace(options.ApiKey) ? Environment.GetEnvironmentVariable(DecartClientOptions.ApiKeyEnvironmentVariable) : options.ApiKey;
        if (string.IsNullOrWhiteSpace(key))
        {
            throw new DecartException(DecartErrorCode.InvalidApiKey, $"no API key: set DecartClientOptions.ApiKey or the {DecartClientOptions.ApiKeyEnvironmentVariable} environment variable.");
        }

        key = key.Trim();
        SecretRedactor.Register(key);
        BaseUrl = CheckUrl(options.BaseUrl, nameof(options.BaseUrl), "http", "https");
        RealtimeBaseUrl = CheckUrl(options.RealtimeBaseUrl, nameof(options.RealtimeBaseUrl), "ws", "wss", "http", "https");
        if (options.Timeout <= TimeSpan.Zero)
        {
            throw new DecartException(DecartErrorCode.InvalidOptions, "Timeout must be positive.");
        }

        ApiKey = key;
        Integration = options.Integration;
        LoggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        _ownsHttpClient = httpClient is null;
        _httpClient = httpClient ?? new HttpClient { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
        var http = Http = new DecartHttp(_httpClient, key, BaseUrl, options.Integration, options.Timeout, LoggerFactory.CreateLogger("Decart.Sdk.Http"));
        Process = new ProcessClient(http);
        Queue = new QueueClient(http);
        Tokens = new TokensClient(http);
        Files = new FilesClient(http);
        Realtime = new Realtime.RealtimeApi(this);
    }

    /// <summary>The REST base URL in use.</summary>
    public Uri BaseUrl { get; }

    /// <summary>The realtime base URL in use.</summary>
    public Uri RealtimeBaseUrl { get; }

    /// <summary>Synchronous image generation.</summary>
    public ProcessClient Process { get; }

    /// <summary>Queued jobs (video models).</summary>
    public QueueClient Queue { get; }

    /// <summary>Realtime sessions (streaming video to a realtime model).</summary>
    public Realtime.RealtimeApi Realtime { get; }

    /// <summary>Short-lived client tokens.</summary>
    public TokensClient Tokens { get; }

    /// <summary>Uploaded files: an image uploaded once and referred to by id in realtime sessions.</summary>
    public FilesClient Files { get; }

    /// <summary>The integration tag of the User-Agent.</summary>
    internal string? Integration { get; }

    /// <summary>The key (never logged; only the realtime URL and REST headers carry it).</summary>
    internal string ApiKey { get; }

    /// <summary>The REST sender (key, User-Agent, timeouts, typed errors).</summary>
    internal DecartHttp Http { get; }

    /// <summary>Where the client logs.</summary>
    internal ILoggerFactory LoggerFactory { get; }

    /// <summary>Describes the client without the key.</summary>
    /// <returns>A description.</returns>
    public override string ToString() => $"DecartClient {{ BaseUrl = {BaseUrl}, RealtimeBaseUrl = {RealtimeBaseUrl} }}";

    /// <summary>Disposes the HttpClient if the client created it.</summary>
    public void Dispose()
    {
        if (_ownsHttpClient)
        {
            _httpClient.Dispose();
        }
    }

    private static Uri CheckUrl(Uri? url, string name, params string[] schemes)
    {
        if (url is null || !url.IsAbsoluteUri || !schemes.Contains(url.Scheme, StringComparer.OrdinalIgnoreCase) || !string.IsNullOrEmpty(url.Query))
        {
            throw new DecartException(DecartErrorCode.InvalidBaseUrl, $"{name} must be an absolute {string.Join('/', schemes)} URL without a query (got '{SecretRedactor.Redact(url?.ToString())}').");
        }

        return url;
    }
}
