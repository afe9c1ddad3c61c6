using System.Net.Http.Json;

namespace Decart.Sdk.Http;

/// <summary>Client tokens: short-lived keys (<c>ek_…</c>) to give to browsers and devices instead of the API key.</summary>
public sealed class TokensClient
{
    private readonly DecartHttp _http;

    internal TokensClient(DecartHttp http) => _http = http;

    /// <summary>Creates a client token. Call this on your server; send only the token to the client.</summary>
    /// <param name="options">Expiry, restrictions and metadata; null for the service defaults (60 s).</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The token.</returns>
    /// <exception cref="DecartException"><see cref="DecartErrorCode.InvalidInput"/> for out-of-range options,
    /// <see cref="DecartErrorCode.InvalidApiKey"/>, or <see cref="DecartErrorCode.TokenCreateError"/>.</exception>
    public Task<ClientToken> CreateAsync(CreateTokenOptions? options = null, CancellationToken cancellationToken = default)
    {
        Validate(options);
        return _http.SendForJsonAsync(
            () => new HttpRequestMessage(HttpMethod.Post, _http.Url("/v1/client/tokens"))
            {
                Content = options is null ? null : JsonContent.Create(options, DecartJsonContext.Default.CreateTokenOptions),
            },
            DecartJsonContext.Default.ClientToken,
            DecartErrorCode.TokenCreateError,
            "create a client token",
            cancellationToken);
    }

    /// <summary>Checks token options the way the service does.</summary>
    /// <param name="options">The options.</param>
    /// <exception cref="DecartException"><see cref="DecartErrorCode.InvalidInput"/> naming the field.</exception>
    public static void Validate(CreateTokenOptions? options)
    {
        if (options is null)
        {
            return;
        }

        if (options.ExpiresIn is < 1 or > 3600)
        {
            throw new DecartException(DecartErrorCode.InvalidInput, $"expiresIn: must be 1–3600 seconds (got {options.ExpiresIn}).");
        }

        if (options.AllowedModels is { Count: > 20 })
        {
            throw new DecartException(DecartErrorCode.InvalidInput, "allowedModels: at most 20 models.");
        }

        if (options.AllowedModels?.Any(string.IsNullOrWhiteSpace) == true)
        {
            throw new DecartException(DecartErrorCode.InvalidInput, "allowedModels: names must not be empty.");
        }

        if (options.AllowedOrigins is { Count: > 20 })
        {
            throw new DecartException(DecartErrorCode.InvalidInput, "allowedOrigins: at most 20 origins.");
        }

        foreach (var origin in options.AllowedOrigins ?? [])
        {
            if (!IsOrigin(origin))
            {
                throw new DecartException(DecartErrorCode.InvalidInput, $"allowedOrigins: '{origin}' is not a full origin like https://example.com (scheme, host, optional port, no path).");
            }
        }

        if (options.Constraints?.Realtime?.MaxSessionDuration is < 1)
        {
            throw new DecartException(DecartErrorCode.InvalidInput, "constraints.realtime.maxSessionDuration: must be at least 1 second.");
        }
    }

    private static bool IsOrigin(string? origin) =>
        Uri.TryCreate(origin, UriKind.Absolute, out var uri)
        && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp)
        && string.Equals(origin, uri.GetLeftPart(UriPartial.Authority), StringComparison.OrdinalIgnoreCase);
}
