using System.Diagnostics;
using Decart.Rtc.Transport;

namespace Decart.Simulator.Faults;

/// <summary>
/// One session's media impairment: plugged into its peer connections below ICE, it applies the latency, loss and
/// bandwidth faults in force to every SRTP/SRTCP datagram, drops SRTP/SRTCP while the session is stalled, and swallows
/// every datagram — STUN consent included — once the session is black-holed. STUN and DTLS otherwise pass untouched,
/// so a loss fault does not slow the handshake. Allocation-free on the hot path (the fault snapshot is an array read).
/// </summary>
internal sealed class FaultInterceptor : IPacketInterceptor
{
    private static readonly TimeSpan MaxQueue = TimeSpan.FromMilliseconds(500);
    private readonly FaultSet _faults;
    private readonly string _sessionId;
    private readonly object _bucketLock = new();
    private long _nextFreeToClient;
    private long _nextFreeFromClient;
    private long _stalledUntil;

    public FaultInterceptor(FaultSet faults, string sessionId)
    {
        _faults = faults;
        _sessionId = sessionId;
    }

    /// <summary>Everything is dropped (a media drop).</summary>
    public bool BlackHole { get; set; }

    /// <summary>Datagrams dropped by loss, stall, black hole or a full bandwidth queue.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    private long _dropped;

    /// <summary>Drops every datagram for a while.</summary>
    public void StallFor(TimeSpan duration) =>
        Interlocked.Exchange(ref _stalledUntil, Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency));

    /// <summary>Whether a stall is in progress.</summary>
    public bool Stalled => Stopwatch.GetTimestamp() < Interlocked.Read(ref _stalledUntil);

    public InterceptDecision Intercept(PacketDirection direction, ReadOnlySpan<byte> datagram)
    {
        if (BlackHole)
        {
            Interlocked.Increment(ref _dropped);
            return InterceptDecision.Discard;
        }

        if (Rfc7983.Classify(datagram) != DatagramKind.Media)
        {
            return InterceptDecision.Pass;
        }

        if (Stalled)
        {
            Interlocked.Increment(ref _dropped);
            return InterceptDecision.Discard;
        }

        var faults = _faults.Snapshot;
        if (faults.Length == 0)
        {
            return InterceptDecision.Pass;
        }

        bool toClient = direction == PacketDirection.Outbound;
        var verdict = default(Kinds.MediaVerdict);
        foreach (var fault in faults)
        {
            if (!FaultSet.Matches(fault, _sessionId) || !FaultSet.Matches(fault, toClient))
            {
                continue;
            }

            fault.Kind?.OnDatagram(fault, ref verdict);
            if (verdict.Drop)
            {
                Interlocked.Increment(ref _dropped);
                return InterceptDecision.Discard;
            }
        }

        var delay = verdict.Delay;
        int bandwidthKbps = verdict.BandwidthKbps;

        if (bandwidthKbps > 0)
        {
            long now = Stopwatch.GetTimestamp();
            long cost = (long)(datagram.Length * 8.0 / (bandwidthKbps * 1000.0) * Stopwatch.Frequency);
            lock (_bucketLock)
            {
                ref long nextFree = ref toClient ? ref _nextFreeToClient : ref _nextFreeFromClient;
                long start = Math.Max(now, nextFree);
                var queued = Stopwatch.GetElapsedTime(now, start);
                if (queued > MaxQueue)
                {
                    Interlocked.Increment(ref _dropped);
                    return InterceptDecision.Discard;
                }

                nextFree = start + cost;
                delay += Stopwatch.GetElapsedTime(now, nextFree);
            }
        }

        return delay > TimeSpan.Zero ? new InterceptDecision(false, delay) : InterceptDecision.Pass;
    }
}
