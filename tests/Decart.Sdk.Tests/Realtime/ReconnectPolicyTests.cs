using Decart.Sdk.Realtime;
using Microsoft.Extensions.Time.Testing;

namespace Decart.Sdk.Tests.Realtime;

public class ReconnectPolicyTests
{
    [Fact]
    public void Default_schedule_is_the_reference_clients()
    {
        var p = ReconnectPolicy.Default;
        Assert.Equal(5, p.MaxRetries);
        Assert.Equal(
            [1, 2, 4, 8, 10, 10],
            Enumerable.Range(1, 6).Select(i => p.DelayBefore(i).TotalSeconds).ToArray());
    }

    [Fact]
    public async Task Transient_failures_are_retried_exactly_MaxRetries_times_on_the_backoff_schedule()
    {
        var time = new FakeTimeProvider();
        var retries = new List<(int Retry, TimeSpan Delay)>();
        var loop = ReconnectPolicy.Default.BuildLoop(time, (n, d, _) => { lock (retries) { retries.Add((n, d)); } });
        int attempts = 0;
        var attemptTimes = new List<DateTimeOffset>();
        var run = loop.ExecuteAsync<bool>(_ =>
        {
            attempts++;
            attemptTimes.Add(time.GetUtcNow());
            throw new DecartException(DecartErrorCode.WebRtcError, "connection reset");
        }).AsTask();

        while (!run.IsCompleted)
        {
            time.Advance(TimeSpan.FromMilliseconds(250));
            await Task.Delay(1);
        }

        var ex = await Assert.ThrowsAsync<DecartException>(() => run);
        Assert.Equal(DecartErrorCode.WebRtcError, ex.Code);
        Assert.Equal(6, attempts);
        Assert.Equal([(1, TimeSpan.FromSeconds(1)), (2, TimeSpan.FromSeconds(2)), (3, TimeSpan.FromSeconds(4)), (4, TimeSpan.FromSeconds(8)), (5, TimeSpan.FromSeconds(10))], retries);
        var gaps = attemptTimes.Zip(attemptTimes.Skip(1), (a, b) => (b - a).TotalSeconds).ToArray();
        Assert.Equal([1, 2, 4, 8, 10], gaps.Select(g => Math.Round(g * 4) / 4).ToArray()); // fake clock advances in 250 ms steps
    }

    [Theory]
    [InlineData("Invalid API key")]
    [InlineData("permission denied for model")]
    [InlineData("HTTP 401")]
    [InlineData("Unauthorized")]
    [InlineData("invalid session")]
    [InlineData("origin not allowed")]
    public async Task Permanent_errors_are_not_retried(string message)
    {
        var loop = ReconnectPolicy.Default.BuildLoop(new FakeTimeProvider(), null);
        int attempts = 0;
        await Assert.ThrowsAsync<DecartException>(() => loop.ExecuteAsync<bool>(_ =>
        {
            attempts++;
            throw new DecartException(DecartErrorCode.WebRtcError, message);
        }).AsTask());
        Assert.Equal(1, attempts);
    }

    [Theory]
    [InlineData(DecartErrorCode.InvalidApiKey, true)]
    [InlineData(DecartErrorCode.ModelNotFound, true)]
    [InlineData(DecartErrorCode.InvalidOptions, true)]
    [InlineData(DecartErrorCode.WebRtcError, false)]
    [InlineData(DecartErrorCode.ProcessingError, false)]
    public void Permanence_by_code(DecartErrorCode code, bool permanent) =>
        Assert.Equal(permanent, ReconnectPolicy.IsPermanent(new DecartException(code, "x")));

    [Fact]
    public async Task None_policy_makes_one_attempt()
    {
        int attempts = 0;
        await Assert.ThrowsAsync<DecartException>(() => ReconnectPolicy.None.BuildLoop(TimeProvider.System, null).ExecuteAsync<bool>(_ =>
        {
            attempts++;
            throw new DecartException(DecartErrorCode.WebRtcError, "drop");
        }).AsTask());
        Assert.Equal(1, attempts);
    }

    [Fact]
    public async Task A_cancel_during_the_backoff_ends_the_loop_without_another_attempt_and_a_canceled_attempt_is_not_retried()
    {
        var time = new FakeTimeProvider();
        using var cancel = new CancellationTokenSource();
        int attempts = 0;
        var run = ReconnectPolicy.Default.BuildLoop(time, (_, _, _) => cancel.Cancel()).ExecuteAsync<bool>(_ =>
        {
            attempts++;
            throw new DecartException(DecartErrorCode.WebRtcError, "connection reset");
        }, cancel.Token).AsTask();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(1, attempts);

        attempts = 0;
        await Assert.ThrowsAsync<OperationCanceledException>(() => ReconnectPolicy.Default.BuildLoop(time, null).ExecuteAsync<bool>(_ =>
        {
            attempts++;
            throw new OperationCanceledException("the attempt's own timeout");
        }).AsTask());
        Assert.Equal(1, attempts);
    }

    [Fact]
    public async Task The_first_success_is_returned_after_transient_failures()
    {
        var time = new FakeTimeProvider();
        int attempts = 0;
        var run = ReconnectPolicy.Default.BuildLoop(time, null).ExecuteAsync<int>(_ =>
            ++attempts < 3 ? throw new DecartException(DecartErrorCode.WebRtcError, "drop") : ValueTask.FromResult(attempts)).AsTask();
        while (!run.IsCompleted)
        {
            time.Advance(TimeSpan.FromMilliseconds(250));
            await Task.Delay(1);
        }

        Assert.Equal(3, await run);
    }

    [Fact]
    public void Invalid_policies_are_InvalidOptions()
    {
        Assert.Equal(DecartErrorCode.InvalidOptions, Assert.Throws<DecartException>(() => new ReconnectPolicy { MaxRetries = -1 }.Validate()).Code);
        Assert.Equal(DecartErrorCode.InvalidOptions, Assert.Throws<DecartException>(() => new ReconnectPolicy { BackoffFactor = 0.5 }.Validate()).Code);
        Assert.Equal(DecartErrorCode.InvalidOptions, Assert.Throws<DecartException>(() => new ReconnectPolicy { InitialDelay = TimeSpan.FromSeconds(-1) }.Validate()).Code);
        Assert.Equal(DecartErrorCode.InvalidOptions, Assert.Throws<DecartException>(() => new ReconnectPolicy { MaxDelay = TimeSpan.FromDays(60) }.Validate()).Code); // a timer cannot wait that long
    }
}
