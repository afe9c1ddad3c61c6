using System.Net;

namespace Decart.Sdk.Tests;

public class DecartExceptionTests
{
    [Theory]
    [InlineData(DecartErrorCode.InvalidApiKey, "INVALID_API_KEY")]
    [InlineData(DecartErrorCode.InvalidBaseUrl, "INVALID_BASE_URL")]
    [InlineData(DecartErrorCode.WebRtcError, "WEB_RTC_ERROR")]
    [InlineData(DecartErrorCode.ProcessingError, "PROCESSING_ERROR")]
    [InlineData(DecartErrorCode.InvalidInput, "INVALID_INPUT")]
    [InlineData(DecartErrorCode.InvalidOptions, "INVALID_OPTIONS")]
    [InlineData(DecartErrorCode.ModelNotFound, "MODEL_NOT_FOUND")]
    [InlineData(DecartErrorCode.QueueSubmitError, "QUEUE_SUBMIT_ERROR")]
    [InlineData(DecartErrorCode.QueueStatusError, "QUEUE_STATUS_ERROR")]
    [InlineData(DecartErrorCode.QueueResultError, "QUEUE_RESULT_ERROR")]
    [InlineData(DecartErrorCode.JobNotCompleted, "JOB_NOT_COMPLETED")]
    [InlineData(DecartErrorCode.TokenCreateError, "TOKEN_CREATE_ERROR")]
    public void Codes_round_trip_through_their_wire_spelling(DecartErrorCode code, string wire)
    {
        Assert.Equal(wire, code.ToWireString());
        Assert.True(DecartErrorCodes.TryParse(wire, out var parsed));
        Assert.Equal(code, parsed);
    }

    [Fact]
    public void Unknown_wire_spelling_is_not_parsed()
    {
        Assert.False(DecartErrorCodes.TryParse("invalid_api_key", out _));
        Assert.False(DecartErrorCodes.TryParse(null, out _));
    }

    [Fact]
    public void Registered_key_never_appears_in_message_server_message_or_ToString()
    {
        const string key = "sk_live_9f8e7d6c5b4a";
        SecretRedactor.Register(key);
        var inner = new InvalidOperationException($"socket said {key}");
        var ex = new DecartException(DecartErrorCode.InvalidApiKey, $"key {key} rejected", HttpStatusCode.Unauthorized, $"{{\"error\":\"bad key {key}\"}}", inner);

        Assert.DoesNotContain(key, ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(key, ex.ServerMessage!, StringComparison.Ordinal);
        Assert.DoesNotContain(key, ex.ToString(), StringComparison.Ordinal);
        Assert.Contains("INVALID_API_KEY", ex.ToString(), StringComparison.Ordinal);
        Assert.Contains("401", ex.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("wss://api3.decart.ai/v1/stream?api_key=unregistered_secret_1&model=lucy-2.1", "unregistered_secret_1")]
    [InlineData("X-API-KEY: unregistered_secret_2", "unregistered_secret_2")]
    [InlineData("{\"apiKey\":\"ek_unregistered_secret_3\",\"expiresAt\":\"2026-01-01T00:00:00Z\"}", "ek_unregistered_secret_3")]
    [InlineData("ws://127.0.0.1:9/lk/rtc/v1?access_token=room_token_secret_4&join_request=abc", "room_token_secret_4")]
    [InlineData("Authorization: Bearer viewer_token_secret_5", "viewer_token_secret_5")]
    [InlineData("{\"livekit_url\":\"ws://h/lk\",\"token\":\"lkv_secret_6\",\"room_name\":\"r\"}", "lkv_secret_6")]
    public void Unregistered_keys_in_recognizable_places_are_masked(string text, string secret)
    {
        var redacted = SecretRedactor.Redact(text);
        Assert.DoesNotContain(secret, redacted, StringComparison.Ordinal);
        Assert.Contains(SecretRedactor.Mask, redacted, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(WebRtcErrorDetail.WebSocket, "WEBRTC_WEBSOCKET_ERROR")]
    [InlineData(WebRtcErrorDetail.Ice, "WEBRTC_ICE_ERROR")]
    [InlineData(WebRtcErrorDetail.Timeout, "WEBRTC_TIMEOUT_ERROR")]
    [InlineData(WebRtcErrorDetail.Server, "WEBRTC_SERVER_ERROR")]
    [InlineData(WebRtcErrorDetail.Signaling, "WEBRTC_SIGNALING_ERROR")]
    public void A_realtime_failure_keeps_WEB_RTC_ERROR_and_adds_the_JS_SDKs_category(WebRtcErrorDetail detail, string spelling)
    {
        var ex = new DecartException(DecartErrorCode.WebRtcError, "no answer within 1 s") { Detail = detail };
        Assert.Equal("WEB_RTC_ERROR", ex.CodeString); // code that switches on WEB_RTC_ERROR keeps working
        Assert.Equal(spelling, ex.DetailCode);
        Assert.StartsWith($"DecartException [WEB_RTC_ERROR {spelling}]: ", ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Without_a_detail_there_is_no_detail_code()
    {
        var ex = new DecartException(DecartErrorCode.InvalidInput, "bad");
        Assert.Equal(WebRtcErrorDetail.None, ex.Detail);
        Assert.Null(ex.DetailCode);
        Assert.StartsWith("DecartException [INVALID_INPUT]: ", ex.ToString(), StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => ((WebRtcErrorDetail)99).ToWireString());
    }
}
