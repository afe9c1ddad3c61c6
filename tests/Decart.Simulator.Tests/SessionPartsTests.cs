using System.Text.Json;
using Decart.Simulator.Hosting;
using Decart.Simulator.Realtime;
using Microsoft.Extensions.Time.Testing;

namespace Decart.Simulator.Tests;

/// <summary>The session's parts on their own, on a fake clock where time matters.</summary>
public class SessionPartsTests
{
    [Fact]
    public async Task The_billing_clock_ticks_only_while_generating_and_ends_at_the_tokens_limit()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        long start = time.GetTimestamp();
        var clock = new BillingClock(time, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(8), start);
        bool generating = false;
        int checks = 0;
        var ticks = new List<double>();
        var limit = new TaskCompletionSource();
        using var stop = new CancellationTokenSource();
        var run = clock.RunAsync(() => generating, () => Interlocked.Increment(ref checks), t => { lock (ticks) { ticks.Add(t); } }, () => { limit.TrySetResult(); return Task.CompletedTask; }, stop.Token);

        await AdvanceUntilAsync(time, () => Volatile.Read(ref checks) >= 10, TimeSpan.FromSeconds(3));   // not generating: checks, no ticks
        Assert.Empty(ticks);
        generating = true;
        await AdvanceUntilAsync(time, () => { lock (ticks) { return ticks.Count >= 2; } }, TimeSpan.FromSeconds(5));
        Assert.Equal([1.0, 2.0], ticks);
        Assert.Equal(2, clock.Seconds);
        Assert.False(limit.Task.IsCompleted);
        await AdvanceUntilAsync(time, () => limit.Task.IsCompleted, TimeSpan.FromSeconds(10));
        Assert.True(time.GetElapsedTime(start) >= TimeSpan.FromSeconds(8), "not before the token's limit");
        await run.WaitAsync(TimeSpan.FromSeconds(5));                          // the clock stopped by itself
    }

    [Fact]
    public async Task State_versions_rate_limit_and_deferred_acks_follow_the_sessions_clock()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var state = new StateUpdates(new SimulatorOptions { TimeProvider = time, MaxUpdatesPerSecond = 3 });
        var applied = new List<int>();
        state.Applied += a => applied.Add(a.Version);

        // Bad input tried: a number as the prompt, an empty prompt, an image that is not base64, a GIF, a fourth update in the same second.
        Assert.Equal(0, state.ApplyPrompt(Json("""{"type":"prompt","prompt":5}""")).Version);
        Assert.Equal(0, state.ApplyPrompt(Json("""{"type":"prompt","prompt":""}""")).Version);
        Assert.Equal(0, state.ApplySetImage(Json("""{"type":"set_image","image_data":"%%%"}""")).Version);
        Assert.Equal(0, state.ApplySetImage(Json("""{"type":"set_image","image_data":"R0lGODlhAQABAAAAACw="}""")).Version);
        Assert.Equal(4, state.Rejected);
        Assert.Equal(1, state.ApplyPrompt(Json("""{"type":"prompt","prompt":"a"}""")).Version);
        Assert.Equal(2, state.ApplyPrompt(Json("""{"type":"prompt","prompt":"b"}""")).Version);
        Assert.Equal(3, state.ApplySetImage(Json("""{"type":"set_image","image_data":null,"prompt":"c"}""")).Version);
        var (ack, version) = state.ApplyPrompt(Json("""{"type":"prompt","prompt":"d"}"""));
        Assert.Equal(0, version);
        Assert.Contains("debounce", ack["error"]!.GetValue<string>(), StringComparison.Ordinal);
        time.Advance(TimeSpan.FromSeconds(1.1));                                // the window moved on: accepted again
        Assert.Equal(4, state.ApplyPrompt(Json("""{"type":"prompt","prompt":"d"}""")).Version);
        Assert.Equal([1, 2, 3, 4], applied);
        Assert.Equal(("d", 4), (state.Render.Prompt, state.Render.Version));

        // Deferred acks go out with the first frame of their version, or after the limit on the session's clock.
        state.Defer(ack, 5);
        state.Defer(ack, 6);
        Assert.Null(state.TakeDueAcks(4));
        Assert.Single(state.TakeDueAcks(5)!);
        time.Advance(StateUpdates.AckWaitLimit);
        Assert.Single(state.TakeDueAcks(0)!);
        Assert.Null(state.TakeDueAcks(100));
        await Task.CompletedTask;
    }

    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement;

    private static async Task AdvanceUntilAsync(FakeTimeProvider time, Func<bool> done, TimeSpan most)
    {
        // In 50 ms steps, letting the clock's loop run between them, until the condition holds (or fake time runs out).
        for (var spent = TimeSpan.Zero; !done(); spent += TimeSpan.FromMilliseconds(50))
        {
            Assert.True(spent < most, $"not done after {most.TotalSeconds} s of fake time");
            time.Advance(TimeSpan.FromMilliseconds(50));
            await Task.Delay(5);
        }
    }
}
