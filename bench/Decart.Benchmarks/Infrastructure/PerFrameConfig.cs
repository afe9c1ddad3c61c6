using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;

namespace Decart.Benchmarks.Infrastructure;

/// <summary>
/// The job of the per-frame suites (5 and 6): one frame per invocation and one invocation per iteration, so every
/// measurement BenchmarkDotNet records is one frame's latency and its statistics are per-frame percentiles (p50, p95,
/// p99 columns). Outliers are kept — a slow frame is the tail being measured, not noise. Overhead evaluation is off: an empty call costs nothing next to a frame on a socket. In smoke mode
/// the class adds no job and the global dry job applies.
/// </summary>
public class PerFrameConfig : ManualConfig
{
    /// <summary>Creates the config with <paramref name="frames"/> measured frames after <paramref name="warmup"/>.</summary>
    /// <param name="frames">Measured frames (iterations).</param>
    /// <param name="warmup">Warm-up frames.</param>
    protected PerFrameConfig(int frames, int warmup)
    {
        AddColumn(new PercentileColumn(50), new PercentileColumn(95), new PercentileColumn(99), new BaselineDeltaColumn(50), new BaselineDeltaColumn(99));
        if (!BenchSettings.Smoke)
        {
            AddJob(Job.Default
                .WithStrategy(RunStrategy.Monitoring)
                .WithLaunchCount(1)
                .WithWarmupCount(warmup)
                .WithIterationCount(frames)
                .WithInvocationCount(1)
                .WithUnrollFactor(1)
                .WithEvaluateOverhead(false)
                .WithOutlierMode(Perfolizer.Mathematics.OutlierDetection.OutlierMode.DontRemove)
                .WithId("PerFrame"));
        }
    }

    /// <summary>
    /// Suite 5: 1,000 frames after 2,000 warm-up frames per case (enough for the JIT's tier-1 code to be in place: the
    /// tiering delay is 100 ms of wall time, not a call count).
    /// </summary>
    public sealed class InProcess : PerFrameConfig
    {
        /// <summary>Creates it.</summary>
        public InProcess()
            : base(1000, 2000)
        {
        }
    }

    /// <summary>Suite 6: 300 frames (10 s at 30 fps) after 90 warm-up frames (3 s) per case.</summary>
    public sealed class GlassToGlass : PerFrameConfig
    {
        /// <summary>Creates it.</summary>
        public GlassToGlass()
            : base(300, 90)
        {
        }
    }

    /// <summary>Connect-to-generating: 20 connects after 2 warm-up connects.</summary>
    public sealed class Connects : PerFrameConfig
    {
        /// <summary>Creates it.</summary>
        public Connects()
            : base(20, 2)
        {
        }
    }
}
