using Decart.Sdk.Http;
using Microsoft.AspNetCore.Http;

namespace Decart.Sdk.AspNetCore;

/// <summary>
/// What <see cref="DecartEndpointRouteBuilderExtensions.MapDecartClientTokens"/> hands out and to whom. The defaults
/// are the safe ones: only an authenticated caller gets a token, and it expires after 60 seconds.
/// </summary>
public sealed class ClientTokenEndpointOptions
{
    /// <summary>Hand tokens to callers that are not authenticated (a public demo). Default false: 401 for them.</summary>
    public bool AllowAnonymous { get; set; }

    /// <summary>
    /// Decides whether this caller may have a token (after the authentication check): return false for 403. Null
    /// (the default) lets every caller through that passed <see cref="AllowAnonymous"/>.
    /// </summary>
    public Func<HttpContext, ValueTask<bool>>? Authorize { get; set; }

    /// <summary>
    /// Rate limiting: return false to refuse this request with 429 (e.g. a per-user token bucket). For ASP.NET Core's own
    /// rate limiter, chain <c>.RequireRateLimiting("policy")</c> on the endpoint instead. Null: no limit of ours.
    /// </summary>
    public Func<HttpContext, ValueTask<bool>>? RateLimit { get; set; }

    /// <summary>Seconds the token is accepted for new sessions, 1–3600. Default 60.</summary>
    public int ExpiresIn { get; set; } = 60;

    /// <summary>Models the token may use (at most 20); null for any.</summary>
    public IReadOnlyList<string>? AllowedModels { get; set; }

    /// <summary>Web origins the token may be used from (at most 20); null for any.</summary>
    public IReadOnlyList<string>? AllowedOrigins { get; set; }

    /// <summary>Longest realtime session the token allows, seconds; null for the service's limit.</summary>
    public int? MaxSessionDuration { get; set; }

    /// <summary>
    /// Per-caller token options: gets the request and the options built from the properties above and returns the ones
    /// to use (e.g. a user's plan decides <c>AllowedModels</c>, <c>ExpiresIn</c> and <c>MaxSessionDuration</c>). Null:
    /// the same for everyone.
    /// </summary>
    public Func<HttpContext, CreateTokenOptions, ValueTask<CreateTokenOptions>>? ConfigureToken { get; set; }

    internal CreateTokenOptions Defaults() => new()
    {
        ExpiresIn = ExpiresIn,
        AllowedModels = AllowedModels,
        AllowedOrigins = AllowedOrigins,
        Constraints = MaxSessionDuration is { } seconds ? new TokenConstraints { Realtime = new RealtimeTokenConstraints { MaxSessionDuration = seconds } } : null,
    };
}
