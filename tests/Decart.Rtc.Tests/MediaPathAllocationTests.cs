using System.Net;
using Decart.Rtc.Codecs;
using Decart.Rtc.Sdp;

namespace Decart.Rtc.Tests;

/// <summary>
/// "The media hot path allocates nothing per packet", checked end to end on a real connected pair (ICE, DTLS, SRTP on
/// loopback UDP, transport-wide congestion control on; once with one stream, once with three simulcast layers): after a warm-up, 800 frames of 60 KB (≈ 45,000 packets) go from one peer's SendFrame to the other's
/// FrameReceived, and the bytes the whole process allocated meanwhile are divided by the packets. Timers (RTCP
/// reports, consent checks) allocate a little per second, not per packet (3–5 B per packet measured); the smallest
/// object is 24 bytes, so a single allocation per packet would fail the 16-byte bound. Two
/// regressions this caught when written: a closure allocated per packet by the interceptor path's delayed-send
/// lambda, and an IPEndPoint per received datagram (the receive loops now use the SocketAddress overloads). Runs alone
/// so other tests' allocations do not count.
/// </summary>
[Collection(nameof(MediaPathAllocationTests))]
public sealed class MediaPathAllocationTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Sending_and_receiving_frames_allocates_nothing_per_packet(bool simulcast)
    {
        await using var client = new PeerConnection(new PeerConnectionOptions { Addresses = [IPAddress.Loopback], SendLayers = simulcast ? ["q", "h", "f"] : null });
        await using var server = new PeerConnection(new PeerConnectionOptions { IceLite = true, Addresses = [IPAddress.Loopback] });
        var offer = simulcast ? await client.CreateOfferAsync(new OfferOptions { SeparateSections = true, Receive = false }) : await client.CreateOfferAsync();
        await server.SetRemoteDescriptionAsync(SessionDescription.Parse(offer.ToString(), SdpType.Offer));
        var answer = simulcast ? await server.CreateAnswerAsync(new AnswerOptions { Send = false }) : await server.CreateAnswerAsync();
        await client.SetRemoteDescriptionAsync(SessionDescription.Parse(answer.ToString(), SdpType.Answer));
        await Task.WhenAll(client.ConnectedAsync(), server.ConnectedAsync()).WaitAsync(TimeSpan.FromSeconds(30));

        using var received = new SemaphoreSlim(0);
        long bytesOut = 0;
        AssembledFrameHandler onFrame = (frame, _, _) =>
        {
            bytesOut += frame.Length;
            received.Release();
        };
        server.FrameReceived += onFrame;
        var frame = new byte[60 * 1024];
        new Random(7).NextBytes(frame);
        frame[0] = 0x10; // a VP8 keyframe, so every frame is delivered
        uint timestamp = 0;

        void SendFrames(int count)
        {
            for (int i = 0; i < count; i++)
            {
                timestamp += 3000;
                if (simulcast)
                {
                    // The two smaller layers first (a quarter and a sixteenth of the bytes); the receiver delivers the largest.
                    Assert.True(client.SendFrame(frame.AsSpan(0, frame.Length / 16), timestamp, "q"));
                    Assert.True(client.SendFrame(frame.AsSpan(0, frame.Length / 4), timestamp, "h"));
                }

                Assert.True(client.SendFrame(frame, timestamp));
                if (!received.Wait(TimeSpan.FromSeconds(10)))
                {
                    Assert.Fail($"frame {i} did not arrive");
                }

                if (i % 20 == 19)
                {
                    // Paced in bursts: the batched path can move 800 frames in under half a second, and transport-wide
                    // feedback goes every 50 ms — the pauses give the run a floor of 0.4 s, so > 10 reports every time.
                    Thread.Sleep(10);
                }
            }
        }

        SendFrames(500); // warm-up: JIT tiering, pools, the first RTCP reports
        long packets0 = server.Stats.PacketsReceived;
        long bytes0 = bytesOut;
        long allocated0 = GC.GetTotalAllocatedBytes(precise: true);
        SendFrames(800);
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated0;
        long packets = server.Stats.PacketsReceived - packets0;
        server.FrameReceived -= onFrame;

        Assert.Equal(800L * frame.Length, bytesOut - bytes0); // every byte arrived
        Assert.True(packets >= 800 * (simulcast ? 55 + 14 + 3 : 55), $"{packets} packets");
        Assert.Equal(simulcast ? "f" : null, server.ActiveLayer);
        double perPacket = (double)allocated / packets;
        // With transport-wide congestion control on: every packet stamped, reported on and read back.
        Assert.True(client.Video!.Extensions.TransportCc > 0);
        Assert.True(server.Stats.TransportFeedbacksSent > 10 && client.Stats.TransportFeedback is { Feedbacks: > 10 }, $"feedback sent {server.Stats.TransportFeedbacksSent}, read {client.Stats.TransportFeedback}");
        Assert.True(perPacket < 16, $"{perPacket:F1} bytes allocated per packet ({allocated} bytes over {packets} packets)");
    }
}

/// <summary>Runs <see cref="MediaPathAllocationTests"/> alone.</summary>
[CollectionDefinition(nameof(MediaPathAllocationTests), DisableParallelization = true)]
public sealed class MediaPathAllocationCollection;
