using Decart.Sdk.Media;
using Microsoft.Extensions.Time.Testing;

namespace Decart.Sdk.Tests.Media;

public class IvfFileSourceTests
{
    private static string Clip(string name)
    {
        return Path.Combine(Decart.Testing.RepositoryPaths.Root, "assets", "clips", name);
    }

    [Fact]
    public async Task Loops_the_clip_with_increasing_timestamps_paced_by_the_clock()
    {
        var time = new FakeTimeProvider();
        await using var source = await IvfFileSource.OpenAsync(Clip("pattern-1088x624-30fps.ivf"), fps: 30, loop: true, timeProvider: time);
        Assert.Equal(new VideoFormat(1088, 624, 30), source.Format);

        var frames = new List<EncodedVideoFrame>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var reading = Task.Run(async () =>
        {
            await foreach (var frame in source.ReadFramesAsync(cts.Token))
            {
                lock (frames)
                {
                    frames.Add(frame with { Data = frame.Data.ToArray() });
                    if (frames.Count == 95)
                    {
                        break;
                    }
                }
            }
        });

        // Nothing beyond the first frame arrives until the fake clock moves. Wait for that first frame (a loaded
        // machine may take a while to schedule the reader), then give a second one the chance to slip through.
        for (int i = 0; i < 1000 && frames.Count == 0; i++)
        {
            await Task.Delay(10);
        }

        await Task.Delay(200);
        lock (frames)
        {
            Assert.Single(frames);
        }

        while (!reading.IsCompleted)
        {
            time.Advance(TimeSpan.FromMilliseconds(34));
            await Task.Delay(1);
        }

        await reading;
        Assert.Equal(95, frames.Count);
        Assert.True(frames[0].IsKeyframe);
        Assert.True(frames[90].IsKeyframe, "the loop restarts on the clip's keyframe");
        Assert.Equal(TimeSpan.FromSeconds(3), frames[90].Timestamp);
        Assert.All(frames.Zip(frames.Skip(1)), p => Assert.True(p.Second.Timestamp > p.First.Timestamp));
        Assert.Equal(frames[0].Data.ToArray(), frames[90].Data.ToArray());
    }

    [Fact]
    public async Task Non_vp8_and_missing_files_are_InvalidInput()
    {
        var h264Ivf = Path.GetTempFileName();
        await using (var w = IvfWriter.Create(h264Ivf, new IvfHeader("H264", 64, 64, 30, 1, 0)))
        {
            await w.WriteFrameAsync(new byte[] { 0, 0, 0, 1, 0x67 }, 0);
        }

        try
        {
            Assert.Equal(DecartErrorCode.InvalidInput, (await Assert.ThrowsAsync<DecartException>(() => IvfFileSource.OpenAsync(h264Ivf))).Code);
            Assert.Equal(DecartErrorCode.InvalidInput, (await Assert.ThrowsAsync<DecartException>(() => IvfFileSource.OpenAsync("/nonexistent.ivf"))).Code);
        }
        finally
        {
            File.Delete(h264Ivf);
        }
    }
}
