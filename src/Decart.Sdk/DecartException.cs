using System.Net;
using System.Text;

namespace Decart.Sdk;

/// <summary>
/// The one exception type the SDK throws for anything that went wrong talking to Decart:
/// bad input, rejected keys, HTTP failures, realtime transport failures. Inspect <see cref="Code"/>.
/// </summary>
/// <remarks>
/// Messages never contain an API key: <see cref="SecretRedactor"/> scrubs anything that looks like one
/// from the message and the server's text before they are stored.
/// </remarks>
public sealed class DecartException : Exception
{
    /// <summary>Creates an exception with a code and a message.</summary>
    /// <param name="code">What kind of failure this is.</param>
    /// <param name="message">A human readable description; any key in it is redacted.</param>
    /// <param name="innerException">The underlying failure, if any.</param>
    public DecartException(DecartErrorCode code, string message, Exception? innerException = null)
        : base(SecretRedactor.Redact(message), innerException)
    {
        Code = code;
    }

    /// <summary>Creates an exception for a failed HTTP response.</summary>
    /// <param name="code">What kind of failure this is.</param>
    /// <param name="message">A human readable description; any key in it is redacted.</param>
    /// <param name="statusCode">The HTTP status the service answered with.</param>
    /// <param name="serverMessage">The body or error text the service sent; any key in it is redacted.</param>
    /// <param name="innerException">The underlying failure, if any.</param>
    public DecartException(DecartErrorCode code, string message, HttpStatusCode? statusCode, string? serverMessage, Exception? innerException = null)
        : base(SecretRedactor.Redact(message), innerException)
    {
        Code = code;
        StatusCode = statusCode;
        ServerMessage = serverMessage is null ? null : SecretRedactor.Redact(serverMessage);
    }

    /// <summary>What kind of failure this is.</summary>
    public DecartErrorCode Code { get; }

    /// <summary>The code as every Decart SDK spells it, e.g. <c>INVALID_API_KEY</c>.</summary>
    public string CodeString => Code.ToWireString();

    /// <summary>
    /// For a <see cref="DecartErrorCode.WebRtcError"/>, which part failed — the category Decart's current JS SDK
    /// reports as its code (<c>WEBRTC_TIMEOUT_ERROR</c>, …); <see cref="WebRtcErrorDetail.None"/> otherwise.
    /// </summary>
    public WebRtcErrorDetail Detail { get; init; }

    /// <summary>The JS SDK's spelling of <see cref="Detail"/>, e.g. <c>WEBRTC_ICE_ERROR</c>; null when there is none.</summary>
    public string? DetailCode => Detail.ToWireString();

    /// <summary>The HTTP status of the failed response, when the failure came from one.</summary>
    public HttpStatusCode? StatusCode { get; }

    /// <summary>The service's own error text (redacted), when it sent one.</summary>
    public string? ServerMessage { get; }

    /// <inheritdoc />
    public override string ToString()
    {
        var text = new StringBuilder();
        text.Append(nameof(DecartException)).Append(" [").Append(CodeString);
        if (DetailCode is { } detail)
        {
            text.Append(' ').Append(detail);
        }

        text.Append(']');
        if (StatusCode is { } status)
        {
            text.Append(" HTTP ").Append((int)status);
        }

        text.Append(": ").Append(Message);
        if (!string.IsNullOrEmpty(ServerMessage))
        {
            text.Append(" (server: ").Append(ServerMessage).Append(')');
        }

        if (InnerException is not null)
        {
            text.Append(" ---> ").Append(SecretRedactor.Redact(InnerException.ToString()));
        }

        if (StackTrace is { } stack)
        {
            text.AppendLine().Append(stack);
        }

        return text.ToString();
    }
}
