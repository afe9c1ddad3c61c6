namespace Decart.Sdk.Realtime;

/// <summary>How well a realtime session is doing, worst first (Decart's JS SDK: <c>critical</c>, <c>poor</c>, <c>fair</c>, <c>good</c>).</summary>
public enum ConnectionQualityLevel
{
    /// <summary>Unusable: past every "poor" band.</summary>
    Critical,

    /// <summary>Noticeably degraded.</summary>
    Poor,

    /// <summary>Usable, with some degradation.</summary>
    Fair,

    /// <summary>Within every "good" band.</summary>
    Good,
}

/// <summary>What limits the connection's quality most (Decart's JS SDK's <c>limitingFactor</c>).</summary>
public enum LimitingFactor
{
    /// <summary>Nothing: the quality is good.</summary>
    None,

    /// <summary>Too little upstream bandwidth for the model's bitrate.</summary>
    Bandwidth,

    /// <summary>Upstream packet loss.</summary>
    Loss,

    /// <summary>Glass-to-glass latency, or the round-trip time when that is not measured.</summary>
    Latency,

    /// <summary>Too few frames per second arriving (or frames dropped end to end).</summary>
    Stall,

    /// <summary>The quality is good but the encoder is CPU-bound.</summary>
    Cpu,
}

/// <summary>The smoothed inputs of a verdict.</summary>
/// <param name="RoundTripTime">Median round-trip time over the window, or null.</param>
/// <param name="GlassToGlass">Median glass-to-glass latency over the window (with frame timing), or null.</param>
/// <param name="PacketLoss">Median upstream loss over the window (0–1), or null.</param>
/// <param name="FramesPerSecond">Lowest received fps over the window, or null.</param>
/// <param name="AvailableUpstreamKbps">Median of what the peer lets us send (its bandwidth estimate), kbit/s, or null.</param>
public sealed record ConnectionQualityMetrics(TimeSpan? RoundTripTime, TimeSpan? GlassToGlass, double? PacketLoss, double? FramesPerSecond, double? AvailableUpstreamKbps);

/// <summary>A connection-quality verdict: the worst dimension, what limits it, and the inputs.</summary>
/// <param name="Quality">The verdict.</param>
/// <param name="LimitingFactor">What limits it (<see cref="LimitingFactor.None"/> when good).</param>
/// <param name="WarmingUp">The first samples of a connection: bandwidth is not judged yet (the encoder and the estimate are still ramping up).</param>
/// <param name="Metrics">The smoothed inputs.</param>
public sealed record ConnectionQualityReport(ConnectionQualityLevel Quality, LimitingFactor LimitingFactor, bool WarmingUp, ConnectionQualityMetrics Metrics);

/// <summary>One stats sample's inputs to the verdict (nulls: not measured; a missing input scores good).</summary>
internal readonly record struct QualitySignals(
    double? RttMs,
    double? G2gMs,
    double? FractionLost,
    double? AvailableOutgoingKbps,
    double? Fps,
    long? FreezeCountDelta = null,
    double? G2gDropRatio = null,
    bool Relayed = false,
    bool CpuLimited = false,
    bool BandwidthLimited = false);

/// <summary>
/// The bands of each dimension, as Decart's JS SDK 0.1.20 ships them (its <c>config-realtime</c>): latency by
/// glass-to-glass (500 / 900 / 1,500 ms) or else RTT (150 / 300 / 500 ms, +100 ms relayed), upstream loss (0.1 % / 1 %
/// / 5 %), bandwidth as available ÷ 3,500 kbit/s (1.0 / 0.8 / 0.5), stall as the lowest fps (20 / 12 / 5); medians over
/// 5 samples, 8 samples of warm-up, 5 in a row to move the verdict either way.
/// </summary>
internal sealed record QualityThresholds
{
    public static QualityThresholds Default { get; } = new();

    public int WindowSamples { get; init; } = 5;

    public int WarmupSamples { get; init; } = 8;

    public int DowngradeConsecutive { get; init; } = 5;

    public int UpgradeConsecutive { get; init; } = 5;

    public (double Good, double Fair, double Poor) RttMs { get; init; } = (150, 300, 500);

    public double RelayExtraMs { get; init; } = 100;

    public (double Good, double Fair, double Poor) GlassToGlassMs { get; init; } = (500, 900, 1500);

    public (double Good, double Fair, double Poor) Loss { get; init; } = (0.001, 0.01, 0.05);

    public (double Good, double Fair, double Poor) DropRatio { get; init; } = (0.001, 0.01, 0.05);

    public double RequiredUpstreamKbps { get; init; } = 3500;

    public (double Good, double Fair, double Poor) UpstreamRatio { get; init; } = (1.0, 0.8, 0.5);

    public (double Good, double Fair, double Poor) Fps { get; init; } = (20, 12, 5);
}

/// <summary>
/// Scores stats samples into a connection-quality verdict the way Decart's JS SDK does: each dimension banded, the
/// verdict the worst of them, the limiting factor the first of bandwidth, loss, latency, stall at that level; inputs
/// smoothed (medians, fps by its minimum) and the verdict moved only after several samples in a row agree.
/// Allocates nothing per sample beyond the report it returns.
/// </summary>
internal sealed class ConnectionQualityEvaluator
{
    private readonly QualityThresholds _t;
    private readonly Window _rtt;
    private readonly Window _g2g;
    private readonly Window _loss;
    private readonly Window _available;
    private readonly Window _fps;
    private int _samples;
    private ConnectionQualityLevel? _level;
    private LimitingFactor _factor;
    private ConnectionQualityLevel? _candidate;
    private int _candidateCount;
    private bool _wasWarmingUp = true;

    public ConnectionQualityEvaluator(QualityThresholds? thresholds = null)
    {
        _t = thresholds ?? QualityThresholds.Default;
        _rtt = new Window(_t.WindowSamples);
        _g2g = new Window(_t.WindowSamples);
        _loss = new Window(_t.WindowSamples);
        _available = new Window(_t.WindowSamples);
        _fps = new Window(_t.WindowSamples);
    }

    /// <summary>The latest report, or null before the first sample.</summary>
    public ConnectionQualityReport? Current { get; private set; }

    /// <summary>Feeds one sample; returns the report when the verdict changed (or warm-up just ended), else null.</summary>
    public ConnectionQualityReport? Update(QualitySignals raw)
    {
        _samples++;
        _rtt.Push(raw.RttMs);
        _g2g.Push(raw.G2gMs);
        _loss.Push(raw.FractionLost);
        _available.Push(raw.AvailableOutgoingKbps);
        _fps.Push(raw.Fps);
        var smoothed = raw with { RttMs = _rtt.Median(), G2gMs = _g2g.Median(), FractionLost = _loss.Median(), AvailableOutgoingKbps = _available.Median(), Fps = _fps.Min() };
        bool warmingUp = _samples < _t.WarmupSamples;
        var (quality, factor) = Score(smoothed, _t, skipBandwidth: warmingUp);
        bool warmupEnded = _wasWarmingUp && !warmingUp;
        _wasWarmingUp = warmingUp;
        bool changed;
        if (warmupEnded)
        {
            changed = _level != quality;
            _level = quality;
            _candidate = null;
            _candidateCount = 0;
        }
        else
        {
            changed = ApplyHysteresis(quality);
        }

        var emitted = _level ?? quality;
        if (emitted == ConnectionQualityLevel.Good)
        {
            _factor = smoothed.CpuLimited ? LimitingFactor.Cpu : LimitingFactor.None;
        }
        else if (quality <= emitted)
        {
            _factor = factor;
        }

        Current = new ConnectionQualityReport(
            emitted,
            _factor,
            warmingUp,
            new ConnectionQualityMetrics(Ms(smoothed.RttMs), Ms(smoothed.G2gMs), smoothed.FractionLost, smoothed.Fps, smoothed.AvailableOutgoingKbps));
        return changed || warmupEnded ? Current : null;
    }

    /// <summary>Starts over (a new room: Decart's JS SDK resets its evaluator on every connection).</summary>
    public void Reset()
    {
        _rtt.Clear();
        _g2g.Clear();
        _loss.Clear();
        _available.Clear();
        _fps.Clear();
        _samples = 0;
        _level = null;
        _factor = LimitingFactor.None;
        _candidate = null;
        _candidateCount = 0;
        _wasWarmingUp = true;
        Current = null;
    }

    /// <summary>One sample scored without smoothing or hysteresis.</summary>
    public static (ConnectionQualityLevel Quality, LimitingFactor Factor) Score(QualitySignals s, QualityThresholds t, bool skipBandwidth = false)
    {
        double relay = s.Relayed ? t.RelayExtraMs : 0;
        var latency = s.G2gMs is not null
            ? LowerBetter(s.G2gMs, t.GlassToGlassMs)
            : LowerBetter(s.RttMs, (t.RttMs.Good + relay, t.RttMs.Fair + relay, t.RttMs.Poor + relay));
        var loss = LowerBetter(s.FractionLost, t.Loss);
        var bandwidth = ConnectionQualityLevel.Good;
        if (!skipBandwidth)
        {
            bandwidth = HigherBetter(s.AvailableOutgoingKbps / t.RequiredUpstreamKbps, t.UpstreamRatio);
            if (s.BandwidthLimited)
            {
                bandwidth = Worst(bandwidth, ConnectionQualityLevel.Fair);
            }
        }

        var stall = HigherBetter(s.Fps, t.Fps);
        if (s.FreezeCountDelta > 0)
        {
            stall = Worst(stall, ConnectionQualityLevel.Fair);
        }

        stall = Worst(stall, LowerBetter(s.G2gDropRatio, t.DropRatio));
        var quality = Worst(Worst(bandwidth, latency), Worst(loss, stall));
        var factor = quality == ConnectionQualityLevel.Good ? (s.CpuLimited ? LimitingFactor.Cpu : LimitingFactor.None)
            : bandwidth == quality ? LimitingFactor.Bandwidth
            : loss == quality ? LimitingFactor.Loss
            : latency == quality ? LimitingFactor.Latency
            : LimitingFactor.Stall;
        return (quality, factor);
    }

    private bool ApplyHysteresis(ConnectionQualityLevel raw)
    {
        if (_level is not { } level)
        {
            _level = raw;
            _candidate = null;
            _candidateCount = 0;
            return true;
        }

        if (raw == level)
        {
            _candidate = null;
            _candidateCount = 0;
            return false;
        }

        _candidateCount = raw == _candidate ? _candidateCount + 1 : 1;
        _candidate = raw;
        int required = raw < level ? _t.DowngradeConsecutive : _t.UpgradeConsecutive;
        if (_candidateCount < required)
        {
            return false;
        }

        _level = raw;
        _candidate = null;
        _candidateCount = 0;
        return true;
    }

    private static ConnectionQualityLevel Worst(ConnectionQualityLevel a, ConnectionQualityLevel b) => a < b ? a : b;

    /// <summary>A value in bands where lower is better (null or NaN: good, as a missing input scores).</summary>
    internal static ConnectionQualityLevel LowerBetter(double? value, (double Good, double Fair, double Poor) bands) =>
        value is not { } v || double.IsNaN(v) || v <= bands.Good ? ConnectionQualityLevel.Good
        : v <= bands.Fair ? ConnectionQualityLevel.Fair
        : v <= bands.Poor ? ConnectionQualityLevel.Poor
        : ConnectionQualityLevel.Critical;

    private static ConnectionQualityLevel HigherBetter(double? value, (double Good, double Fair, double Poor) bands) =>
        value is not { } v || double.IsNaN(v) || v >= bands.Good ? ConnectionQualityLevel.Good
        : v >= bands.Fair ? ConnectionQualityLevel.Fair
        : v >= bands.Poor ? ConnectionQualityLevel.Poor
        : ConnectionQualityLevel.Critical;

    private static TimeSpan? Ms(double? ms) => ms is { } v ? TimeSpan.FromMilliseconds(v) : null;

    /// <summary>The last few values of one input (nulls skipped), in a fixed array.</summary>
    private sealed class Window(int size)
    {
        private readonly double[] _values = new double[Math.Max(1, size)];
        private readonly double[] _scratch = new double[Math.Max(1, size)];
        private int _count;
        private int _next;

        public void Push(double? value)
        {
            if (value is not { } v || double.IsNaN(v))
            {
                return;
            }

            _values[_next] = v;
            _next = (_next + 1) % _values.Length;
            _count = Math.Min(_values.Length, _count + 1);
        }

        public double? Median()
        {
            if (_count == 0)
            {
                return null;
            }

            var sorted = _scratch.AsSpan(0, _count);
            _values.AsSpan(0, _count).CopyTo(sorted);
            sorted.Sort();
            int mid = _count / 2;
            return _count % 2 == 0 ? (sorted[mid - 1] + sorted[mid]) / 2 : sorted[mid];
        }

        public double? Min()
        {
            if (_count == 0)
            {
                return null;
            }

            double min = double.MaxValue;
            foreach (var v in _values.AsSpan(0, _count))
            {
                min = Math.Min(min, v);
            }

            return min;
        }

        public void Clear()
        {
            _count = 0;
            _next = 0;
        }
    }
}
