using Decart.Rtc.Sdp;

namespace Decart.Rtc.Tests.Sdp;

/// <summary>
/// Real publish offers of LiveKit clients, captured against the simulator (see the capture hook in
/// tests/Decart.Interop.Tests): livekit-client 2.20.2 in Chromium (3 audio + 3 video placeholders, the data section,
/// the camera with simulcast q;h;f) and @livekit/rtc-node 1.1.0 (simulcast f;h;q).
/// </summary>
public sealed class LiveKitOfferTests
{
    private static readonly LocalMediaParameters Local = SdpFuzz.Local;

    private static string Fixture(string name) => File.ReadAllText(Path.Combine(Decart.Testing.RepositoryPaths.Root, "tests", "Decart.Rtc.Tests", "Sdp", "fixtures", name));

    private static readonly string Chromium = Fixture("livekit-client-2.20.2-chromium-publish-offer.sdp");
    private static readonly string RtcNode = Fixture("livekit-rtc-node-1.1.0-publish-offer.sdp");

    [Theory]
    [InlineData("livekit-client-2.20.2-chromium-publish-offer.sdp")]
    [InlineData("livekit-rtc-node-1.1.0-publish-offer.sdp")]
    public void The_captured_offers_round_trip_verbatim(string name)
    {
        string text = Fixture(name);
        var offer = SessionDescription.Parse(text, SdpType.Offer);
        Assert.Equal(text, offer.ToString());
    }

    [Fact]
    public void The_livekit_client_offer_is_answered_section_by_section_with_our_track_and_the_simulcast_receive()
    {
        var offer = SessionDescription.Parse(Chromium, SdpType.Offer);
        Assert.Equal(["audio", "audio", "audio", "video", "video", "video", "application", "video"], offer.Media.Select(m => m.Kind));
        var result = TransceiverNegotiation.Answer(offer, Local, "passive", true, new AnswerOptions { Send = true, CodecPreference = ["VP8", "H264"] });
        var answer = result.Answer;

        // Every section answered, in order, with the offer's mids.
        Assert.Equal(offer.Media.Select(m => (m.Kind, m.Mid)), answer.Media.Select(m => (m.Kind, m.Mid)));
        Assert.All(answer.Media.Where(m => m.Kind == "audio"), m => Assert.Equal(MediaDirection.Inactive, m.Direction));
        Assert.True(answer.Media.Single(m => m.Kind == "application").IsRejected); // the data section: rejected (port 0)

        // Our track on the first section the offerer receives video on, as the model's output.
        var firstRecvOnly = offer.Media.First(m => m.Kind == "video" && m.Direction == MediaDirection.RecvOnly);
        Assert.Equal(firstRecvOnly.Mid, result.Send!.Mid);
        var ours = answer.Media.Single(m => m.Mid == firstRecvOnly.Mid);
        Assert.Equal(MediaDirection.SendOnly, ours.Direction);
        Assert.True(ours.Has("msid"));

        // The camera: received with its three layers, by RID.
        var camera = offer.Media.Last();
        Assert.Equal(MediaDirection.SendOnly, camera.Direction);
        Assert.Equal(camera.Mid, result.Receive!.Mid);
        Assert.Equal(["q", "h", "f"], result.Receive.Rids);
        var received = answer.Media.Last();
        Assert.Equal(MediaDirection.RecvOnly, received.Direction);
        Assert.Equal("recv q;h;f", received.Get("simulcast"));
        Assert.Equal([("q", "recv"), ("h", "recv"), ("f", "recv")], received.Rids.Select(r => (r.Id, r.Direction.Split(' ')[0])));
        Assert.Equal("VP8", result.Receive.CodecName);
        Assert.NotEqual(0, result.Receive.Extensions.Rid);

        // One BUNDLE of every section that is not rejected.
        Assert.Equal(answer.Media.Where(m => !m.IsRejected).Select(m => m.Mid!), answer.BundleMids);
    }

    [Fact]
    public void The_rtc_node_offer_lists_its_layers_largest_first_and_they_still_rank_q_h_f()
    {
        var offer = SessionDescription.Parse(RtcNode, SdpType.Offer);
        var result = TransceiverNegotiation.Answer(offer, Local, "passive", true, new AnswerOptions { Send = true });
        Assert.Equal(["f", "h", "q"], result.Receive!.Rids);
        Assert.Equal("recv f;h;q", result.Answer.Media.Single(m => m.Mid == result.Receive.Mid).Get("simulcast"));
        Assert.Equal(["q", "h", "f"], PeerConnection.LayerOrder(result.Receive.Rids));
    }

    [Fact]
    public void Mutated_livekit_offers_are_answered_or_refused_with_a_typed_error_and_never_throw_anything_else()
    {
        var offers = SdpFuzz.Mutations(
            Chromium,
            60,
            "a=simulcast:send", "a=simulcast:send ;;", "a=simulcast:recv q;h;f", "a=simulcast:send ~q;h", "a=rid:", "a=rid:q",
            "a=rid:q send pt=abc", "a=rid:zz send", "a=extmap:99 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
            "a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid", "a=extmap:x", "a=extmap-allow-mixed", "a=sctp-port:x", "a=sctp-port:",
            "a=mid:0", "a=mid:", "m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "a=group:BUNDLE 99", "a=msid:", "\u0000");
        SdpFuzz.ParseOrFailTyped(offers, offer =>
        {
            var result = TransceiverNegotiation.Answer(offer, Local, "passive", true, new AnswerOptions { Send = true });
            _ = result.Answer.ToString();
            _ = result.Receive?.Rids.Count;
            foreach (var m in offer.Media)
            {
                _ = m.Rids;
                _ = m.SimulcastRids("send");
                _ = m.Extensions;
            }
        }, 1500);
    }
}
