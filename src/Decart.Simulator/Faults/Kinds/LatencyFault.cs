namespace Decart.Simulator.Faults.Kinds;

/// <summary><c>latency</c>: delays media datagrams and/or control messages by <c>latencyMs</c> ± <c>jitterMs</c>.</summary>
internal sealed class LatencyFault : FaultKind
{
    public override FaultType Type => FaultType.Latency;

    public override string Name => "latency";

    public override string? Validate(Fault fault) =>
        fault.LatencyMs is < 0 or > 60_000 ? "latencyMs: must be 0..60000"
        : fault.JitterMs < 0 || fault.JitterMs > fault.LatencyMs ? "jitterMs: must be 0..latencyMs"
        : null;

    public override void OnDatagram(Fault fault, ref MediaVerdict verdict)
    {
        if (fault.Target != FaultTarget.Signaling && FaultSet.Roll(fault))
        {
            verdict.Delay += Draw(fault);
        }
    }

    public override TimeSpan SignalingDelay(Fault fault, bool toClient) =>
        fault.Target != FaultTarget.Media && FaultSet.Matches(fault, toClient) && FaultSet.Roll(fault) ? Draw(fault) : TimeSpan.Zero;

    /// <summary>The latency with its jitter drawn.</summary>
    internal static TimeSpan Draw(Fault fault)
    {
        double ms = fault.LatencyMs;
        if (fault.JitterMs > 0)
        {
            ms += ((Random.Shared.NextDouble() * 2) - 1) * fault.JitterMs;
        }

        return TimeSpan.FromMilliseconds(Math.Max(0, ms));
    }
}
