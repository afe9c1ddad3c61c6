namespace Decart.Simulator.Faults.Kinds;

/// <summary>
/// <c>bandwidth</c>: caps media at <c>bandwidthKbps</c>; datagrams queue behind the cap (the interceptor keeps the
/// per-direction bucket) and are dropped beyond 500 ms of queue. With several in force the tightest wins.
/// </summary>
internal sealed class BandwidthFault : FaultKind
{
    public override FaultType Type => FaultType.Bandwidth;

    public override string Name => "bandwidth";

    public override string? Validate(Fault fault) => fault.BandwidthKbps <= 0 ? "bandwidthKbps: must be > 0" : null;

    public override void OnDatagram(Fault fault, ref MediaVerdict verdict) =>
        verdict.BandwidthKbps = verdict.BandwidthKbps == 0 ? fault.BandwidthKbps : Math.Min(verdict.BandwidthKbps, fault.BandwidthKbps);
}
