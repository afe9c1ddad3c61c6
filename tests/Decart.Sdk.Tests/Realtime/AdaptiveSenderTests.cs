using Decart.Sdk.Media;
using Decart.Sdk.Media.OpenH264;
using Decart.Sdk.Media.Vpx;
using Decart.Sdk.Models;
using Decart.Sdk.Realtime;
using Decart.Simulator.Faults;
using static Decart.Sdk.Tests.Realtime.RealtimeTestKit;

namespace Decart.Sdk.Tests.Realtime;

/// <summary>The sender that follows the network: the controller's steps, the encoders' runtime bitrate, and the loop against the simulator's loss fault.</summary>
public class AdaptiveSenderTests
{
    [Fact]
    public void Loss_over_ten_percent_cuts_by_half_the_loss_under_two_grows_eight_percent_and_between_holds()
    {
        var rate = new SendRateController(2000, 300, 3500);
        Assert.Equal(1800, rate.Update(0.20, null));   // × (1 − 0.1)
        Assert.Equal(1800, rate.Update(0.05, null));   // hold
        Assert.Equal(1944, rate.Update(0.0, null));    // × 1.08
        Assert.Equal(1944, rate.Update(null, null));   // nothing reported: hold
        for (int i = 0; i < 20; i++)
        {
            rate.Update(0, null);
        }

        Assert.Equal(3500, rate.TargetKbps);           // never above the maximum
        Assert.Equal(1000, rate.Update(0, 1_000_000)); // the peer's estimate caps it
        for (int i = 0; i < 50; i++)
        {
            rate.Update(0.9, null);
        }

        Assert.Equal(300, rate.TargetKbps);            // never below the floor
    }

    [Fact]
    public void A_round_trip_well_above_its_floor_means_a_queue_so_the_target_drops_before_any_loss()
    {
        var rate = new SendRateController(2000, 300, 3500);
        Assert.Equal(2160, rate.Update(0, null, rttMs: 20));   // the floor: 20 ms
        Assert.Equal(2333, rate.Update(0, null, rttMs: 60));   // 20 + max(50, 20) = 70: not yet a queue
        Assert.Equal(1983, rate.Update(0, null, rttMs: 300));  // a queue: −15 % with no loss yet
        Assert.Equal(1487, rate.Update(0.5, null, rttMs: 400)); // loss too: the larger cut (half the loss: −25 %)
        Assert.Equal(1606, rate.Update(0, null, rttMs: 25));    // drained: grows again
        Assert.Equal(1735, rate.Update(0, null, rttMs: -5));    // a negative RTT (clock skew) is ignored
    }

    [Fact]
    public void Absurd_inputs_are_clamped_or_ignored()
    {
        var rate = new SendRateController(2000, 300, 3500);
        Assert.Equal(2000, rate.Update(double.NaN, null));
        Assert.Equal(1000, rate.Update(7.5, null));     // loss above 1 counts as 1: halves
        Assert.Equal(1080, rate.Update(-3, -5));        // negative loss counts as none; a negative estimate is ignored
        Assert.Equal(3500, new SendRateController(99_999, 300, 3500).TargetKbps);
    }

    public static TheoryData<string> Codecs => new() { "VP8", "H264" };

    [Theory]
    [MemberData(nameof(Codecs))]
    public void An_encoder_told_a_lower_target_makes_smaller_frames_without_a_keyframe(string codec)
    {
        const int width = 320, height = 240;
        using IFrameEncoder encoder = codec == "VP8"
            ? new Vp8Encoder(new Vp8EncoderOptions { Width = width, Height = height, Fps = 30, TargetBitrateKbps = 3000 })
            : new H264Encoder(new H264EncoderOptions { Width = width, Height = height, Fps = 30, TargetBitrateKbps = 3000 });
        var buffer = new byte[encoder.MaxEncodedSize];
        var random = new Random(7);
        int shift = 0;
        using var frame = I420Frame.Rent(width, height);
        double Average(int frames, out int keyframes)
        {
            long bytes = 0;
            keyframes = 0;
            for (int i = 0; i < frames; i++)
            {
                // A moving gradient with a little noise: camera-like detail a bitrate target has to squeeze.
                var y = frame.Y;
                for (int p = 0; p < y.Length; p++)
                {
                    y[p] = (byte)(((p % width) + (p / width) + (shift * 3)) % 200 + random.Next(16) + 20);
                }

                frame.U.Fill(128);
                frame.V.Fill(128);
                shift++;
                bytes += encoder.Encode(frame, buffer, out bool key);
                keyframes += key ? 1 : 0;
            }

            return bytes / (double)frames;
        }

        Average(30, out _);
        double high = Average(45, out int keyframesBefore);
        encoder.SetTargetBitrate(300);
        Average(15, out int keyframesAfter);
        double low = Average(30, out _);
        Assert.True(low < high * 0.5, $"{codec}: {low:0} bytes/frame at 300 kbit/s vs {high:0} at 3,000");
        // The change itself forces no keyframe (the content's own scene changes may make one now and then).
        Assert.True(keyframesAfter <= Math.Max(0, keyframesBefore), $"{keyframesAfter} keyframes in the 15 frames after the change, {keyframesBefore} in the 45 before");
        Assert.Throws<DecartException>(() => encoder.SetTargetBitrate(5));
    }

    [Fact]
    public async Task A_loss_fault_lowers_the_cameras_bitrate_and_it_recovers_once_the_loss_stops()
    {
        await using var sim = await StartSimulatorAsync();
        using var client = Client(sim);
        await using var session = await CameraSession.StartAsync(client, "adapting");
        var rt = session.Rt;
        await WaitUntilAsync(() => rt.Stats?.TargetBitrateKbps >= 2000, TimeSpan.FromSeconds(30), "the target to grow without loss (from 1,500)");
        await WaitUntilAsync(() => rt.CurrentSession?.PeerConnection?.Stats.TransportFeedback is { Feedbacks: > 10 }, TimeSpan.FromSeconds(10), "the simulator to send transport-wide feedback: the delay-based controller steers");
        Assert.True(rt.CurrentSession!.PeerConnection!.Stats.ProbesSent > 0, "below the maximum with no capacity known, the sender probes");
        Assert.True(sim.Sessions.Single().PaddingPacketsIn > 0, "the simulator counted the probes' padding and dropped it");

        var fault = sim.Faults.Add(new Fault { Type = FaultType.Loss, LossPercent = 30, Direction = FaultDirection.FromClient });
        int before = rt.Stats!.TargetBitrateKbps!.Value;
        await WaitUntilAsync(() => rt.Stats?.TargetBitrateKbps < before / 2, TimeSpan.FromSeconds(30), "the target to halve under 30 % loss");

        sim.Faults.Remove(fault.Id!);
        int low = rt.Stats!.TargetBitrateKbps!.Value;
        await WaitUntilAsync(() => rt.Stats?.TargetBitrateKbps > low * 1.5, TimeSpan.FromSeconds(30), "the target to grow again");
    }

    [Fact]
    public async Task Under_a_bandwidth_cap_the_target_settles_below_it_and_probes_find_the_room_once_it_is_lifted()
    {
        await using var sim = await StartSimulatorAsync();
        using var client = Client(sim);
        await using var session = await CameraSession.StartAsync(client, "capped");
        var rt = session.Rt;
        await WaitUntilAsync(() => rt.Stats?.TargetBitrateKbps >= 2500, TimeSpan.FromSeconds(30), "the target to climb from 1,500 by probing");

        var cap = sim.Faults.Add(new Fault { Type = FaultType.Bandwidth, BandwidthKbps = 1000, Direction = FaultDirection.FromClient });
        var pc = rt.CurrentSession!.PeerConnection!;
        long probes = pc.Stats.ProbesSent;
        await WaitUntilAsync(() => rt.Stats?.TargetBitrateKbps < 1000, TimeSpan.FromSeconds(30), "the target to go under the 1 Mbit/s cap");
        await WaitUntilAsync(() => pc.Stats.ProbesSent >= probes + 2, TimeSpan.FromSeconds(30), "the sender to probe (padding, not media) for room under the cap");
        var samples = new List<int>();
        for (int i = 0; i < 30; i++)
        {
            samples.Add(rt.Stats?.TargetBitrateKbps ?? 0);
            await Task.Delay(100);
        }

        // It holds below the capacity it found. (The strict "never above the cap" is bench/README.md's figure on a
        // quiet machine; under the full suite the simulator's per-datagram timers can bunch a probe's arrivals and
        // misread the cap for a while, so here: held under it most of the time, never far above.)
        samples.Sort();
        Assert.True(samples[samples.Count / 2] <= 1000, $"the target's median under a 1,000 kbit/s cap was {samples[samples.Count / 2]} kbit/s");
        Assert.True(samples[^1] <= 1250, $"the target reached {samples[^1]} kbit/s under a 1,000 kbit/s cap");

        sim.Faults.Remove(cap.Id!);
        await WaitUntilAsync(() => rt.Stats?.TargetBitrateKbps >= 2000, TimeSpan.FromSeconds(30), "probes to find the room once the cap is lifted");
    }

    [Fact]
    public async Task With_adaptation_off_the_target_stays_and_a_bad_range_is_refused()
    {
        await using var sim = await StartSimulatorAsync();
        using var client = Client(sim);
        var model = RealtimeModels.Lucy21;
        await using var camera = new SyntheticVideoSource(new VideoFormat(model.Width, model.Height, model.Fps), FacingMode.Environment);
        var bad = await Assert.ThrowsAsync<DecartException>(() => client.Realtime.ConnectAsync(camera, new RealtimeConnectOptions { Model = model, MinBitrateKbps = 2000, MaxBitrateKbps = 1000 }));
        Assert.Equal(DecartErrorCode.InvalidOptions, bad.Code);
        await using var rt = await client.Realtime.ConnectAsync(camera, new RealtimeConnectOptions { Model = model, AdaptBitrate = false, StatsInterval = TimeSpan.FromMilliseconds(500) });
        await WaitUntilAsync(() => rt.Stats is { Interval.Ticks: > 0 } && rt.FramesSent > 60, TimeSpan.FromSeconds(30), "a few samples");
        Assert.Equal(1500, rt.Stats!.TargetBitrateKbps);
    }

    /// <summary>
    /// A session fed camera-like frames (a moving gradient with sensor-like noise): the encoder spends the bits it is
    /// given, so the sender is not application-limited and may grow (the delay-based controller never runs far ahead
    /// of what the peer acknowledges). Disposing stops the frames, then the session and the camera.
    /// </summary>
    private sealed class CameraSession : IAsyncDisposable
    {
        private readonly RawVideoSource _camera;
        private readonly CancellationTokenSource _stop;
        private readonly Task _frames;

        private CameraSession(RawVideoSource camera, CancellationTokenSource stop, Task frames, RealtimeClient rt)
        {
            _camera = camera;
            _stop = stop;
            _frames = frames;
            Rt = rt;
        }

        public RealtimeClient Rt { get; }

        public static async Task<CameraSession> StartAsync(DecartClient client, string prompt)
        {
            var model = RealtimeModels.Lucy21;
            var camera = new RawVideoSource(new VideoFormat(model.Width, model.Height, model.Fps), FacingMode.Environment);
            var stop = new CancellationTokenSource();
            var frames = Task.Run(() => Decart.Testing.CameraLikeFrames.PushAsync(camera, model.Width, model.Height, model.Fps, stop.Token));
            try
            {
                var rt = await client.Realtime.ConnectAsync(camera, new RealtimeConnectOptions { Model = model, InitialState = new RealtimeState { Prompt = prompt }, StatsInterval = TimeSpan.FromMilliseconds(500) });
                return new CameraSession(camera, stop, frames, rt);
            }
            catch
            {
                await stop.CancelAsync();
                await frames;
                await camera.DisposeAsync();
                stop.Dispose();
                throw;
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _frames;
            await Rt.DisposeAsync();
            await _camera.DisposeAsync();
            _stop.Dispose();
        }
    }
}
