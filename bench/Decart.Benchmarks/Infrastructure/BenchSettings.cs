namespace Decart.Benchmarks.Infrastructure;

/// <summary>Process-wide switches read by the suites' configs (set by <see cref="Program"/> before a run).</summary>
public static class BenchSettings
{
    /// <summary>Smoke mode: every benchmark once, in process, for CI (speed not judged).</summary>
    public static bool Smoke { get; set; }
}
