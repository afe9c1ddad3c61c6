using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.Logging;
using Decart.Sdk.Logging;

namespace Decart.Sdk.Http;

/// <summary>
/// Sends the SDK's REST requests: adds <c>X-API-KEY</c> and the User-Agent, applies the per-request timeout to
/// the whole exchange (headers and body), and turns every failure into a <see cref="DecartException"/> with the
/// calling operation's code. Only the caller's own cancellation surfaces as <see cref="OperationCanceledException"/>.
/// </summary>
internal sealed class DecartHttp
{
    private const int MaxErrorBodyChars = 4096;

    private readonly HttpClient _http;
    private readonly string _apiKey;
    private readonly string _userAgent;
    private readonly TimeSpan _timeout;
    private readonly ILogger _logger;

    /// <summary>Logs once per request that a deprecated or retired model name is used (the JS SDK warns the same way).</summary>
    /// <param name="model">The model.</param>
    public void WarnIfDeprecated(Models.ModelDefinition model)
    {
        if (model.Deprecation is { } note)
        {
            _logger.LogWarning(DecartLog.ModelDeprecated, "Model {Model}: {Deprecation}.", model.Name, note);
        }
    }

    public DecartHttp(HttpClient http, string apiKey, Uri baseUrl, string? integration, TimeSpan timeout, ILogger logger)
    {
        _http = http;
        _apiKey = apiKey;
        BaseUrl = baseUrl;
        _userAgent = UserAgent.Build(integration);
        _timeout = timeout;
        _logger = logger;
    }

    public Uri BaseUrl { get; }

    public string UserAgentValue => _userAgent;

    public Uri Url(string path) => new(BaseUrl, BaseUrl.AbsolutePath.TrimEnd('/') + path);

    /// <summary>Sends and reads the body as bytes.</summary>
    public Task<(byte[] Body, string ContentType)> SendForBytesAsync(Func<HttpRequestMessage> request, DecartErrorCode failure, string what, CancellationToken cancellationToken) =>
        SendAsync(request, failure, what, cancellationToken, async (response, token) =>
        {
            var body = await response.Content.ReadAsByteArrayAsync(token).ConfigureAwait(false);
            return (body, response.Content.Headers.ContentType?.MediaType ?? "application/octet-stream");
        });

    /// <summary>Sends and deserializes the JSON body.</summary>
    public Task<T> SendForJsonAsync<T>(Func<HttpRequestMessage> request, JsonTypeInfo<T> type, DecartErrorCode failure, string what, CancellationToken cancellationToken) =>
        SendAsync(request, failure, what, cancellationToken, async (response, token) =>
        {
            await using var stream = await response.Content.ReadAsStreamAsync(token).ConfigureAwait(false);
            T? value;
            try
            {
                value = await JsonSerializer.DeserializeAsync(stream, type, token).ConfigureAwait(false);
            }
            catch (JsonException ex)
            {
                throw new DecartException(failure, $"{what}: the service answered with malformed JSON.", response.StatusCode, null, ex);
            }

            return value ?? throw new DecartException(failure, $"{what}: the service answered with an empty JSON body.", response.StatusCode, null);
        });

    private async Task<T> SendAsync<T>(Func<HttpRequestMessage> buildRequest, DecartErrorCode failure, string what, CancellationToken cancellationToken, Func<HttpResponseMessage, CancellationToken, Task<T>> read)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_timeout);
        using var request = buildRequest();
        request.Headers.TryAddWithoutValidation("X-API-KEY", _apiKey);
        request.Headers.TryAddWithoutValidation("User-Agent", _userAgent);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("*/*"));
        _logger.LogDebug(DecartLog.Request, "Decart {Operation}: {Method} {Path}", what, request.Method, request.RequestUri?.AbsolutePath);
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw await ToExceptionAsync(response, failure, what, timeout.Token).ConfigureAwait(false);
            }

            return await read(response, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (OperationCanceledException ex)
        {
            _logger.LogWarning(DecartLog.RequestTimedOut, "Decart {Operation} timed out after {Timeout}.", what, _timeout);
            throw new DecartException(failure, $"{what}: no complete answer within {_timeout.TotalSeconds:0.###} s.", ex);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            _logger.LogWarning(DecartLog.RequestFailed, "Decart {Operation} failed: {Error}", what, SecretRedactor.Redact(ex.Message));
            throw new DecartException(failure, $"{what}: the request failed ({SecretRedactor.Redact(ex.Message)}).", ex);
        }
    }

    private async Task<DecartException> ToExceptionAsync(HttpResponseMessage response, DecartErrorCode failure, string what, CancellationToken cancellationToken)
    {
        string body;
        try
        {
            body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            body = string.Empty;
        }

        if (body.Length > MaxErrorBodyChars)
        {
            body = body[..MaxErrorBodyChars] + "…";
        }

        var status = response.StatusCode;
        var code = status switch
        {
            HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => DecartErrorCode.InvalidApiKey,
            HttpStatusCode.NotFound when failure is DecartErrorCode.ProcessingError or DecartErrorCode.QueueSubmitError => DecartErrorCode.ModelNotFound,
            _ => failure,
        };
        var message = ExtractMessage(body);
        _logger.LogWarning(DecartLog.HttpError, "Decart {Operation} failed with HTTP {Status}: {Message}", what, (int)status, SecretRedactor.Redact(message));
        return new DecartException(code, $"{what} failed: HTTP {(int)status} - {message}", status, body);
    }

    /// <summary>The <c>error</c>/<c>message</c> field of a JSON error body, or the body text.</summary>
    private static string ExtractMessage(string body)
    {
        if (string.IsNullOrWhiteSpace(body))
        {
            return "(no body)";
        }

        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind == JsonValueKind.Object)
            {
                foreach (var name in (string[])["error", "message", "detail"])
                {
                    if (document.RootElement.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String)
                    {
                        return value.GetString() ?? body;
                    }
                }
            }
        }
        catch (JsonException)
        {
        }

        return body.Trim();
    }
}
