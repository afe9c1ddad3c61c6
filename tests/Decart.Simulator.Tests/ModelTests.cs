using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Decart.Sdk.Media;
using Decart.Sdk.Media.Vpx;
using Decart.Sdk.Testing;
using Decart.Simulator.Hosting;
using Decart.Simulator.Model;
using Decart.Simulator.Realtime;
using Xunit.Abstractions;

namespace Decart.Simulator.Tests;

/// <summary>
/// The simulator's model: the transform on its own, then whole sessions over real sockets whose output is decoded and
/// whose stamps are read frame by frame.
/// </summary>
public class ModelTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);
    private const string Png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

    [Fact]
    public void Passthrough_keeps_the_picture_except_the_stamp_and_a_state_is_visible_and_deterministic()
    {
        using var input = I420Frame.Rent(1088, 624);
        TestPattern.Render(input, 123);
        using var passthrough = I420Frame.Rent(1088, 624);
        ModelTransform.Apply(input, passthrough, new RenderState(0, null, true, null), new StateStamp(0, 1, 1));
        var (_, sy, sw, sh) = StateStamp.Bounds(1088, 624);
        for (int row = 0; row < 624; row++)
        {
            int from = row >= sy && row < sy + sh ? sw : 0;   // outside the stamp, every luma byte is the input's
            Assert.True(input.Y.Slice((row * input.StrideY) + from, 1088 - from).SequenceEqual(passthrough.Y.Slice((row * passthrough.StrideY) + from, 1088 - from)), $"row {row}");
        }

        Assert.True(input.U.SequenceEqual(passthrough.U) is false); // only under the stamp (neutral chroma)
        Assert.True(StateStamp.TryRead(passthrough, out var stamp) && stamp == new StateStamp(0, 1, 1));

        var state = new RenderState(4, "anime style", true, Convert.ToHexStringLower(SHA256.HashData(Convert.FromBase64String(Png))));
        using var a = I420Frame.Rent(1088, 624);
        using var b = I420Frame.Rent(1088, 624);
        using var other = I420Frame.Rent(1088, 624);
        ModelTransform.Apply(input, a, state, new StateStamp(4, 9, 9));
        ModelTransform.Apply(input, b, state, new StateStamp(4, 9, 9));
        ModelTransform.Apply(input, other, new RenderState(4, "watercolor", true, state.ImageHash), new StateStamp(4, 9, 9));
        Assert.True(a.Data.SequenceEqual(b.Data), "same state, same picture");
        Assert.False(a.V.SequenceEqual(other.V), "another prompt, another tone");
        Assert.False(a.V.SequenceEqual(passthrough.V), "a prompt changes the colours");
        Assert.Equal(123, TestPattern.ReadCounter(a)); // the picture's own content survives (its top-left counter)
        Assert.True(StateStamp.TryRead(a, out stamp) && stamp.Version == 4);
    }

    [Fact]
    public void A_different_input_size_is_scaled_to_the_models()
    {
        using var input = I420Frame.Rent(1281, 721); // odd, and larger than the model's
        TestPattern.Render(input, 5);
        using var result = I420Frame.Rent(1088, 624);
        ModelTransform.Apply(input, result, new RenderState(1, "x", false, null), new StateStamp(1, 2, 3));
        Assert.True(StateStamp.TryRead(result, out var stamp) && stamp == new StateStamp(1, 2, 3));
    }

    [Fact]
    public async Task A_prompt_then_an_image_shows_the_mismatch_for_a_frame_and_an_atomic_set_never_does()
    {
        await using var sim = await DecartSimulator.StartAsync(new SimulatorOptions { ProcessingLatency = TimeSpan.FromMilliseconds(20) });
        var (client, session, frames) = await GeneratingAsync(sim);
        await using var _ = client;
        Assert.Equal("transform", session.EffectiveModelMode);

        var ack = await client.PromptAsync("first prompt");                                            // v1
        Assert.True((bool)ack["success"]!);
        await client.SendAsync(new JsonObject { ["type"] = "set_image", ["image_data"] = Png });    // v2: the image joins separately
        Assert.True((bool)(await client.ExpectAsync("set_image_ack"))["success"]!);
        await client.SendAsync(new JsonObject { ["type"] = "set_image", ["image_data"] = null, ["prompt"] = "second prompt" }); // v3: both at once
        Assert.True((bool)(await client.ExpectAsync("set_image_ack"))["success"]!);
        int seenBefore = frames.Count;
        await WaitAsync(() => frames.Count > Math.Max(40, seenBefore + 10), "frames after the last update");

        var log = session.Frames();
        string imageHash = Convert.ToHexStringLower(SHA256.HashData(Convert.FromBase64String(Png)));
        string Hash(string prompt) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(prompt)))[..8];
        Assert.Equal([1, 2, 3], session.History.Select(h => h.Version));

        // The non-atomic pair: at least one frame with the new prompt and no image (v1) went out before v2.
        Assert.Contains(log, f => f.Version == 1 && f.PromptHash == Hash("first prompt") && f.ImageHash is null);
        // The atomic set: every frame with its prompt carries its image state (none), never the old image.
        Assert.All(log.Where(f => f.PromptHash == Hash("second prompt")), f => Assert.Equal((3, (string?)null), (f.Version, f.ImageHash)));
        Assert.All(log.Where(f => f.Version == 2), f => Assert.Equal(imageHash, f.ImageHash));

        // The client sees the same thing in the pictures: stamps in order, versions never going back, each ack's
        // version on screen with at most the frames already in flight before it.
        var stamps = frames.ToArray();
        Assert.True(stamps.Length > 30, $"{stamps.Length} stamps read");
        Assert.Equal(0, client.Misreads);
        for (int i = 1; i < stamps.Length; i++)
        {
            Assert.True(stamps[i].Stamp.OutputFrame > stamps[i - 1].Stamp.OutputFrame, "output numbers increase");
            Assert.True(stamps[i].Stamp.Version >= stamps[i - 1].Stamp.Version, "versions never go back");
        }

        Assert.Contains(stamps, s => s.Stamp.Version == 1);
        Assert.Contains(stamps, s => s.Stamp.Version == 3);
    }

    [Fact]
    public async Task Input_at_twice_the_models_fps_is_thinned_and_the_backlog_stays_bounded()
    {
        await using var sim = await DecartSimulator.StartAsync(new SimulatorOptions { ProcessingLatency = TimeSpan.FromMilliseconds(30) });
        var (client, session, frames) = await GeneratingAsync(sim, fps: 60);
        await using var _ = client;
        long in0 = session.FramesIn, out0 = session.FramesOut;
        await Task.Delay(20_000);
        double inFps = (session.FramesIn - in0) / 20.0, outFps = (session.FramesOut - out0) / 20.0;
        var log = session.Frames(550);
        var latencies = log.Select(f => f.LatencyMs).Order().ToArray();
        output.WriteLine($"in {inFps:F1} fps, out {outFps:F1} fps, dropped {session.FramesDropped}, latency p50 {latencies[latencies.Length / 2]:F1} ms p99 {latencies[(int)(latencies.Length * 0.99)]:F1} ms, max backlog {log.Max(f => f.InputsBehind)}, work p50 {log.Select(f => f.WorkMs).Order().ElementAt(log.Count / 2):F1} ms");

        Assert.True(outFps <= 30 * 1.15, $"output at {outFps} fps, above the model's 30");
        Assert.True(session.FramesDropped > (session.FramesIn - session.FramesOut) / 2, $"{session.FramesDropped} dropped of {session.FramesIn} in, {session.FramesOut} out");
        // The latency itself is measured, not asserted (this machine's load is not the code's): p50/p99 are printed above
        // and in bench/README.md; what is asserted is the cause of a ratchet, a backlog, which cannot grow here.
        // Latest frame wins: whatever the timing, no output is made from a frame more than a few inputs old
        // (the decode queue holds 8; an unbounded queue would grow here by 30 frames a second).
        Assert.All(log, f => Assert.InRange(f.InputsBehind, 0, 10));
        Assert.Equal(0, client.Misreads);
    }

    [Fact]
    public async Task Corrupt_frames_an_odd_size_and_a_size_change_are_counted_and_the_session_keeps_generating()
    {
        await using var sim = await DecartSimulator.StartAsync(new SimulatorOptions { ProcessingLatency = TimeSpan.FromMilliseconds(5) });
        var next = sim.Sessions.NextSessionAsync();
        await using var client = await RawRealtimeClient.OpenAsync(sim);
        var session = await next.WaitAsync(Bound);
        await client.NegotiateAsync();
        var stamps = client.DecodeOutput();
        long plis0 = client.Pc!.Stats.PlisReceived;

        // Bad input tried: 1088x624, then garbage frames (random bytes as VP8), then an odd 321x241 stream, then 1280x720.
        using var stop = new CancellationTokenSource();
        var sizes = new[] { (1088, 624), (0, 0), (321, 241), (1280, 720) };
        foreach (var (width, height) in sizes)
        {
            if (width == 0)
            {
                var random = new Random(7);
                for (int i = 0; i < 15; i++)
                {
                    var garbage = new byte[2000];
                    random.NextBytes(garbage);
                    garbage[0] &= 0xFE; // claims to be a keyframe
                    client.Pc.SendFrame(garbage, (uint)(i * 3000));
                    await Task.Delay(33);
                }

                continue;
            }

            using var encoder = new Vp8Encoder(new Vp8EncoderOptions { Width = width, Height = height, Threads = 1 });
            using var picture = I420Frame.Rent(width, height);
            var buffer = new byte[encoder.MaxEncodedSize];
            long outBefore = session.FramesOut;
            for (int i = 0; i < 45; i++)
            {
                TestPattern.Render(picture, i);
                int n = encoder.Encode(picture, buffer, out _);
                client.Pc.SendFrame(buffer.AsSpan(0, n), (uint)(i * 3000));
                await Task.Delay(33);
            }

            await WaitAsync(() => session.FramesOut > outBefore + 10, $"{width}x{height}: more than 10 frames out");
        }

        Assert.True(session.DecodeErrors > 0, "garbage counted as decode errors");
        Assert.True(client.Pc.Stats.PlisReceived > plis0, "a keyframe was asked for");
        Assert.NotEqual(SessionPhase.Ended, session.State);
        Assert.Equal(0, client.Misreads);
        await WaitAsync(() => stamps.Count > 60, "more than 60 stamped frames decoded by the client");
        Assert.All(client.OutputSizes, size => Assert.Equal((1088, 624), size)); // always the model's size
    }

    [Fact]
    public async Task An_H264_session_is_transformed_in_H264_with_the_state_visible()
    {
        await using var sim = await DecartSimulator.StartAsync(new SimulatorOptions { ProcessingLatency = TimeSpan.FromMilliseconds(10) });
        var next = sim.Sessions.NextSessionAsync();
        await using var client = await RawRealtimeClient.OpenAsync(sim);
        var session = await next.WaitAsync(Bound);
        await client.NegotiateAsync("H264");
        var stamps = client.DecodeOutput("H264");
        var units = Decart.Rtc.Codecs.H264Nal.SplitAccessUnits(File.ReadAllBytes(RawRealtimeClient.Clip("pattern-1088x624-30fps.h264")));
        client.StartMedia(units, 30);
        await client.ExpectAsync("generation_started");
        Assert.Equal(("H264", "transform"), (session.Codec, session.EffectiveModelMode));

        Assert.True((bool)(await client.PromptAsync("h264 prompt"))["success"]!);
        await WaitAsync(() => stamps.Any(s => s.Stamp.Version == 1) && stamps.Count > 30, "H.264 frames stamped with the prompt's version");
        Assert.Equal(0, client.Misreads);
        Assert.All(client.OutputSizes, size => Assert.Equal((1088, 624), size));
        Assert.Equal(0, session.DecodeErrors);
    }

    [Fact]
    public async Task Echo_mode_is_the_bitstream_back_and_a_session_can_switch_modes()
    {
        await using var sim = await DecartSimulator.StartAsync(new SimulatorOptions { ModelMode = ModelMode.Echo, ProcessingLatency = TimeSpan.FromMilliseconds(5) });
        var (client, session, frames) = await GeneratingAsync(sim);
        await using var _ = client;
        Assert.Equal("echo", session.EffectiveModelMode);
        // Waits for echoed frames rather than a fixed half second: on a busy CI machine the
        // decoder may not have produced six frames by then (stop 33 failed that way).
        await WaitAsync(() => client.Counters.Count > 5, "echoed test-pattern frames");
        Assert.Empty(frames); // the clip has no stamp: the echo is the input itself

        session.SetModelMode(ModelMode.Transform);
        await WaitAsync(() => frames.Count > 10, "stamped frames after the switch");
        Assert.Equal("transform", session.EffectiveModelMode);
    }

    private static async Task<(RawRealtimeClient Client, SimulatedSession Session, ConcurrentQueue<(StateStamp Stamp, long At)> Frames)> GeneratingAsync(DecartSimulator sim, int fps = 30)
    {
        var next = sim.Sessions.NextSessionAsync();
        var client = await RawRealtimeClient.OpenAsync(sim);
        var session = await next.WaitAsync(Bound);
        await client.NegotiateAsync();
        var frames = client.DecodeOutput();
        client.StartMedia("pattern-1088x624-30fps.ivf", fps);
        await client.ExpectAsync("generation_started");
        return (client, session, frames);
    }

    private static Task WaitAsync(Func<bool> condition, string what) => Poll.UntilAsync(condition, what, Bound);
}
