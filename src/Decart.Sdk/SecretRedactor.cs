using System.Text.RegularExpressions;

namespace Decart.Sdk;

/// <summary>
/// Removes API keys and client tokens from text before it reaches a message, a log line or
/// <see cref="object.ToString"/>. Keys registered with <see cref="Register"/> are removed verbatim; on top of
/// that, anything in an <c>api_key=</c> query parameter, an <c>X-API-KEY</c> header line or a JSON
/// <c>"apiKey"</c> field is masked, whatever its value.
/// </summary>
internal static partial class SecretRedactor
{
    /// <summary>What a redacted secret is replaced with.</summary>
    public const string Mask = "***";

    private static readonly object Gate = new();
    private static string[] _known = [];

    /// <summary>Remembers a secret so that it is masked wherever it appears later.</summary>
    /// <param name="secret">An API key or client token. Values shorter than 6 characters are not registered (too likely to match ordinary words).</param>
    public static void Register(string? secret)
    {
        if (string.IsNullOrEmpty(secret) || secret.Length < 6)
        {
            return;
        }

        lock (Gate)
        {
            if (Array.IndexOf(_known, secret) < 0)
            {
                _known = [.. _known, secret];
            }
        }
    }

    /// <summary>Returns <paramref name="text"/> with every known or recognizable secret masked.</summary>
    /// <param name="text">Any text.</param>
    /// <returns>The text with secrets replaced by <see cref="Mask"/>.</returns>
    public static string Redact(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return text ?? string.Empty;
        }

        foreach (var secret in Volatile.Read(ref _known))
        {
            text = text.Replace(secret, Mask, StringComparison.Ordinal);
        }

        text = QueryKey().Replace(text, m => m.Groups[1].Value + Mask);
        text = HeaderKey().Replace(text, m => m.Groups[1].Value + Mask);
        text = JsonKey().Replace(text, m => m.Groups[1].Value + Mask + "\"");
        return text;
    }

    [GeneratedRegex(@"((?:api_key|apiKey|api-key|access_token)=)[^&\s""']+", RegexOptions.IgnoreCase)]
    private static partial Regex QueryKey();

    [GeneratedRegex(@"((?:X-API-KEY\s*:|Bearer)\s*)\S+", RegexOptions.IgnoreCase)]
    private static partial Regex HeaderKey();

    [GeneratedRegex(@"(""(?:apiKey|api_key|token)""\s*:\s*"")[^""]*""", RegexOptions.IgnoreCase)]
    private static partial Regex JsonKey();
}
