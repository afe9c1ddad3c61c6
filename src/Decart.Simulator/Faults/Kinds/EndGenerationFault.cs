using Decart.Simulator.Realtime;

namespace Decart.Simulator.Faults.Kinds;

/// <summary><c>end_generation</c>: <c>generation_ended</c> with <c>reason</c> (default <c>insufficient_credits</c>), then a close.</summary>
internal sealed class EndGenerationFault : FaultKind
{
    /// <summary>The reason sent when the fault gives none.</summary>
    public const string DefaultReason = "insufficient_credits";

    public override FaultType Type => FaultType.EndGeneration;

    public override string Name => "end_generation";

    public override bool IsAction => true;

    public override void Act(Fault fault, IFaultTarget target) => _ = target.EndGenerationAsync(fault.Reason ?? DefaultReason);
}
