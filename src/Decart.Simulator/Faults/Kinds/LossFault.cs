namespace Decart.Simulator.Faults.Kinds;

/// <summary><c>loss</c>: drops <c>lossPercent</c> % of media datagrams (times the fault's probability).</summary>
internal sealed class LossFault : FaultKind
{
    public override FaultType Type => FaultType.Loss;

    public override string Name => "loss";

    public override string? Validate(Fault fault) =>
        double.IsNaN(fault.LossPercent) || fault.LossPercent is <= 0 or > 100 ? "lossPercent: must be in (0, 100]" : null;

    public override void OnDatagram(Fault fault, ref MediaVerdict verdict)
    {
        if (Random.Shared.NextDouble() * 100 < fault.LossPercent * fault.Probability)
        {
            verdict.Drop = true;
        }
    }
}
