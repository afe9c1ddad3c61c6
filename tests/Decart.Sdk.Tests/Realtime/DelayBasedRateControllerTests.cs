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

    private static BandwidthProbeResult Probe(long sentBps, long receivedBps) => new(30, 30, sentBps, receivedBps);

    [Fact]
    public void With_probing_the_target_holds_at_85_percent_of_the_capacity_instead_of_creeping_into_a_queue()
    {
        var c = new DelayBasedRateController(3000, 300, 3500) { ProbingAvailable = true };
        var (_, now) = Run(c, 0, 6, _ => Feedback(60, ackedBps: 1_000_000)); // overuse: 850, capacity 1000
        Assert.Equal((850, 1000), (c.TargetKbps, c.CapacityKbps));
        Run(c, now, 200, _ => Feedback(2, ackedBps: 850_000)); // 10 s of quiet
        Assert.Equal(850, c.TargetKbps); // without probing it would have crept 60 kbit/s a second past the capacity
        Assert.Equal(1000, c.CapacityKbps);
    }

    [Fact]
    public void Probes_are_due_every_1_5_s_below_the_maximum_one_at_a_time_and_not_right_after_a_decrease()
    {
        var c = new DelayBasedRateController(1000, 300, 3500) { ProbingAvailable = true };
        Assert.True(c.TryStartProbe(10_000, out int kbps));
        Assert.Equal(2000, kbps);                                 // twice the target
        Assert.False(c.TryStartProbe(12_000, out _));             // the first is still running
        c.OnProbeResult(Probe(2_000_000, 600_000), 10_100);       // limited by the path: nothing changes
        Assert.Equal(1000, c.TargetKbps);
        Assert.False(c.TryStartProbe(11_000, out _));             // 1.5 s after the last
        Assert.True(c.TryStartProbe(11_600, out _));
        c.OnProbeResult(null, 11_700);

        var (_, now) = Run(c, 12_000, 6, _ => Feedback(60, ackedBps: 900_000)); // a decrease at 12.25 s
        Assert.False(c.TryStartProbe(now + 500, out _));          // within a second of it
        Assert.True(c.TryStartProbe(now + 1_500, out _));

        var top = new DelayBasedRateController(3500, 300, 3500) { ProbingAvailable = true };
        Assert.False(top.TryStartProbe(10_000, out _));           // at the maximum: nothing to find
        var remb = new DelayBasedRateController(2000, 300, 3500) { ProbingAvailable = true };
        remb.Update(Feedback(2), 1_000_000, 0);
        Assert.False(remb.TryStartProbe(10_000, out _));          // at the peer's REMB
        Assert.False(new DelayBasedRateController(1000, 300, 3500).TryStartProbe(10_000, out _)); // probing not available
    }

    [Fact]
    public void A_probe_that_arrives_well_past_the_capacity_forgets_it_and_lifts_the_target_to_85_percent_of_what_arrived()
    {
        var c = new DelayBasedRateController(3000, 300, 3500) { ProbingAvailable = true };
        var (_, now) = Run(c, 0, 6, _ => Feedback(60, ackedBps: 1_000_000)); // 850, capacity 1000
        now += 2_000;
        Assert.True(c.TryStartProbe(now, out int kbps));
        Assert.Equal(1700, kbps);
        Assert.Equal(850, c.OnProbeResult(Probe(1_700_000, 1_150_000), now + 100)); // saturated (spread out by the path): kept
        Assert.Equal(1000, c.CapacityKbps);
        now += 2_000;
        Assert.True(c.TryStartProbe(now, out _));
        Assert.Equal(850, c.OnProbeResult(Probe(1_700_000, 1_400_000), now + 100)); // 1.4 x the capacity but saturated (bunched arrivals): kept
        Assert.Equal(1000, c.CapacityKbps);
        now += 2_000;
        Assert.True(c.TryStartProbe(now, out _));
        Assert.Equal(850, c.OnProbeResult(Probe(1_200_000, 1_200_000), now + 100)); // unsaturated but within 1.3 x: kept

        now += 2_000;
        Assert.True(c.TryStartProbe(now, out _));
        Assert.Equal(850, c.OnProbeResult(Probe(1_700_000, 1_750_000), now + 100)); // one unspread probe past 1.3 x: not yet
        Assert.Equal(1000, c.CapacityKbps);
        now += 2_000;
        Assert.True(c.TryStartProbe(now, out _));
        Assert.Equal(1445, c.OnProbeResult(Probe(1_700_000, 1_750_000), now + 100)); // the second says so too: faster, 0.85 x 1700
        Assert.Equal(0, c.CapacityKbps);
        now += 2_000;
        Assert.True(c.TryStartProbe(now, out kbps));
        Assert.Equal(2890, kbps);
        Assert.Equal(2456, c.OnProbeResult(Probe(2_890_000, 2_900_000), now + 100)); // 0.85 x 2890
        now += 2_000;
        Assert.True(c.TryStartProbe(now, out _));
        Assert.Equal(3500, c.OnProbeResult(Probe(9_000_000, 9_000_000), now + 100)); // never past the maximum
        Assert.Equal(7, c.Probes);
    }

    [Fact]
    public void Probes_that_measure_nothing_change_nothing_without_probing_the_gentle_creep_stays_and_absurd_results_are_clamped()
    {
        var c = new DelayBasedRateController(3000, 300, 3500) { ProbingAvailable = true };
        var (_, now) = Run(c, 0, 6, _ => Feedback(60, ackedBps: 1_000_000));
        for (int i = 0; i < 3; i++)
        {
            now += 2_000;
            Assert.True(c.TryStartProbe(now, out _));
            Assert.Equal(850, c.OnProbeResult(i == 1 ? Probe(0, 0) : null, now + 100)); // nothing back; a zero rate counts as nothing
        }

        Assert.Equal((0, 1000), ((int)c.Probes, c.CapacityKbps));
        Assert.True(c.TryStartProbe(now + 2_000, out _)); // and the next probe still runs

        var creep = new DelayBasedRateController(3000, 300, 3500); // a connection that cannot probe
        var (_, then) = Run(creep, 0, 6, _ => Feedback(60, ackedBps: 1_000_000));
        Run(creep, then, 21, _ => Feedback(2, ackedBps: 850_000));
        Assert.InRange(creep.TargetKbps, 905, 915); // 60 kbit/s a second past 85 % of the capacity, as before probing

        // Bad input: a probe result of 10 Tbit/s (a clock gone wrong) is clamped to ten times the maximum, then the maximum.
        var absurd = new DelayBasedRateController(1000, 300, 3500) { ProbingAvailable = true };
        Assert.True(absurd.TryStartProbe(5_000, out _));
        Assert.Equal(3500, absurd.OnProbeResult(Probe(10_000_000_000_000, 10_000_000_000_000), 5_100));
    }

    [Fact]
    public void Three_saturated_readings_well_above_the_capacity_raise_it_and_fewer_or_a_broken_run_do_not()
    {
        var c = new DelayBasedRateController(3000, 300, 3500) { ProbingAvailable = true };
        var (_, now) = Run(c, 0, 6, _ => Feedback(60, ackedBps: 1_000_000)); // 850, capacity 1000
        void ProbeOnce(long sent, long received)
        {
            now += 2_000;
            Assert.True(c.TryStartProbe(now, out _));
            c.OnProbeResult(Probe(sent, received), now + 100);
        }

        ProbeOnce(1_700_000, 1_300_000); // saturated, 1.3 x the capacity: one reading is noise
        Assert.Equal(1000, c.CapacityKbps);
        ProbeOnce(1_700_000, 1_000_000); // the next says the old capacity: the pair breaks
        Assert.Equal(1000, c.CapacityKbps);
        ProbeOnce(1_700_000, 1_300_000);
        ProbeOnce(1_700_000, 1_250_000);
        Assert.Equal(1000, c.CapacityKbps);  // two in a row are not enough (bunched arrivals can fake two)
        ProbeOnce(1_700_000, 1_280_000); // three in a row: the path got faster, by the lowest of them
        Assert.Equal(1250, c.CapacityKbps);
        Run(c, now, 100, _ => Feedback(2, ackedBps: 1_000_000)); // 5 s of quiet: the target may follow, to 85 % of it
        Assert.InRange(c.TargetKbps, 1055, 1065);

        // Bad input: a maximum over 50 Mbit/s (an encoder's own target) never asks for a probe over 100 Mbit/s.
        var huge = new DelayBasedRateController(60_000, 300, 80_000) { ProbingAvailable = true };
        Assert.True(huge.TryStartProbe(10_000, out int kbps));
        Assert.Equal(100_000, kbps);
    }
}
