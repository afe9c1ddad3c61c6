namespace Decart.Sdk;

/// <summary>
/// The error codes shared by every Decart SDK. <see cref="DecartErrorCodes.ToWireString"/> gives the
/// spelling other SDKs and the service use (for example <c>INVALID_API_KEY</c>).
/// </summary>
public enum DecartErrorCode
{
    /// <summary>The API key is missing or was rejected (<c>INVALID_API_KEY</c>).</summary>
    InvalidApiKey,

    /// <summary>A base URL option is not an absolute http(s)/ws(s) URL (<c>INVALID_BASE_URL</c>).</summary>
    InvalidBaseUrl,

    /// <summary>Any realtime transport failure: signaling, ICE, DTLS, SRTP (<c>WEB_RTC_ERROR</c>).</summary>
    WebRtcError,

    /// <summary>The service failed to process a request (<c>PROCESSING_ERROR</c>).</summary>
    ProcessingError,

    /// <summary>An input value is invalid for the model; the message names the field (<c>INVALID_INPUT</c>).</summary>
    InvalidInput,

    /// <summary>A combination of client or connect options is invalid (<c>INVALID_OPTIONS</c>).</summary>
    InvalidOptions,

    /// <summary>The model name is not known (<c>MODEL_NOT_FOUND</c>).</summary>
    ModelNotFound,

    /// <summary>Submitting a queue job failed (<c>QUEUE_SUBMIT_ERROR</c>).</summary>
    QueueSubmitError,

    /// <summary>Reading a queue job's status failed (<c>QUEUE_STATUS_ERROR</c>).</summary>
    QueueStatusError,

    /// <summary>Downloading a queue job's result failed (<c>QUEUE_RESULT_ERROR</c>).</summary>
    QueueResultError,

    /// <summary>The job's result was asked for before the job completed (<c>JOB_NOT_COMPLETED</c>).</summary>
    JobNotCompleted,

    /// <summary>Creating a client token failed (<c>TOKEN_CREATE_ERROR</c>).</summary>
    TokenCreateError,

    /// <summary>Uploading a file failed (<c>FILES_UPLOAD_ERROR</c>): too large, not an image, a bad time to live.</summary>
    FilesUploadError,

    /// <summary>Reading a file's metadata failed (<c>FILES_GET_ERROR</c>): unknown, deleted or expired.</summary>
    FilesGetError,

    /// <summary>Deleting a file failed (<c>FILES_DELETE_ERROR</c>).</summary>
    FilesDeleteError,
}

/// <summary>Conversions between <see cref="DecartErrorCode"/> and its wire spelling.</summary>
public static class DecartErrorCodes
{
    /// <summary>The code as every Decart SDK spells it, e.g. <c>INVALID_API_KEY</c>.</summary>
    /// <param name="code">The code.</param>
    /// <returns>The upper snake case spelling.</returns>
    public static string ToWireString(this DecartErrorCode code) => code switch
    {
        DecartErrorCode.InvalidApiKey => "INVALID_API_KEY",
        DecartErrorCode.InvalidBaseUrl => "INVALID_BASE_URL",
        DecartErrorCode.WebRtcError => "WEB_RTC_ERROR",
        DecartErrorCode.ProcessingError => "PROCESSING_ERROR",
        DecartErrorCode.InvalidInput => "INVALID_INPUT",
        DecartErrorCode.InvalidOptions => "INVALID_OPTIONS",
        DecartErrorCode.ModelNotFound => "MODEL_NOT_FOUND",
        DecartErrorCode.QueueSubmitError => "QUEUE_SUBMIT_ERROR",
        DecartErrorCode.QueueStatusError => "QUEUE_STATUS_ERROR",
        DecartErrorCode.QueueResultError => "QUEUE_RESULT_ERROR",
        DecartErrorCode.JobNotCompleted => "JOB_NOT_COMPLETED",
        DecartErrorCode.TokenCreateError => "TOKEN_CREATE_ERROR",
        DecartErrorCode.FilesUploadError => "FILES_UPLOAD_ERROR",
        DecartErrorCode.FilesGetError => "FILES_GET_ERROR",
        DecartErrorCode.FilesDeleteError => "FILES_DELETE_ERROR",
        _ => throw new ArgumentOutOfRangeException(nameof(code), code, "Unknown Decart error code."),
    };

    /// <summary>Parses a wire spelling such as <c>MODEL_NOT_FOUND</c>.</summary>
    /// <param name="value">The spelling.</param>
    /// <param name="code">The code, when known.</param>
    /// <returns><see langword="true"/> when <paramref name="value"/> names a known code.</returns>
    public static bool TryParse(string? value, out DecartErrorCode code)
    {
        foreach (var candidate in Enum.GetValues<DecartErrorCode>())
        {
            if (string.Equals(candidate.ToWireString(), value, StringComparison.Ordinal))
            {
                code = candidate;
                return true;
            }
        }

        code = default;
        return false;
    }
}

/// <summary>
/// Which part of a realtime connection failed, for a <see cref="DecartErrorCode.WebRtcError"/>: the finer codes
/// Decart's current JS SDK reports (<c>WEBRTC_TIMEOUT_ERROR</c>, …). Code that switches on
/// <see cref="DecartErrorCode.WebRtcError"/> keeps working; code that wants the JS SDK's categories reads
/// <see cref="DecartException.Detail"/> or <see cref="DecartException.DetailCode"/>.
/// </summary>
public enum WebRtcErrorDetail
{
    /// <summary>No finer category (not a realtime connection failure, or one of its own kind, such as a missing codec library).</summary>
    None,

    /// <summary><c>WEBRTC_WEBSOCKET_ERROR</c>: the control socket or the room's signal socket failed or closed.</summary>
    WebSocket,

    /// <summary><c>WEBRTC_ICE_ERROR</c>: the media connection (ICE, DTLS) could not be made or was lost.</summary>
    Ice,

    /// <summary><c>WEBRTC_TIMEOUT_ERROR</c>: a step did not finish within its timeout (room info, JoinResponse, an answer, an ack, a ping).</summary>
    Timeout,

    /// <summary><c>WEBRTC_SERVER_ERROR</c>: the server reported an error, sent the client away or the model left.</summary>
    Server,

    /// <summary><c>WEBRTC_SIGNALING_ERROR</c>: the server's signalling could not be used (bad SDP or answers, a refused join, a room that is gone).</summary>
    Signaling,
}

/// <summary>Wire spellings of <see cref="WebRtcErrorDetail"/>.</summary>
public static class WebRtcErrorDetailExtensions
{
    /// <summary>The JS SDK's spelling, e.g. <c>WEBRTC_TIMEOUT_ERROR</c>; null for <see cref="WebRtcErrorDetail.None"/>.</summary>
    /// <param name="detail">The detail.</param>
    /// <returns>The spelling.</returns>
    public static string? ToWireString(this WebRtcErrorDetail detail) => detail switch
    {
        WebRtcErrorDetail.None => null,
        WebRtcErrorDetail.WebSocket => "WEBRTC_WEBSOCKET_ERROR",
        WebRtcErrorDetail.Ice => "WEBRTC_ICE_ERROR",
        WebRtcErrorDetail.Timeout => "WEBRTC_TIMEOUT_ERROR",
        WebRtcErrorDetail.Server => "WEBRTC_SERVER_ERROR",
        WebRtcErrorDetail.Signaling => "WEBRTC_SIGNALING_ERROR",
        _ => throw new ArgumentOutOfRangeException(nameof(detail), detail, "Unknown detail."),
    };
}
