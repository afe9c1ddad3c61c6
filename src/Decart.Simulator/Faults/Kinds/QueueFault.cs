namespace Decart.Simulator.Faults.Kinds;

/// <summary>
/// <c>queue</c>: a new LiveKit session waits in a queue of <c>count</c>, told its place (<c>queue_position</c>, count
/// down to 1, <c>delayMs</c> apart, default 500 ms) before <c>livekit_room_info</c>.
/// </summary>
internal sealed class QueueFault : FaultKind
{
    public override FaultType Type => FaultType.Queue;

    public override string Name => "queue";

    public override string? Validate(Fault fault) =>
        fault.Count is <= 0 or > 1000 ? "count: must be 1..1000"
        : fault.DelayMs is < 0 or > 60_000 ? "delayMs: must be 0..60000"
        : null;

    public override (int Length, TimeSpan Step)? QueueWait(Fault fault) =>
        FaultSet.Roll(fault) ? (fault.Count, TimeSpan.FromMilliseconds(fault.DelayMs > 0 ? fault.DelayMs : 500)) : null;
}
