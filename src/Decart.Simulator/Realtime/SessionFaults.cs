using Decart.Simulator.Faults;

namespace Decart.Simulator.Realtime;

/// <summary>What a fault can do to a session (implemented by the session).</summary>
internal interface IFaultTarget
{
    /// <summary>Drops the session as a network failure would.</summary>
    Task DropAsync(DropMode mode);

    /// <summary>Black-holes its media for a while.</summary>
    void Stall(TimeSpan duration);

    /// <summary>Sends a server <c>error</c>.</summary>
    void SendError(string error);

    /// <summary>Ends generation with a reason.</summary>
    Task EndGenerationAsync(string reason);
}

/// <summary>
/// The faults of one session that are actions (<c>drop</c>, <c>stall</c>, <c>server_error</c>, <c>end_generation</c>):
/// each acts once per session — now, after N seconds (from the session's start or the fault's arrival, whichever is
/// later) or after N received frames — and the queries of the faults that shape its signaling (<c>delay_acks</c>,
/// <c>queue</c>). Media impairments act in <see cref="FaultInterceptor"/>.
/// </summary>
internal sealed class SessionFaults(FaultSet faults, string sessionId, TimeProvider time, long startTimestamp, IFaultTarget target, Action<Fault> acted)
{
    private readonly object _gate = new();
    private readonly HashSet<string> _acted = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _firstSeen = new(StringComparer.Ordinal);

    /// <summary>Acts on one fault now if it applies to this session and has not acted on it before.</summary>
    /// <param name="fault">An action fault.</param>
    /// <param name="ended">Whether the session has ended (then nothing happens).</param>
    public void Act(Fault fault, bool ended)
    {
        if (!FaultSet.Matches(fault, sessionId) || ended || !FaultSet.Roll(fault))
        {
            return;
        }

        lock (_gate)
        {
            if (!_acted.Add(fault.Id!))
            {
                return;
            }
        }

        acted(fault);
        fault.Kind?.Act(fault, target);
    }

    /// <summary>A frame arrived: the faults due after that many frames act.</summary>
    public void OnFrame(long framesIn, bool ended)
    {
        foreach (var fault in faults.Snapshot)
        {
            if (fault.IsAction && fault.AfterFrames is { } n && framesIn >= n)
            {
                Act(fault, ended);
            }
        }
    }

    /// <summary>The clock's check: the faults due after some seconds act.</summary>
    public void OnTick(long framesIn, bool ended)
    {
        long now = time.GetTimestamp();
        foreach (var fault in faults.Snapshot)
        {
            if (!fault.IsAction || fault.AfterSeconds is not { } seconds || !FaultSet.Matches(fault, sessionId))
            {
                continue;
            }

            long since;
            lock (_gate)
            {
                if (_acted.Contains(fault.Id!))
                {
                    continue;
                }

                if (!_firstSeen.TryGetValue(fault.Id!, out since))
                {
                    since = now;
                    _firstSeen[fault.Id!] = now;
                }
            }

            // "after N seconds" counts from the session's start, or from when the fault appeared if later.
            long from = Math.Max(since, startTimestamp);
            if (time.GetElapsedTime(from, now).TotalSeconds >= seconds && (fault.AfterFrames is null || framesIn >= fault.AfterFrames))
            {
                Act(fault, ended);
            }
        }
    }

    /// <summary>How long the next ack is held (the <c>delay_acks</c> faults in force).</summary>
    public TimeSpan AckDelay()
    {
        var delay = TimeSpan.Zero;
        foreach (var fault in faults.Snapshot)
        {
            if (FaultSet.Matches(fault, sessionId) && fault.Kind is { } kind)
            {
                delay += kind.AckDelay(fault);
            }
        }

        return delay;
    }

    /// <summary>The queue a new LiveKit session waits in (a <c>queue</c> fault), if any: its length and step.</summary>
    public (int Length, TimeSpan Step)? Queue()
    {
        foreach (var fault in faults.Snapshot)
        {
            if (FaultSet.Matches(fault, sessionId) && fault.Kind?.QueueWait(fault) is { } wait)
            {
                return wait;
            }
        }

        return null;
    }
}
