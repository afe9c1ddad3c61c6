using System.Collections.Frozen;
using Decart.Simulator.Realtime;

namespace Decart.Simulator.Faults.Kinds;

/// <summary>What the media-impairing faults decide for one datagram, combined over every fault in force.</summary>
internal struct MediaVerdict
{
    /// <summary>Drop the datagram.</summary>
    public bool Drop;

    /// <summary>Delay it by this much.</summary>
    public TimeSpan Delay;

    /// <summary>The tightest bandwidth cap in force, kbit/s (0: none).</summary>
    public int BandwidthKbps;
}

/// <summary>
/// One kind of fault (Toxiproxy's "toxic"): its wire name, its parameters' rules and what it does. Every kind is a
/// type of its own in this folder, registered by name in <see cref="FaultKinds"/>; a <see cref="Fault"/> is the
/// wire/JSON form (one record with every kind's fields, as scenario files and the control API have always had it)
/// and is given its behaviour by its kind. A kind overrides only the hooks it acts through.
/// </summary>
internal abstract class FaultKind
{
    /// <summary>The fault type.</summary>
    public abstract FaultType Type { get; }

    /// <summary>Its name in JSON and scenario files.</summary>
    public abstract string Name { get; }

    /// <summary>Whether it is a one-shot action on a session (rather than a standing impairment or a refusal).</summary>
    public virtual bool IsAction => false;

    /// <summary>Checks the kind's own parameters.</summary>
    /// <returns>Null when valid, else which field is wrong and why.</returns>
    public virtual string? Validate(Fault fault) => null;

    /// <summary>Media: what it does to one datagram (called only for faults that match the session and direction).</summary>
    public virtual void OnDatagram(Fault fault, ref MediaVerdict verdict)
    {
    }

    /// <summary>Signaling: how long it delays one control message in a direction (0: not at all).</summary>
    public virtual TimeSpan SignalingDelay(Fault fault, bool toClient) => TimeSpan.Zero;

    /// <summary>How long it holds an ack.</summary>
    public virtual TimeSpan AckDelay(Fault fault) => TimeSpan.Zero;

    /// <summary>An action: what it does to the session, once.</summary>
    public virtual void Act(Fault fault, IFaultTarget target)
    {
    }

    /// <summary>A queue before <c>livekit_room_info</c>: its length and step, or null.</summary>
    public virtual (int Length, TimeSpan Step)? QueueWait(Fault fault) => null;

    /// <summary>Whether it refuses new connections (and with which error).</summary>
    public virtual string? RefusalError(Fault fault) => null;
}

/// <summary>The registry of fault kinds, by type and by wire name.</summary>
internal static class FaultKinds
{
    private static readonly FaultKind[] All =
    [
        new LatencyFault(), new LossFault(), new BandwidthFault(), new DropFault(), new RefuseFault(),
        new StallFault(), new DelayAcksFault(), new ServerErrorFault(), new EndGenerationFault(), new QueueFault(),
    ];

    private static readonly FrozenDictionary<FaultType, FaultKind> ByType = All.ToFrozenDictionary(k => k.Type);

    private static readonly FrozenDictionary<string, FaultKind> ByName = All.ToFrozenDictionary(k => k.Name, StringComparer.Ordinal);

    /// <summary>Every registered kind.</summary>
    public static IReadOnlyList<FaultKind> Registered => All;

    /// <summary>The kind of a type, or null for an undefined one.</summary>
    public static FaultKind? Of(FaultType type) => ByType.GetValueOrDefault(type);

    /// <summary>The kind of a wire name, or null.</summary>
    public static FaultKind? Named(string name) => ByName.GetValueOrDefault(name);
}
