using System.Reflection;
using BenchmarkDotNet.Attributes;
using Decart.Benchmarks;
using Decart.Benchmarks.Infrastructure;

namespace Decart.Benchmarks.Tests;

/// <summary>
/// CI's smoke run of bench/: every benchmark class runs once, in process, with the dry job (<c>bench/run.sh --smoke</c>
/// does the same from the command line). It keeps the suites compiling and running — including the setups' own
/// checks (libsrtp2 and Decart.Rtc produce the same protected bytes; the frame path's datagram sizes match what the
/// peer counted; the simulator echoes the first frame) — and says nothing about speed.
/// </summary>
public sealed class SmokeTests
{
    public static TheoryData<string> Suites()
    {
        var data = new TheoryData<string>();
        foreach (var name in SuiteNames())
        {
            data.Add(name);
        }

        return data;
    }

    private static List<string> SuiteNames() =>
        [.. typeof(Program).Assembly.GetTypes().Where(IsSuite).Select(t => t.Name).Order(StringComparer.Ordinal)];

    private static bool IsSuite(Type type) =>
        type is { IsClass: true, IsAbstract: false, IsPublic: true } && type.GetMethods().Any(m => m.GetCustomAttribute<BenchmarkAttribute>() is not null);

    [Fact]
    public void Every_suite_the_issue_asks_for_is_here()
    {
        var names = SuiteNames();
        Assert.Equal(
            ["ConnectBenchmarks", "FramePathBenchmarks", "GlassToGlassBenchmarks", "MirrorBenchmarks", "ModelBenchmarks", "PayloadingBenchmarks", "RtpBenchmarks", "SrtpBenchmarks"],
            names);
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void Suite_runs_once_and_every_case_has_a_result(string suite)
    {
        var summaries = Program.Run(["--filter", $"*.{suite}.*"], smoke: true);
        var summary = Assert.Single(summaries);
        Assert.NotEmpty(summary.BenchmarksCases);
        Assert.All(summary.BenchmarksCases, c => Assert.Equal(suite, c.Descriptor.Type.Name));
        Assert.Empty(Program.Failures(summaries));
        foreach (var benchmarkCase in summary.BenchmarksCases)
        {
            var report = summary[benchmarkCase]!;
            Assert.True(report.ResultStatistics!.Mean > 0, $"{benchmarkCase.DisplayInfo} measured nothing");
            Assert.NotNull(report.GcStats.GetBytesAllocatedPerOperation(benchmarkCase));
        }

        if (typeof(Program).Assembly.GetTypes().Single(t => t.Name == suite).GetCustomAttribute<LatencyPlotAttribute>() is not null)
        {
            string svg = File.ReadAllText(Path.Combine(Decart.Testing.RepositoryPaths.Root, "bench", ".artifacts", "smoke", "results", suite + "-latency.svg"));
            Assert.StartsWith("<svg", svg, StringComparison.Ordinal);
            Assert.Equal(summary.BenchmarksCases.Length, svg.Split("<polyline").Length - 1);
        }
    }
}
