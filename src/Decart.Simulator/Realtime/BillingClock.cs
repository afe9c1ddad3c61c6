namespace Decart.Simulator.Realtime;

/// <summary>
/// A session's clock, on the simulator's <see cref="TimeProvider"/>: every 100 ms it runs the session's periodic
/// checks, ends the session at a token's <c>maxSessionDuration</c>, and while generating sends
/// <c>generation_tick</c> every tick interval with the seconds billed so far.
/// </summary>
internal sealed class BillingClock(TimeProvider time, TimeSpan tickEvery, TimeSpan? maxSessionDuration, long startTimestamp)
{
    private static readonly TimeSpan Check = TimeSpan.FromMilliseconds(100);
    private long _seconds;

    /// <summary>Seconds of generation billed so far.</summary>
    public long Seconds => Interlocked.Read(ref _seconds);

    /// <summary>Runs until cancelled or the session's time is up.</summary>
    /// <param name="generating">Whether the model is generating now.</param>
    /// <param name="onCheck">Run on every check (timed faults, overdue acks).</param>
    /// <param name="onTick">A tick, with the seconds (fractions when a test ticks faster than once a second).</param>
    /// <param name="onTimeLimit">The token's session duration is reached; the clock stops.</param>
    /// <param name="stop">Stops the clock.</param>
    public async Task RunAsync(Func<bool> generating, Action onCheck, Action<double> onTick, Func<Task> onTimeLimit, CancellationToken stop)
    {
        long nextTick = 0;
        long generatingSince = -1;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                await Task.Delay(Check, time, stop).ConfigureAwait(false);
                long now = time.GetTimestamp();
                onCheck();
                if (maxSessionDuration is { } max && time.GetElapsedTime(startTimestamp, now) >= max)
                {
                    await onTimeLimit().ConfigureAwait(false);
                    return;
                }

                if (!generating())
                {
                    continue;
                }

                if (generatingSince < 0)
                {
                    generatingSince = now;
                    nextTick = 1;
                }

                if (time.GetElapsedTime(generatingSince, now) >= tickEvery * nextTick)
                {
                    double seconds = Math.Round((tickEvery * nextTick).TotalSeconds, 3);
                    Interlocked.Exchange(ref _seconds, (long)seconds);
                    nextTick++;
                    onTick(seconds);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
