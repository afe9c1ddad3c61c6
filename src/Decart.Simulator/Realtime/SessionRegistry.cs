using System.Collections;
using System.Collections.Concurrent;

namespace Decart.Simulator.Realtime;

/// <summary>
/// The simulator's realtime sessions: the open ones and the last ended ones (kept for inspection), with events and
/// awaitable waits so tests never sleep. Enumerating yields every listed session, oldest first.
/// </summary>
public sealed class SessionRegistry : IReadOnlyCollection<SimulatedSession>
{
    private readonly ConcurrentDictionary<string, SimulatedSession> _open = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<SimulatedSession> _ended = new();
    private readonly int _keepEnded;
    private readonly object _waitLock = new();
    private readonly List<(Func<SimulatedSession, bool> Match, TaskCompletionSource<SimulatedSession> Done)> _waiters = [];
    private long _started;

    internal SessionRegistry(int keepEnded) => _keepEnded = Math.Max(0, keepEnded);

    /// <summary>A session was accepted (its WebSocket is open and the key and model passed).</summary>
    public event Action<SimulatedSession>? SessionStarted;

    /// <summary>A session ended.</summary>
    public event Action<SimulatedSession>? SessionEnded;

    /// <summary>A session applied and acknowledged a state (prompt, image, or both).</summary>
    public event Action<SimulatedSession, AppliedState>? StateApplied;

    /// <summary>Open sessions.</summary>
    public IReadOnlyList<SimulatedSession> Open => _open.Values.OrderBy(s => s.StartedAt).ToArray();

    /// <summary>Sessions accepted since start.</summary>
    public long TotalStarted => Interlocked.Read(ref _started);

    /// <summary>Connection attempts refused (bad key, unknown model, refuse faults, …) since start.</summary>
    public long TotalRefused => Interlocked.Read(ref _refused);

    private long _refused;

    /// <inheritdoc />
    public int Count => _open.Count + _ended.Count;

    /// <summary>Finds a session (open or recently ended).</summary>
    /// <param name="id">Its id.</param>
    /// <returns>The session or null.</returns>
    public SimulatedSession? Find(string id) =>
        _open.TryGetValue(id, out var s) ? s : _ended.FirstOrDefault(e => e.Id == id);

    /// <summary>Waits for a session matching a condition: one already listed, or the next to start.</summary>
    /// <param name="match">The condition (null: any session).</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The session.</returns>
    public Task<SimulatedSession> WaitForSessionAsync(Func<SimulatedSession, bool>? match = null, CancellationToken cancellationToken = default)
    {
        match ??= _ => true;
        lock (_waitLock)
        {
            var existing = this.FirstOrDefault(match);
            if (existing is not null)
            {
                return Task.FromResult(existing);
            }

            return Register(match, cancellationToken);
        }
    }

    /// <summary>Waits for the next session to start (ignoring those already listed).</summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The session.</returns>
    public Task<SimulatedSession> NextSessionAsync(CancellationToken cancellationToken = default)
    {
        lock (_waitLock)
        {
            var known = new HashSet<string>(this.Select(s => s.Id), StringComparer.Ordinal);
            return Register(s => !known.Contains(s.Id), cancellationToken);
        }
    }

    /// <inheritdoc />
    public IEnumerator<SimulatedSession> GetEnumerator() => _ended.Concat(_open.Values.OrderBy(s => s.StartedAt)).ToList().GetEnumerator();

    /// <inheritdoc />
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    internal void OnStarted(SimulatedSession session)
    {
        _open[session.Id] = session;
        Interlocked.Increment(ref _started);
        List<TaskCompletionSource<SimulatedSession>> done = [];
        lock (_waitLock)
        {
            for (int i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Match(session))
                {
                    done.Add(_waiters[i].Done);
                    _waiters.RemoveAt(i);
                }
            }
        }

        SessionStarted?.Invoke(session);
        foreach (var tcs in done)
        {
            tcs.TrySetResult(session);
        }
    }

    internal void OnRefused() => Interlocked.Increment(ref _refused);

    internal void OnEnded(SimulatedSession session)
    {
        if (_open.TryRemove(session.Id, out _))
        {
            _ended.Enqueue(session);
            while (_ended.Count > _keepEnded && _ended.TryDequeue(out _))
            {
            }
        }

        SessionEnded?.Invoke(session);
    }

    internal void OnStateApplied(SimulatedSession session, AppliedState state) => StateApplied?.Invoke(session, state);

    private Task<SimulatedSession> Register(Func<SimulatedSession, bool> match, CancellationToken cancellationToken)
    {
        var tcs = new TaskCompletionSource<SimulatedSession>(TaskCreationOptions.RunContinuationsAsynchronously);
        var entry = (match, tcs);
        _waiters.Add(entry);
        if (cancellationToken.CanBeCanceled)
        {
            var registration = cancellationToken.Register(() =>
            {
                lock (_waitLock)
                {
                    _waiters.Remove(entry);
                }

                tcs.TrySetCanceled(cancellationToken);
            });
            tcs.Task.ContinueWith(_ => registration.Dispose(), TaskScheduler.Default);
        }

        return tcs.Task;
    }
}
