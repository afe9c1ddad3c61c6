using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Decart.Benchmarks.Infrastructure;

/// <summary>A percentile of the per-invocation times (per frame in the per-frame suites), in microseconds.</summary>
/// <param name="percentile">0–100.</param>
public sealed class PercentileColumn(int percentile) : IColumn
{
    /// <inheritdoc />
    public string Id => $"P{percentile}us";

    /// <inheritdoc />
    public string ColumnName => $"p{percentile} [us]";

    /// <inheritdoc />
    public bool AlwaysShow => true;

    /// <inheritdoc />
    public ColumnCategory Category => ColumnCategory.Statistics;

    /// <inheritdoc />
    public int PriorityInCategory => percentile;

    /// <inheritdoc />
    public bool IsNumeric => true;

    /// <inheritdoc />
    public UnitType UnitType => UnitType.Dimensionless;

    /// <inheritdoc />
    public string Legend => $"{percentile}th percentile of the per-frame time, in microseconds";

    /// <inheritdoc />
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    /// <inheritdoc />
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) =>
        Value(summary, benchmarkCase, percentile) is double v ? v.ToString("F1", System.Globalization.CultureInfo.InvariantCulture) : "-";

    /// <inheritdoc />
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    /// <inheritdoc />
    public bool IsAvailable(Summary summary) => true;

    /// <summary>The percentile in microseconds, or null without results.</summary>
    internal static double? Value(Summary summary, BenchmarkCase benchmarkCase, int percentile)
    {
        var stats = summary[benchmarkCase]?.ResultStatistics;
        return stats is null ? null : stats.Percentiles.Percentile(percentile) / 1000.0;
    }
}

/// <summary>How much a percentile exceeds the same percentile of the group's baseline (what the stack adds), in µs.</summary>
/// <param name="percentile">0–100.</param>
public sealed class BaselineDeltaColumn(int percentile) : IColumn
{
    /// <inheritdoc />
    public string Id => $"DeltaP{percentile}us";

    /// <inheritdoc />
    public string ColumnName => $"+p{percentile} vs baseline [us]";

    /// <inheritdoc />
    public bool AlwaysShow => true;

    /// <inheritdoc />
    public ColumnCategory Category => ColumnCategory.Baseline;

    /// <inheritdoc />
    public int PriorityInCategory => percentile;

    /// <inheritdoc />
    public bool IsNumeric => true;

    /// <inheritdoc />
    public UnitType UnitType => UnitType.Dimensionless;

    /// <inheritdoc />
    public string Legend => $"p{percentile} minus the baseline's p{percentile} in the same group, in microseconds";

    /// <inheritdoc />
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    /// <inheritdoc />
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var baseline = summary.GetBaseline(summary.GetLogicalGroupKey(benchmarkCase));
        if (baseline is null || baseline == benchmarkCase)
        {
            return "-";
        }

        var mine = PercentileColumn.Value(summary, benchmarkCase, percentile);
        var theirs = PercentileColumn.Value(summary, baseline, percentile);
        return mine is double m && theirs is double t ? (m - t).ToString("+0.0;-0.0", System.Globalization.CultureInfo.InvariantCulture) : "-";
    }

    /// <inheritdoc />
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    /// <inheritdoc />
    public bool IsAvailable(Summary summary) => true;
}
