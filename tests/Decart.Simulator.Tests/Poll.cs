namespace Decart.Simulator.Tests;

/// <summary>Waiting for what another thread or the network produces: polled, with a bound, never slept on.</summary>
internal static class Poll
{
    /// <summary>Polls <paramref name="condition"/> every 20 ms until it holds; fails the test after <paramref name="bound"/>.</summary>
    /// <param name="condition">What must come true.</param>
    /// <param name="what">Said in the failure.</param>
    /// <param name="bound">How long it may take.</param>
    /// <returns>A task that completes when it holds.</returns>
    public static async Task UntilAsync(Func<bool> condition, string what, TimeSpan bound)
    {
        var deadline = DateTime.UtcNow + bound;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(20);
        }
    }
}
