using Decart.Rtc.Codecs;
using System.Diagnostics;
using Decart.Simulator.Constraints;

namespace Decart.Simulator.Tests;

/// <summary>The frame-rate check measures the sender's rate (RTP timestamps), not how bursty the network is.</summary>
public sealed class MediaConstraintsTests
{
    private static readonly SimulatedModel Lucy = new ModelCatalog().Find(ModelKind.Realtime, "lucy-2.1")!;

    private static long Ticks(double seconds) => (long)(seconds * Stopwatch.Frequency);

    [Fact]
    public void A_30_fps_camera_whose_frames_arrive_in_bursts_is_not_taken_for_a_faster_one()
    {
        var constraints = new MediaConstraints(Lucy);
        var frame = new byte[] { 0x01 }; // not a keyframe: only the rate is checked
        // 4 s at 30 fps; the network holds every 10 frames for 300 ms and releases them at once (arrival rate ~ 100 fps within a burst).
        for (int i = 0; i < 120; i++)
        {
            double arrival = (i / 10) * (10 / 30.0) + 0.3 + (i % 10) * 0.001;
            Assert.Null(constraints.Observe(frame, RtpCodec.Vp8, false, Ticks(arrival), (uint)(i * 3000)));
        }

        Assert.InRange(constraints.MeasuredFps!.Value, 29.0, 31.0);
    }

    [Fact]
    public void A_50_fps_camera_is_reported_once_and_a_new_clock_starts_the_measure_over()
    {
        var constraints = new MediaConstraints(Lucy);
        var frame = new byte[] { 0x01 };
        var reports = new List<string>();
        for (int i = 0; i < 150; i++)
        {
            if (constraints.Observe(frame, RtpCodec.Vp8, false, Ticks(i / 50.0), (uint)(1_000_000 + (i * 1800))) is { } violation)
            {
                reports.Add(violation);
            }
        }

        Assert.Equal("Frame rate 50.0 fps exceeds model lucy-2.1's maximum of 30 fps", Assert.Single(reports));

        // A jump back in the timestamps (a new sender clock): the old frames do not count, so no rate for two seconds.
        var fresh = new MediaConstraints(Lucy);
        for (int i = 0; i < 75; i++)
        {
            fresh.Observe(frame, RtpCodec.Vp8, false, Ticks(i / 30.0), (uint)(500_000 + (i * 3000)));
        }

        double before = fresh.MeasuredFps!.Value;
        fresh.Observe(frame, RtpCodec.Vp8, false, Ticks(2.5), 10); // timestamps restart
        for (int i = 1; i < 20; i++)
        {
            fresh.Observe(frame, RtpCodec.Vp8, false, Ticks(2.5 + (i / 30.0)), (uint)(10 + (i * 1500))); // 60 fps, not measured yet
        }

        Assert.Equal(before, fresh.MeasuredFps!.Value); // not re-measured yet: under two seconds since the restart
    }
}
