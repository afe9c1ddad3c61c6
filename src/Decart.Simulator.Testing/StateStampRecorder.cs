using Decart.Sdk.Media;
using Decart.Sdk.Testing;

namespace Decart.Simulator.Testing;

/// <summary>
/// A decoded-frame sink (<c>RealtimeConnectOptions.DecodedSink</c>) that reads the state stamp the simulator's model
/// draws on each frame, so a test can wait until the model shows what <c>SetAsync</c> sent: every accepted prompt or
/// image raises the session's state version, and each frame carries the version it was made with.
/// </summary>
/// <remarks>Keeps only counters and the latest stamp, whatever the stream's length; frames are disposed after reading,
/// or handed to <see cref="Next"/>.</remarks>
public sealed class StateStampRecorder : IVideoSink
{
    private readonly object _lock = new();
    private readonly List<(int Version, TaskCompletionSource<StateStamp> Done)> _waiters = [];
    private StateStamp? _latest;
    private long _stamped;
    private long _unstamped;

    /// <summary>Another sink that gets every frame after it was read (it then owns and disposes them).</summary>
    public IVideoSink? Next { get; init; }

    /// <summary>The stamp of the latest frame that had one.</summary>
    public StateStamp? Latest
    {
        get
        {
            lock (_lock)
            {
                return _latest;
            }
        }
    }

    /// <summary>Frames whose stamp was read.</summary>
    public long StampedFrames => Interlocked.Read(ref _stamped);

    /// <summary>Frames without a readable stamp (the echo model mode, a frame too small, a damaged frame).</summary>
    public long UnstampedFrames => Interlocked.Read(ref _unstamped);

    /// <inheritdoc />
    public void OnFrame(I420Frame frame)
    {
        ArgumentNullException.ThrowIfNull(frame);
        if (StateStamp.TryRead(frame, out var stamp))
        {
            Interlocked.Increment(ref _stamped);
            List<TaskCompletionSource<StateStamp>>? done = null;
            lock (_lock)
            {
                _latest = stamp;
                for (int i = _waiters.Count - 1; i >= 0; i--)
                {
                    if (stamp.Version >= _waiters[i].Version)
                    {
                        (done ??= []).Add(_waiters[i].Done);
                        _waiters.RemoveAt(i);
                    }
                }
            }

            if (done is not null)
            {
                foreach (var waiter in done)
                {
                    waiter.TrySetResult(stamp);
                }
            }
        }
        else
        {
            Interlocked.Increment(ref _unstamped);
        }

        if (Next is { } next)
        {
            next.OnFrame(frame);
        }
        else
        {
            frame.Dispose();
        }
    }

    /// <summary>Waits for a frame made with at least this state version (the session's <c>StateVersion</c> after a change).</summary>
    /// <param name="version">The version to wait for.</param>
    /// <param name="timeout">How long to wait. Default 30 s.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The stamp of the first such frame.</returns>
    /// <exception cref="TimeoutException">No such frame came in time; the message says which version the frames showed.</exception>
    public async Task<StateStamp> WaitForVersionAsync(int version, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var done = new TaskCompletionSource<StateStamp>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            if (_latest is { } latest && latest.Version >= version)
            {
                return latest;
            }

            _waiters.Add((version, done));
        }

        var limit = timeout ?? TimeSpan.FromSeconds(30);
        try
        {
            return await done.Task.WaitAsync(limit, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"No frame showed state version {version} within {limit.TotalSeconds:0.#} s (latest: {(Latest is { } l ? l.Version.ToString(System.Globalization.CultureInfo.InvariantCulture) : "none")}, {StampedFrames} stamped and {UnstampedFrames} unstamped frames).");
        }
        finally
        {
            lock (_lock)
            {
                _waiters.RemoveAll(w => w.Done == done);
            }
        }
    }
}
