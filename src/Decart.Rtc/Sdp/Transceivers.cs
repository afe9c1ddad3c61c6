using Decart.Rtc.Codecs;
using System.Globalization;

namespace Decart.Rtc.Sdp;

/// <summary>The RTP header-extension URIs this stack reads or writes.</summary>
public static class RtpExtensionUris
{
    /// <summary>RFC 8843 <c>sdes:mid</c>: which m-section a packet belongs to.</summary>
    public const string Mid = "urn:ietf:params:rtp-hdrext:sdes:mid";

    /// <summary>RFC 8852 <c>sdes:rtp-stream-id</c>: the simulcast layer (RID) of a packet.</summary>
    public const string Rid = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";

    /// <summary>RFC 8852 <c>sdes:repaired-rtp-stream-id</c>: the layer an RTX packet repairs.</summary>
    public const string RepairedRid = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id";

    /// <summary>draft-holmer-rmcat-transport-wide-cc-extensions-01: the transport-wide sequence number of every packet.</summary>
    public const string TransportWideCc = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
}

/// <summary>Header-extension ids negotiated for a section (0 = not negotiated).</summary>
/// <param name="Mid">Id of <see cref="RtpExtensionUris.Mid"/>.</param>
/// <param name="Rid">Id of <see cref="RtpExtensionUris.Rid"/>.</param>
/// <param name="RepairedRid">Id of <see cref="RtpExtensionUris.RepairedRid"/>.</param>
/// <param name="TransportCc">Id of <see cref="RtpExtensionUris.TransportWideCc"/>.</param>
public readonly record struct RtpExtensionIds(int Mid, int Rid, int RepairedRid, int TransportCc = 0)
{
    /// <summary>The ids a section's <c>a=extmap</c> lines give.</summary>
    /// <param name="section">The section.</param>
    /// <returns>Its ids.</returns>
    public static RtpExtensionIds Of(MediaDescription section)
    {
        ArgumentNullException.ThrowIfNull(section);
        return new(section.ExtensionId(RtpExtensionUris.Mid), section.ExtensionId(RtpExtensionUris.Rid), section.ExtensionId(RtpExtensionUris.RepairedRid), section.ExtensionId(RtpExtensionUris.TransportWideCc));
    }
}

/// <summary>One m-section as offer/answer settled it (what a transceiver is in RTCPeerConnection).</summary>
/// <param name="Mid">The section's mid.</param>
/// <param name="Kind"><c>audio</c>, <c>video</c> or <c>application</c>.</param>
/// <param name="Direction">Our direction for the section.</param>
/// <param name="Rejected">Whether the section was rejected (port 0).</param>
/// <param name="Codec">The negotiated codec name, or null.</param>
/// <param name="PayloadType">Its payload type, or null.</param>
public sealed record TransceiverDescription(string Mid, string Kind, MediaDirection Direction, bool Rejected, string? Codec, int? PayloadType);

/// <summary>Why an offer could not be answered.</summary>
public enum NegotiationError
{
    /// <summary>Two sections share a mid.</summary>
    DuplicateMid,

    /// <summary>No section carries ICE credentials and a DTLS fingerprint.</summary>
    MissingCredentials,

    /// <summary>No video section with a codec we support.</summary>
    NoVideo,
}

/// <summary>An offer this stack cannot answer; <see cref="Error"/> says why.</summary>
public sealed class NegotiationException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="error">Why.</param>
    /// <param name="message">Details.</param>
    public NegotiationException(NegotiationError error, string message)
        : base(message)
    {
        Error = error;
    }

    /// <summary>Why.</summary>
    public NegotiationError Error { get; }
}

/// <summary>What an offer contains (see <see cref="SdpNegotiation.CreateOffer(LocalMediaParameters, OfferOptions)"/>).</summary>
public sealed record OfferOptions
{
    /// <summary>Offer to send video (our SSRCs and msid). Default true.</summary>
    public bool Send { get; init; } = true;

    /// <summary>Offer to receive video. Default true.</summary>
    public bool Receive { get; init; } = true;

    /// <summary>
    /// Send and receive on separate sections — a <c>recvonly</c> one (mid <c>0</c>) and a <c>sendonly</c> one (mid
    /// <c>1</c>) — as a LiveKit-style room expects (the server puts a remote track on the receive section); otherwise
    /// one <c>sendrecv</c> section. Default false.
    /// </summary>
    public bool SeparateSections { get; init; }

    /// <summary>Video codec names in order of preference (default: VP8, then H264).</summary>
    public IReadOnlyList<string>? CodecPreference { get; init; }

    /// <summary>Add a <c>recvonly</c> audio section, as browsers do.</summary>
    public bool IncludeAudioReceive { get; init; }

    /// <summary>
    /// Simulcast layers to send (RIDs, smallest first, e.g. <c>q</c>, <c>h</c>, <c>f</c>) on the send section of
    /// <see cref="SeparateSections"/>: <c>a=rid:… send</c>, <c>a=simulcast:send</c> and the RID header extensions, no SSRCs
    /// (each layer is told apart by its RID, as browsers do). Null or one entry: no simulcast.
    /// </summary>
    public IReadOnlyList<string>? SendLayers { get; init; }
}

/// <summary>What the answerer wants from an offer.</summary>
public sealed record AnswerOptions
{
    /// <summary>Codec names in our order of preference for what we receive. Default VP8, H264.</summary>
    public IReadOnlyList<string>? CodecPreference { get; init; }

    /// <summary>Codec names for what we send; default <see cref="CodecPreference"/>.</summary>
    public IReadOnlyList<string>? SendCodecPreference { get; init; }

    /// <summary>Whether to put our outgoing video track on a section the offerer receives on. Default true.</summary>
    public bool Send { get; init; } = true;

    /// <summary>Whether to receive video the offerer sends. Default true.</summary>
    public bool Receive { get; init; } = true;

    /// <summary>What an earlier exchange settled for sending; its section keeps the binding (renegotiation).</summary>
    public NegotiatedVideo? PreviousSend { get; init; }

    /// <summary>What an earlier exchange settled for receiving; its section keeps the binding (renegotiation).</summary>
    public NegotiatedVideo? PreviousReceive { get; init; }
}

/// <summary>The outcome of answering an offer.</summary>
/// <param name="Answer">The answer.</param>
/// <param name="Send">The section we send our video on, or null.</param>
/// <param name="Receive">The section we receive video on, or null.</param>
/// <param name="Transceivers">Every section, in order.</param>
/// <param name="Warnings">What was offered and could not be honoured (e.g. simulcast without the RID extension).</param>
public sealed record AnswerResult(SessionDescription Answer, NegotiatedVideo? Send, NegotiatedVideo? Receive, IReadOnlyList<TransceiverDescription> Transceivers, IReadOnlyList<string> Warnings);

/// <summary>
/// Answers offers with any number of sections in one BUNDLE (a LiveKit room's offer has 3 audio and 3 video
/// placeholders, a data section and, once the camera is published, a simulcast send section): our outgoing track
/// goes on the first video section the offerer receives on, we receive on the first one it sends on (with its
/// simulcast layers), audio and other video sections are answered <c>inactive</c> inside the bundle, and data sections
/// are rejected with port 0. A renegotiation keeps the earlier bindings.
/// </summary>
public static class TransceiverNegotiation
{
    private static readonly string[] SupportedExtensions = [RtpExtensionUris.Mid, RtpExtensionUris.Rid, RtpExtensionUris.RepairedRid, RtpExtensionUris.TransportWideCc];

    /// <summary>Answers an offer.</summary>
    /// <param name="offer">The remote offer.</param>
    /// <param name="local">Our parameters.</param>
    /// <param name="setup">Our DTLS role: <c>active</c> or <c>passive</c>.</param>
    /// <param name="iceLite">Whether we are an ICE-lite agent.</param>
    /// <param name="options">What we want.</param>
    /// <returns>The answer and what it settled.</returns>
    /// <exception cref="NegotiationException">Duplicate mids.</exception>
    public static AnswerResult Answer(SessionDescription offer, LocalMediaParameters local, string setup, bool iceLite, AnswerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(offer);
        ArgumentNullException.ThrowIfNull(local);
        options ??= new AnswerOptions();
        var receivePreference = options.CodecPreference ?? RtpCodec.All.Select(c => c.Name).ToArray();
        var sendPreference = options.SendCodecPreference ?? receivePreference;
        var answer = new SessionDescription { Type = SdpType.Answer, Origin = $"- {Random.Shared.NextInt64(1, long.MaxValue)} 2 IN IP4 127.0.0.1", IceLite = iceLite };
        var warnings = new List<string>();
        var transceivers = new List<TransceiverDescription>();
        var bundled = new List<string>();
        var mids = new HashSet<string>(StringComparer.Ordinal);
        NegotiatedVideo? send = null, receive = null;
        bool canSend = options.Send && local.Ssrc != 0;
        for (int index = 0; index < offer.Media.Count; index++)
        {
            var m = offer.Media[index];
            string mid = m.Mid ?? index.ToString(CultureInfo.InvariantCulture);
            if (!mids.Add(mid))
            {
                throw new NegotiationException(NegotiationError.DuplicateMid, $"the offer has two sections with mid '{Trim(mid)}'");
            }

            bool rtp = m.Protocol.Contains("RTP/SAVPF", StringComparison.Ordinal) || m.Protocol.Contains("RTP/SAVP", StringComparison.Ordinal);
            if (m.IsRejected || !rtp || m.Kind is not ("audio" or "video"))
            {
                answer.Media.Add(Rejected(m, mid));
                transceivers.Add(new TransceiverDescription(mid, m.Kind, MediaDirection.Inactive, true, null, null));
                continue;
            }

            if (m.Kind == "audio")
            {
                // We do not handle audio, but keep the section inside the bundle, inactive: rejecting it (port 0)
                // when it is the bundle's first, offerer-tagged section moves the browser to a new transport, and its
                // next offer carries fresh ICE credentials (seen with Chromium and livekit-client's 3 audio placeholders).
                var first = m.Codecs.FirstOrDefault();
                var audio = new MediaDescription("audio", 9, m.Protocol, first is null ? m.Formats.Take(1) : [first.PayloadType.ToString(CultureInfo.InvariantCulture)]);
                audio.OtherLines.Add(('c', "IN IP4 0.0.0.0"));
                Common(audio, local, mid, setup, MediaDirection.Inactive, withMsid: false);
                if (first is not null)
                {
                    audio.Attributes.Add(new SdpAttribute("rtpmap", $"{first.PayloadType} {first.Name}/{first.ClockRate}" + (first.Name.Equals("opus", StringComparison.OrdinalIgnoreCase) ? "/2" : string.Empty)));
                }

                answer.Media.Add(audio);
                bundled.Add(mid);
                transceivers.Add(new TransceiverDescription(mid, "audio", MediaDirection.Inactive, false, first?.Name, first?.PayloadType));
                continue;
            }

            bool offererSends = m.Direction is MediaDirection.SendRecv or MediaDirection.SendOnly;
            bool offererReceives = m.Direction is MediaDirection.SendRecv or MediaDirection.RecvOnly;
            bool wasSend = options.PreviousSend?.Mid == mid;
            bool wasReceive = options.PreviousReceive?.Mid == mid;
            // A renegotiation keeps the earlier section for each direction while the offer still has it.
            bool sendHere = offererReceives && canSend && send is null && (wasSend || options.PreviousSend is null || !OfferHas(offer, options.PreviousSend.Mid));
            bool receiveHere = offererSends && options.Receive && receive is null && (wasReceive || options.PreviousReceive is null || !OfferHas(offer, options.PreviousReceive.Mid));
            var codecs = m.Codecs;
            SdpCodec? chosen = null;
            if (wasSend && sendHere)
            {
                chosen = codecs.FirstOrDefault(c => c.PayloadType == options.PreviousSend!.PayloadType && c.Name.Equals(options.PreviousSend.CodecName, StringComparison.OrdinalIgnoreCase));
            }
            else if (wasReceive && receiveHere)
            {
                chosen = codecs.FirstOrDefault(c => c.PayloadType == options.PreviousReceive!.PayloadType && c.Name.Equals(options.PreviousReceive.CodecName, StringComparison.OrdinalIgnoreCase));
            }

            chosen ??= Choose(codecs, receiveHere ? receivePreference : sendPreference);
            if (chosen is null)
            {
                answer.Media.Add(Rejected(m, mid));
                transceivers.Add(new TransceiverDescription(mid, "video", MediaDirection.Inactive, true, null, null));
                continue;
            }

            var direction = (sendHere, receiveHere) switch
            {
                (true, true) => MediaDirection.SendRecv,
                (true, false) => MediaDirection.SendOnly,
                (false, true) => MediaDirection.RecvOnly,
                _ => MediaDirection.Inactive,
            };
            var rtx = codecs.FirstOrDefault(c => c.Name.Equals("rtx", StringComparison.OrdinalIgnoreCase) && c.Parameter("apt") == chosen.PayloadType.ToString(CultureInfo.InvariantCulture));
            var formats = new List<string> { chosen.PayloadType.ToString(CultureInfo.InvariantCulture) };
            if (rtx is not null)
            {
                formats.Add(rtx.PayloadType.ToString(CultureInfo.InvariantCulture));
            }

            var video = new MediaDescription("video", 9, m.Protocol, formats);
            video.OtherLines.Add(('c', "IN IP4 0.0.0.0"));
            Common(video, local, mid, setup, direction, withMsid: sendHere);
            var ids = RtpExtensionIds.Of(m);
            foreach (var (id, uri) in m.Extensions)
            {
                // On every accepted section, not only where we receive: in a BUNDLE a browser offers later sections
                // (a new simulcast camera) only the extensions the previous answer accepted, and refuses simulcast
                // without the RID extension.
                if (SupportedExtensions.Contains(uri))
                {
                    video.Attributes.Add(new SdpAttribute("extmap", $"{id} {uri}"));
                }
            }

            if (m.Has("rtcp-rsize"))
            {
                video.Attributes.Add(new SdpAttribute("rtcp-rsize", null));
            }

            video.Attributes.Add(new SdpAttribute("rtpmap", $"{chosen.PayloadType} {chosen.Name}/{chosen.ClockRate}"));
            foreach (var fb in chosen.Feedback.Where(SdpNegotiation.SupportedFeedback.Contains))
            {
                video.Attributes.Add(new SdpAttribute("rtcp-fb", $"{chosen.PayloadType} {fb}"));
            }

            if (chosen.Parameters is not null)
            {
                video.Attributes.Add(new SdpAttribute("fmtp", $"{chosen.PayloadType} {chosen.Parameters}"));
            }

            if (rtx is not null)
            {
                video.Attributes.Add(new SdpAttribute("rtpmap", $"{rtx.PayloadType} rtx/90000"));
                video.Attributes.Add(new SdpAttribute("fmtp", $"{rtx.PayloadType} apt={chosen.PayloadType}"));
            }

            IReadOnlyList<string> rids = [];
            if (receiveHere)
            {
                var offeredRids = m.SimulcastRids("send");
                if (offeredRids.Count > 0)
                {
                    var declared = m.Rids.Where(r => r.Direction == "send").Select(r => r.Id).ToHashSet(StringComparer.Ordinal);
                    var usable = offeredRids.Where(declared.Contains).Take(8).ToArray();
                    if (ids.Rid == 0)
                    {
                        warnings.Add($"mid {Trim(mid)}: simulcast offered without the rtp-stream-id extension; answered without simulcast");
                    }
                    else if (usable.Length > 0)
                    {
                        foreach (var rid in usable)
                        {
                            video.Attributes.Add(new SdpAttribute("rid", rid + " recv"));
                        }

                        video.Attributes.Add(new SdpAttribute("simulcast", "recv " + string.Join(';', usable)));
                        rids = usable;
                    }
                }
            }

            if (sendHere)
            {
                AddSendSsrcs(video, local);
            }

            answer.Media.Add(video);
            bundled.Add(mid);
            transceivers.Add(new TransceiverDescription(mid, "video", direction, false, chosen.Name.ToUpperInvariant(), chosen.PayloadType));
            var fid = m.FidGroup;
            var ssrcs = m.Ssrcs;
            var negotiated = new NegotiatedVideo(mid, chosen.PayloadType, chosen.Name.ToUpperInvariant(), rtx?.PayloadType, rids.Count == 0 ? fid?.Media ?? (ssrcs.Count > 0 ? ssrcs[0] : null) : null, rids.Count == 0 ? fid?.Rtx : null, direction)
            {
                Rids = rids,
                Extensions = ids,
            };
            if (sendHere)
            {
                send = negotiated;
            }

            if (receiveHere)
            {
                receive = negotiated;
            }
        }

        if (bundled.Count > 0)
        {
            answer.Attributes.Add(new SdpAttribute("group", "BUNDLE " + string.Join(' ', bundled)));
        }

        if (offer.Attributes.Exists(a => a.Name == "extmap-allow-mixed"))
        {
            answer.Attributes.Add(new SdpAttribute("extmap-allow-mixed", null));
        }

        answer.Attributes.Add(new SdpAttribute("msid-semantic", " WMS " + local.StreamId));
        return new AnswerResult(answer, send, receive, transceivers, warnings);
    }

    /// <summary>The codec of <paramref name="codecs"/> first in <paramref name="preference"/> (H.264 only with packetization-mode 1, constrained baseline first).</summary>
    internal static SdpCodec? Choose(IReadOnlyList<SdpCodec> codecs, IReadOnlyList<string> preference)
    {
        foreach (var name in preference)
        {
            bool h264 = RtpCodec.TryParse(name, out var wanted) && wanted == RtpCodec.H264;
            var matching = codecs.Where(c => c.Name.Equals(name, StringComparison.OrdinalIgnoreCase) && (!h264 || c.Parameter("packetization-mode") == "1")).ToList();
            if (matching.Count > 0)
            {
                return h264 ? matching.FirstOrDefault(c => c.Parameter("profile-level-id")?.StartsWith("42e0", StringComparison.OrdinalIgnoreCase) == true) ?? matching[0] : matching[0];
            }
        }

        return null;
    }

    private static bool OfferHas(SessionDescription offer, string mid) => offer.Media.Exists(m => m.Mid == mid && !m.IsRejected);

    private static string Trim(string text) => text.Length > 32 ? text[..32] : text;

    private static MediaDescription Rejected(MediaDescription m, string mid)
    {
        var rejected = new MediaDescription(m.Kind, 0, m.Protocol, m.Formats.Take(1));
        rejected.Attributes.Add(new SdpAttribute("mid", mid));
        if (m.Kind != "application")
        {
            rejected.Direction = MediaDirection.Inactive;
        }

        return rejected;
    }

    internal static void Common(MediaDescription m, LocalMediaParameters local, string mid, string setup, MediaDirection direction, bool withMsid)
    {
        m.Attributes.Add(new SdpAttribute("rtcp", "9 IN IP4 0.0.0.0"));
        m.Attributes.Add(new SdpAttribute("ice-ufrag", local.IceUfrag));
        m.Attributes.Add(new SdpAttribute("ice-pwd", local.IcePwd));
        m.Attributes.Add(new SdpAttribute("ice-options", "trickle"));
        m.Attributes.Add(new SdpAttribute("fingerprint", local.Fingerprint));
        m.Attributes.Add(new SdpAttribute("setup", setup));
        m.Attributes.Add(new SdpAttribute("mid", mid));
        m.Direction = direction;
        if (withMsid)
        {
            m.Attributes.Add(new SdpAttribute("msid", $"{local.StreamId} {local.TrackId}"));
        }

        m.Attributes.Add(new SdpAttribute("rtcp-mux", null));
        foreach (var c in local.Candidates)
        {
            m.Attributes.Add(new SdpAttribute("candidate", c.StartsWith("candidate:", StringComparison.Ordinal) ? c["candidate:".Length..] : c));
        }
    }

    private static void AddSendSsrcs(MediaDescription m, LocalMediaParameters local)
    {
        if (local.RtxSsrc != 0)
        {
            m.Attributes.Add(new SdpAttribute("ssrc-group", $"FID {local.Ssrc} {local.RtxSsrc}"));
        }

        foreach (var ssrc in local.RtxSsrc != 0 ? new[] { local.Ssrc, local.RtxSsrc } : [local.Ssrc])
        {
            m.Attributes.Add(new SdpAttribute("ssrc", $"{ssrc} cname:{local.Cname}"));
            m.Attributes.Add(new SdpAttribute("ssrc", $"{ssrc} msid:{local.StreamId} {local.TrackId}"));
        }
    }
}
