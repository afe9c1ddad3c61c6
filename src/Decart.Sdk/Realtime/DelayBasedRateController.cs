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
            if (acked > 0)
            {
                grown = Math.Min(grown, Math.Max(_target, (1.5 * acked) + 300));
            }

            _target = grown;
        }

        if (remoteEstimate is > 0 and var estimate)
        {
            _target = Math.Min(_target, estimate / 1000.0);
        }

        _target = Math.Clamp(_target, minKbps, maxKbps);
        return TargetKbps;
    }
}
