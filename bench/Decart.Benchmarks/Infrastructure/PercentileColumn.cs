using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Decart.Benchmarks.Infrastructure;

/// <summary>A numeric column of microseconds computed from a percentile of a case's per-invocation statistics.</summary>
/// <param name="id">Column id.</param>
/// <param name="name">Header.</param>
/// <param name="legend">Legend line.</param>
/// <param name="category">Where BenchmarkDotNet places it.</param>
/// <param name="percentile">The percentile the column is about (0–100); also its order within the category.</param>
public abstract class MicrosecondsColumn(string id, string name, string legend, ColumnCategory category, int percentile) : IColumn
{
    /// <inheritdoc />
    public string Id => id;

    /// <inheritdoc />
    public string ColumnName => name;

    /// <inheritdoc />
    public bool AlwaysShow => true;

    /// <inheritdoc />
    public ColumnCategory Category => category;

    /// <inheritdoc />
    public int PriorityInCategory => percentile;

    /// <summary>The percentile the column is about.</summary>
    protected int Rank => percentile;

    /// <inheritdoc />
    public bool IsNumeric => true;

    /// <inheritdoc />
    public UnitType UnitType => UnitType.Dimensionless;

    /// <inheritdoc />
    public string Legend => legend;

    /// <inheritdoc />
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    /// <inheritdoc />
    public abstract string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style);

    /// <inheritdoc />
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    /// <inheritdoc />
    public bool IsAvailable(Summary summary) => true;

    /// <summary>A percentile of a case's per-invocation times in microseconds, or null without results.</summary>
    /// <param name="summary">The run.</param>
    /// <param name="benchmarkCase">The case.</param>
    /// <param name="percentile">0–100.</param>
    /// <returns>Microseconds.</returns>
    protected static double? Percentile(Summary summary, BenchmarkCase benchmarkCase, int percentile)
    {
        ArgumentNullException.ThrowIfNull(summary);
        var stats = summary[benchmarkCase]?.ResultStatistics;
        return stats is null ? null : stats.Percentiles.Percentile(percentile) / 1000.0;
    }
}

/// <summary>A percentile of the per-invocation times (per frame in the per-frame suites), in microseconds.</summary>
/// <param name="percentile">0–100.</param>
public sealed class PercentileColumn(int percentile)
    : MicrosecondsColumn($"P{percentile}us", $"p{percentile} [us]", $"{percentile}th percentile of the per-frame time, in microseconds", ColumnCategory.Statistics, percentile)
{
    /// <inheritdoc />
    public override string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) =>
        Percentile(summary, benchmarkCase, Rank) is double v ? v.ToString("F1", CultureInfo.InvariantCulture) : "-";
}

/// <summary>How much a percentile exceeds the same percentile of the group's baseline (what the stack adds), in µs.</summary>
/// <param name="percentile">0–100.</param>
public sealed class BaselineDeltaColumn(int percentile)
    : MicrosecondsColumn($"DeltaP{percentile}us", $"+p{percentile} vs baseline [us]", $"p{percentile} minus the baseline's p{percentile} in the same group, in microseconds", ColumnCategory.Baseline, percentile)
{
    /// <inheritdoc />
    public override string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        ArgumentNullException.ThrowIfNull(summary);
        var baseline = summary.GetBaseline(summary.GetLogicalGroupKey(benchmarkCase));
        if (baseline is null || baseline == benchmarkCase)
        {
            return "-";
        }

        return Percentile(summary, benchmarkCase, Rank) is double mine && Percentile(summary, baseline, Rank) is double theirs
            ? (mine - theirs).ToString("+0.0;-0.0", CultureInfo.InvariantCulture)
            : "-";
    }
}
