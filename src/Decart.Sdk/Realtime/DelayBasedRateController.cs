using Decart.Rtc.Interceptors;

namespace Decart.Sdk.Realtime;

/// <summary>
/// The sender's target bitrate from transport-wide congestion control feedback (every ~50 ms), in the manner of
/// Google Congestion Control's delay-based half: the feedback says how much longer our packets now take than the
/// fastest of the last seconds (a queue building on the path, long before it overflows into loss) and what the peer
/// actually received. The queue that matters is the one that does not drain: the smallest queueing delay of the last
/// six feedbacks (~300 ms) — a keyframe's burst queues for a moment and is gone, a rate above the path's keeps it.
/// <b>Overuse</b> (that delay over 25 ms) brings the target down to 85 % of what the peer acknowledged, and that rate
/// is remembered as the path's capacity; loss over 10 % without a standing queue cuts it by half the loss fraction
/// (at most one cut per 300 ms, so one queue is not answered twice). A quiet path (under 10 ms, under 2 % loss) lets it grow: by 60 kbit/s a second near the
/// remembered capacity (within 85–105 % of it: probing gently where the queue began), 15 % a second elsewhere (far
/// below it, or once past it without a queue: the path got faster and the old capacity is forgotten), never beyond
/// 1.5 × what was acknowledged plus 300 kbit/s (a simple picture needs less than its target; a sudden busy one must not find the target far ahead); in between it holds.
/// The peer's REMB caps it; it stays between the floor and the maximum. Absurd inputs (NaN, negative) are ignored.
/// <para>
/// <b>Probing.</b> When the connection can probe (padding on the RTX stream, <see cref="Decart.Rtc.PeerConnection.ProbeAsync"/>),
/// the target does not creep past a remembered capacity to find out whether the path got faster — that costs a queue,
/// and a cut, every few seconds. It holds at 85 % of the capacity, and every 1.5 s a 20 ms probe at twice the target
/// asks the path directly: a probe that arrives as fast as it left (at least 90 % of its send rate: the path did not
/// spread it out) and at more than 1.3 × the capacity, twice in a row, means the path got faster (the capacity is forgotten, the
/// target goes to 85 % of what arrived); a saturated one — spread out by the path — is a reading of the capacity:
/// three in a row more than 15 % above it raise the capacity to the lowest of them. Probes also run while the target is below the maximum with no capacity known, so the target climbs by what the
/// path proved it carries instead of 15 % a second. A connection that cannot probe (no RTX or no transport-wide
/// feedback negotiated) keeps the gentle creep; a probe that measured nothing (lost under a queue) changes nothing.
/// </para>
/// </summary>
internal sealed class DelayBasedRateController(int startKbps, int minKbps, int maxKbps)
{
    private const double OveruseMs = 25;
    private const double QuietMs = 10;
    private const long DecreaseIntervalMs = 300;
    private const double GrowthPerSecond = 1.15;
    private const int Window = 6;
    private readonly double[] _queues = new double[Window];
    private int _queueCount;
    private int _queueNext;
    private double _target = Math.Clamp(startKbps, minKbps, maxKbps);
    private long _lastUpdate = -1;
    private long _lastDecrease = long.MinValue / 2;
    private double _capacity;
    private bool _probeRunning;
    private double _higherReading;
    private int _higherReadings;
    private int _fasterReadings;
    private long _lastProbe = long.MinValue / 2;
    private double _remoteCap = double.MaxValue;

    private const double HoldFraction = 0.85;
    private const long ProbeIntervalMs = 1500;

    /// <summary>Whether the connection can probe (set by the caller from <see cref="Decart.Rtc.PeerConnection.CanProbe"/>).</summary>
    public bool ProbingAvailable { get; set; }

    /// <summary>Probes whose result was read so far.</summary>
    public long Probes { get; private set; }

    /// <summary>The capacity remembered from the latest overuse, kbit/s (0: none).</summary>
    public int CapacityKbps => (int)Math.Round(_capacity);

    /// <summary>The target now, kbit/s.</summary>
    public int TargetKbps => (int)Math.Round(_target);

    /// <summary>Decreases so far (overuse or loss).</summary>
    public long Decreases { get; private set; }

    /// <summary>Steps the target from one feedback summary.</summary>
    /// <param name="feedback">The latest transport-wide feedback summary.</param>
    /// <param name="remoteEstimate">The peer's REMB, bit/s, if any.</param>
    /// <param name="nowMs">Now, ms (monotonic).</param>
    /// <returns>The new target, kbit/s.</returns>
    public int Update(TransportFeedbackSummary feedback, long? remoteEstimate, long nowMs)
    {
        double queue = feedback.QueueDelay.TotalMilliseconds;
        double loss = feedback.LossFraction;
        if (double.IsNaN(queue) || queue < 0 || double.IsNaN(loss))
        {
            return TargetKbps;
        }

        loss = Math.Clamp(loss, 0, 1);
        _queues[_queueNext] = queue;
        _queueNext = (_queueNext + 1) % Window;
        _queueCount = Math.Min(Window, _queueCount + 1);
        double standing = double.MaxValue;
        for (int i = 0; i < _queueCount; i++)
        {
            standing = Math.Min(standing, _queues[i]);
        }

        double acked = feedback.AckedBitrate > 0 ? feedback.AckedBitrate / 1000.0 : 0;
        double elapsed = _lastUpdate < 0 ? 0 : Math.Clamp((nowMs - _lastUpdate) / 1000.0, 0, 1);
        _lastUpdate = nowMs;
        bool overuse = _queueCount == Window && standing > OveruseMs;
        if (overuse || loss > 0.10)
        {
            if (nowMs - _lastDecrease >= DecreaseIntervalMs)
            {
                // What the path carried is the best guess of what it can carry: a little under it, so the queue drains.
                if (overuse)
                {
                    _target = acked > 0 ? Math.Min(_target, acked * 0.85) : _target * 0.85;
                    _capacity = acked > 0 ? acked : _target / 0.85;
                }
                else
                {
                    // Loss without a standing queue is not the path's capacity (a lossy link, a fault): the loss-based
                    // cut of Google Congestion Control, and nothing remembered.
                    _target *= 1 - (0.5 * loss);
                }
                _lastDecrease = nowMs;
                Decreases++;
            }
        }
        else if (standing < QuietMs && loss < 0.02)
        {
            if (_capacity > 0 && _target > _capacity * 1.05)
            {
                _capacity = 0; // past the old capacity without a queue: the path got faster
            }

            bool near = _capacity > 0 && _target >= _capacity * 0.85;
            double grown = near ? _target + (60 * elapsed) : _target * Math.Pow(GrowthPerSecond, elapsed);
            if (ProbingAvailable && _capacity > 0)
            {
                grown = Math.Min(grown, Math.Max(_target, _capacity * HoldFraction)); // probes, not the media, look past it
            }

            if (acked > 0)
            {
                grown = Math.Min(grown, Math.Max(_target, (1.5 * acked) + 300));
            }

            _target = grown;
        }

        _remoteCap = remoteEstimate is > 0 and var estimate ? estimate / 1000.0 : double.MaxValue;
        _target = Math.Min(_target, _remoteCap);
        _target = Math.Clamp(_target, minKbps, maxKbps);
        return TargetKbps;
    }

    /// <summary>
    /// Whether to probe now: probing is available, none is running, the target is below the maximum (and the peer's
    /// REMB), no decrease in the last second, and 1.5 s since the last probe. When true the probe counts as running
    /// until <see cref="OnProbeResult"/>.
    /// </summary>
    /// <param name="nowMs">Now, ms (monotonic).</param>
    /// <param name="probeKbps">The rate to probe at: twice the target, at most twice the maximum.</param>
    /// <returns>True to probe.</returns>
    public bool TryStartProbe(long nowMs, out int probeKbps)
    {
        probeKbps = 0;
        if (!ProbingAvailable || _probeRunning || _target >= Math.Min(maxKbps, _remoteCap) * 0.98
            || nowMs - _lastDecrease < 1000 || nowMs - _lastProbe < ProbeIntervalMs)
        {
            return false;
        }

        _probeRunning = true;
        _lastProbe = nowMs;
        probeKbps = (int)Math.Min(Math.Min(2.0 * _target, 2.0 * maxKbps), 100_000);
        return true;
    }

    /// <summary>Reads a probe's result (null: it measured nothing).</summary>
    /// <param name="result">What the probe measured.</param>
    /// <param name="nowMs">Now, ms (monotonic).</param>
    /// <returns>The new target, kbit/s.</returns>
    public int OnProbeResult(Decart.Rtc.Interceptors.BandwidthProbeResult? result, long nowMs)
    {
        _probeRunning = false;
        _lastProbe = nowMs;
        if (result is not { } probe || probe.Bitrate <= 0)
        {
            _fasterReadings = 0;
            return TargetKbps; // nothing measured (lost behind a queue, or the connection went): nothing learned
        }

        Probes++;
        if (probe.ReceiveBitrate < 0.9 * probe.SendBitrate)
        {
            _fasterReadings = 0;
            // Saturated: the path spread the probe out, so what arrived is a reading of its capacity — a noisy one
            // (arrivals bunch on a loaded machine), so one reading moves nothing. Three in a row above the remembered
            // capacity by 15 % mean the path got somewhat faster (too little for an unsaturated probe at 1.7 × to
            // show): the capacity rises to the lowest of them, and the target may follow it.
            double reading = Math.Min(probe.ReceiveBitrate / 1000.0, 10.0 * maxKbps);
            if (_capacity > 0 && reading > _capacity * 1.15)
            {
                _higherReading = _higherReadings == 0 ? reading : Math.Min(_higherReading, reading);
                if (++_higherReadings >= 3)
                {
                    _capacity = _higherReading;
                    _higherReadings = 0;
                }
            }
            else
            {
                _higherReadings = 0;
            }

            return TargetKbps;
        }

        _higherReadings = 0;

        double carried = Math.Min(probe.Bitrate / 1000.0, 10.0 * maxKbps);
        if (_capacity > 0 && carried > _capacity * 1.3)
        {
            // The path carried clearly more than the capacity we remembered: it got faster — if the next probe says so
            // too (one unspread probe through a cap can be bunched arrivals on a loaded machine).
            if (++_fasterReadings < 2)
            {
                return TargetKbps;
            }

            _capacity = 0;
        }

        _fasterReadings = 0;

        if (_capacity == 0 && carried * 0.85 > _target && nowMs - _lastDecrease >= 1000)
        {
            _target = Math.Clamp(Math.Min(carried * 0.85, _remoteCap), minKbps, maxKbps);
        }

        return TargetKbps;
    }
}
