using Decart.Simulator.Realtime;

namespace Decart.Simulator.Faults.Kinds;

/// <summary><c>stall</c>: black-holes the session's media for <c>stallSeconds</c> (ICE consent survives short stalls).</summary>
internal sealed class StallFault : FaultKind
{
    public override FaultType Type => FaultType.Stall;

    public override string Name => "stall";

    public override bool IsAction => true;

    public override string? Validate(Fault fault) =>
        double.IsNaN(fault.StallSeconds) || fault.StallSeconds is <= 0 or > 3600 ? "stallSeconds: must be in (0, 3600]" : null;

    public override void Act(Fault fault, IFaultTarget target) => target.Stall(TimeSpan.FromSeconds(fault.StallSeconds));
}
