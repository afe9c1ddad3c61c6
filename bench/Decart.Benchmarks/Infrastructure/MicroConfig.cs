using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;

namespace Decart.Benchmarks.Infrastructure;

/// <summary>
/// The job of the per-packet and per-frame micro suites (1–4): one launch, 3 warm-up and 10 measured iterations of
/// BenchmarkDotNet's usual length — enough for stable means and ratios against the baselines in the same run, and
/// the whole set in minutes rather than an hour on a 2-core machine. In smoke mode the class adds no job and the
/// global dry job applies.
/// </summary>
public sealed class MicroConfig : ManualConfig
{
    /// <summary>Creates the config.</summary>
    public MicroConfig()
    {
        if (!BenchSettings.Smoke)
        {
            AddJob(Job.Default.WithLaunchCount(1).WithWarmupCount(3).WithIterationCount(10).WithId("Micro"));
        }
    }
}
