using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Decart.Benchmarks.Infrastructure;

namespace Decart.Benchmarks;

/// <summary>
/// Entry point: <c>bench/run.sh [filter]</c>, or <c>dotnet run -c Release --project bench/Decart.Benchmarks -- --filter '*'</c>.
/// <c>--smoke</c> runs every selected benchmark once, in this process (CI: they keep compiling and running; speed
/// is not judged). Results land in <c>bench/results/</c> (markdown, CSV and, for suites 5–6, an SVG of the
/// per-frame latency distribution); a smoke run writes them under <c>bench/.artifacts</c> only.
/// </summary>
public static class Program
{
    /// <summary>Runs the benchmarks chosen on the command line; exit code 1 when any failed.</summary>
    /// <param name="args">BenchmarkDotNet arguments, plus <c>--smoke</c>.</param>
    /// <returns>The exit code.</returns>
    public static int Main(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        bool smoke = args.Contains("--smoke");
        var rest = args.Where(a => a != "--smoke").ToArray();
        if (rest.Length == 0)
        {
            rest = ["--filter", "*"];
        }

        var summaries = Run(rest, smoke);
        var failures = Failures(summaries);
        foreach (var failure in failures)
        {
            Console.Error.WriteLine("FAILED: " + failure);
        }

        return failures.Count == 0 && summaries.Count > 0 ? 0 : 1;
    }

    /// <summary>Runs BenchmarkDotNet with the toolkit's config and writes results and plots.</summary>
    /// <param name="args">BenchmarkDotNet arguments (e.g. <c>--filter *Srtp*</c>).</param>
    /// <param name="smoke">Once per benchmark, in process.</param>
    /// <returns>The summaries.</returns>
    public static IReadOnlyList<Summary> Run(string[] args, bool smoke)
    {
        BenchSettings.Smoke = smoke;
        string root = Decart.Testing.RepositoryPaths.Root;
        string artifacts = Path.Combine(root, "bench", ".artifacts", smoke ? "smoke" : "full");
        IConfig config = DefaultConfig.Instance.WithArtifactsPath(artifacts);
        if (smoke)
        {
            config = config
                .AddJob(Job.Dry.WithStrategy(RunStrategy.Monitoring).WithToolchain(InProcessEmitToolchain.Instance).WithId("Smoke"))
                .WithOptions(ConfigOptions.DisableOptimizationsValidator);
        }

        var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config).ToList();
        string results = smoke ? Path.Combine(artifacts, "results") : Path.Combine(root, "bench", "results");
        Directory.CreateDirectory(results);
        foreach (var summary in summaries)
        {
            if (!smoke)
            {
                foreach (var file in Directory.GetFiles(summary.ResultsDirectoryPath, "*-report*"))
                {
                    if (file.EndsWith("-report-github.md", StringComparison.Ordinal) || file.EndsWith("-report.csv", StringComparison.Ordinal))
                    {
                        File.Copy(file, Path.Combine(results, Path.GetFileName(file)), overwrite: true);
                    }
                }
            }

            WritePlot(summary, results);
        }

        return summaries;
    }

    /// <summary>What went wrong in a run: validation errors, benchmarks that threw or produced no result.</summary>
    /// <param name="summaries">The run's summaries.</param>
    /// <returns>One line per failure.</returns>
    public static IReadOnlyList<string> Failures(IReadOnlyList<Summary> summaries)
    {
        ArgumentNullException.ThrowIfNull(summaries);
        var failures = new List<string>();
        foreach (var summary in summaries)
        {
            failures.AddRange(summary.ValidationErrors.Where(e => e.IsCritical).Select(e => e.Message));
            foreach (var benchmarkCase in summary.BenchmarksCases)
            {
                var report = summary[benchmarkCase];
                if (report is null || !report.Success || report.ResultStatistics is null)
                {
                    failures.Add($"{benchmarkCase.DisplayInfo}: no result");
                }
            }
        }

        return failures;
    }

    /// <summary>The per-frame suites get a latency-distribution plot: one line per case.</summary>
    private static void WritePlot(Summary summary, string directory)
    {
        var type = summary.BenchmarksCases.FirstOrDefault()?.Descriptor.Type;
        if (type is null || !Attribute.IsDefined(type, typeof(LatencyPlotAttribute)))
        {
            return;
        }

        var series = new List<(string Name, double[] Microseconds)>();
        foreach (var benchmarkCase in summary.BenchmarksCases)
        {
            var report = summary[benchmarkCase];
            if (report is null)
            {
                continue;
            }

            var frames = report.AllMeasurements
                .Where(m => m.IterationMode == IterationMode.Workload && m.IterationStage == IterationStage.Actual)
                .Select(m => m.Nanoseconds / m.Operations / 1000.0)
                .ToArray();
            string parameters = string.Join(", ", benchmarkCase.Parameters.Items.Select(p => $"{p.Name}={p.Value}"));
            series.Add((benchmarkCase.Descriptor.WorkloadMethodDisplayInfo.Trim('\'') + (parameters.Length > 0 ? $" ({parameters})" : string.Empty), frames));
        }

        var attribute = (LatencyPlotAttribute)Attribute.GetCustomAttribute(type, typeof(LatencyPlotAttribute))!;
        LatencyPlot.Write(Path.Combine(directory, type.Name + "-latency.svg"), attribute.Title, series);
    }
}

/// <summary>Marks a per-frame suite whose run writes a latency-distribution SVG.</summary>
/// <param name="title">The plot's title.</param>
[AttributeUsage(AttributeTargets.Class)]
public sealed class LatencyPlotAttribute(string title) : Attribute
{
    /// <summary>The plot's title.</summary>
    public string Title { get; } = title;
}
