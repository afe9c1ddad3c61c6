namespace Decart.Sdk.Realtime;

/// <summary>
/// How the SDK retries a realtime connection: after an unexpected drop (and for transient failures of the
/// first connect). Defaults are those of Decart's reference client: 5 retries, exponential backoff starting at
/// 1 s with factor 2, capped at 10 s, no jitter. Permanent errors (<see cref="IsPermanent"/>) are never retried.
/// </summary>
public sealed record ReconnectPolicy
{
    /// <summary>The reference client's policy.</summary>
    public static ReconnectPolicy Default { get; } = new();

    /// <summary>No automatic reconnection: a drop goes straight to <see cref="ConnectionState.Disconnected"/>.</summary>
    public static ReconnectPolicy None { get; } = new() { MaxRetries = 0 };

    /// <summary>Retries after the first failed attempt. Default 5; 0 disables reconnecting.</summary>
    public int MaxRetries { get; init; } = 5;

    /// <summary>Delay before the first retry. Default 1 s.</summary>
    public TimeSpan InitialDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Each further delay is the previous one times this. Default 2.</summary>
    public double BackoffFactor { get; init; } = 2;

    /// <summary>No delay is longer than this. Default 10 s.</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The delay before retry number <paramref name="retry"/> (1-based).</summary>
    /// <param name="retry">Which retry: 1 for the first.</param>
    /// <returns><c>min(InitialDelay × BackoffFactor^(retry−1), MaxDelay)</c>.</returns>
    public TimeSpan DelayBefore(int retry)
    {
        double ticks = InitialDelay.Ticks * Math.Pow(BackoffFactor, Math.Max(0, retry - 1));
        return ticks >= MaxDelay.Ticks ? MaxDelay : TimeSpan.FromTicks((long)ticks);
    }

    /// <summary>
    /// Whether an error must not be retried: an invalid key, an unknown model, invalid options or input, or a
    /// server message containing one of the reference client's permanent phrases (<c>permission denied</c>,
    /// <c>not allowed</c>, <c>invalid session</c>, <c>401</c>, <c>invalid api key</c>, <c>unauthorized</c>).
    /// </summary>
    /// <param name="error">The failure.</param>
    /// <returns>True when retrying cannot help.</returns>
    public static bool IsPermanent(Exception error)
    {
        ArgumentNullException.ThrowIfNull(error);
        if (error is DecartException { Code: DecartErrorCode.InvalidApiKey or DecartErrorCode.ModelNotFound or DecartErrorCode.InvalidOptions or DecartErrorCode.InvalidInput or DecartErrorCode.InvalidBaseUrl })
        {
            return true;
        }

        var text = (error.Message + " " + (error as DecartException)?.ServerMessage).ToLowerInvariant();
        return PermanentPhrases.Any(p => text.Contains(p, StringComparison.Ordinal));
    }

    private static readonly string[] PermanentPhrases = ["permission denied", "not allowed", "invalid session", "401", "invalid api key", "unauthorized"];

    /// <summary>The loop that runs connection attempts under this policy.</summary>
    /// <param name="timeProvider">The clock for the delays (tests pass a fake one).</param>
    /// <param name="onRetry">Called before each retry with its number (1-based), its delay and the failure.</param>
    /// <returns>The loop.</returns>
    internal ReconnectLoop BuildLoop(TimeProvider timeProvider, Action<int, TimeSpan, Exception?>? onRetry)
    {
        Validate();
        return new ReconnectLoop(this, timeProvider, onRetry);
    }

    private static readonly TimeSpan MaxAllowedDelay = TimeSpan.FromDays(1);

    /// <summary>Checks the settings.</summary>
    /// <exception cref="DecartException"><see cref="DecartErrorCode.InvalidOptions"/> for negative counts or delays, delays over a day, or a factor below 1.</exception>
    public void Validate()
    {
        if (MaxRetries < 0 || InitialDelay < TimeSpan.Zero || MaxDelay < TimeSpan.Zero || InitialDelay > MaxAllowedDelay || MaxDelay > MaxAllowedDelay || BackoffFactor < 1 || double.IsNaN(BackoffFactor))
        {
            throw new DecartException(DecartErrorCode.InvalidOptions, $"reconnect policy is invalid: retries {MaxRetries}, initial delay {InitialDelay}, factor {BackoffFactor}, max delay {MaxDelay}.");
        }
    }
}

/// <summary>
/// Runs an attempt, and after a failure that is neither a cancellation nor permanent (<see cref="ReconnectPolicy.IsPermanent"/>)
/// waits <see cref="ReconnectPolicy.DelayBefore"/> and runs it again, at most <see cref="ReconnectPolicy.MaxRetries"/>
/// times; the last failure is rethrown as it was. (A plain loop: a resilience library's pipeline cost a cold process
/// ~30 ms of its first connect to build and first run.)
/// </summary>
internal sealed class ReconnectLoop(ReconnectPolicy policy, TimeProvider timeProvider, Action<int, TimeSpan, Exception?>? onRetry)
{
    /// <summary>Runs <paramref name="attempt"/> until it succeeds or may not be retried.</summary>
    /// <typeparam name="T">The attempt's result.</typeparam>
    /// <param name="attempt">One attempt; it gets <paramref name="cancellationToken"/>.</param>
    /// <param name="cancellationToken">Stops the loop, before an attempt or during a delay.</param>
    /// <returns>The first successful attempt's result.</returns>
    public async ValueTask<T> ExecuteAsync<T>(Func<CancellationToken, ValueTask<T>> attempt, CancellationToken cancellationToken = default)
    {
        for (int retry = 1; ; retry++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                return await attempt(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (retry <= policy.MaxRetries && ex is not OperationCanceledException && !ReconnectPolicy.IsPermanent(ex))
            {
                var delay = policy.DelayBefore(retry);
                onRetry?.Invoke(retry, delay, ex);
                await Task.Delay(delay, timeProvider, cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
