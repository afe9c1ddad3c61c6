namespace Decart.Simulator.Realtime;

/// <summary>
/// The model's capacity: at most <see cref="Capacity"/> sessions generate at once (null: unlimited). A session past it
/// waits its turn, first come first served, and is told its place each time it changes; a slot frees when a session
/// holding one ends, and a waiting session that ends leaves the queue. A DI singleton.
/// </summary>
internal sealed class SessionSlots
{
    private readonly object _lock = new();
    private readonly HashSet<SimulatedSession> _holders = [];
    private readonly LinkedList<Waiter> _queue = new();
    private int? _capacity;

    public SessionSlots(int? capacity) => _capacity = Normalize(capacity);

    /// <summary>Sessions that may generate at once; null: unlimited. Changing it admits waiters at once when it grows.</summary>
    public int? Capacity
    {
        get
        {
            lock (_lock)
            {
                return _capacity;
            }
        }

        set
        {
            List<Action> notices;
            lock (_lock)
            {
                _capacity = Normalize(value);
                notices = AdmitLocked();
            }

            Run(notices);
        }
    }

    /// <summary>Sessions holding a slot.</summary>
    public int InUse
    {
        get
        {
            lock (_lock)
            {
                return _holders.Count;
            }
        }
    }

    /// <summary>Sessions waiting for one.</summary>
    public int Waiting
    {
        get
        {
            lock (_lock)
            {
                return _queue.Count;
            }
        }
    }

    /// <summary>The session's place in the queue (1 = next), or null when it is not waiting.</summary>
    /// <param name="session">The session.</param>
    /// <returns>Its place.</returns>
    public int? PositionOf(SimulatedSession session)
    {
        lock (_lock)
        {
            int position = 1;
            for (var node = _queue.First; node is not null; node = node.Next, position++)
            {
                if (node.Value.Session == session)
                {
                    return position;
                }
            }

            return null;
        }
    }

    /// <summary>
    /// Takes a slot for <paramref name="session"/>: at once when one is free (or it holds one already), else after
    /// waiting its turn. <paramref name="onPosition"/> is called with (position, queue size) when it starts waiting and
    /// each time either changes — never under the lock, never after the slot is granted.
    /// </summary>
    /// <param name="session">The session.</param>
    /// <param name="onPosition">Told the place while waiting.</param>
    /// <param name="cancellationToken">The session's life: cancelling leaves the queue.</param>
    /// <returns>A task that completes when the session holds a slot.</returns>
    public async Task AcquireAsync(SimulatedSession session, Action<int, int>? onPosition, CancellationToken cancellationToken)
    {
        Waiter waiter;
        List<Action> notices;
        lock (_lock)
        {
            // A session that is ending (its life cancelled before it releases) must not take a slot nobody would free.
            cancellationToken.ThrowIfCancellationRequested();
            if (_holders.Contains(session) || (_queue.Count == 0 && HasRoomLocked()))
            {
                _holders.Add(session);
                return;
            }

            waiter = new Waiter(session, onPosition);
            _queue.AddLast(waiter);
            notices = PositionsLocked();
        }

        Run(notices);
        using (cancellationToken.Register(() => Leave(waiter)))
        {
            await waiter.Granted.Task.ConfigureAwait(false);
        }
    }

    /// <summary>The session ended: its slot (or its place in the queue) goes to the next.</summary>
    /// <param name="session">The session.</param>
    public void Release(SimulatedSession session)
    {
        List<Action> notices;
        lock (_lock)
        {
            if (!_holders.Remove(session))
            {
                var node = Find(session);
                if (node is null)
                {
                    return;
                }

                _queue.Remove(node);
                node.Value.Granted.TrySetCanceled();
            }

            notices = AdmitLocked();
            notices.AddRange(PositionsLocked());
        }

        Run(notices);
    }

    private static int? Normalize(int? capacity) => capacity is null ? null : Math.Max(0, capacity.Value);

    private static void Run(List<Action> notices)
    {
        foreach (var notice in notices)
        {
            notice();
        }
    }

    private void Leave(Waiter waiter)
    {
        List<Action> notices;
        lock (_lock)
        {
            var node = _queue.Find(waiter);
            if (node is null)
            {
                return;
            }

            _queue.Remove(node);
            notices = PositionsLocked();
        }

        waiter.Granted.TrySetCanceled();
        Run(notices);
    }

    private bool HasRoomLocked() => _capacity is not { } capacity || _holders.Count < capacity;

    private LinkedListNode<Waiter>? Find(SimulatedSession session)
    {
        for (var node = _queue.First; node is not null; node = node.Next)
        {
            if (node.Value.Session == session)
            {
                return node;
            }
        }

        return null;
    }

    /// <summary>Grants slots to the head of the queue while there is room; the notices tell the rest their new places.</summary>
    private List<Action> AdmitLocked()
    {
        bool moved = false;
        var notices = new List<Action>();
        while (_queue.First is { } head && HasRoomLocked())
        {
            _queue.RemoveFirst();
            _holders.Add(head.Value.Session);
            var waiter = head.Value;
            notices.Add(() =>
            {
                lock (waiter.Gate)
                {
                    waiter.Granted.TrySetResult(); // after any place notice already being sent, never before it
                }
            });
            moved = true;
        }

        if (moved)
        {
            notices.AddRange(PositionsLocked());
        }

        return notices;
    }

    private List<Action> PositionsLocked()
    {
        var notices = new List<Action>(_queue.Count);
        int size = _queue.Count;
        int position = 1;
        for (var node = _queue.First; node is not null; node = node.Next, position++)
        {
            var waiter = node.Value;
            if (waiter.OnPosition is { } tell && (waiter.LastPosition, waiter.LastSize) != (position, size))
            {
                (waiter.LastPosition, waiter.LastSize) = (position, size);
                int at = position;
                notices.Add(() =>
                {
                    // Notices run outside the lock: one computed before a later change (or before the grant) is stale
                    // by the time it runs, and a stale place after livekit_room_info would confuse the client.
                    lock (waiter.Gate)
                    {
                        if (!waiter.Granted.Task.IsCompleted && (waiter.LastPosition, waiter.LastSize) == (at, size))
                        {
                            tell(at, size);
                        }
                    }
                });
            }
        }

        return notices;
    }

    private sealed class Waiter(SimulatedSession session, Action<int, int>? onPosition)
    {
        public SimulatedSession Session { get; } = session;

        public Action<int, int>? OnPosition { get; } = onPosition;

        public TaskCompletionSource Granted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int LastPosition { get; set; }

        public int LastSize { get; set; }

        /// <summary>Serializes this waiter's notices.</summary>
        public object Gate { get; } = new();
    }
}
