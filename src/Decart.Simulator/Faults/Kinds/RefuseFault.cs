namespace Decart.Simulator.Faults.Kinds;

/// <summary><c>refuse</c>: turns away the next <c>count</c> connection attempts with <c>error</c> (the set counts them down).</summary>
internal sealed class RefuseFault : FaultKind
{
    /// <summary>The error sent when the fault gives none.</summary>
    public const string DefaultError = "Service temporarily unavailable";

    public override FaultType Type => FaultType.Refuse;

    public override string Name => "refuse";

    public override string? Validate(Fault fault) => fault.Count <= 0 ? "count: must be > 0" : null;

    public override string? RefusalError(Fault fault) => fault.Error ?? DefaultError;
}
