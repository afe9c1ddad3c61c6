namespace Decart.Simulator.Faults.Kinds;

/// <summary><c>delay_acks</c>: holds every <c>prompt_ack</c>/<c>set_image_ack</c> for <c>delayMs</c>.</summary>
internal sealed class DelayAcksFault : FaultKind
{
    public override FaultType Type => FaultType.DelayAcks;

    public override string Name => "delay_acks";

    public override string? Validate(Fault fault) => fault.DelayMs is <= 0 or > 120_000 ? "delayMs: must be 1..120000" : null;

    public override TimeSpan AckDelay(Fault fault) => FaultSet.Roll(fault) ? TimeSpan.FromMilliseconds(fault.DelayMs) : TimeSpan.Zero;
}
