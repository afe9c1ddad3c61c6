namespace Decart.Sdk.Realtime;

/// <summary>
/// The sender's target bitrate, following the network as WebRTC's loss-based controller does (the loss half of
/// Google Congestion Control): over 10 % upstream loss the target drops by half the loss fraction, under 2 % it
/// grows 8 % a step, in between it holds; the peer's REMB estimate, when it sends one, caps it; it stays between
/// a floor and the model's maximum (3.5 Mbit/s, Decart's JS SDK's). One step per stats sample. A delay signal comes
/// first when there is one: a round-trip time well above the lowest of the last 30 samples means a queue is building
/// on the path (the loss comes later, once it overflows), so the target drops 15 % and does not grow until the queue
/// drains. Absurd inputs (NaN, loss above 1, a negative estimate or RTT) are ignored or clamped.
/// </summary>
internal sealed class SendRateController(int startKbps, int minKbps, int maxKbps)
{
    private const double DecreaseAbove = 0.10;
    private const double IncreaseBelow = 0.02;
    private const double Growth = 1.08;
    private const int RttWindow = 30;
    private readonly double[] _rtts = new double[RttWindow];
    private int _rttCount;
    private int _rttNext;
    private double _target = Math.Clamp(startKbps, minKbps, maxKbps);

    /// <summary>The target now, kbit/s.</summary>
    public int TargetKbps => (int)Math.Round(_target);

    /// <summary>Steps the target from one sample's upstream loss (0–1, null: not reported), the peer's estimate (bit/s, null: none) and the round-trip time (ms, null: unknown).</summary>
    /// <returns>The new target, kbit/s.</returns>
    public int Update(double? upstreamLoss, long? remoteEstimate, double? rttMs = null)
    {
        bool queueing = false;
        if (rttMs is { } rtt && !double.IsNaN(rtt) && rtt >= 0 && rtt < 60_000)
        {
            double baseline = _rttCount == 0 ? rtt : Math.Min(rtt, MinRtt());
            queueing = rtt > baseline + Math.Max(50, baseline);
            _rtts[_rttNext] = rtt;
            _rttNext = (_rttNext + 1) % RttWindow;
            _rttCount = Math.Min(RttWindow, _rttCount + 1);
        }

        double? lost = upstreamLoss is { } l && !double.IsNaN(l) ? Math.Clamp(l, 0, 1) : null;
        if (lost > DecreaseAbove)
        {
            _target *= Math.Min(1 - (0.5 * lost.Value), queueing ? 0.85 : 1);
        }
        else if (queueing)
        {
            _target *= 0.85;
        }
        else if (lost < IncreaseBelow)
        {
            _target = Math.Max(_target * Growth, _target + 10);
        }

        if (remoteEstimate is > 0 and var estimate)
        {
            _target = Math.Min(_target, estimate / 1000.0);
        }

        _target = Math.Clamp(_target, minKbps, maxKbps);
        return TargetKbps;
    }

    private double MinRtt()
    {
        double min = double.MaxValue;
        for (int i = 0; i < _rttCount; i++)
        {
            min = Math.Min(min, _rtts[i]);
        }

        return min;
    }
}
