using System.Net;
using System.Text.Json;
using Decart.Rtc;
using Decart.Rtc.Codecs;
using Decart.Rtc.Sdp;
using Decart.Sdk.Media;

namespace Decart.Interop.Tests;

/// <summary>
/// Decart.Rtc as a room's server end against Chromium offering exactly what livekit-client 2.20.2 offers on its one
/// connection: 3 recvonly audio, 3 recvonly video and the data channels <c>_reliable</c>, <c>_lossy</c>,
/// <c>_data_track</c> in one BUNDLE. Our track goes out on the first recvonly video section; then the page publishes
/// its camera with 3 simulcast layers in a renegotiation, and we receive the full layer and switch to the smallest.
/// </summary>
public sealed class ChromiumRoomTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private static List<byte[]> Clip(bool h264)
    {
        string root = Path.Combine(Decart.Testing.RepositoryPaths.Root, "assets", "clips");
        if (h264)
        {
            return H264Nal.SplitAccessUnits(File.ReadAllBytes(Path.Combine(root, "pattern-1088x624-30fps.h264")));
        }

        var frames = new List<byte[]>();
        using var reader = IvfReader.OpenAsync(Path.Combine(root, "pattern-1088x624-30fps.ivf")).GetAwaiter().GetResult();
        while (reader.ReadFrameAsync().AsTask().GetAwaiter().GetResult() is { } f)
        {
            frames.Add(f.Data.ToArray());
        }

        return frames;
    }

    private static bool TryReadSize(bool h264, ReadOnlySpan<byte> frame, out (int, int) size)
    {
        int w, h;
        bool ok = h264 ? H264Nal.TryReadSize(frame, out w, out h) : Vp8Bitstream.TryReadKeyframeSize(frame, out w, out h);
        size = (w, h);
        return ok;
    }

    [Theory]
    [InlineData("VP8")]
    [InlineData("H264")]
    public async Task Room_shaped_offer_gets_our_track_then_the_cameras_simulcast_layers(string codec)
    {
        bool h264 = codec == "H264";
        await using var browser = await BrowserPeer.StartAsync();
        await using var pc = new PeerConnection(new PeerConnectionOptions
        {
            IceLite = true,
            Addresses = [IPAddress.Loopback],
            CodecPreference = [codec],
            ReceiveBitrateEstimate = 6_000_000, // lets the browser turn on its larger layers
            SenderStartBitrateKbps = 2500,
        });
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));

        // 1. The first offer: nothing to send yet; our track goes out on its first recvonly video section.
        var offer = SessionDescription.Parse(await browser.Page.EvaluateAsync<string>("h => roomOffer(h)", h264), SdpType.Offer);
        Assert.Equal(["audio", "audio", "audio", "video", "video", "video", "application"], offer.Media.Select(m => m.Kind));
        await pc.SetRemoteDescriptionAsync(offer);
        var answer = await pc.CreateAnswerAsync(new AnswerOptions { Send = true, Receive = true });
        var firstVideo = offer.Media.First(m => m.Kind == "video").Mid;
        Assert.Equal(firstVideo, pc.Video!.Mid);
        Assert.Equal(codec, pc.Video.CodecName);
        var section = answer.Media.Single(m => m.Mid == firstVideo);
        Assert.Equal(MediaDirection.SendOnly, section.Direction);
        Assert.Contains(section.Attributes, a => a.Name == "msid");
        Assert.True(answer.Media.Single(m => m.Kind == "application").IsRejected, "the data section is rejected");
        await browser.Page.EvaluateAsync("sdp => accept(sdp)", answer.ToString());
        _ = browser.PumpCandidates(pc, cts.Token);
        await pc.ConnectedAsync().WaitAsync(Bound);

        var clip = Clip(h264);
        using var stopSending = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
        var sender = Task.Run(async () =>
        {
            for (int i = 0; !stopSending.IsCancellationRequested; i++)
            {
                pc.SendFrame(clip[i % clip.Count], (uint)(i * 3000));
                await Task.Delay(33);
            }
        });
        pc.KeyframeRequested += () => { }; // the clip loops on its own keyframes

        int rendered = 0;
        for (int i = 0; i < 150 && rendered < 60; i++)
        {
            await Task.Delay(100);
            rendered = await browser.Page.EvaluateAsync<int>("() => window.rendered");
        }

        Assert.True(rendered >= 60, $"the browser rendered {rendered} of our frames");

        // The rejected data section did not break the bundle: the connection stays up, the channels are closed.
        var state = JsonDocument.Parse(await browser.Page.EvaluateAsync<string>("() => roomState()")).RootElement;
        Assert.Equal("connected", state.GetProperty("connection").GetString());
        Assert.All(state.GetProperty("channels").EnumerateArray(), c => Assert.Equal("closed", c.GetString()));

        // 2. The camera joins in a renegotiation with q, h and f; ICE and DTLS are kept.
        var published = JsonDocument.Parse(await browser.Page.EvaluateAsync<string>("h => publishCamera(h)", h264)).RootElement;
        var camera = (published.GetProperty("width").GetInt32(), published.GetProperty("height").GetInt32());
        var reoffer = SessionDescription.Parse(published.GetProperty("sdp").GetString()!, SdpType.Offer);
        var sizes = new System.Collections.Concurrent.ConcurrentQueue<(string? Layer, (int, int) Size)>();
        pc.FrameReceived += (frame, _, key) =>
        {
            if (key && TryReadSize(h264, frame, out var size))
            {
                sizes.Enqueue((pc.ActiveLayer, size));
            }
        };
        await pc.SetRemoteDescriptionAsync(reoffer);
        var reanswer = await pc.CreateAnswerAsync(new AnswerOptions { Send = true, Receive = true });
        Assert.Equal(["q", "h", "f"], pc.ReceiveVideo!.Rids);
        Assert.Equal(firstVideo, pc.Video!.Mid); // our track keeps its section
        await browser.Page.EvaluateAsync("sdp => accept(sdp)", reanswer.ToString());

        await WaitFor(() => sizes.Any(s => s.Layer == "f" && s.Size == camera), "a keyframe of the f layer at the camera's size", sizes);
        Assert.Equal("f", pc.ActiveLayer);

        // 3. Switch to the smallest layer: its keyframe arrives, a quarter of the camera each way.
        pc.SelectLayer("q");
        var quarter = (camera.Item1 / 4, camera.Item2 / 4);
        await WaitFor(() => sizes.Any(s => s.Layer == "q" && s.Size == quarter), $"a keyframe of the q layer at {quarter}", sizes);
        Assert.Equal("q", pc.ActiveLayer);
        Assert.Contains("f", pc.ReceivedLayers);
        // One run in CI saw a single datagram fail SRTP or RTP parsing among thousands (H.264, with Chromium's
        // bandwidth probes on): not explained yet, so bounded here rather than hidden.
        Assert.True(pc.Stats.DecryptFailures <= 2, $"{pc.Stats.DecryptFailures} datagrams failed to decrypt or parse, the last: {pc.Stats.LastReceiveFailure}");
        Console.WriteLine($"receive failures: {pc.Stats.DecryptFailures} ({pc.Stats.LastReceiveFailure}) of {pc.Stats.PacketsReceived} packets");

        // Transport-wide congestion control both ways: we reported on the camera's packets, Chromium on ours, and its
        // send-side estimate (fed by our feedback alone: it stops reading REMB once transport-cc is negotiated) stays up.
        await Task.Delay(2500); // a few seconds of the camera, so both estimates have had feedback to work on
        Assert.True(pc.Stats.TransportFeedbacksSent > 10, $"we sent {pc.Stats.TransportFeedbacksSent} feedback packets on {pc.Stats.PacketsReceived} packets");
        Assert.True(pc.Stats.TransportFeedback is { Feedbacks: > 10 }, $"Chromium's feedback on our track: {pc.Stats.TransportFeedback}");
        Assert.Equal(0, pc.Stats.TransportFeedbackMalformed);
        // Quiet runs read over 1 Mbit/s here; polled up to 10 s for that, since a busy machine delays the feedback and the
        // delay-based estimate backs off for a while (a run with a CPU hog read 680 kbit/s). The bar, twice Chromium's
        // 300 kbit/s start, says the estimate grew and was not cut back to nothing by our feedback; that the feedback
        // is read at all is the sender-side counts above.
        double estimate = 0;
        for (var until = DateTime.UtcNow.AddSeconds(10); estimate <= 1_000_000 && DateTime.UtcNow < until; await Task.Delay(250))
        {
            estimate = Math.Max(estimate, await browser.Page.EvaluateAsync<double>("() => outgoingEstimate()"));
        }

        Assert.True(estimate > 600_000, $"Chromium's outgoing estimate from our feedback: at most {estimate} bit/s");

        int renderedAfter = await browser.Page.EvaluateAsync<int>("() => window.rendered");
        Assert.True(renderedAfter > rendered, "our track kept playing through the renegotiation");
        stopSending.Cancel();
        await sender;
    }

    private static async Task WaitFor(Func<bool> condition, string what, System.Collections.Concurrent.ConcurrentQueue<(string? Layer, (int, int) Size)> seen)
    {
        for (int i = 0; i < 300 && !condition(); i++)
        {
            await Task.Delay(100);
        }

        Assert.True(condition(), $"no {what}; keyframes seen: {string.Join(", ", seen.Select(s => $"{s.Layer}:{s.Size}"))}");
    }
}
