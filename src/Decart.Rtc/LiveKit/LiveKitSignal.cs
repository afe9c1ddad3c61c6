using System.IO.Compression;
using Decart.Rtc.LiveKit.Proto;
using Google.Protobuf;

namespace Decart.Rtc.LiveKit;

/// <summary>Why a LiveKit signal message or <c>join_request</c> was not accepted.</summary>
internal enum LiveKitSignalError
{
    /// <summary>Accepted.</summary>
    None,

    /// <summary>Empty, or larger than the limit.</summary>
    BadSize,

    /// <summary>Not base64url.</summary>
    NotBase64,

    /// <summary>The gzip stream is corrupt or expands past the limit.</summary>
    BadCompression,

    /// <summary>Not a valid protobuf message of the expected type.</summary>
    BadProtobuf,
}

/// <summary>What the <c>candidateInit</c> of a <see cref="TrickleRequest"/> held.</summary>
internal enum TrickleCandidate
{
    /// <summary>A candidate line.</summary>
    Candidate,

    /// <summary>An empty candidate: the end of the peer's candidates.</summary>
    EndOfCandidates,

    /// <summary>Empty or longer than <see cref="LiveKitSignal.MaxCandidateInitLength"/>.</summary>
    BadSize,

    /// <summary>Not JSON.</summary>
    NotJson,
}

/// <summary>
/// The framing of LiveKit's signal protocol (17) that both a room server and a client need: the <c>join_request</c>
/// query parameter of <c>/rtc/v1</c> (base64url of a <see cref="WrappedJoinRequest"/>, its <see cref="JoinRequest"/>
/// gzip-compressed) and the binary <see cref="SignalRequest"/>/<see cref="SignalResponse"/> WebSocket frames. Every
/// parse is bounded and never throws on hostile input.
/// </summary>
internal static class LiveKitSignal
{
    /// <summary>The protocol version we speak (livekit-client 2.20 sends 17).</summary>
    public const int ProtocolVersion = 17;

    /// <summary>Largest signal message or decompressed join request accepted: 1 MiB (SDP offers are far smaller).</summary>
    public const int MaxMessageBytes = 1024 * 1024;

    /// <summary>Encodes a join request as livekit-client does: gzip, wrapped, base64url with padding kept.</summary>
    /// <param name="request">The request.</param>
    /// <returns>The query parameter's value.</returns>
    public static string EncodeJoinRequest(JoinRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var packed = new MemoryStream();
        using (var gzip = new GZipStream(packed, CompressionLevel.Fastest, leaveOpen: true))
        {
            request.WriteTo(gzip);
        }

        var wrapped = new WrappedJoinRequest { Compression = WrappedJoinRequest.Types.Compression.Gzip, JoinRequest = ByteString.CopyFrom(packed.GetBuffer(), 0, (int)packed.Length) };
        return Convert.ToBase64String(wrapped.ToByteArray()).Replace('+', '-').Replace('/', '_');
    }

    /// <summary>Decodes the <c>join_request</c> query parameter.</summary>
    /// <param name="value">The parameter (base64url or base64, padding optional).</param>
    /// <param name="request">The request when valid.</param>
    /// <returns>What was wrong, or <see cref="LiveKitSignalError.None"/>.</returns>
    public static LiveKitSignalError TryDecodeJoinRequest(string? value, out JoinRequest? request)
    {
        request = null;
        if (string.IsNullOrEmpty(value) || value.Length > MaxMessageBytes * 4 / 3 + 4)
        {
            return LiveKitSignalError.BadSize;
        }

        var text = value.Replace('-', '+').Replace('_', '/');
        text = text.PadRight(text.Length + ((4 - (text.Length % 4)) % 4), '=');
        var bytes = new byte[text.Length * 3 / 4];
        if (!Convert.TryFromBase64String(text, bytes, out int n))
        {
            return LiveKitSignalError.NotBase64;
        }

        WrappedJoinRequest wrapped;
        try
        {
            wrapped = WrappedJoinRequest.Parser.ParseFrom(bytes, 0, n);
        }
        catch (InvalidProtocolBufferException)
        {
            return LiveKitSignalError.BadProtobuf;
        }

        byte[] inner;
        if (wrapped.Compression == WrappedJoinRequest.Types.Compression.Gzip)
        {
            try
            {
                using var input = new GZipStream(new MemoryStream(wrapped.JoinRequest.ToByteArray()), CompressionMode.Decompress);
                using var output = new MemoryStream();
                var chunk = new byte[16 * 1024];
                int read;
                while ((read = input.Read(chunk, 0, chunk.Length)) > 0)
                {
                    if (output.Length + read > MaxMessageBytes)
                    {
                        return LiveKitSignalError.BadCompression;
                    }

                    output.Write(chunk, 0, read);
                }

                inner = output.ToArray();
            }
            catch (InvalidDataException)
            {
                return LiveKitSignalError.BadCompression;
            }
        }
        else
        {
            inner = wrapped.JoinRequest.ToByteArray();
        }

        try
        {
            request = JoinRequest.Parser.ParseFrom(inner);
            return LiveKitSignalError.None;
        }
        catch (InvalidProtocolBufferException)
        {
            return LiveKitSignalError.BadProtobuf;
        }
    }

    /// <summary>Longest <c>candidateInit</c> accepted (a candidate line is far shorter).</summary>
    public const int MaxCandidateInitLength = 4096;

    /// <summary>Reads the candidate out of a trickle's <c>candidateInit</c> (JSON <c>RTCIceCandidateInit</c>); never throws.</summary>
    /// <param name="candidateInit">The JSON.</param>
    /// <param name="candidate">The candidate line when there is one.</param>
    /// <returns>What it held.</returns>
    public static TrickleCandidate ReadTrickleCandidate(string? candidateInit, out string? candidate)
    {
        candidate = null;
        if (string.IsNullOrEmpty(candidateInit) || candidateInit.Length > MaxCandidateInitLength)
        {
            return TrickleCandidate.BadSize;
        }

        try
        {
            using var json = System.Text.Json.JsonDocument.Parse(candidateInit);
            var root = json.RootElement;
            candidate = root.ValueKind == System.Text.Json.JsonValueKind.Object && root.TryGetProperty("candidate", out var c) && c.ValueKind == System.Text.Json.JsonValueKind.String ? c.GetString() : null;
        }
        catch (System.Text.Json.JsonException)
        {
            return TrickleCandidate.NotJson;
        }

        return string.IsNullOrEmpty(candidate) ? TrickleCandidate.EndOfCandidates : TrickleCandidate.Candidate;
    }

    /// <summary>Parses a binary signal frame, or a JSON text frame (livekit-client accepts both).</summary>
    /// <typeparam name="T">SignalRequest or SignalResponse.</typeparam>
    /// <param name="parser">The message's parser.</param>
    /// <param name="frame">The frame.</param>
    /// <param name="text">Whether it was a text frame (JSON).</param>
    /// <param name="message">The message when valid.</param>
    /// <returns>What was wrong, or <see cref="LiveKitSignalError.None"/>.</returns>
    public static LiveKitSignalError TryParse<T>(MessageParser<T> parser, ReadOnlySpan<byte> frame, bool text, out T? message)
        where T : class, IMessage<T>
    {
        message = null;
        if (frame.IsEmpty || frame.Length > MaxMessageBytes)
        {
            return LiveKitSignalError.BadSize;
        }

        try
        {
            message = text ? parser.ParseJson(System.Text.Encoding.UTF8.GetString(frame)) : parser.ParseFrom(frame);
            return LiveKitSignalError.None;
        }
        catch (Exception ex) when (ex is InvalidProtocolBufferException or InvalidJsonException or FormatException or InvalidOperationException)
        {
            return LiveKitSignalError.BadProtobuf;
        }
    }
}
