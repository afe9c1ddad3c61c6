using Decart.Simulator.Realtime;

namespace Decart.Simulator.Faults.Kinds;

/// <summary><c>server_error</c>: sends an <c>error</c> message with <c>error</c>; the session stays open.</summary>
internal sealed class ServerErrorFault : FaultKind
{
    /// <summary>The error sent when the fault gives none.</summary>
    public const string DefaultError = "Internal server error";

    public override FaultType Type => FaultType.ServerError;

    public override string Name => "server_error";

    public override bool IsAction => true;

    public override void Act(Fault fault, IFaultTarget target) => target.SendError(fault.Error ?? DefaultError);
}
