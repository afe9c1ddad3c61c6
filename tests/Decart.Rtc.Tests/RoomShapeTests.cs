using System.Net;
using System.Text;
using Decart.Rtc.Codecs;
using Decart.Rtc.Sdp;
using Decart.Rtc.Tests.Codecs;

namespace Decart.Rtc.Tests;

/// <summary>
/// Both ends of a room in C# over loopback: an offer shaped like livekit-client's (a receive section, audio and video
/// placeholders, a data section) answered by a peer that puts its track on the first receive section; then a
/// renegotiation that adds the camera with three simulcast layers, keeping ICE and DTLS. The answer names no SSRCs, so
/// the offerer routes what it receives by the <c>sdes:mid</c> extension alone.
/// </summary>
public sealed class RoomShapeTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    /// <summary>The offer with three audio and two more video receive placeholders and a data section appended to the bundle.</summary>
    private static SessionDescription RoomShaped(SessionDescription offer)
    {
        var first = offer.Media[0];
        string common = $"c=IN IP4 0.0.0.0\r\na=ice-ufrag:{first.IceUfrag}\r\na=ice-pwd:{first.IcePwd}\r\na=fingerprint:{first.Fingerprint}\r\na=setup:actpass\r\n";
        var extra = new StringBuilder();
        foreach (var mid in new[] { "a0", "a1", "a2" })
        {
            extra.Append($"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n{common}a=mid:{mid}\r\na=extmap:4 {RtpExtensionUris.Mid}\r\na=recvonly\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n");
        }

        foreach (var mid in new[] { "v2", "v3" })
        {
            extra.Append($"m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\n{common}a=mid:{mid}\r\na=extmap:4 {RtpExtensionUris.Mid}\r\na=recvonly\r\na=rtcp-mux\r\na=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 nack\r\na=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n");
        }

        extra.Append($"m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n{common}a=mid:d\r\na=sctp-port:5000\r\na=max-message-size:262144\r\n");
        string text = offer.ToString();
        string bundle = string.Join(' ', offer.BundleMids);
        text = text.Replace("a=group:BUNDLE " + bundle, "a=group:BUNDLE " + bundle + " a0 a1 a2 v2 v3 d", StringComparison.Ordinal) + extra;
        return SessionDescription.Parse(text, SdpType.Offer);
    }

    /// <summary>The answer without its SSRC lines: the receiver must route by the MID extension.</summary>
    private static SessionDescription WithoutSsrcs(SessionDescription answer) => SessionDescription.Parse(
        string.Join("\r\n", answer.ToString().Split("\r\n").Where(l => !l.StartsWith("a=ssrc", StringComparison.Ordinal))),
        SdpType.Answer);

    [Fact]
    public async Task Room_offer_renegotiation_mid_routing_and_simulcast_between_two_csharp_peers()
    {
        await using var client = new PeerConnection(new PeerConnectionOptions { Addresses = [IPAddress.Loopback], SendLayers = ["q", "h", "f"] });
        await using var server = new PeerConnection(new PeerConnectionOptions { IceLite = true, Addresses = [IPAddress.Loopback], StreamId = "PA_model|TR_out", TrackId = "TR_out" });

        // 1. The join offer: receive only, with the placeholders. The server's track goes on the first receive section.
        var offer = RoomShaped(await client.CreateOfferAsync(new OfferOptions { SeparateSections = true, Send = false, Receive = true }));
        Assert.Equal(7, offer.Media.Count);
        await server.SetRemoteDescriptionAsync(offer);
        var answer = await server.CreateAnswerAsync(new AnswerOptions { Send = true, Receive = true });
        Assert.Equal("0", server.Video!.Mid);
        Assert.Equal(["0", "a0", "a1", "a2", "v2", "v3"], answer.BundleMids); // the rejected data section is outside the bundle
        Assert.True(answer.Media.Single(m => m.Mid == "d").IsRejected);
        Assert.All(answer.Media.Where(m => m.Kind == "audio"), m => Assert.Equal(MediaDirection.Inactive, m.Direction));
        Assert.All(answer.Media.Where(m => m.Mid is "v2" or "v3"), m => Assert.Equal(MediaDirection.Inactive, m.Direction));
        Assert.Contains(answer.Media.Single(m => m.Mid == "0").Attributes, a => a.Name == "msid" && a.Value == "PA_model|TR_out TR_out");
        await client.SetRemoteDescriptionAsync(WithoutSsrcs(answer));
        Assert.Null(client.ReceiveVideo!.RemoteSsrc);
        Assert.Equal(7, client.Transceivers.Count);
        await Task.WhenAll(client.ConnectedAsync(), server.ConnectedAsync()).WaitAsync(Bound);

        int fromServer = 0;
        client.FrameReceived += (_, _, _) => Interlocked.Increment(ref fromServer);
        var clip = Clips.IvfFrames("pattern-1088x624-30fps.ivf");
        for (int i = 0; i < 30; i++)
        {
            Assert.True(server.SendFrame(clip[i % clip.Count], (uint)(i * 3000)));
            await Task.Delay(10);
        }

        for (int i = 0; i < 500 && Volatile.Read(ref fromServer) < 25; i++) // up to 10 s
        {
            await Task.Delay(20);
        }

        Assert.True(fromServer >= 25, $"the client got {fromServer} of the server's frames, routed by MID (unroutable {client.Stats.PacketsUnroutable})");
        Assert.Equal(0, client.Stats.PacketsUnroutable);

        // 2. The camera joins in a renegotiation: the same mids plus the send section, three layers; ICE and DTLS stay.
        var reoffer = RoomShaped(await client.CreateOfferAsync(new OfferOptions { SeparateSections = true, Send = true, Receive = true }));
        Assert.Equal(8, reoffer.Media.Count);
        await server.SetRemoteDescriptionAsync(reoffer);
        var reanswer = await server.CreateAnswerAsync(new AnswerOptions { Send = true, Receive = true });
        Assert.Equal("0", server.Video!.Mid); // the server's track keeps its section
        Assert.Equal(["q", "h", "f"], server.ReceiveVideo!.Rids);
        Assert.Equal("recv q;h;f", reanswer.Media.Single(m => m.Mid == "1").Attributes.Single(a => a.Name == "simulcast").Value);
        await client.SetRemoteDescriptionAsync(WithoutSsrcs(reanswer));
        Assert.Equal(["q", "h", "f"], client.SendLayers);
        Assert.Equal(PeerConnectionState.Connected, client.State);

        var widths = new System.Collections.Concurrent.ConcurrentQueue<(string? Layer, int Width)>();
        server.FrameReceived += (frame, _, key) =>
        {
            if (key && Vp8Bitstream.TryReadKeyframeSize(frame, out int w, out int h) && h > 0)
            {
                widths.Enqueue((server.ActiveLayer, w));
            }
        };
        using var stop = new CancellationTokenSource();
        var camera = Task.Run(async () =>
        {
            for (int i = 0; !stop.IsCancellationRequested; i++)
            {
                client.SendFrame(Clips.Vp8Keyframe(320, 180, 2_000, i), (uint)(i * 3000), "q");
                client.SendFrame(Clips.Vp8Keyframe(640, 360, 6_000, i), (uint)(i * 3000), "h");
                client.SendFrame(Clips.Vp8Keyframe(1280, 720, 15_000, i), (uint)(i * 3000), "f");
                server.SendFrame(clip[i % clip.Count], (uint)((i + 100) * 3000)); // the model's output keeps flowing
                await Task.Delay(33);
            }
        });
        for (int i = 0; i < 100 && !widths.Contains(("f", 1280)); i++)
        {
            await Task.Delay(50);
        }

        server.SelectLayer("q");
        for (int i = 0; i < 100 && !widths.Contains(("q", 320)); i++)
        {
            await Task.Delay(50);
        }

        int before = Volatile.Read(ref fromServer);
        await Task.Delay(300);
        stop.Cancel();
        await camera;
        Assert.Contains(("f", 1280), widths);
        Assert.Contains(("q", 320), widths);
        Assert.True(Volatile.Read(ref fromServer) > before, "the server's track kept arriving after the renegotiation");
        Assert.Equal(0, client.Stats.PacketsUnroutable);
        Assert.Equal(0, server.Stats.PacketsUnroutable);
        Assert.Equal(0, server.Stats.DecryptFailures + client.Stats.DecryptFailures);
    }
}
