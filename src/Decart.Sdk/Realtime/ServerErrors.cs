namespace Decart.Sdk.Realtime;

/// <summary>Maps the text of a server <c>error</c> message to an error code, as the reference client's callers see it.</summary>
internal static class ServerErrors
{
    /// <summary>Builds the exception for a server error text.</summary>
    /// <param name="text">The server's <c>error</c> field.</param>
    /// <returns>The typed error (<see cref="DecartException.ServerMessage"/> holds the redacted text).</returns>
    public static DecartException Map(string? text)
    {
        var message = SecretRedactor.Redact(string.IsNullOrWhiteSpace(text) ? "unknown server error" : text.Trim());
        if (message.Length > 500)
        {
            message = message[..500] + "…";
        }

        var lower = message.ToLowerInvariant();
        var code = lower.Contains("api key", StringComparison.Ordinal) || lower.Contains("api_key", StringComparison.Ordinal) || lower.Contains("unauthorized", StringComparison.Ordinal)
                || lower.Contains("401", StringComparison.Ordinal) || lower.Contains("permission denied", StringComparison.Ordinal) || lower.Contains("not allowed", StringComparison.Ordinal)
            ? DecartErrorCode.InvalidApiKey
            : lower.Contains("model", StringComparison.Ordinal) && lower.Contains("not found", StringComparison.Ordinal)
                ? DecartErrorCode.ModelNotFound
                : DecartErrorCode.WebRtcError;
        return new DecartException(code, $"the realtime server reported an error: {message}", null, message) { Detail = code == DecartErrorCode.WebRtcError ? WebRtcErrorDetail.Server : WebRtcErrorDetail.None };
    }
}
