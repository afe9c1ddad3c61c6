using Decart.Rtc.Sdp;
using FsCheck;
using FsCheck.Fluent;

namespace Decart.Rtc.Tests.Sdp;

public class SdpTests
{
    /// <summary>An offer in the shape Chromium 120+ produces for audio + video with RTX, extmaps, msid and a host candidate.</summary>
    internal const string ChromiumOffer =
        "v=0\r\n" +
        "o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n" +
        "s=-\r\n" +
        "t=0 0\r\n" +
        "a=group:BUNDLE 0 1\r\n" +
        "a=extmap-allow-mixed\r\n" +
        "a=msid-semantic: WMS 6b4e1b47-ffa5-4a4c-a2b5-9f3a1b7b3a42\r\n" +
        "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\n" +
        "c=IN IP4 0.0.0.0\r\n" +
        "a=rtcp:9 IN IP4 0.0.0.0\r\n" +
        "a=candidate:1467250027 1 udp 2122260223 192.168.0.196 46243 typ host generation 0 network-id 1\r\n" +
        "a=ice-ufrag:Ngq4\r\n" +
        "a=ice-pwd:9CbQ0mYwV8ZcnsvL0eBLXcE4\r\n" +
        "a=ice-options:trickle\r\n" +
        "a=fingerprint:sha-256 5B:A5:3C:BD:52:63:2E:8C:41:7E:56:BA:9A:8E:5F:04:0B:9D:E3:79:6F:C6:55:67:35:2C:93:93:D1:05:54:3A\r\n" +
        "a=setup:actpass\r\n" +
        "a=mid:0\r\n" +
        "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n" +
        "a=sendrecv\r\n" +
        "a=msid:6b4e1b47-ffa5-4a4c-a2b5-9f3a1b7b3a42 0c5f6c19-2e8b-4b9d-9a57-0a3a2c8cbd4f\r\n" +
        "a=rtcp-mux\r\n" +
        "a=rtpmap:111 opus/48000/2\r\n" +
        "a=rtcp-fb:111 transport-cc\r\n" +
        "a=fmtp:111 minptime=10;useinbandfec=1\r\n" +
        "a=rtpmap:63 red/48000/2\r\n" +
        "a=ssrc:1001 cname:JQ3s2h1nHt5w0w4V\r\n" +
        "m=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103 104 105 45 46\r\n" +
        "c=IN IP4 0.0.0.0\r\n" +
        "a=rtcp:9 IN IP4 0.0.0.0\r\n" +
        "a=ice-ufrag:Ngq4\r\n" +
        "a=ice-pwd:9CbQ0mYwV8ZcnsvL0eBLXcE4\r\n" +
        "a=ice-options:trickle\r\n" +
        "a=fingerprint:sha-256 5B:A5:3C:BD:52:63:2E:8C:41:7E:56:BA:9A:8E:5F:04:0B:9D:E3:79:6F:C6:55:67:35:2C:93:93:D1:05:54:3A\r\n" +
        "a=setup:actpass\r\n" +
        "a=mid:1\r\n" +
        "a=extmap:14 urn:ietf:params:rtp-hdrext:toffset\r\n" +
        "a=extmap:3 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n" +
        "a=extmap:4/sendonly urn:3gpp:video-orientation\r\n" +
        "a=sendrecv\r\n" +
        "a=msid:6b4e1b47-ffa5-4a4c-a2b5-9f3a1b7b3a42 8f0a7c34-8d3e-4b58-a5a6-2a2f2d8e6c01\r\n" +
        "a=rtcp-mux\r\n" +
        "a=rtcp-rsize\r\n" +
        "a=rtpmap:96 VP8/90000\r\n" +
        "a=rtcp-fb:96 goog-remb\r\n" +
        "a=rtcp-fb:96 transport-cc\r\n" +
        "a=rtcp-fb:96 ccm fir\r\n" +
        "a=rtcp-fb:96 nack\r\n" +
        "a=rtcp-fb:96 nack pli\r\n" +
        "a=rtpmap:97 rtx/90000\r\n" +
        "a=fmtp:97 apt=96\r\n" +
        "a=rtpmap:102 H264/90000\r\n" +
        "a=rtcp-fb:102 nack\r\n" +
        "a=rtcp-fb:102 nack pli\r\n" +
        "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f\r\n" +
        "a=rtpmap:103 rtx/90000\r\n" +
        "a=fmtp:103 apt=102\r\n" +
        "a=rtpmap:104 H264/90000\r\n" +
        "a=fmtp:104 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f\r\n" +
        "a=rtpmap:105 rtx/90000\r\n" +
        "a=fmtp:105 apt=104\r\n" +
        "a=rtpmap:45 AV1/90000\r\n" +
        "a=rtpmap:46 rtx/90000\r\n" +
        "a=fmtp:46 apt=45\r\n" +
        "a=ssrc-group:FID 2231627014 632943048\r\n" +
        "a=ssrc:2231627014 cname:JQ3s2h1nHt5w0w4V\r\n" +
        "a=ssrc:2231627014 msid:6b4e1b47-ffa5-4a4c-a2b5-9f3a1b7b3a42 8f0a7c34-8d3e-4b58-a5a6-2a2f2d8e6c01\r\n" +
        "a=ssrc:632943048 cname:JQ3s2h1nHt5w0w4V\r\n";

    private static readonly LocalMediaParameters Local = SdpFuzz.Local;

    [Fact]
    public void Chromium_offer_parses_and_round_trips_verbatim()
    {
        var offer = SessionDescription.Parse(ChromiumOffer, SdpType.Offer);
        Assert.Equal(["0", "1"], offer.BundleMids);
        Assert.Equal(2, offer.Media.Count);
        var video = offer.Media[1];
        Assert.Equal(("video", "1", "Ngq4", "actpass", MediaDirection.SendRecv), (video.Kind, video.Mid, video.IceUfrag, video.Setup, video.Direction));
        Assert.True(video.RtcpMux);
        Assert.Equal((2231627014u, 632943048u), video.FidGroup);
        Assert.Contains((3, "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"), video.Extensions);
        Assert.Contains((4, "urn:3gpp:video-orientation"), video.Extensions);
        var vp8 = video.Codecs[0];
        Assert.Equal(("VP8", 96, 90000), (vp8.Name, vp8.PayloadType, vp8.ClockRate));
        Assert.Contains("nack pli", vp8.Feedback);
        Assert.Equal("96", video.Codecs[1].Parameter("apt"));
        Assert.Single(offer.Media[0].Candidates);
        Assert.Equal(ChromiumOffer, offer.ToString());
        Assert.Equal(ChromiumOffer, SessionDescription.Parse(offer.ToString(), SdpType.Offer).ToString());
    }

    [Fact]
    public void Answer_picks_vp8_keeps_rtx_filters_feedback_and_answers_audio_inactive()
    {
        var offer = SessionDescription.Parse(ChromiumOffer, SdpType.Offer);
        var answer = SdpNegotiation.CreateAnswer(offer, Local, "passive", iceLite: true, null, out var negotiated);
        Assert.NotNull(negotiated);
        Assert.Equal(new NegotiatedVideo("1", 96, "VP8", 97, 2231627014, 632943048, MediaDirection.SendRecv), negotiated);
        Assert.True(answer.IceLite);
        // Audio stays in the bundle, inactive: rejecting the bundle's tagged first section makes Chromium pick new ICE
        // credentials on its next offer (seen with livekit-client), which ends the session.
        Assert.Equal(["0", "1"], answer.BundleMids);
        var audio = answer.Media[0];
        Assert.Equal((9, "0", "audio", MediaDirection.Inactive), (audio.Port, audio.Mid, audio.Kind, audio.Direction));
        var video = answer.Media[1];
        Assert.Equal(["96", "97"], video.Formats);
        Assert.Equal("passive", video.Setup);
        Assert.Equal(Local.Fingerprint, video.Fingerprint);
        Assert.Contains("transport-cc", video.Codecs[0].Feedback); // we send transport-wide feedback now
        Assert.Contains("nack pli", video.Codecs[0].Feedback);
        Assert.Equal((1111u, 2222u), video.FidGroup);

        // The answer is valid SDP that parses back and is read the same way from the offerer's side.
        var reread = SdpNegotiation.ReadAnswer(SessionDescription.Parse(answer.ToString(), SdpType.Answer));
        Assert.Equal(("1", 96, "VP8", 97, 1111u, 2222u), (reread!.Mid, reread.PayloadType, reread.CodecName, reread.RtxPayloadType, reread.RemoteSsrc, reread.RemoteRtxSsrc));
    }

    [Fact]
    public void H264_is_chosen_when_preferred_and_only_with_packetization_mode_1()
    {
        var offer = SessionDescription.Parse(ChromiumOffer, SdpType.Offer);
        SdpNegotiation.CreateAnswer(offer, Local, "active", false, ["H264", "VP8"], out var negotiated);
        Assert.Equal((102, "H264", 103), (negotiated!.PayloadType, negotiated.CodecName, negotiated.RtxPayloadType));

        SdpNegotiation.KeepOnlyCodec(offer, "H264");
        Assert.Equal(["102", "104", "103", "105"], offer.Media[1].Formats);
        Assert.DoesNotContain(offer.Media[1].Attributes, a => a.Value?.StartsWith("96 ", StringComparison.Ordinal) == true);
        SdpNegotiation.CreateAnswer(offer, Local, "active", false, null, out var onlyH264);
        Assert.Equal(102, onlyH264!.PayloadType); // pm=0 at 104 is never picked
    }

    [Fact]
    public void Prefer_codec_reorders_the_mline()
    {
        var offer = SessionDescription.Parse(ChromiumOffer, SdpType.Offer);
        Assert.True(SdpNegotiation.PreferCodec(offer, "H264"));
        Assert.Equal(["102", "104", "103", "105", "96", "97", "45", "46"], offer.Media[1].Formats);
        Assert.False(SdpNegotiation.PreferCodec(offer, "VP9"));
    }

    [Fact]
    public void Offer_without_a_codec_we_support_rejects_video()
    {
        var offer = SessionDescription.Parse(ChromiumOffer.Replace("VP8/90000", "VP9/90000", StringComparison.Ordinal).Replace("packetization-mode=1", "packetization-mode=0", StringComparison.Ordinal), SdpType.Offer);
        var answer = SdpNegotiation.CreateAnswer(offer, Local, "passive", true, null, out var negotiated);
        Assert.Null(negotiated);
        Assert.Equal((0, 9, MediaDirection.Inactive), (answer.Media[1].Port, answer.Media[0].Port, answer.Media[0].Direction));
        Assert.Equal(["0"], answer.BundleMids);
    }

    [Theory]
    [InlineData(MediaDirection.SendOnly, MediaDirection.RecvOnly)]
    [InlineData(MediaDirection.RecvOnly, MediaDirection.SendOnly)]
    public void Directions_are_mirrored(MediaDirection offered, MediaDirection answered)
    {
        var offer = SessionDescription.Parse(ChromiumOffer, SdpType.Offer);
        offer.Media[1].Direction = offered;
        SdpNegotiation.CreateAnswer(offer, Local, "passive", true, null, out var negotiated);
        Assert.Equal(answered, negotiated!.LocalDirection);
    }

    [Fact]
    public void An_inactive_video_section_is_answered_inactive_inside_the_bundle_and_binds_nothing()
    {
        var offer = SessionDescription.Parse(ChromiumOffer, SdpType.Offer);
        offer.Media[1].Direction = MediaDirection.Inactive;
        var answer = SdpNegotiation.CreateAnswer(offer, Local, "passive", true, null, out var negotiated);
        Assert.Null(negotiated);
        Assert.Equal((9, MediaDirection.Inactive), (answer.Media[1].Port, answer.Media[1].Direction));
        Assert.Equal(["0", "1"], answer.BundleMids);
    }

    [Fact]
    public void Our_offer_has_vp8_first_with_the_bitrate_fmtp_and_is_answerable()
    {
        var offer = SdpNegotiation.CreateOffer(Local with { Candidates = ["candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host"] }, includeAudioReceive: true);
        var text = offer.ToString();
        var parsed = SessionDescription.Parse(text, SdpType.Offer);
        var video = parsed.Media[0];
        Assert.Equal("VP8", video.Codecs[0].Name);
        Assert.Equal("300", video.Codecs[0].Parameter("x-google-min-bitrate"));
        Assert.Equal("actpass", video.Setup);
        Assert.Equal(MediaDirection.RecvOnly, parsed.Media[1].Direction);
        Assert.Single(video.Candidates);
        var answer = SdpNegotiation.CreateAnswer(parsed, Local with { Ssrc = 5 }, "passive", true, null, out var negotiated);
        Assert.Equal("VP8", negotiated!.CodecName);
        Assert.Equal((9, MediaDirection.Inactive), (answer.Media[1].Port, answer.Media[1].Direction));
    }

    [Theory]
    [InlineData("", SdpParseError.BadSize, 0)]
    [InlineData("o=- 1 2 IN IP4 127.0.0.1\r\n", SdpParseError.MissingVersion, 1)]
    [InlineData("v=1\r\n", SdpParseError.MissingVersion, 1)]
    [InlineData("v=0\r\nthis is not sdp\r\n", SdpParseError.BadLine, 2)]
    [InlineData("v=0\r\nm=video\r\n", SdpParseError.BadMediaLine, 2)]
    [InlineData("v=0\r\nm=video port UDP/TLS/RTP/SAVPF 96\r\n", SdpParseError.BadMediaLine, 2)]
    [InlineData("v=0\r\nm=video 99999 UDP/TLS/RTP/SAVPF 96\r\n", SdpParseError.BadMediaLine, 2)]
    [InlineData("v=0\r\nX=upper\r\n", SdpParseError.BadLine, 2)]
    public void Malformed_sdp_gets_a_named_error_and_line(string sdp, SdpParseError error, int line)
    {
        Assert.False(SessionDescription.TryParse(sdp, SdpType.Offer, out _, out var e, out int l));
        Assert.Equal((error, line), (e, l));
        var ex = Assert.Throws<SdpException>(() => SessionDescription.Parse(sdp, SdpType.Offer));
        Assert.Equal(error, ex.Error);
    }

    [Fact]
    public void Huge_and_many_media_inputs_are_refused()
    {
        Assert.False(SessionDescription.TryParse("v=0\r\n" + new string('a', SessionDescription.MaxLength), SdpType.Offer, out _, out var e1, out _));
        Assert.Equal(SdpParseError.BadSize, e1);
        var many = "v=0\r\n" + string.Concat(Enumerable.Repeat("m=video 9 UDP/TLS/RTP/SAVPF 96\r\n", 100));
        Assert.False(SessionDescription.TryParse(many, SdpType.Offer, out _, out var e2, out _));
        Assert.Equal(SdpParseError.TooManyMedia, e2);
    }

    [Fact]
    public void Mutated_offers_parse_or_fail_with_a_typed_error_and_never_throw_anything_else()
    {
        var offers = SdpFuzz.Mutations(ChromiumOffer, 40, "a=", "m=", "a=rtpmap:", "a=fmtp:96", "a=ssrc-group:FID x", "m=video -1", "a=extmap:x", "\u0000", "a=rtpmap:96 VP8", "a=candidate:");
        SdpFuzz.ParseOrFailTyped(offers, offer =>
        {
            _ = SdpNegotiation.CreateAnswer(offer, Local, "passive", true, null, out _).ToString();
            foreach (var m in offer.Media)
            {
                _ = m.Codecs;
                _ = m.Ssrcs;
                _ = m.FidGroup;
                _ = m.Extensions;
            }
        }, 3000);
    }
}
