using Decart.Sdk.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Decart.Sdk.AspNetCore;

/// <summary>Maps Decart's endpoints into an ASP.NET Core app.</summary>
public static class DecartEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps <c>POST <paramref name="pattern"/></c>: the client-token endpoint Decart's best practices ask every browser
    /// or device app to have. It asks Decart for a short-lived client token with the server's key (the
    /// <see cref="DecartClient"/> registered by <c>AddDecartClient</c>) and returns Decart's answer
    /// (<c>{"apiKey":"ek_…","expiresAt":…,"permissions":…,"constraints":…}</c>) with <c>Cache-Control: no-store</c>; the
    /// browser connects with that token and never sees the key.
    /// </summary>
    /// <param name="endpoints">The app.</param>
    /// <param name="pattern">The route, e.g. <c>/api/realtime-token</c>.</param>
    /// <param name="configure">Who gets a token and which: authorization and rate-limit hooks, allowed models and origins,
    /// expiry, the longest session, per-caller options.</param>
    /// <returns>The endpoint, to chain ASP.NET Core's own conventions (<c>RequireAuthorization</c>, <c>RequireRateLimiting</c>, <c>RequireCors</c>).</returns>
    /// <remarks>
    /// Answers: 200 with the token; 401 when the caller is not authenticated (unless <see cref="ClientTokenEndpointOptions.AllowAnonymous"/>);
    /// 403 when <see cref="ClientTokenEndpointOptions.Authorize"/> says no; 429 when <see cref="ClientTokenEndpointOptions.RateLimit"/>
    /// says no (or Decart answered 429); 500 with <c>{"error":"INVALID_INPUT"}</c> when the options are invalid; 502 with
    /// Decart's error code when Decart refused (a bad key answers <c>INVALID_API_KEY</c>, never the key); 504 when Decart
    /// did not answer in time. Options are checked when the endpoint is
    /// mapped as far as they can be.
    /// </remarks>
    /// <exception cref="DecartException">The configured options are invalid (e.g. <c>ExpiresIn</c> outside 1–3600).</exception>
    public static RouteHandlerBuilder MapDecartClientTokens(this IEndpointRouteBuilder endpoints, string pattern, Action<ClientTokenEndpointOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentException.ThrowIfNullOrWhiteSpace(pattern);
        var options = new ClientTokenEndpointOptions();
        configure?.Invoke(options);
        TokensClient.Validate(options.Defaults());
        Func<HttpContext, Task> handler = context => IssueAsync(context, options);
        return endpoints.MapPost(pattern, (Delegate)handler)
            .WithDisplayName("Decart client token");
    }

    private static async Task IssueAsync(HttpContext context, ClientTokenEndpointOptions options)
    {
        var response = context.Response;
        response.Headers.CacheControl = "no-store";
        if (!options.AllowAnonymous && context.User.Identity?.IsAuthenticated != true)
        {
            await WriteErrorAsync(response, StatusCodes.Status401Unauthorized, "UNAUTHENTICATED").ConfigureAwait(false);
            return;
        }

        if (options.Authorize is { } authorize && !await authorize(context).ConfigureAwait(false))
        {
            await WriteErrorAsync(response, StatusCodes.Status403Forbidden, "FORBIDDEN").ConfigureAwait(false);
            return;
        }

        if (options.RateLimit is { } rateLimit && !await rateLimit(context).ConfigureAwait(false))
        {
            await WriteErrorAsync(response, StatusCodes.Status429TooManyRequests, "RATE_LIMITED").ConfigureAwait(false);
            return;
        }

        var client = context.RequestServices.GetService<DecartClient>() ?? throw new InvalidOperationException(
            "MapDecartClientTokens needs a DecartClient in the services: call builder.Services.AddDecartClient(…) first.");
        var logger = context.RequestServices.GetService<ILoggerFactory>()?.CreateLogger("Decart.Sdk.AspNetCore.ClientTokens");
        CreateTokenOptions tokenOptions = options.Defaults();
        try
        {
            if (options.ConfigureToken is { } perCaller)
            {
                tokenOptions = await perCaller(context, tokenOptions).ConfigureAwait(false) ?? throw new InvalidOperationException("ConfigureToken returned null.");
            }

            var token = await client.Tokens.CreateAsync(tokenOptions, context.RequestAborted).ConfigureAwait(false);
            response.StatusCode = StatusCodes.Status200OK;
            await response.WriteAsJsonAsync(token, context.RequestAborted).ConfigureAwait(false);
        }
        catch (DecartException ex) when (ex.Code == DecartErrorCode.InvalidInput && ex.StatusCode is null)
        {
            // Our own options were refused before anything was sent: a configuration error of this app.
            logger?.LogError(ex, "Client token options are invalid: {Message}", ex.Message);
            await WriteErrorAsync(response, StatusCodes.Status500InternalServerError, ex.CodeString).ConfigureAwait(false);
        }
        catch (DecartException ex)
        {
            logger?.LogWarning("Decart refused a client token: {Code} (HTTP {Status})", ex.CodeString, (int?)ex.StatusCode);
            // Decart's own rate limit reaches the browser as one (it may retry later); every other refusal is the
            // server's problem, not the browser's: 502.
            int status = ex.StatusCode == System.Net.HttpStatusCode.TooManyRequests ? StatusCodes.Status429TooManyRequests : StatusCodes.Status502BadGateway;
            await WriteErrorAsync(response, status, ex.CodeString).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!context.RequestAborted.IsCancellationRequested)
        {
            // The SDK's own request timeout: Decart did not answer in time.
            logger?.LogWarning("Decart did not answer a client-token request in time.");
            await WriteErrorAsync(response, StatusCodes.Status504GatewayTimeout, "TIMEOUT").ConfigureAwait(false);
        }
    }

    private static Task WriteErrorAsync(HttpResponse response, int status, string code)
    {
        response.StatusCode = status;
        return response.WriteAsJsonAsync(new ErrorBody(code));
    }

    private sealed record ErrorBody(string Error)
    {
        [System.Text.Json.Serialization.JsonPropertyName("error")]
        public string Error { get; init; } = Error;
    }
}
