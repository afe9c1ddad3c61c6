using Decart.Sdk.Models;
using Decart.Sdk.Realtime;
using Decart.Simulator.Faults;
using static Decart.Sdk.Tests.Realtime.RealtimeTestKit;

namespace Decart.Sdk.Tests.Realtime;

/// <summary>
/// The connection-quality verdict, scored as Decart's JS SDK 0.1.20 scores it (its bands, smoothing, warm-up and
/// hysteresis), and stats from the SDK's own RTCP against the simulator with network faults.
/// </summary>
public class ConnectionQualityTests
{
    public static TheoryData<string, QualityRow, ConnectionQualityLevel, LimitingFactor> Table => new()
    {
        { "nothing measured scores good", new(), ConnectionQualityLevel.Good, LimitingFactor.None },
        { "rtt 150 ms is still good", new(Rtt: 150), ConnectionQualityLevel.Good, LimitingFactor.None },
        { "rtt 200 ms", new(Rtt: 200), ConnectionQualityLevel.Fair, LimitingFactor.Latency },
        { "rtt 400 ms", new(Rtt: 400), ConnectionQualityLevel.Poor, LimitingFactor.Latency },
        { "rtt 600 ms", new(Rtt: 600), ConnectionQualityLevel.Critical, LimitingFactor.Latency },
        { "relayed: rtt 220 ms within 150 + 100", new(Rtt: 220, Relayed: true), ConnectionQualityLevel.Good, LimitingFactor.None },
        { "glass-to-glass replaces rtt", new(Rtt: 600, G2g: 450), ConnectionQualityLevel.Good, LimitingFactor.None },
        { "glass-to-glass 1 s", new(G2g: 1000), ConnectionQualityLevel.Poor, LimitingFactor.Latency },
        { "loss 0.5 %", new(Loss: 0.005), ConnectionQualityLevel.Fair, LimitingFactor.Loss },
        { "loss 3 %", new(Loss: 0.03), ConnectionQualityLevel.Poor, LimitingFactor.Loss },
        { "3,000 of 3,500 kbit/s", new(Kbps: 3000), ConnectionQualityLevel.Fair, LimitingFactor.Bandwidth },
        { "1,000 kbit/s", new(Kbps: 1000), ConnectionQualityLevel.Critical, LimitingFactor.Bandwidth },
        { "an encoder limited by bandwidth is at most fair", new(Kbps: 5000, BandwidthLimited: true), ConnectionQualityLevel.Fair, LimitingFactor.Bandwidth },
        { "15 fps", new(Fps: 15), ConnectionQualityLevel.Fair, LimitingFactor.Stall },
        { "3 fps", new(Fps: 3), ConnectionQualityLevel.Critical, LimitingFactor.Stall },
        { "a freeze caps at fair", new(Fps: 30, Freezes: 1), ConnectionQualityLevel.Fair, LimitingFactor.Stall },
        { "loss before latency at the same level", new(Rtt: 200, Loss: 0.005), ConnectionQualityLevel.Fair, LimitingFactor.Loss },
        { "bandwidth before loss at the same level", new(Loss: 0.03, Kbps: 2000), ConnectionQualityLevel.Poor, LimitingFactor.Bandwidth },
        { "the worst dimension decides", new(Rtt: 200, Loss: 0.03), ConnectionQualityLevel.Poor, LimitingFactor.Loss },
        { "good but CPU-bound", new(Cpu: true), ConnectionQualityLevel.Good, LimitingFactor.Cpu },
        // Bad input: a negative RTT (clock skew) and NaN are not worse than nothing; an infinite loss is the worst band.
        { "negative rtt", new(Rtt: -50), ConnectionQualityLevel.Good, LimitingFactor.None },
        { "NaN loss", new(Loss: double.NaN), ConnectionQualityLevel.Good, LimitingFactor.None },
        { "infinite loss", new(Loss: double.PositiveInfinity), ConnectionQualityLevel.Critical, LimitingFactor.Loss },
    };

    [Theory]
    [MemberData(nameof(Table))]
    public void One_sample_scores_as_the_JS_SDKs_bands_say(string what, QualityRow row, ConnectionQualityLevel quality, LimitingFactor factor)
    {
        var scored = ConnectionQualityEvaluator.Score(row.Signals, QualityThresholds.Default);
        Assert.Equal((what, quality, factor), (what, scored.Quality, scored.Factor));
    }

    [Fact]
    public void Bandwidth_is_not_judged_during_the_warm_up()
    {
        Assert.Equal(ConnectionQualityLevel.Good, ConnectionQualityEvaluator.Score(new QualityRow(Kbps: 500).Signals, QualityThresholds.Default, skipBandwidth: true).Quality);
    }

    [Fact]
    public void The_verdict_moves_only_after_five_smoothed_samples_in_a_row_either_way()
    {
        var evaluator = new ConnectionQualityEvaluator();
        var changes = new List<(int Sample, ConnectionQualityLevel Quality, LimitingFactor Factor, bool WarmingUp)>();
        void Feed(int sample, double rtt)
        {
            if (evaluator.Update(new QualityRow(Rtt: rtt).Signals) is { } report)
            {
                changes.Add((sample, report.Quality, report.LimitingFactor, report.WarmingUp));
            }
        }

        for (int i = 1; i <= 10; i++)
        {
            Feed(i, 100);
        }

        for (int i = 11; i <= 17; i++)
        {
            Feed(i, 600); // the median of 5 turns at the 3rd bad sample (13), then 5 in a row: 17
        }

        for (int i = 18; i <= 24; i++)
        {
            Feed(i, 100); // the same on the way back: 20, then 24
        }

        Assert.Equal(
            [
                (1, ConnectionQualityLevel.Good, LimitingFactor.None, true),    // the first verdict
                (8, ConnectionQualityLevel.Good, LimitingFactor.None, false),   // warm-up over
                (17, ConnectionQualityLevel.Critical, LimitingFactor.Latency, false),
                (24, ConnectionQualityLevel.Good, LimitingFactor.None, false),
            ],
            changes);
        Assert.Equal(ConnectionQualityLevel.Good, evaluator.Current!.Quality);
        Assert.Equal(TimeSpan.FromMilliseconds(100), evaluator.Current.Metrics.RoundTripTime);

        evaluator.Reset();
        Assert.Null(evaluator.Current);
        Assert.NotNull(evaluator.Update(new QualityRow(Rtt: 600).Signals)); // a new room: the first sample is a verdict again
    }

    [Fact]
    public async Task Stats_come_every_interval_from_our_own_RTCP_and_a_loss_fault_turns_the_verdict_to_loss_then_back_to_good()
    {
        await using var sim = await StartSimulatorAsync();
        using var client = Client(sim);
        await using var source = await SourceAsync();
        var verdicts = new System.Collections.Concurrent.ConcurrentQueue<ConnectionQualityReport>();
        var samples = new System.Collections.Concurrent.ConcurrentQueue<RealtimeStats>();
        var options = new RealtimeConnectOptions
        {
            Model = RealtimeModels.Lucy21,
            InitialState = new RealtimeState { Prompt = "measured" },
            StatsInterval = TimeSpan.FromMilliseconds(500),
            OnConnectionQuality = verdicts.Enqueue,
        };
        await using var rt = await client.Realtime.ConnectAsync(source, options);
        rt.StatsUpdated += (_, s) => samples.Enqueue(s);
        await WaitUntilAsync(() => samples.Count(s => s.Interval > TimeSpan.Zero && s.RoundTripTime is not null && s.FramesPerSecondReceived > 20) >= 3, TimeSpan.FromSeconds(30), "three samples with an RTT and frames flowing");
        var sample = samples.Last(s => s.FramesPerSecondReceived > 20);
        Assert.True(sample.FramesPerSecondSent > 5 && sample.FramesPerSecondReceived > 5, $"{sample.FramesPerSecondSent} fps out, {sample.FramesPerSecondReceived} fps in");
        Assert.True(sample.SendBitrate > 10_000 && sample.ReceiveBitrate > 10_000, $"{sample.SendBitrate} bit/s out, {sample.ReceiveBitrate} bit/s in");
        Assert.InRange(sample.RoundTripTime!.Value.TotalMilliseconds, 0, 1000);
        Assert.Equal((RealtimeTransport.LiveKit, 1), (sample.Transport, sample.PeerConnections));
        Assert.Same(rt.Stats, samples.Last());
        // Good after the warm-up (a start-up stall of the model's first second, when there is one, passes within the
        // hysteresis).
        await WaitUntilAsync(() => verdicts.LastOrDefault() is { WarmingUp: false, Quality: ConnectionQualityLevel.Good }, TimeSpan.FromSeconds(30), "a good verdict after the warm-up");
        Assert.Equal(ConnectionQualityLevel.Good, rt.GetConnectionQuality()!.Quality);

        // 8 % of the camera's packets lost on the way in: the simulator's reception reports say so, the verdict follows.
        var fault = sim.Faults.Add(new Fault { Type = FaultType.Loss, LossPercent = 8, Direction = FaultDirection.FromClient });
        await WaitUntilAsync(() => verdicts.LastOrDefault() is { Quality: <= ConnectionQualityLevel.Poor, LimitingFactor: LimitingFactor.Loss }, TimeSpan.FromSeconds(30), "a poor verdict limited by loss");
        // The verdict is judged over a window; one interval's sample can still read 0 (a reception report that
        // said nothing new yet, or an interval the random 8 % spared): wait for a sample that shows the loss.
        await WaitUntilAsync(() => rt.Stats is { UpstreamLoss: > 0.01 }, TimeSpan.FromSeconds(10), "a stats sample with the upstream loss");

        sim.Faults.Remove(fault.Id!);
        await WaitUntilAsync(() => verdicts.LastOrDefault() is { Quality: ConnectionQualityLevel.Good }, TimeSpan.FromSeconds(30), "good again once the loss stopped");
    }

    [Fact]
    public async Task A_latency_fault_turns_the_verdict_to_latency_from_the_round_trip()
    {
        await using var sim = await StartSimulatorAsync();
        using var client = Client(sim);
        await using var source = await SourceAsync();
        var verdicts = new System.Collections.Concurrent.ConcurrentQueue<ConnectionQualityReport>();
        await using var rt = await client.Realtime.ConnectAsync(source, new RealtimeConnectOptions
        {
            Model = RealtimeModels.Lucy21,
            InitialState = new RealtimeState { Prompt = "far away" },
            StatsInterval = TimeSpan.FromMilliseconds(500),
            OnConnectionQuality = verdicts.Enqueue,
        });
        await WaitUntilAsync(() => verdicts.LastOrDefault() is { WarmingUp: false, Quality: ConnectionQualityLevel.Good }, TimeSpan.FromSeconds(30), "a good verdict after the warm-up");

        // 200 ms each way on the media: an RTT of about 400 ms, past the 300 ms "fair" band (no frame timing: RTT is the latency).
        sim.Faults.Add(new Fault { Type = FaultType.Latency, LatencyMs = 200 });
        // (The delay's onset stalls the frames for a moment, so the first poor verdict may name the stall; the current
        // report's factor follows once the frames flow again.)
        await WaitUntilAsync(() => rt.GetConnectionQuality() is { Quality: ConnectionQualityLevel.Poor, LimitingFactor: LimitingFactor.Latency }, TimeSpan.FromSeconds(30), "a poor verdict limited by latency");
        Assert.Contains(verdicts, v => v.Quality == ConnectionQualityLevel.Poor);
        Assert.InRange(rt.GetConnectionQuality()!.Metrics.RoundTripTime!.Value.TotalMilliseconds, 300, 750); // 400 injected; a busy machine adds some (twice each way would be 800)
    }

    [Fact]
    public async Task A_stats_interval_under_half_a_second_is_refused()
    {
        await using var sim = await StartSimulatorAsync();
        using var client = Client(sim);
        await using var source = await SourceAsync();
        var error = await Assert.ThrowsAsync<DecartException>(() => client.Realtime.ConnectAsync(source, new RealtimeConnectOptions { Model = RealtimeModels.Lucy21, StatsInterval = TimeSpan.FromMilliseconds(100) }));
        Assert.Equal(DecartErrorCode.InvalidOptions, error.Code);
    }
}

/// <summary>One row of the scoring table (public for xUnit's theory data).</summary>
public sealed record QualityRow(double? Rtt = null, double? G2g = null, double? Loss = null, double? Kbps = null, double? Fps = null, long? Freezes = null, bool Relayed = false, bool Cpu = false, bool BandwidthLimited = false)
{
    internal QualitySignals Signals => new(Rtt, G2g, Loss, Kbps, Fps, Freezes, null, Relayed, Cpu, BandwidthLimited);
}
