using System.Collections.Concurrent;

namespace Decart.Simulator.Rest;

/// <summary>
/// An in-memory store that cannot grow without bound: an entry is forgotten once its stamp is older than the retention,
/// and beyond the capacity the entries with the oldest stamps go first. Pruning runs every 64 additions, or at once
/// when the capacity is passed. Thread-safe.
/// </summary>
/// <typeparam name="T">The entry.</typeparam>
internal sealed class BoundedStore<T>(Func<T, DateTimeOffset> stamp, TimeProvider time, TimeSpan retention, int capacity)
{
    private readonly ConcurrentDictionary<string, T> _entries = new(StringComparer.Ordinal);
    private readonly object _pruneGate = new();
    private int _sincePrune;

    public TimeSpan Retention { get; } = retention;

    public int Capacity { get; } = Math.Max(1, capacity);

    public ICollection<T> Values => _entries.Values;

    public void Add(string key, T entry)
    {
        _entries[key] = entry;
        if (Interlocked.Increment(ref _sincePrune) >= 64 || _entries.Count > Capacity)
        {
            Prune();
        }
    }

    public bool TryGet(string key, out T entry) => _entries.TryGetValue(key, out entry!);

    /// <summary>Forgets entries stamped longer than the retention ago, then the oldest beyond the capacity.</summary>
    public void Prune()
    {
        lock (_pruneGate)
        {
            Interlocked.Exchange(ref _sincePrune, 0);
            var cutoff = time.GetUtcNow() - Retention;
            foreach (var (key, entry) in _entries)
            {
                if (stamp(entry) < cutoff)
                {
                    _entries.TryRemove(key, out _);
                }
            }

            int excess = _entries.Count - Capacity;
            if (excess > 0)
            {
                foreach (var (key, _) in _entries.OrderBy(e => stamp(e.Value)).Take(excess).ToArray())
                {
                    _entries.TryRemove(key, out _);
                }
            }
        }
    }
}
