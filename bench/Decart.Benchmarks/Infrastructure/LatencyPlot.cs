using System.Globalization;
using System.Text;

namespace Decart.Benchmarks.Infrastructure;

/// <summary>
/// A small SVG writer for latency distributions: one cumulative-distribution line per series (x = latency, y = share
/// of frames at or below it), with dashed guides at p50 and p99; the x axis ends just past the largest p99. No plotting package: the SVG is text, renders on
/// GitHub and diffs in review.
/// </summary>
public static class LatencyPlot
{
    private static readonly string[] Colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"];

    /// <summary>Writes the plot.</summary>
    /// <param name="path">The .svg file.</param>
    /// <param name="title">Title line.</param>
    /// <param name="series">Named samples in microseconds.</param>
    public static void Write(string path, string title, IReadOnlyList<(string Name, double[] Microseconds)> series)
    {
        ArgumentNullException.ThrowIfNull(series);
        const int width = 1200, height = 520, left = 70, right = 480, top = 50, bottom = 60;
        int plotW = width - left - right, plotH = height - top - bottom;
        var sorted = series.Where(s => s.Microseconds.Length > 0).Select(s => (s.Name, Values: s.Microseconds.Order().ToArray())).ToList();
        double max = sorted.Count == 0 ? 1 : sorted.Max(s => Percentile(s.Values, 99)) * 1.1; // the last 1 % runs off the right edge
        max = NiceCeiling(Math.Max(max, 1e-3));
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        svg.Append(CultureInfo.InvariantCulture, $"<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{left}\" y=\"28\" font-size=\"16\">{Escape(title)}</text>\n");

        // Axes and grid.
        for (int i = 0; i <= 10; i++)
        {
            double x = left + (plotW * i / 10.0);
            double y = top + plotH - (plotH * i / 10.0);
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{x:F1}\" y1=\"{top}\" x2=\"{x:F1}\" y2=\"{top + plotH}\" stroke=\"#eee\"/>\n");
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{left}\" y1=\"{y:F1}\" x2=\"{left + plotW}\" y2=\"{y:F1}\" stroke=\"#eee\"/>\n");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{x:F1}\" y=\"{top + plotH + 18}\" text-anchor=\"middle\">{FormatMicros(max * i / 10)}</text>\n");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{left - 8}\" y=\"{y + 4:F1}\" text-anchor=\"end\">{i * 10}%</text>\n");
        }

        foreach (var (fraction, label) in new[] { (0.5, "p50"), (0.99, "p99") })
        {
            double y = top + plotH - (plotH * fraction);
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{left}\" y1=\"{y:F1}\" x2=\"{left + plotW}\" y2=\"{y:F1}\" stroke=\"#999\" stroke-dasharray=\"4 4\"/>\n");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{left + plotW - 4}\" y=\"{y - 4:F1}\" text-anchor=\"end\" fill=\"#666\">{label}</text>\n");
        }

        svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{left}\" y=\"{top}\" width=\"{plotW}\" height=\"{plotH}\" fill=\"none\" stroke=\"#333\"/>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{left + (plotW / 2)}\" y=\"{height - 18}\" text-anchor=\"middle\">latency per frame</text>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"16\" y=\"{top + (plotH / 2)}\" transform=\"rotate(-90 16 {top + (plotH / 2)})\" text-anchor=\"middle\">frames at or below</text>\n");

        for (int s = 0; s < sorted.Count; s++)
        {
            var (name, values) = sorted[s];
            string color = Colors[s % Colors.Length];
            var points = new StringBuilder();
            int step = Math.Max(1, values.Length / 400);
            for (int i = 0; i < values.Length; i += step)
            {
                AppendPoint(points, Math.Min(values[i], max), (i + 1.0) / values.Length);
            }

            AppendPoint(points, Math.Min(values[^1], max), 1.0);
            svg.Append(CultureInfo.InvariantCulture, $"<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{points}\"/>\n");
            double ly = top + 10 + (s * 20);
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{left + plotW + 12}\" y1=\"{ly:F1}\" x2=\"{left + plotW + 32}\" y2=\"{ly:F1}\" stroke=\"{color}\" stroke-width=\"3\"/>\n");
            string legend = $"{name}: p50 {FormatMicros(Percentile(values, 50))}, p99 {FormatMicros(Percentile(values, 99))}";
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{left + plotW + 36}\" y=\"{ly + 4:F1}\" font-size=\"11\">{Escape(legend)}</text>\n");
        }

        svg.Append("</svg>\n");
        File.WriteAllText(path, svg.ToString());

        void AppendPoint(StringBuilder points, double value, double fraction)
        {
            double x = left + (plotW * value / max);
            double y = top + plotH - (plotH * fraction);
            points.Append(CultureInfo.InvariantCulture, $"{x:F1},{y:F1} ");
        }
    }

    /// <summary>Nearest-rank percentile of sorted values.</summary>
    /// <param name="sorted">Ascending values.</param>
    /// <param name="percentile">0–100.</param>
    public static double Percentile(double[] sorted, double percentile)
    {
        ArgumentNullException.ThrowIfNull(sorted);
        if (sorted.Length == 0)
        {
            return double.NaN;
        }

        int rank = (int)Math.Ceiling(percentile / 100.0 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }

    private static double NiceCeiling(double value)
    {
        double magnitude = Math.Pow(10, Math.Floor(Math.Log10(value)));
        foreach (double m in new[] { 1, 2, 2.5, 5, 10 })
        {
            if (m * magnitude >= value)
            {
                return m * magnitude;
            }
        }

        return 10 * magnitude;
    }

    private static string FormatMicros(double micros) =>
        micros >= 1000 ? (micros / 1000).ToString("0.##", CultureInfo.InvariantCulture) + " ms" : micros.ToString("0.#", CultureInfo.InvariantCulture) + " µs";

    private static string Escape(string text) => text.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal);
}
