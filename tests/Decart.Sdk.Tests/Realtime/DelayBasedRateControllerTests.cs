using Decart.Rtc.Interceptors;
using Decart.Sdk.Realtime;

namespace Decart.Sdk.Tests.Realtime;

/// <summary>The delay-based sender, fed synthetic transport-wide feedback summaries every 50 ms.</summary>
public class DelayBasedRateControllerTests
{
    private static TransportFeedbackSummary Feedback(double queueMs, double loss = 0, long ackedBps = 0) =>
        new(1, loss, TimeSpan.FromMilliseconds(queueMs), ackedBps);

    private static (DelayBasedRateController Controller, long Now) Run(DelayBasedRateController controller, long now, int count, Func<int, TransportFeedbackSummary> feedback, long? remb = null)
    {
        for (int i = 0; i < count; i++, now += 50)
        {
            controller.Update(feedback(i), remb, now);
        }

        return (controller, now);
    }

    [Fact]
    public void A_standing_queue_takes_the_target_to_85_percent_of_what_was_acknowledged()
    {
        var (c, _) = Run(new DelayBasedRateController(3000, 300, 3500), 0, 8, _ => Feedback(60, ackedBps: 1_000_000));
        Assert.Equal(850, c.TargetKbps);
        Assert.Equal(1, c.Decreases); // one queue, answered once within 300 ms
    }

    [Fact]
    public void A_keyframe_burst_that_drains_is_not_overuse()
    {
        // One feedback in six sees 200 ms of queue (a keyframe behind the cap), the rest see it drained.
        var (c, _) = Run(new DelayBasedRateController(1000, 300, 3500), 0, 60, i => Feedback(i % 6 == 0 ? 200 : 3, ackedBps: 1_000_000));
        Assert.Equal(0, c.Decreases);
        Assert.True(c.TargetKbps >= 1000, $"{c.TargetKbps}");
    }

    [Fact]
    public void A_quiet_path_grows_15_percent_a_second_and_60_kbit_a_second_near_the_last_capacity()
    {
        var far = new DelayBasedRateController(1000, 300, 10_000);
        Run(far, 0, 21, _ => Feedback(2, ackedBps: 5_000_000)); // 1 s
        Assert.InRange(far.TargetKbps, 1140, 1160);

        var near = new DelayBasedRateController(3000, 300, 10_000);
        var (_, now) = Run(near, 0, 6, _ => Feedback(60, ackedBps: 1_000_000)); // overuse: 850, capacity 1000
        Assert.Equal(850, near.TargetKbps);
        Run(near, now, 21, _ => Feedback(2, ackedBps: 900_000)); // 1 s of quiet near the capacity
        Assert.InRange(near.TargetKbps, 905, 915);
    }

    [Fact]
    public void Growth_never_runs_far_ahead_of_what_is_acknowledged()
    {
        var (c, _) = Run(new DelayBasedRateController(1000, 300, 10_000), 0, 200, _ => Feedback(1, ackedBps: 400_000)); // 10 s, an encoder making 400 kbit/s
        Assert.Equal(1000, c.TargetKbps); // held at its start: 1.5 x 400 + 100 is below it, and the cap never lowers
    }

    [Fact]
    public void Loss_over_ten_percent_lowers_and_remb_floor_and_ceiling_bound_it()
    {
        var lossy = new DelayBasedRateController(2000, 300, 3500);
        lossy.Update(Feedback(2, loss: 0.3), null, 0);
        Assert.Equal(1700, lossy.TargetKbps); // 2000 x (1 - 0.15)

        var capped = new DelayBasedRateController(2000, 300, 3500);
        capped.Update(Feedback(2), 800_000, 0);
        Assert.Equal(800, capped.TargetKbps);

        var floor = new DelayBasedRateController(400, 300, 3500);
        Run(floor, 0, 40, _ => Feedback(100, ackedBps: 100_000));
        Assert.Equal(300, floor.TargetKbps);

        var bad = new DelayBasedRateController(1000, 300, 3500);
        bad.Update(Feedback(-1e9), null, 0); // a queueing delay that cannot be
        bad.Update(Feedback(-5), null, 50);
        bad.Update(new TransportFeedbackSummary(1, double.NaN, TimeSpan.Zero, 0), null, 100);
        Assert.Equal(1000, bad.TargetKbps);
    }
}
