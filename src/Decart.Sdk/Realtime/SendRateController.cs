namespace Decart.Sdk.Realtime;

/// <summary>
/// The sender's target bitrate, following the network as WebRTC's loss-based controller does (the loss half of
/// Google Congestion Control): over 10 % upstream loss the target drops by half the loss fraction, under 2 % it
/// grows 8 % a step, in between it holds; the peer's REMB estimate, when it sends one, caps it; it stays between
/// a floor and the model's maximum (3.5 Mbit/s, Decart's JS SDK's). One step per stats sample. Absurd inputs (NaN,
/// loss above 1, a negative estimate) are ignored or clamped.
/// </summary>
internal sealed class SendRateController(int startKbps, int minKbps, int maxKbps)
{
    private const double DecreaseAbove = 0.10;
    private const double IncreaseBelow = 0.02;
    private const double Growth = 1.08;
    private double _target = Math.Clamp(startKbps, minKbps, maxKbps);

    /// <summary>The target now, kbit/s.</summary>
    public int TargetKbps => (int)Math.Round(_target);

    /// <summary>Steps the target from one sample's upstream loss (0–1, null: not reported) and the peer's estimate (bit/s, null: none).</summary>
    /// <returns>The new target, kbit/s.</returns>
    public int Update(double? upstreamLoss, long? remoteEstimate)
    {
        if (upstreamLoss is { } loss && !double.IsNaN(loss))
        {
            loss = Math.Clamp(loss, 0, 1);
            if (loss > DecreaseAbove)
            {
                _target *= 1 - (0.5 * loss);
            }
            else if (loss < IncreaseBelow)
            {
                _target = Math.Max(_target * Growth, _target + 10);
            }
        }

        if (remoteEstimate is > 0 and var estimate)
        {
            _target = Math.Min(_target, estimate / 1000.0);
        }

        _target = Math.Clamp(_target, minKbps, maxKbps);
        return TargetKbps;
    }
}
