using System.Net;
using Decart.Rtc.Codecs;
using Decart.Rtc.Sdp;
using Decart.Rtc.Tests.Codecs;
using Decart.Rtc.Transport;

namespace Decart.Rtc.Tests;

public sealed class PeerConnectionTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    private sealed class RandomLoss(double rate, int seed) : IPacketInterceptor
    {
        private readonly Random _random = new(seed);

        public int Dropped { get; private set; }

        public InterceptDecision Intercept(PacketDirection direction, ReadOnlySpan<byte> datagram)
        {
            lock (_random)
            {
                // Only media (RTP, not RTCP) is dropped so the test measures NACK recovery of video packets.
                if (direction == PacketDirection.Outbound && Rfc7983.Classify(datagram) == DatagramKind.Media && datagram[1] is < 192 or > 223 && _random.NextDouble() < rate)
                {
                    Dropped++;
                    return InterceptDecision.Discard;
                }
            }

            return InterceptDecision.Pass;
        }
    }

    /// <summary>Holds back every inbound DTLS record (first byte 20–63), so this side's handshake finishes late.</summary>
    private sealed class SlowDtlsInbound(TimeSpan delay) : IPacketInterceptor
    {
        public InterceptDecision Intercept(PacketDirection direction, ReadOnlySpan<byte> datagram) =>
            direction == PacketDirection.Inbound && datagram.Length > 0 && datagram[0] is >= 20 and <= 63 ? new InterceptDecision(false, delay) : InterceptDecision.Pass;
    }

    internal static async Task<(PeerConnection Client, PeerConnection Server)> ConnectAsync(Action<SessionDescription>? customizeOffer = null, IPacketInterceptor? clientInterceptor = null)
    {
        var client = new PeerConnection(new PeerConnectionOptions { Addresses = [IPAddress.Loopback], Interceptor = clientInterceptor });
        var server = new PeerConnection(new PeerConnectionOptions { IceLite = true, Addresses = [IPAddress.Loopback] });
        var offer = await client.CreateOfferAsync(includeAudioReceive: true);
        customizeOffer?.Invoke(offer);
        // Signal through text, as a real signaling channel would.
        await server.SetRemoteDescriptionAsync(SessionDescription.Parse(offer.ToString(), SdpType.Offer));
        var answer = await server.CreateAnswerAsync();
        await client.SetRemoteDescriptionAsync(SessionDescription.Parse(answer.ToString(), SdpType.Answer));
        await Task.WhenAll(client.ConnectedAsync(), server.ConnectedAsync()).WaitAsync(Bound);
        return (client, server);
    }

    /// <summary>Passes everything until switched to a black hole, then drops every datagram both ways.</summary>
    private sealed class BlackHole : IPacketInterceptor
    {
        public volatile bool On;
        public long StunSeen;

        public InterceptDecision Intercept(PacketDirection direction, ReadOnlySpan<byte> datagram)
        {
            if (Rfc7983.Classify(datagram) == DatagramKind.Stun)
            {
                Interlocked.Increment(ref StunSeen);
            }

            return On ? InterceptDecision.Discard : InterceptDecision.Pass;
        }
    }

    [Fact]
    public async Task A_media_black_hole_in_the_impairment_hook_fails_consent_and_both_peers_report_failed()
    {
        var hole = new BlackHole();
        await using var client = new PeerConnection(new PeerConnectionOptions { Addresses = [IPAddress.Loopback], ConsentTimeout = TimeSpan.FromSeconds(2) });
        await using var server = new PeerConnection(new PeerConnectionOptions { IceLite = true, Addresses = [IPAddress.Loopback], ConsentTimeout = TimeSpan.FromSeconds(2), Interceptor = hole });
        var offer = await client.CreateOfferAsync();
        await server.SetRemoteDescriptionAsync(SessionDescription.Parse(offer.ToString(), SdpType.Offer));
        var answer = await server.CreateAnswerAsync();
        await client.SetRemoteDescriptionAsync(SessionDescription.Parse(answer.ToString(), SdpType.Answer));
        await Task.WhenAll(client.ConnectedAsync(), server.ConnectedAsync()).WaitAsync(Bound);
        Assert.True(Interlocked.Read(ref hole.StunSeen) > 0, "the hook sits below ICE: it saw the checks");

        var clientFailed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var serverFailed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.StateChanged += s => { if (s == PeerConnectionState.Failed) { clientFailed.TrySetResult(); } };
        server.StateChanged += s => { if (s == PeerConnectionState.Failed) { serverFailed.TrySetResult(); } };
        hole.On = true; // sockets stay open: only the impairment stops the traffic
        await Task.WhenAll(clientFailed.Task, serverFailed.Task).WaitAsync(Bound);
        Assert.Equal(PeerConnectionState.Failed, client.State);
        Assert.Equal(PeerConnectionState.Failed, server.State);
        Assert.False(client.SendFrame([0x10, 0, 0], 0));
    }

    private static async Task<List<(byte[] Frame, uint Ts)>> SendAndCollect(PeerConnection from, PeerConnection to, IReadOnlyList<byte[]> frames, int expect)
    {
        var got = new List<(byte[] Frame, uint Ts)>();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        AssembledFrameHandler handler = (f, ts, _) =>
        {
            lock (got)
            {
                got.Add((f.ToArray(), ts));
                if (got.Count >= expect)
                {
                    done.TrySetResult();
                }
            }
        };
        to.FrameReceived += handler;
        for (int i = 0; i < frames.Count; i++)
        {
            Assert.True(from.SendFrame(frames[i], (uint)(i * 3000)));
            if (i % 5 == 4)
            {
                await Task.Delay(5);
            }
        }

        await Task.WhenAny(done.Task, Task.Delay(Bound));
        to.FrameReceived -= handler;
        lock (got)
        {
            return got.ToList();
        }
    }

    [Fact]
    public async Task Media_sent_before_the_peer_has_its_keys_is_kept_and_delivered_once_it_has()
    {
        // The answerer is the DTLS server and is done one flight before the offerer; with the offerer's inbound DTLS
        // held back 300 ms, the answerer sends a keyframe while the offerer cannot decrypt yet (as when the simulator
        // offers, or when the other side's key installation simply runs first). Dropped, that keyframe would stall the
        // stream until the sender's next one; kept, it is delivered once the keys are in place.
        var (client, server) = await ConnectWithSlowOffererAsync();
        await using var c = client;
        await using var s = server;
        var got = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.FrameReceived += (f, _, _) => got.TrySetResult(f.ToArray());

        var frame = Clips.IvfFrames("pattern-1088x624-30fps.ivf")[0];
        await server.ConnectedAsync().WaitAsync(Bound);
        Assert.NotEqual(PeerConnectionState.Connected, client.State); // still waiting for its held-back records
        Assert.True(server.SendFrame(frame, 3000));

        Assert.Equal(frame, await got.Task.WaitAsync(Bound));
        Assert.True(client.Stats.EarlyPacketsReplayed > 0);
        Assert.Equal(0, client.Stats.DecryptFailures);
    }

    private static async Task<(PeerConnection Client, PeerConnection Server)> ConnectWithSlowOffererAsync()
    {
        var client = new PeerConnection(new PeerConnectionOptions { Addresses = [IPAddress.Loopback], Interceptor = new SlowDtlsInbound(TimeSpan.FromMilliseconds(300)) });
        var server = new PeerConnection(new PeerConnectionOptions { IceLite = true, Addresses = [IPAddress.Loopback] });
        var offer = await client.CreateOfferAsync();
        await server.SetRemoteDescriptionAsync(SessionDescription.Parse(offer.ToString(), SdpType.Offer));
        var answer = await server.CreateAnswerAsync();
        await client.SetRemoteDescriptionAsync(SessionDescription.Parse(answer.ToString(), SdpType.Answer));
        return (client, server);
    }

    [Fact]
    public async Task Offerer_and_ice_lite_answerer_exchange_vp8_both_ways()
    {
        var (client, server) = await ConnectAsync();
        await using var c = client;
        await using var s = server;
        Assert.Equal(("VP8", PeerConnectionState.Connected), (client.Video!.CodecName, client.State));
        Assert.Equal((9, MediaDirection.Inactive), (server.LocalDescription!.Media[1].Port, server.LocalDescription.Media[1].Direction)); // audio: inactive, kept in the bundle

        var clip = Clips.IvfFrames("pattern-1088x624-30fps.ivf");
        var up = await SendAndCollect(client, server, clip, clip.Count);
        Assert.Equal(clip.Count, up.Count);
        for (int i = 0; i < clip.Count; i++)
        {
            Assert.Equal(clip[i], up[i].Frame);
            Assert.Equal((uint)(i * 3000), up[i].Ts);
        }

        var down = await SendAndCollect(server, client, clip.Take(30).ToList(), 30); // the "model" echo direction
        Assert.Equal(clip.Take(30), down.Select(d => d.Frame));
        Assert.True(client.Stats.FramesSent >= clip.Count && server.Stats.FramesReceived >= clip.Count);
        Assert.Equal(0, server.Stats.PacketsLost);

        // Sender and receiver reports flow once a second; the report blocks give both sides a round-trip time.
        for (int i = 0; i < 50 && (client.Stats.RoundTripTime is null || server.Stats.RoundTripTime is null); i++)
        {
            await Task.Delay(100);
        }

        Assert.NotNull(client.Stats.RoundTripTime);
        Assert.NotNull(server.Stats.RoundTripTime);
        Assert.True(client.Stats.RoundTripTime < TimeSpan.FromSeconds(1)); // a sanity bound on the computation, not a speed assertion
    }

    [Fact]
    public async Task Frames_of_every_packet_count_across_the_send_batches_arrive_whole_and_in_order()
    {
        // A frame's packets leave in batches (the first 4, then 16 at a time): frames of 1 to 70 packets cross every
        // boundary of that — 4 | 5, 20 | 21, 36 | 37, 52 | 53, 68 | 69 — and each must arrive byte for byte, once, with
        // no packet sent twice (SRTP's replay check would count it), lost or repaired.
        var (client, server) = await ConnectAsync();
        await using var c = client;
        await using var s = server;
        var random = new Random(7);
        var frames = new List<byte[]>();
        int[] packetCounts = [1, 3, 4, 5, 6, 19, 20, 21, 22, 36, 37, 52, 53, 68, 69, 70];
        foreach (int packets in packetCounts)
        {
            var frame = new byte[packets * 1090]; // just under the packetizer's payload of 1,100 bytes per packet
            random.NextBytes(frame);
            frame[0] = 0x10; // a VP8 keyframe: every frame is delivered on its own
            var packetizer = new Vp8Packetizer(frame, new PeerConnectionOptions().MaxPayloadSize, 0);
            int written = 0;
            while (packetizer.TryWriteNext(new byte[1500], out _, out _))
            {
                written++;
            }

            Assert.Equal(packets, written);
            frames.Add(frame);
        }

        // One frame at a time, each waited for: a socket buffer capped by the system must not turn into loss here.
        long packetsBefore = server.Stats.PacketsReceived;
        var got = new List<(byte[] Frame, uint Ts)>();
        var arrived = new SemaphoreSlim(0);
        AssembledFrameHandler handler = (f, ts, _) =>
        {
            lock (got)
            {
                got.Add((f.ToArray(), ts));
            }

            arrived.Release();
        };
        server.FrameReceived += handler;
        for (int i = 0; i < frames.Count; i++)
        {
            Assert.True(client.SendFrame(frames[i], (uint)(i * 3000)));
            Assert.True(await arrived.WaitAsync(Bound), $"frame {i} ({packetCounts[i]} packets) did not arrive");
        }

        server.FrameReceived -= handler;
        Assert.Equal(frames.Count, got.Count);
        for (int i = 0; i < frames.Count; i++)
        {
            Assert.Equal(frames[i], got[i].Frame);
            Assert.Equal((uint)(i * 3000), got[i].Ts);
        }

        Assert.Equal(packetCounts.Sum(), server.Stats.PacketsReceived - packetsBefore);
        Assert.Equal((0L, 0L, 0L, 0L), (server.Stats.PacketsLost, server.Stats.DecryptFailures, server.Stats.NacksSent, server.Stats.RtxReceived));
    }

    /// <summary>Throws on the outbound media packets it is told to, counting them; passes everything else.</summary>
    private sealed class ThrowingHook : IPacketInterceptor
    {
        public volatile int ThrowOnMedia = -1; // the index of the outbound media packet to throw on, counted from arming
        public int Thrown;
        private int _seen;

        public InterceptDecision Intercept(PacketDirection direction, ReadOnlySpan<byte> datagram)
        {
            if (direction == PacketDirection.Outbound && ThrowOnMedia >= 0 && Rfc7983.Classify(datagram) == DatagramKind.Media && datagram[1] is < 192 or > 223
                && Interlocked.Increment(ref _seen) - 1 == ThrowOnMedia)
            {
                Interlocked.Increment(ref Thrown);
                throw new InvalidOperationException("a broken impairment hook");
            }

            return InterceptDecision.Pass;
        }
    }

    [Fact]
    public async Task An_impairment_hook_that_throws_mid_frame_loses_that_packet_only_and_sends_nothing_twice()
    {
        // Bad input: the user's hook throws on the 6th packet of a 40-packet frame (inside the second send batch). The
        // sender must not throw, must not send the batch's other packets twice (SRTP's replay check would count them),
        // and the lost packet is repaired by NACK like any loss; the frames after it arrive as usual.
        var hook = new ThrowingHook();
        var (client, server) = await ConnectAsync(clientInterceptor: hook);
        await using var c = client;
        await using var s = server;
        var random = new Random(11);
        var frames = Enumerable.Range(0, 4).Select(_ =>
        {
            var frame = new byte[40 * 1090];
            random.NextBytes(frame);
            frame[0] = 0x10;
            return frame;
        }).ToList();

        hook.ThrowOnMedia = 5;
        var broken = await SendAndCollect(client, server, frames.Take(1).ToList(), 1); // alone: a later keyframe would supersede it
        Assert.Equal(1, hook.Thrown);
        var rest = await SendAndCollect(client, server, frames.Skip(1).ToList(), frames.Count - 1);
        Assert.Equal(frames, broken.Concat(rest).Select(g => g.Frame));
        Assert.Equal(0, server.Stats.DecryptFailures);
        Assert.True(server.Stats.NacksSent >= 1 && server.Stats.RtxReceived >= 1, $"NACKs {server.Stats.NacksSent}, RTX {server.Stats.RtxReceived}");
    }

    [Fact]
    public async Task A_receiver_whose_first_keyframe_was_lost_asks_for_one_and_the_stream_starts()
    {
        var (client, server) = await ConnectAsync();
        await using var c = client;
        await using var s = server;
        var clip = Clips.IvfFrames("pattern-1088x624-30fps.ivf");
        var keyframe = clip.First(f => (f[0] & 1) == 0);                       // VP8 frame tag: bit 0 clear on a keyframe
        var deltas = clip.Where(f => (f[0] & 1) == 1).ToList();
        int requested = 0, received = 0;
        client.KeyframeRequested += () => Interlocked.Increment(ref requested);
        server.FrameReceived += (_, _, _) => Interlocked.Increment(ref received);

        // The sender's stream starts with delta frames only (its keyframe "lost"); it sends a keyframe only when asked.
        for (int i = 1; i < 60 && Volatile.Read(ref received) == 0; i++)
        {
            bool asked = Interlocked.Exchange(ref requested, 0) > 0;
            client.SendFrame(asked ? keyframe : deltas[i % deltas.Count], (uint)(i * 3000));
            await Task.Delay(33);
        }

        Assert.True(server.Stats.PlisSent > 0, "the receiver asked for a keyframe");
        Assert.True(Volatile.Read(ref received) > 0, "the stream started at the keyframe it asked for");
    }

    [Fact]
    public async Task Five_percent_loss_through_the_impairment_hook_is_recovered_by_nack()
    {
        var loss = new RandomLoss(0.05, 99);
        var (client, server) = await ConnectAsync(clientInterceptor: loss);
        await using var c = client;
        await using var s = server;
        var clip = Clips.IvfFrames("pattern-1088x624-30fps.ivf");
        var frames = Enumerable.Range(0, 310).Select(i => clip[i % clip.Count]).ToList();
        var got = await SendAndCollect(client, server, frames, 300);
        Assert.True(got.Count >= 300, $"got {got.Count}, dropped {loss.Dropped}, nacks {server.Stats.NacksSent}, retransmissions {client.Stats.Retransmissions}");
        for (int i = 0; i < 300; i++)
        {
            Assert.Equal(frames[i], got[i].Frame);
        }

        Assert.True(loss.Dropped > 0);
        Assert.True(client.Stats.Retransmissions > 0);
        Assert.True(server.Stats.NacksSent > 0);
        Assert.True(server.Stats.RtxReceived > 0); // RTX was negotiated, so retransmissions travel on it (RFC 4588)
    }

    [Fact]
    public async Task Transport_wide_feedback_reports_what_arrived_and_the_loss_the_impairment_caused()
    {
        var loss = new RandomLoss(0.10, 7);
        var (client, server) = await ConnectAsync(clientInterceptor: loss);
        await using var c = client;
        await using var s = server;
        Assert.True(client.Video!.Extensions.TransportCc > 0, "transport-cc was negotiated");
        var clip = Clips.IvfFrames("pattern-1088x624-30fps.ivf");
        var frames = Enumerable.Range(0, 150).Select(i => clip[i % clip.Count]).ToList();
        for (int i = 0; i < frames.Count; i++)
        {
            Assert.True(client.SendFrame(frames[i], (uint)(i * 3000)));
            await Task.Delay(10);
        }

        await Task.Delay(300); // the last feedback
        Assert.True(server.Stats.TransportFeedbacksSent >= 10, $"the receiver sent {server.Stats.TransportFeedbacksSent} feedback packets");
        var summary = client.Stats.TransportFeedback;
        Assert.NotNull(summary);
        Assert.True(summary.Value.Feedbacks >= 10, $"the sender read {summary.Value.Feedbacks}");
        Assert.Equal(0, client.Stats.TransportFeedbackMalformed);
        // 10 % of the media is dropped below ICE (retransmissions carry fresh numbers and arrive, so a window sees a bit less).
        Assert.InRange(summary.Value.LossFraction, 0.01, 0.3);
        Assert.True(summary.Value.AckedBitrate > 100_000, $"acked {summary.Value.AckedBitrate} bit/s");
        // No queue on loopback; a busy machine's stalled receive thread reads as some (hence 500 ms, not ~0).
        Assert.True(summary.Value.QueueDelay < TimeSpan.FromMilliseconds(500), $"queue delay {summary.Value.QueueDelay} on loopback");
    }

    [Fact]
    public async Task Three_simulcast_layers_sent_by_rid_arrive_as_layers_the_receiver_can_switch_between()
    {
        var loss = new RandomLoss(0.03, 11);
        await using var client = new PeerConnection(new PeerConnectionOptions { Addresses = [IPAddress.Loopback], SendLayers = ["q", "h", "f"], Interceptor = loss });
        await using var server = new PeerConnection(new PeerConnectionOptions { IceLite = true, Addresses = [IPAddress.Loopback] });
        var offer = await client.CreateOfferAsync(new OfferOptions { SeparateSections = true, Send = true, Receive = false });
        var sendSection = offer.Media.Single(m => m.Direction == MediaDirection.SendOnly);
        Assert.Equal(["q", "h", "f"], sendSection.SimulcastRids("send"));
        Assert.Empty(sendSection.Ssrcs); // layers are told apart by RID, as browsers do
        await server.SetRemoteDescriptionAsync(SessionDescription.Parse(offer.ToString(), SdpType.Offer));
        var answer = await server.CreateAnswerAsync(new AnswerOptions { Send = false, Receive = true });
        await client.SetRemoteDescriptionAsync(SessionDescription.Parse(answer.ToString(), SdpType.Answer));
        await Task.WhenAll(client.ConnectedAsync(), server.ConnectedAsync()).WaitAsync(Bound);
        Assert.Equal(["q", "h", "f"], server.ReceiveVideo!.Rids);
        Assert.Equal(["q", "h", "f"], client.SendLayers);
        Assert.False(client.SendFrame([0x10, 0, 0], 0, "x")); // a layer that was not negotiated
        Assert.True(client.SendFrame(Clips.Vp8Keyframe(1088, 612, 2_000, 99), 0)); // no RID: the largest layer

        var sizes = new System.Collections.Concurrent.ConcurrentQueue<(string? Layer, int Width)>();
        server.FrameReceived += (frame, _, key) =>
        {
            if (key && Vp8Bitstream.TryReadKeyframeSize(frame, out int w, out int h) && h > 0)
            {
                sizes.Enqueue((server.ActiveLayer, w));
            }
        };
        (string Rid, int Width, int Bytes)[] layers = [("q", 272, 3_000), ("h", 544, 8_000), ("f", 1088, 20_000)];
        using var stop = new CancellationTokenSource();
        var sender = Task.Run(async () =>
        {
            for (int i = 0; !stop.IsCancellationRequested; i++)
            {
                foreach (var (rid, width, bytes) in layers)
                {
                    client.SendFrame(Clips.Vp8Keyframe(width, width * 9 / 16, bytes, i), (uint)(i * 3000), rid);
                }

                await Task.Delay(33);
            }
        });

        for (int i = 0; i < 100 && !sizes.Any(s => s.Layer == "f" && s.Width == 1088); i++)
        {
            await Task.Delay(50);
        }

        Assert.Contains(("f", 1088), sizes); // the largest by default
        server.SelectLayer("q");
        for (int i = 0; i < 100 && !sizes.Any(s => s.Layer == "q" && s.Width == 272); i++)
        {
            await Task.Delay(50);
        }

        await Task.Delay(1500); // ~1,300 packets more, for the loss to hit every layer
        stop.Cancel();
        await sender;
        Assert.Contains(("q", 272), sizes);
        Assert.Equal(["q", "h", "f"], server.ReceivedLayers);
        Assert.Equal(0, server.Stats.PacketsUnroutable);
        // 3 % loss on all three layers: recovered per layer on its own RTX stream, found by the repaired-RID.
        Assert.True(client.Stats.Retransmissions > 0 && server.Stats.RtxReceived > 0, $"retransmissions {client.Stats.Retransmissions}, RTX received {server.Stats.RtxReceived}, dropped {loss.Dropped}, sent {client.Stats.PacketsSent}, nacks {server.Stats.NacksSent}/{client.Stats.NacksReceived}");
        Assert.True(client.Stats.TransportFeedback is { Feedbacks: > 0 }, "transport-wide feedback covers every layer");
    }

    private static List<byte[]> H264AccessUnits() => H264Nal.SplitAccessUnits(File.ReadAllBytes(Clips.Path("pattern-1088x624-30fps.h264")));

    [Fact]
    public async Task Customize_offer_can_force_h264_and_h264_flows()
    {
        var (client, server) = await ConnectAsync(offer => SdpNegotiation.KeepOnlyCodec(offer, "H264"));
        await using var c = client;
        await using var s = server;
        Assert.Equal("H264", client.Video!.CodecName);
        Assert.Equal("H264", server.Video!.CodecName);
        var units = H264AccessUnits();
        Assert.True(units.Count >= 80, $"{units.Count} access units");
        var got = await SendAndCollect(client, server, units, units.Count);
        Assert.Equal(units.Count, got.Count);
        Assert.Equal(units, got.Select(g => g.Frame));
        Assert.True(H264Nal.TryReadSize(got[0].Frame, out int w, out int h));
        Assert.Equal((1088, 624), (w, h));
    }

    [Fact]
    public async Task Pli_reaches_the_sender_and_close_releases_everything()
    {
        var (client, server) = await ConnectAsync();
        var asked = new TaskCompletionSource();
        client.KeyframeRequested += () => asked.TrySetResult();
        server.RequestKeyframe();
        await asked.Task.WaitAsync(Bound);
        Assert.Equal(1, client.Stats.PlisReceived);

        var ports = client.Ice.LocalCandidates.Select(x => x.Port).ToList();
        var closed = new TaskCompletionSource();
        await client.DisposeAsync();
        await server.DisposeAsync();
        Assert.Equal(PeerConnectionState.Closed, client.State);
        Assert.False(client.SendFrame([1, 2, 3], 0));
        foreach (int port in ports)
        {
            using var rebind = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
            rebind.Bind(new IPEndPoint(IPAddress.Loopback, port));
        }
    }

    [Theory]
    [InlineData("q,h,f", "q,h,f")] // livekit-client's order
    [InlineData("f,h,q", "q,h,f")] // LiveKit's Rust SDK (@livekit/rtc-node, the Python SDK)
    [InlineData("h,q", "q,h")]
    [InlineData("hi,lo", "hi,lo")] // other names: the offer's order
    [InlineData("q,x,f", "q,x,f")]
    public void Simulcast_layers_rank_by_LiveKit_names_whatever_the_offer_order(string offered, string ranked)
    {
        Assert.Equal(ranked.Split(','), PeerConnection.LayerOrder(offered.Split(',')));
    }
}
