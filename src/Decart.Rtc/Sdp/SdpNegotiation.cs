using Decart.Rtc.Codecs;
using System.Globalization;

namespace Decart.Rtc.Sdp;

/// <summary>Our side of a media description: ICE credentials, DTLS fingerprint and role, our send stream.</summary>
public sealed record LocalMediaParameters
{
    /// <summary>ICE username fragment (≥ 4 characters).</summary>
    public required string IceUfrag { get; init; }

    /// <summary>ICE password (≥ 22 characters).</summary>
    public required string IcePwd { get; init; }

    /// <summary>DTLS certificate fingerprint, e.g. <c>sha-256 AB:CD:…</c>.</summary>
    public required string Fingerprint { get; init; }

    /// <summary>SSRC of the video we send (0 when we only receive).</summary>
    public uint Ssrc { get; init; }

    /// <summary>SSRC of our RTX stream (0 for none).</summary>
    public uint RtxSsrc { get; init; }

    /// <summary>RTCP CNAME.</summary>
    public string Cname { get; init; } = "decart";

    /// <summary>MediaStream id for <c>a=msid</c>.</summary>
    public string StreamId { get; init; } = "decart";

    /// <summary>Track id for <c>a=msid</c>.</summary>
    public string TrackId { get; init; } = "video0";

    /// <summary>Candidates to put in the SDP (raw <c>candidate:…</c> values); trickle sends the rest.</summary>
    public IReadOnlyList<string> Candidates { get; init; } = [];
}

/// <summary>What an offer/answer exchange settled for the video section.</summary>
/// <param name="Mid">The section's mid.</param>
/// <param name="PayloadType">The codec's payload type.</param>
/// <param name="CodecName"><c>VP8</c> or <c>H264</c>.</param>
/// <param name="RtxPayloadType">The RTX payload type, or null.</param>
/// <param name="RemoteSsrc">The peer's media SSRC when it announced one.</param>
/// <param name="RemoteRtxSsrc">The peer's RTX SSRC when it announced one.</param>
/// <param name="LocalDirection">Our direction for the section.</param>
public sealed record NegotiatedVideo(string Mid, int PayloadType, string CodecName, int? RtxPayloadType, uint? RemoteSsrc, uint? RemoteRtxSsrc, MediaDirection LocalDirection)
{
    /// <summary>The payload format (<see cref="CodecName"/> as its one object).</summary>
    public RtpCodec Codec { get; } = RtpCodec.TryParse(CodecName, out var codec) ? codec : RtpCodec.Vp8;

    /// <summary>The simulcast layers we receive on this section (RIDs, lowest first as offered); empty without simulcast.</summary>
    public IReadOnlyList<string> Rids { get; init; } = [];

    /// <summary>The header-extension ids of the section.</summary>
    public RtpExtensionIds Extensions { get; init; }

    /// <inheritdoc />
    public bool Equals(NegotiatedVideo? other) =>
        other is not null && (Mid, PayloadType, CodecName, RtxPayloadType, RemoteSsrc, RemoteRtxSsrc, LocalDirection, Extensions) == (other.Mid, other.PayloadType, other.CodecName, other.RtxPayloadType, other.RemoteSsrc, other.RemoteRtxSsrc, other.LocalDirection, other.Extensions)
        && Rids.SequenceEqual(other.Rids);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Mid, PayloadType, CodecName, RemoteSsrc, LocalDirection, Rids.Count);
}

/// <summary>Builds offers and answers for one video section (and rejects what we do not handle).</summary>
public static class SdpNegotiation
{
    /// <summary>RTCP feedback we implement.</summary>
    public static readonly IReadOnlySet<string> SupportedFeedback = new HashSet<string>(["nack", "nack pli", "ccm fir", "goog-remb", "transport-cc"], StringComparer.OrdinalIgnoreCase);

    /// <summary>Creates the client's offer: one video section (VP8 then H.264, each with RTX), optionally an audio receive section.</summary>
    /// <param name="local">Our parameters.</param>
    /// <param name="direction">Video direction (usually send and receive).</param>
    /// <param name="includeAudioReceive">Add a recvonly audio section, as browsers do for Decart.</param>
    /// <returns>The offer.</returns>
    public static SessionDescription CreateOffer(LocalMediaParameters local, MediaDirection direction = MediaDirection.SendRecv, bool includeAudioReceive = false)
    {
        ArgumentNullException.ThrowIfNull(local);
        var offer = new SessionDescription { Type = SdpType.Offer, Origin = $"- {Random.Shared.NextInt64(1, long.MaxValue)} 2 IN IP4 127.0.0.1" };
        var mids = new List<string> { "0" };
        var video = new MediaDescription("video", 9, "UDP/TLS/RTP/SAVPF", ["96", "97", "102", "103"]);
        video.OtherLines.Add(('c', "IN IP4 0.0.0.0"));
        Common(video, local, "0", "actpass", direction);
        video.Attributes.Add(new SdpAttribute("extmap", "3 " + RtpExtensionUris.TransportWideCc));
        AddCodec(video, 96, RtpCodec.Vp8.Name, RtpCodec.Vp8.OfferParameters);
        AddRtx(video, 97, 96);
        AddCodec(video, 102, RtpCodec.H264.Name, RtpCodec.H264.OfferParameters);
        AddRtx(video, 103, 102);
        AddSsrcs(video, local, direction);
        offer.Media.Add(video);
        if (includeAudioReceive)
        {
            var audio = new MediaDescription("audio", 9, "UDP/TLS/RTP/SAVPF", ["111"]);
            audio.OtherLines.Add(('c', "IN IP4 0.0.0.0"));
            Common(audio, local, "1", "actpass", MediaDirection.RecvOnly);
            audio.Attributes.Add(new SdpAttribute("rtpmap", "111 opus/48000/2"));
            audio.Attributes.Add(new SdpAttribute("fmtp", "111 minptime=10;useinbandfec=1"));
            offer.Media.Add(audio);
            mids.Add("1");
        }

        offer.Attributes.Add(new SdpAttribute("group", "BUNDLE " + string.Join(' ', mids)));
        offer.Attributes.Add(new SdpAttribute("extmap-allow-mixed", null));
        offer.Attributes.Add(new SdpAttribute("msid-semantic", " WMS " + local.StreamId));
        return offer;
    }

    /// <summary>
    /// Builds an offer from <paramref name="options"/>: one <c>sendrecv</c> video section, or — with
    /// <see cref="OfferOptions.SeparateSections"/>, as an SFU room expects — a <c>recvonly</c> section (mid <c>0</c>)
    /// and, when sending, a <c>sendonly</c> one with our SSRCs and msid (mid <c>1</c>). The mids stay the same across
    /// renegotiations, so a later offer that adds the send section keeps the receive section's binding. Video sections
    /// carry the <c>sdes:mid</c> header extension.
    /// </summary>
    /// <param name="local">Our parameters.</param>
    /// <param name="options">What to offer.</param>
    /// <returns>The offer.</returns>
    public static SessionDescription CreateOffer(LocalMediaParameters local, OfferOptions options)
    {
        ArgumentNullException.ThrowIfNull(local);
        ArgumentNullException.ThrowIfNull(options);
        if (!options.SeparateSections)
        {
            var single = CreateOffer(local, (options.Send, options.Receive) switch
            {
                (true, true) => MediaDirection.SendRecv,
                (true, false) => MediaDirection.SendOnly,
                (false, true) => MediaDirection.RecvOnly,
                _ => MediaDirection.Inactive,
            }, options.IncludeAudioReceive);
            ApplyPreference(single, options.CodecPreference);
            return single;
        }

        var offer = new SessionDescription { Type = SdpType.Offer, Origin = $"- {Random.Shared.NextInt64(1, long.MaxValue)} 2 IN IP4 127.0.0.1" };
        var mids = new List<string>();
        if (options.Receive)
        {
            offer.Media.Add(VideoSection(local, "0", MediaDirection.RecvOnly));
            mids.Add("0");
        }

        if (options.Send && local.Ssrc != 0)
        {
            var send = VideoSection(local, "1", MediaDirection.SendOnly);
            if (options.SendLayers is { Count: > 1 } layers)
            {
                if (layers.Count > 8 || layers.Distinct(StringComparer.Ordinal).Count() != layers.Count || !layers.All(MediaDescription.IsRidId))
                {
                    throw new ArgumentException("simulcast layers must be 2-8 distinct RIDs (letters, digits, '-', '_'; at most 16 characters)", nameof(options));
                }

                send.Attributes.Add(new SdpAttribute("extmap", "10 " + RtpExtensionUris.Rid));
                send.Attributes.Add(new SdpAttribute("extmap", "11 " + RtpExtensionUris.RepairedRid));
                foreach (var rid in layers)
                {
                    send.Attributes.Add(new SdpAttribute("rid", rid + " send"));
                }

                send.Attributes.Add(new SdpAttribute("simulcast", "send " + string.Join(';', layers)));
            }
            else
            {
                AddSsrcs(send, local, MediaDirection.SendOnly);
            }

            offer.Media.Add(send);
            mids.Add("1");
        }

        if (options.IncludeAudioReceive)
        {
            var audio = new MediaDescription("audio", 9, "UDP/TLS/RTP/SAVPF", ["111"]);
            audio.OtherLines.Add(('c', "IN IP4 0.0.0.0"));
            Common(audio, local, "2", "actpass", MediaDirection.RecvOnly);
            audio.Attributes.Add(new SdpAttribute("rtpmap", "111 opus/48000/2"));
            offer.Media.Add(audio);
            mids.Add("2");
        }

        if (mids.Count == 0)
        {
            throw new ArgumentException("an offer needs at least one section: send, receive or audio", nameof(options));
        }

        offer.Attributes.Add(new SdpAttribute("group", "BUNDLE " + string.Join(' ', mids)));
        offer.Attributes.Add(new SdpAttribute("extmap-allow-mixed", null));
        offer.Attributes.Add(new SdpAttribute("msid-semantic", " WMS " + local.StreamId));
        ApplyPreference(offer, options.CodecPreference);
        return offer;
    }

    /// <summary>
    /// Reads what an answer to our offer settled, section by section: the first video section we send on and the
    /// first we receive on (the same section when it is <c>sendrecv</c>), with the answer's header-extension ids.
    /// </summary>
    /// <param name="answer">The remote answer.</param>
    /// <returns>The send and receive agreements (either may be null) and every section.</returns>
    public static (NegotiatedVideo? Send, NegotiatedVideo? Receive, IReadOnlyList<TransceiverDescription> Transceivers) ReadAnswerSections(SessionDescription answer)
    {
        ArgumentNullException.ThrowIfNull(answer);
        NegotiatedVideo? send = null, receive = null;
        var transceivers = new List<TransceiverDescription>();
        for (int index = 0; index < answer.Media.Count; index++)
        {
            var m = answer.Media[index];
            string mid = m.Mid ?? index.ToString(CultureInfo.InvariantCulture);
            var codec = m.Kind == "video" && !m.IsRejected ? m.Codecs.FirstOrDefault(c => !c.Name.Equals("rtx", StringComparison.OrdinalIgnoreCase)) : null;
            if (codec is null)
            {
                transceivers.Add(new TransceiverDescription(mid, m.Kind, MediaDirection.Inactive, m.IsRejected, null, null));
                continue;
            }

            var negotiated = Agreement(m, mid, codec) with
            {
                Extensions = RtpExtensionIds.Of(m),

                // The layers the answerer takes of what we offered to send (its a=simulcast:recv).
                Rids = m.Direction is MediaDirection.RecvOnly or MediaDirection.SendRecv && RtpExtensionIds.Of(m).Rid > 0 ? m.SimulcastRids("recv") : [],
            };
            var direction = negotiated.LocalDirection;
            transceivers.Add(new TransceiverDescription(mid, "video", direction, false, negotiated.CodecName, negotiated.PayloadType));
            if (send is null && direction is MediaDirection.SendOnly or MediaDirection.SendRecv)
            {
                send = negotiated;
            }

            if (receive is null && direction is MediaDirection.RecvOnly or MediaDirection.SendRecv)
            {
                receive = negotiated;
            }
        }

        return (send, receive, transceivers);
    }

    private static MediaDescription VideoSection(LocalMediaParameters local, string mid, MediaDirection direction)
    {
        var video = new MediaDescription("video", 9, "UDP/TLS/RTP/SAVPF", ["96", "97", "102", "103"]);
        video.OtherLines.Add(('c', "IN IP4 0.0.0.0"));
        Common(video, local, mid, "actpass", direction);
        video.Attributes.Add(new SdpAttribute("extmap", "3 " + RtpExtensionUris.TransportWideCc));
        video.Attributes.Add(new SdpAttribute("extmap", "4 " + RtpExtensionUris.Mid));
        AddCodec(video, 96, RtpCodec.Vp8.Name, RtpCodec.Vp8.OfferParameters);
        AddRtx(video, 97, 96);
        AddCodec(video, 102, RtpCodec.H264.Name, RtpCodec.H264.OfferParameters);
        AddRtx(video, 103, 102);
        return video;
    }

    private static void ApplyPreference(SessionDescription offer, IReadOnlyList<string>? preference)
    {
        if (preference is null)
        {
            return;
        }

        for (int i = preference.Count - 1; i >= 0; i--)
        {
            PreferCodec(offer, preference[i]);
        }
    }

    /// <summary>
    /// Answers an offer (see <see cref="TransceiverNegotiation.Answer"/>): the first video section the offerer sends or
    /// receives on gets the first offered codec of <paramref name="codecPreference"/> (H.264 only with
    /// packetization-mode=1) with its RTX and the feedback we support; audio and further video sections are answered
    /// inactive inside the bundle; data sections are rejected with port 0 and their mid kept.
    /// </summary>
    /// <param name="offer">The remote offer.</param>
    /// <param name="local">Our parameters.</param>
    /// <param name="setup">Our DTLS role: <c>active</c> (client) or <c>passive</c> (server).</param>
    /// <param name="iceLite">Whether we are an ICE-lite agent.</param>
    /// <param name="codecPreference">Codec names in our order of preference; default VP8, H264.</param>
    /// <param name="negotiated">What was agreed for video, or null when no video could be accepted.</param>
    /// <returns>The answer.</returns>
    /// <exception cref="NegotiationException">The offer cannot be answered, e.g. two sections share a mid.</exception>
    public static SessionDescription CreateAnswer(SessionDescription offer, LocalMediaParameters local, string setup, bool iceLite, IReadOnlyList<string>? codecPreference, out NegotiatedVideo? negotiated)
    {
        var result = TransceiverNegotiation.Answer(offer, local, setup, iceLite, new AnswerOptions { CodecPreference = codecPreference });
        negotiated = result.Send ?? result.Receive;
        return result.Answer;
    }

    /// <summary>Reads what an answer to our offer settled for video.</summary>
    /// <param name="answer">The remote answer.</param>
    /// <returns>The agreement, or null when video was rejected.</returns>
    public static NegotiatedVideo? ReadAnswer(SessionDescription answer)
    {
        ArgumentNullException.ThrowIfNull(answer);
        var m = answer.Media.FirstOrDefault(x => x.Kind == "video" && !x.IsRejected);
        var codec = m?.Codecs.FirstOrDefault(c => !c.Name.Equals("rtx", StringComparison.OrdinalIgnoreCase));
        if (m is null || codec is null)
        {
            return null;
        }

        return Agreement(m, m.Mid ?? "0", codec);
    }

    /// <summary>What an answer's section settled, from our side: its codec with RTX, the peer's SSRCs, our direction.</summary>
    private static NegotiatedVideo Agreement(MediaDescription m, string mid, SdpCodec codec)
    {
        var rtx = m.Codecs.FirstOrDefault(c => c.Name.Equals("rtx", StringComparison.OrdinalIgnoreCase) && c.Parameter("apt") == codec.PayloadType.ToString(CultureInfo.InvariantCulture));
        var direction = m.Direction switch { MediaDirection.SendOnly => MediaDirection.RecvOnly, MediaDirection.RecvOnly => MediaDirection.SendOnly, var d => d };
        var fid = m.FidGroup;
        var ssrcs = m.Ssrcs;
        return new NegotiatedVideo(mid, codec.PayloadType, codec.Name.ToUpperInvariant(), rtx?.PayloadType, fid?.Media ?? (ssrcs.Count > 0 ? ssrcs[0] : null), fid?.Rtx, direction);
    }

    /// <summary>Moves a codec (and its RTX) to the front of every video section, e.g. to prefer H.264 in a <c>CustomizeOffer</c> hook.</summary>
    /// <param name="description">The description to change.</param>
    /// <param name="codecName"><c>VP8</c> or <c>H264</c>.</param>
    /// <returns>Whether the codec was found.</returns>
    public static bool PreferCodec(SessionDescription description, string codecName)
    {
        ArgumentNullException.ThrowIfNull(description);
        bool found = false;
        foreach (var m in description.Media.Where(x => x.Kind == "video"))
        {
            var codecs = m.Codecs;
            var preferred = codecs.Where(c => c.Name.Equals(codecName, StringComparison.OrdinalIgnoreCase)).Select(c => c.PayloadType.ToString(CultureInfo.InvariantCulture)).ToList();
            if (preferred.Count == 0)
            {
                continue;
            }

            var rtx = codecs.Where(c => c.Name.Equals("rtx", StringComparison.OrdinalIgnoreCase) && preferred.Contains(c.Parameter("apt") ?? string.Empty)).Select(c => c.PayloadType.ToString(CultureInfo.InvariantCulture));
            var front = preferred.Concat(rtx).ToList();
            var rest = m.Formats.Where(f => !front.Contains(f)).ToList();
            m.Formats.Clear();
            m.Formats.AddRange(front.Concat(rest));
            found = true;
        }

        return found;
    }

    /// <summary>Removes every video codec but <paramref name="codecName"/> (and its RTX) from the description.</summary>
    /// <param name="description">The description to change.</param>
    /// <param name="codecName"><c>VP8</c> or <c>H264</c>.</param>
    public static void KeepOnlyCodec(SessionDescription description, string codecName)
    {
        ArgumentNullException.ThrowIfNull(description);
        PreferCodec(description, codecName);
        foreach (var m in description.Media.Where(x => x.Kind == "video"))
        {
            KeepOnlyCodec(m, codecName);
        }
    }

    /// <summary>Removes every codec but <paramref name="codecName"/> (and its RTX) from one video section.</summary>
    /// <param name="section">The section to change.</param>
    /// <param name="codecName"><c>VP8</c> or <c>H264</c>.</param>
    public static void KeepOnlyCodec(MediaDescription section, string codecName)
    {
        ArgumentNullException.ThrowIfNull(section);
        var keep = section.Codecs.Where(c => c.Name.Equals(codecName, StringComparison.OrdinalIgnoreCase)).Select(c => c.PayloadType.ToString(CultureInfo.InvariantCulture)).ToHashSet();
        foreach (var c in section.Codecs.Where(c => c.Name.Equals("rtx", StringComparison.OrdinalIgnoreCase) && keep.Contains(c.Parameter("apt") ?? string.Empty)).ToList())
        {
            keep.Add(c.PayloadType.ToString(CultureInfo.InvariantCulture));
        }

        section.Formats.RemoveAll(f => !keep.Contains(f));
        section.Attributes.RemoveAll(a => a.Name is "rtpmap" or "fmtp" or "rtcp-fb" && !keep.Contains(a.Value?.Split(' ')[0] ?? string.Empty));
    }

    private static void Common(MediaDescription m, LocalMediaParameters local, string mid, string setup, MediaDirection direction)
    {
        m.Attributes.Add(new SdpAttribute("rtcp", "9 IN IP4 0.0.0.0"));
        m.Attributes.Add(new SdpAttribute("ice-ufrag", local.IceUfrag));
        m.Attributes.Add(new SdpAttribute("ice-pwd", local.IcePwd));
        m.Attributes.Add(new SdpAttribute("ice-options", "trickle"));
        m.Attributes.Add(new SdpAttribute("fingerprint", local.Fingerprint));
        m.Attributes.Add(new SdpAttribute("setup", setup));
        m.Attributes.Add(new SdpAttribute("mid", mid));
        m.Direction = direction;
        if (direction is MediaDirection.SendRecv or MediaDirection.SendOnly && local.Ssrc != 0)
        {
            m.Attributes.Add(new SdpAttribute("msid", $"{local.StreamId} {local.TrackId}"));
        }

        m.Attributes.Add(new SdpAttribute("rtcp-mux", null));
        foreach (var c in local.Candidates)
        {
            m.Attributes.Add(new SdpAttribute("candidate", c.StartsWith("candidate:", StringComparison.Ordinal) ? c["candidate:".Length..] : c));
        }
    }

    private static void AddCodec(MediaDescription m, int pt, string name, string? fmtp)
    {
        m.Attributes.Add(new SdpAttribute("rtpmap", $"{pt} {name}/90000"));
        foreach (var fb in new[] { "goog-remb", "transport-cc", "ccm fir", "nack", "nack pli" })
        {
            m.Attributes.Add(new SdpAttribute("rtcp-fb", $"{pt} {fb}"));
        }

        if (fmtp is not null)
        {
            m.Attributes.Add(new SdpAttribute("fmtp", $"{pt} {fmtp}"));
        }
    }

    private static void AddRtx(MediaDescription m, int pt, int apt)
    {
        m.Attributes.Add(new SdpAttribute("rtpmap", $"{pt} rtx/90000"));
        m.Attributes.Add(new SdpAttribute("fmtp", $"{pt} apt={apt}"));
    }

    private static void AddSsrcs(MediaDescription m, LocalMediaParameters local, MediaDirection direction)
    {
        if (local.Ssrc == 0 || direction is MediaDirection.RecvOnly or MediaDirection.Inactive)
        {
            return;
        }

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
