using Decart.Rtc.Codecs;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Decart.Rtc;
using Decart.Rtc.Sdp;
using Microsoft.Extensions.Logging;

namespace Decart.Simulator.Realtime;

/// <summary>What a protocol front needs from its session's signaling: send, refuse, count, close.</summary>
internal interface ISignalingContext
{
    /// <summary>The session id.</summary>
    string Id { get; }

    /// <summary>Queues a message to the client.</summary>
    void Send(JsonObject message);

    /// <summary>Sends an <c>error</c> message.</summary>
    void SendError(string error);

    /// <summary>Counts a message ignored (unknown, out of order).</summary>
    void Ignored();

    /// <summary>Counts a malformed message.</summary>
    void Malformed();

    /// <summary>Closes the session gracefully after the queued messages.</summary>
    Task CloseAsync(string reason);
}

/// <summary>
/// The direct WebRTC flow on <c>/v1/stream</c> (PROTOCOL.md, JS SDK 0.0.x): the client's SDP <c>offer</c> answered
/// (or, with <c>ServerOffers</c>, the server's offer and the client's <c>answer</c>), <c>ice-candidate</c>s both ways,
/// then <c>session_id</c> with the media address.
/// </summary>
internal sealed class DirectNegotiation(ISignalingContext session, SessionMedia media, ILogger logger, CancellationToken life)
{
    private bool _serverOffered;

    /// <summary>The client's offer as received, or null.</summary>
    public string? RemoteOffer { get; private set; }

    public async Task OfferAsync(JsonElement root)
    {
        if (media.Pc is not null)
        {
            session.Ignored();
            if (!_serverOffered)
            {
                session.SendError("Renegotiation is not supported");
            }

            return;
        }

        string? sdp = root.TryGetProperty("sdp", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
        if (!SessionDescription.TryParse(sdp, SdpType.Offer, out var offer, out var parseError, out int line))
        {
            session.Malformed();
            session.SendError(string.Create(CultureInfo.InvariantCulture, $"Invalid SDP offer: {parseError} (line {line})"));
            return;
        }

        if (!offer!.Media.Any(m => m.Kind == "video" && !m.IsRejected))
        {
            session.SendError("SDP offer has no video section");
            await session.CloseAsync("offer without video").ConfigureAwait(false);
            return;
        }

        // Like a browser answerer, honour the offerer's codec order among the codecs we handle.
        var offered = offer.Media.First(m => m.Kind == "video" && !m.IsRejected).Codecs
            .Select(c => RtpCodec.TryParse(c.Name, out var known) ? known.Name : null).OfType<string>().Distinct().ToArray();
        RemoteOffer = sdp;
        var pc = media.Create(iceLite: true, offered.Length > 0 ? offered : null);
        try
        {
            await pc.SetRemoteDescriptionAsync(offer, life).ConfigureAwait(false);
            var answer = await pc.CreateAnswerAsync(life).ConfigureAwait(false);
            session.Send(new JsonObject { ["type"] = "answer", ["sdp"] = answer.ToString() });
        }
        catch (Exception ex) when (ex is InvalidOperationException or SdpException or ArgumentException)
        {
            logger.LogWarning("session {Session}: offer rejected: {Reason}", session.Id, ex.Message);
            session.SendError($"Cannot answer the offer: {ex.Message}");
            await session.CloseAsync("offer rejected").ConfigureAwait(false);
            return;
        }

        AfterNegotiation(pc, offer);
    }

    public async Task SendOfferAsync()
    {
        var pc = media.Create(iceLite: false);
        _serverOffered = true;
        var offer = await pc.CreateOfferAsync(false, life).ConfigureAwait(false);
        session.Send(new JsonObject { ["type"] = "offer", ["sdp"] = offer.ToString() });
    }

    public async Task AnswerAsync(JsonElement root)
    {
        var pc = media.Pc;
        string? sdp = root.TryGetProperty("sdp", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
        if (pc is null || !_serverOffered || pc.Video is not null)
        {
            session.Ignored();
            return;
        }

        if (!SessionDescription.TryParse(sdp, SdpType.Answer, out var answer, out var parseError, out int line))
        {
            session.Malformed();
            session.SendError(string.Create(CultureInfo.InvariantCulture, $"Invalid SDP answer: {parseError} (line {line})"));
            return;
        }

        try
        {
            await pc.SetRemoteDescriptionAsync(answer!, life).ConfigureAwait(false);
        }
        catch (InvalidOperationException ex)
        {
            session.SendError($"Cannot apply the answer: {ex.Message}");
            await session.CloseAsync("answer rejected").ConfigureAwait(false);
            return;
        }

        AfterNegotiation(pc, answer!);
    }

    public async Task CandidateAsync(JsonElement root)
    {
        var pc = media.Pc;
        if (!root.TryGetProperty("candidate", out var c) || c.ValueKind == JsonValueKind.Null)
        {
            return; // end of candidates
        }

        string? text = c.ValueKind == JsonValueKind.Object && c.TryGetProperty("candidate", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()
            : c.ValueKind == JsonValueKind.String ? c.GetString() : null;
        if (pc is null || text is null)
        {
            session.Ignored();
            return;
        }

        if (text.Length == 0)
        {
            return; // the browser's end-of-candidates marker
        }

        if (!await pc.AddRemoteCandidateAsync(text, life).ConfigureAwait(false))
        {
            session.Ignored();
        }
    }

    private void AfterNegotiation(PeerConnection pc, SessionDescription remote)
    {
        var video = pc.Video!;
        int index = remote.Media.ToList().FindIndex(m => m.Mid == video.Mid);
        var local = pc.Ice.LocalCandidates;
        foreach (var candidate in local)
        {
            session.Send(new JsonObject
            {
                ["type"] = "ice-candidate",
                ["candidate"] = new JsonObject { ["candidate"] = candidate.ToString(), ["sdpMid"] = video.Mid, ["sdpMLineIndex"] = Math.Max(0, index) },
            });
        }

        session.Send(new JsonObject { ["type"] = "ice-candidate", ["candidate"] = null });
        var announced = local.FirstOrDefault(c => c.EndPoint?.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork) ?? local.FirstOrDefault();
        session.Send(new JsonObject
        {
            ["type"] = "session_id",
            ["session_id"] = session.Id,
            ["server_ip"] = announced?.Address ?? "127.0.0.1",
            ["server_port"] = announced?.Port ?? 0,
        });
    }
}
