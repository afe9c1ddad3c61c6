using System.Globalization;

namespace Decart.Simulator.Faults;

/// <summary>Thrown when a fault's parameters are invalid; the message names the field.</summary>
public sealed class InvalidFaultException : ArgumentException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">Which field is wrong and why.</param>
    public InvalidFaultException(string message)
        : base(message)
    {
    }
}

/// <summary>
/// The faults in force on a simulator, changeable at runtime (Toxiproxy's toxics). Standing impairments (latency,
/// loss, bandwidth, delayed acks) apply to every matching packet or message while present; actions (drop, stall,
/// server error, end generation) act once per matching session; refusals turn away the next N connection attempts.
/// Thread-safe.
/// </summary>
public sealed class FaultSet
{
    private readonly object _lock = new();
    private readonly Dictionary<string, int> _refusalsLeft = new(StringComparer.Ordinal);
    private Fault[] _faults = [];
    private int _nextId;

    internal FaultSet()
    {
    }

    /// <summary>Raised (outside the lock) when a fault is added; sessions act on immediate actions.</summary>
    internal event Action<Fault>? Added;

    /// <summary>The faults in force (spent immediate actions and used-up refusals are gone).</summary>
    public IReadOnlyList<Fault> All => Volatile.Read(ref _faults);

    /// <summary>A snapshot for the hot path.</summary>
    internal Fault[] Snapshot => Volatile.Read(ref _faults);

    /// <summary>Adds a fault and returns it with its assigned <see cref="Fault.Id"/>.</summary>
    /// <param name="fault">The fault.</param>
    /// <returns>The stored fault.</returns>
    /// <exception cref="InvalidFaultException">When a parameter is invalid (the message names it).</exception>
    public Fault Add(Fault fault)
    {
        ArgumentNullException.ThrowIfNull(fault);
        if (fault.Validate() is { } problem)
        {
            throw new InvalidFaultException(problem);
        }

        Fault stored;
        lock (_lock)
        {
            stored = fault with { Id = "f" + (++_nextId).ToString(CultureInfo.InvariantCulture) };
            bool immediate = stored.IsAction && stored.AfterSeconds is null && stored.AfterFrames is null;
            if (!immediate)
            {
                _faults = [.. _faults, stored];
            }

            if (stored.Kind is Kinds.RefuseFault)
            {
                _refusalsLeft[stored.Id!] = stored.Count;
            }
        }

        Added?.Invoke(stored);
        return stored;
    }

    /// <summary>Removes a fault.</summary>
    /// <param name="id">Its id.</param>
    /// <returns>Whether it was present.</returns>
    public bool Remove(string id)
    {
        lock (_lock)
        {
            var kept = _faults.Where(f => f.Id != id).ToArray();
            bool removed = kept.Length != _faults.Length;
            _faults = kept;
            _refusalsLeft.Remove(id);
            return removed;
        }
    }

    /// <summary>Removes every fault.</summary>
    public void Clear()
    {
        lock (_lock)
        {
            _faults = [];
            _refusalsLeft.Clear();
        }
    }

    /// <summary>The faults that apply to one session.</summary>
    /// <param name="sessionId">The session.</param>
    /// <returns>Global faults and the session's own.</returns>
    public IReadOnlyList<Fault> For(string sessionId) => Snapshot.Where(f => f.SessionId is null || f.SessionId == sessionId).ToArray();

    /// <summary>Consumes one refusal, if any is pending.</summary>
    /// <param name="error">The error text to send.</param>
    /// <returns>Whether this connection attempt is refused.</returns>
    internal bool TryRefuse(out string error)
    {
        lock (_lock)
        {
            foreach (var fault in _faults)
            {
                if (fault.Kind?.RefusalError(fault) is not { } refusal || !_refusalsLeft.TryGetValue(fault.Id!, out int left))
                {
                    continue;
                }

                if (fault.Probability < 1 && Random.Shared.NextDouble() >= fault.Probability)
                {
                    continue;
                }

                error = refusal;
                if (left <= 1)
                {
                    _refusalsLeft.Remove(fault.Id!);
                    _faults = _faults.Where(f => f.Id != fault.Id).ToArray();
                }
                else
                {
                    _refusalsLeft[fault.Id!] = left - 1;
                }

                return true;
            }
        }

        error = string.Empty;
        return false;
    }

    /// <summary>Whether a fault applies to a session.</summary>
    internal static bool Matches(Fault fault, string sessionId) => fault.SessionId is null || fault.SessionId == sessionId;

    /// <summary>Whether a fault applies in a direction.</summary>
    internal static bool Matches(Fault fault, bool toClient) =>
        fault.Direction == FaultDirection.Both || (fault.Direction == FaultDirection.ToClient) == toClient;

    /// <summary>Draws the fault's probability.</summary>
    internal static bool Roll(Fault fault) => fault.Probability >= 1 || Random.Shared.NextDouble() < fault.Probability;

}
