using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace Decart.Simulator.Rest;

/// <summary>A client token the simulator issued.</summary>
/// <param name="Key">The token (<c>ek_…</c>).</param>
/// <param name="ExpiresAt">When it stops being accepted for new sessions.</param>
/// <param name="AllowedModels">Models it may use; null = any.</param>
/// <param name="AllowedOrigins">WebSocket origins it may be used from; null = any.</param>
/// <param name="MaxSessionDuration">Longest realtime session it allows; null = unlimited.</param>
public sealed record IssuedToken(string Key, DateTimeOffset ExpiresAt, IReadOnlyList<string>? AllowedModels, IReadOnlyList<string>? AllowedOrigins, TimeSpan? MaxSessionDuration)
{
    /// <summary>Hides the key.</summary>
    /// <returns>A description.</returns>
    public override string ToString() => $"IssuedToken {{ Key = ek_***, ExpiresAt = {ExpiresAt:O} }}";
}

/// <summary>Why a key was refused.</summary>
public enum KeyRejection
{
    /// <summary>Accepted.</summary>
    None,

    /// <summary>Not a configured key nor an issued token.</summary>
    Unknown,

    /// <summary>An issued token past its expiry.</summary>
    Expired,

    /// <summary>A token not allowed to use this model.</summary>
    ModelNotAllowed,

    /// <summary>A token not allowed from this origin.</summary>
    OriginNotAllowed,
}

/// <summary>
/// Keys and issued client tokens, in memory and bounded: a token is forgotten <see cref="Retention"/> after it
/// expired (until then it is refused as <em>expired</em>, after that as unknown), and beyond <see cref="Capacity"/>
/// tokens the ones expiring first go. A live session keeps the token it started with.
/// </summary>
public sealed class TokenStore
{
    private readonly BoundedStore<IssuedToken> _tokens;
    private readonly HashSet<string> _keys;
    private readonly TimeProvider _time;

    /// <summary>Creates a store accepting <paramref name="permanentKeys"/>.</summary>
    /// <param name="permanentKeys">Configured API keys.</param>
    /// <param name="time">Clock for expiry.</param>
    /// <param name="retention">How long an expired token is still recognized (default 1 h).</param>
    /// <param name="capacity">Most tokens kept (default 10,000).</param>
    public TokenStore(IEnumerable<string> permanentKeys, TimeProvider time, TimeSpan? retention = null, int capacity = 10_000)
    {
        _keys = new HashSet<string>(permanentKeys, StringComparer.Ordinal);
        _time = time;
        _tokens = new BoundedStore<IssuedToken>(t => t.ExpiresAt, time, retention ?? TimeSpan.FromHours(1), capacity);
    }

    /// <summary>How long an expired token is still recognized (and refused as expired).</summary>
    public TimeSpan Retention => _tokens.Retention;

    /// <summary>Most tokens kept.</summary>
    public int Capacity => _tokens.Capacity;

    /// <summary>Tokens issued so far (and not yet forgotten).</summary>
    public IReadOnlyCollection<IssuedToken> Issued => _tokens.Values.ToArray();

    /// <summary>Whether <paramref name="key"/> is a configured permanent key.</summary>
    /// <param name="key">The key.</param>
    /// <returns>True for a permanent key.</returns>
    public bool IsPermanentKey(string? key) => key is not null && _keys.Contains(key);

    /// <summary>Issues a token.</summary>
    /// <param name="expiresIn">Lifetime.</param>
    /// <param name="models">Allowed models or null.</param>
    /// <param name="origins">Allowed origins or null.</param>
    /// <param name="maxSession">Max realtime session or null.</param>
    /// <returns>The token.</returns>
    public IssuedToken Issue(TimeSpan expiresIn, IReadOnlyList<string>? models, IReadOnlyList<string>? origins, TimeSpan? maxSession)
    {
        var token = new IssuedToken("ek_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)), _time.GetUtcNow() + expiresIn, models, origins, maxSession);
        _tokens.Add(token.Key, token);
        return token;
    }

    /// <summary>Looks up an issued token (expired or not).</summary>
    /// <param name="key">The token.</param>
    /// <returns>It, or null.</returns>
    public IssuedToken? Find(string? key) => key is not null && _tokens.TryGet(key, out var t) ? t : null;

    /// <summary>Checks a key for a new session or request. Tokens only gate new sessions: an expired one is refused here, never mid-session.</summary>
    /// <param name="key">The presented key.</param>
    /// <param name="model">The model asked for, if any.</param>
    /// <param name="origin">The WebSocket <c>Origin</c>, if any.</param>
    /// <param name="enforceOrigin">Whether <c>allowedOrigins</c> applies: only realtime sessions (browsers) are checked against it.</param>
    /// <returns>Why not, or <see cref="KeyRejection.None"/>.</returns>
    public KeyRejection Check(string? key, string? model, string? origin, bool enforceOrigin)
    {
        if (IsPermanentKey(key))
        {
            return KeyRejection.None;
        }

        var token = Find(key);
        if (token is null)
        {
            return KeyRejection.Unknown;
        }

        if (_time.GetUtcNow() >= token.ExpiresAt)
        {
            return KeyRejection.Expired;
        }

        if (model is not null && token.AllowedModels is { Count: > 0 } models && !models.Contains(model, StringComparer.Ordinal))
        {
            return KeyRejection.ModelNotAllowed;
        }

        if (enforceOrigin && token.AllowedOrigins is { Count: > 0 } origins && (origin is null || !origins.Any(allowed => SameOrigin(allowed, origin))))
        {
            return KeyRejection.OriginNotAllowed;
        }

        return KeyRejection.None;
    }

    /// <summary>
    /// Whether two origins are the same (RFC 6454): scheme and host compare case-insensitively, the port exactly
    /// (a default port equals an omitted one). Text that is not an absolute URI matches nothing.
    /// </summary>
    /// <param name="allowed">An origin from <c>allowedOrigins</c>.</param>
    /// <param name="origin">The request's <c>Origin</c> header.</param>
    /// <returns>True when they name the same origin.</returns>
    internal static bool SameOrigin(string allowed, string origin) =>
        Uri.TryCreate(allowed, UriKind.Absolute, out var a) && Uri.TryCreate(origin, UriKind.Absolute, out var b)
        && string.Equals(a.Scheme, b.Scheme, StringComparison.OrdinalIgnoreCase)
        && string.Equals(a.IdnHost, b.IdnHost, StringComparison.OrdinalIgnoreCase)
        && a.Port == b.Port;
}
