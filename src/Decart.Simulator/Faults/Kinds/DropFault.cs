using Decart.Simulator.Realtime;

namespace Decart.Simulator.Faults.Kinds;

/// <summary><c>drop</c>: drops the session as a network failure would, per <c>mode</c> (websocket, media, both, room).</summary>
internal sealed class DropFault : FaultKind
{
    public override FaultType Type => FaultType.Drop;

    public override string Name => "drop";

    public override bool IsAction => true;

    public override void Act(Fault fault, IFaultTarget target) => _ = target.DropAsync(fault.Mode);
}
