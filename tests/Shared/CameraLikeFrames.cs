using System.Diagnostics;
using Decart.Sdk.Media;

namespace Decart.Testing;

/// <summary>
/// Camera-like frames for a <see cref="RawVideoSource"/>: a moving gradient with fine noise (what a real camera's
/// sensor gives an encoder to spend bits on, so the sender is not application-limited), at the given rate, paced by
/// wall time. Linked into the SDK tests and the load test.
/// </summary>
internal static class CameraLikeFrames
{
    /// <summary>Pushes frames until <paramref name="stop"/> fires.</summary>
    /// <param name="camera">The source to push into.</param>
    /// <param name="width">Frame width.</param>
    /// <param name="height">Frame height.</param>
    /// <param name="fps">Frames per second.</param>
    /// <param name="stop">Stops the feed.</param>
    /// <returns>A task that completes when stopped.</returns>
    public static async Task PushAsync(RawVideoSource camera, int width, int height, int fps, CancellationToken stop)
    {
        var random = new Random(42);
        var noise = new byte[width * height];
        random.NextBytes(noise);
        var interval = TimeSpan.FromSeconds(1.0 / fps);
        var clock = Stopwatch.StartNew();
        for (long n = 0; !stop.IsCancellationRequested; n++)
        {
            var frame = I420Frame.Rent(width, height);
            var y = frame.Y;
            int offset = random.Next(noise.Length);
            for (int p = 0; p < y.Length; p++)
            {
                y[p] = (byte)(((((p % width) + (p / width) + ((int)n * 4)) % 180) + 30 + (noise[(p + offset) % noise.Length] & 31)) & 0xFF);
            }

            frame.U.Fill(128);
            frame.V.Fill(120);
            frame.Timestamp = interval * n;
            try
            {
                await camera.PushAsync(frame, stop);
            }
            catch (OperationCanceledException)
            {
                frame.Dispose();
                return;
            }

            var due = (interval * (n + 1)) - clock.Elapsed;
            if (due > TimeSpan.Zero)
            {
                try
                {
                    await Task.Delay(due, stop);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }
}
