using System.Diagnostics;
using System.Globalization;
using Decart.Sdk.Media;
using Decart.Sdk.Media.Ffmpeg;
using Decart.Sdk.Models;
using Decart.Sdk.Realtime;
using Decart.Simulator.Testing;

namespace Decart.Sdk.Tests.Media;

/// <summary>
/// FfmpegVideoSource and FfmpegVideoSink with Debian's ffmpeg, on files made by ffmpeg's own test sources. Bad input
/// tried: a file that does not exist, a file that is not video, a missing ffmpeg, an output path that cannot be written,
/// frames of another size, a recording with no frame.
/// </summary>
public sealed class FfmpegTests(DecartSimulatorFixture sim) : IClassFixture<DecartSimulatorFixture>, IDisposable
{
    private static readonly VideoFormat Lucy = new(RealtimeModels.Lucy21.Width, RealtimeModels.Lucy21.Height, RealtimeModels.Lucy21.Fps);
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("ffmpeg-tests");

    public void Dispose() => _dir.Delete(recursive: true);

    private string PathOf(string name) => Path.Combine(_dir.FullName, name);

    /// <summary>Runs ffmpeg or ffprobe to completion and returns its standard output.</summary>
    private static async Task<string> RunAsync(string program, params string[] args)
    {
        var (code, output, error) = await Decart.Testing.ChildProcess.RunAsync(program, args, TimeSpan.FromSeconds(60));
        Assert.True(code == 0, $"{program} {string.Join(' ', args)}: {error}");
        return output;
    }

    /// <summary>Frames, width and height of a file's video stream, as ffprobe counts them.</summary>
    private static async Task<(int Frames, int Width, int Height)> ProbeAsync(string file)
    {
        var text = (await RunAsync("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries", "stream=nb_read_frames,width,height", "-of", "csv=p=0", file)).Trim();
        var parts = text.Split(',');   // width,height,nb_read_frames
        return (int.Parse(parts[2], CultureInfo.InvariantCulture), int.Parse(parts[0], CultureInfo.InvariantCulture), int.Parse(parts[1], CultureInfo.InvariantCulture));
    }

    private static async Task<List<EncodedVideoFrame>> ReadAllAsync(IVideoSource source, int max = int.MaxValue)
    {
        var frames = new List<EncodedVideoFrame>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await foreach (var frame in source.ReadFramesAsync(timeout.Token))
        {
            frames.Add(frame with { Data = frame.Data.ToArray() });
            if (frames.Count >= max)
            {
                break;
            }
        }

        return frames;
    }

    private static double MeanY(I420Frame frame, int x0, int x1)
    {
        long sum = 0, n = 0;
        for (int y = frame.Height / 4; y < frame.Height * 3 / 4; y++)
        {
            for (int x = x0; x < x1; x++)
            {
                sum += frame.Y[(y * frame.StrideY) + x];
                n++;
            }
        }

        return sum / (double)n;
    }

    [Fact]
    public async Task A_4_by_3_file_is_decoded_at_the_models_size_and_fps_and_padded_with_black_bars()
    {
        // 2 s of a white 480x360 picture at 25 fps: at 1088x624 it is 832 wide, so 128 px of black on each side.
        string clip = PathOf("white-4x3.mp4");
        await RunAsync("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "color=c=white:s=480x360:r=25:d=2", "-c:v", "libx264", "-pix_fmt", "yuv420p", clip);

        await using var source = await FfmpegVideoSource.OpenAsync(clip, Lucy, new FfmpegSourceOptions { Realtime = false });
        var frames = await ReadAllAsync(source);

        Assert.InRange(frames.Count, 58, 62);                          // 2 s at the model's 30 fps, not the file's 25
        Assert.InRange(source.FramesRead, 58, 62);
        Assert.True(frames[0].IsKeyframe);
        Assert.Null(source.Error);
        Assert.Equal(TimeSpan.FromSeconds(1), frames[30].Timestamp);
        using var last = source.CopyLastSentFrame();
        Assert.NotNull(last);
        Assert.Equal((Lucy.Width, Lucy.Height), (last.Width, last.Height));
        Assert.InRange(MeanY(last, 0, 120), 0, 24);                    // the bars: black (Y 16)
        Assert.InRange(MeanY(last, Lucy.Width - 120, Lucy.Width), 0, 24);
        Assert.InRange(MeanY(last, 400, 680), 220, 255);               // the picture: white (Y 235)
    }

    [Fact]
    public async Task Crop_fills_the_frame_and_mirror_flips_it_before_encoding()
    {
        // Left half white, right half black; cropped to the model's shape there are no bars, and mirrored it swaps.
        string clip = PathOf("halves.mp4");
        await RunAsync("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "color=c=black:s=640x480:r=30:d=1", "-vf", "drawbox=x=0:y=0:w=320:h=480:color=white:t=fill", "-c:v", "libx264", "-pix_fmt", "yuv420p", clip);

        await using var source = await FfmpegVideoSource.OpenAsync(clip, Lucy, new FfmpegSourceOptions { Fit = FfmpegFit.Crop, Realtime = false });
        source.Mirror = true;
        var frames = await ReadAllAsync(source);
        Assert.InRange(frames.Count, 28, 32);
        using var last = source.CopyLastSentFrame();
        Assert.NotNull(last);
        Assert.InRange(MeanY(last, 0, 100), 0, 24);                    // the white half is now on the right
        Assert.InRange(MeanY(last, Lucy.Width - 100, Lucy.Width), 220, 255);
    }

    [Fact]
    public async Task A_lavfi_graph_is_an_input_too_and_looping_outlasts_the_file()
    {
        await using (var lavfi = await FfmpegVideoSource.OpenAsync("testsrc2=size=320x240:rate=30", Lucy, new FfmpegSourceOptions { InputFormat = "lavfi", Realtime = false }))
        {
            Assert.Equal(45, (await ReadAllAsync(lavfi, max: 45)).Count);
        }

        string clip = PathOf("short.webm");
        await RunAsync("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=320x240:r=30:d=0.5", "-c:v", "libvpx", clip);
        await using var looped = await FfmpegVideoSource.OpenAsync(clip, Lucy, new FfmpegSourceOptions { Loop = true, Realtime = false });
        Assert.Equal(50, (await ReadAllAsync(looped, max: 50)).Count);   // three times the file's 15 frames and more
    }

    [Fact]
    public async Task A_reader_that_stops_leaves_the_input_where_it_was_for_the_next_one()
    {
        // As ReplaceSourceAsync does when it moves to another camera and back: read, stop, read again.
        await using var source = await FfmpegVideoSource.OpenAsync("testsrc2=size=320x240:rate=30", Lucy, new FfmpegSourceOptions { InputFormat = "lavfi", Realtime = false });
        var first = await ReadAllAsync(source, max: 20);
        var second = await ReadAllAsync(source, max: 20);
        Assert.Equal(20, first.Count);
        Assert.Equal(20, second.Count);
        Assert.True(second[0].Timestamp > first[^1].Timestamp, $"{second[0].Timestamp} after {first[^1].Timestamp}");
        Assert.True(second.Zip(second.Skip(1)).All(p => p.Second.Timestamp > p.First.Timestamp));
        using var picture = source.CopyLastSentFrame();
        Assert.NotNull(picture);
        Assert.InRange(MeanY(picture, 0, 100), 0, 24);                  // still padded where padding belongs: frames did not shift
        Assert.Null(source.Error);
    }

    [Fact]
    public async Task Inputs_ffmpeg_cannot_read_and_a_missing_ffmpeg_fail_at_open_with_what_went_wrong()
    {
        var missing = await Assert.ThrowsAsync<DecartException>(() => FfmpegVideoSource.OpenAsync(PathOf("no-such.mp4"), Lucy));
        Assert.Equal(DecartErrorCode.InvalidInput, missing.Code);
        Assert.Contains("no-such.mp4", missing.Message, StringComparison.Ordinal);
        Assert.Contains("No such file", missing.Message, StringComparison.Ordinal);   // ffmpeg's own words

        string text = PathOf("not-video.mp4");
        await File.WriteAllTextAsync(text, "this is not a video");
        var garbage = await Assert.ThrowsAsync<DecartException>(() => FfmpegVideoSource.OpenAsync(text, Lucy));
        Assert.Equal(DecartErrorCode.InvalidInput, garbage.Code);

        var noFfmpeg = await Assert.ThrowsAsync<DecartException>(() => FfmpegVideoSource.OpenAsync("x.mp4", Lucy, new FfmpegSourceOptions { FfmpegPath = "/nonexistent/ffmpeg" }));
        Assert.Equal(DecartErrorCode.InvalidOptions, noFfmpeg.Code);
        Assert.Contains("apt-get install ffmpeg", noFfmpeg.Message, StringComparison.Ordinal);
        var noFfmpegSink = Assert.Throws<DecartException>(() => new FfmpegVideoSink(PathOf("o.mp4"), new FfmpegSinkOptions { FfmpegPath = "/nonexistent/ffmpeg" }));
        Assert.Contains("apt-get install ffmpeg", noFfmpegSink.Message, StringComparison.Ordinal);

        var secret = await Assert.ThrowsAsync<DecartException>(() => FfmpegVideoSource.OpenAsync("rtsp://admin:hunter2@127.0.0.1:1/cam", Lucy));
        Assert.DoesNotContain("hunter2", secret.Message, StringComparison.Ordinal);   // a camera's password is not printed
    }

    [Fact]
    public async Task The_sink_records_every_frame_rejects_other_sizes_and_reports_a_path_it_cannot_write()
    {
        string output = PathOf("recorded.mp4");
        await using (var sink = new FfmpegVideoSink(output))
        {
            for (int i = 0; i < 45; i++)
            {
                var frame = I420Frame.Rent(320, 240);
                TestPattern.Render(frame, i);
                sink.OnFrame(frame);
            }

            sink.OnFrame(I420Frame.Rent(640, 480));                      // another size: not written
            await sink.CompleteAsync();
            Assert.Equal(45, sink.FramesWritten);
            Assert.Equal(1, sink.FramesRejected);
            Assert.Equal(0, sink.FramesDropped);
        }

        Assert.Equal((45, 320, 240), await ProbeAsync(output));

        await using var broken = new FfmpegVideoSink(Path.Combine(_dir.FullName, "no-such-dir", "x.mp4"));
        broken.OnFrame(I420Frame.Rent(320, 240));
        var error = await Assert.ThrowsAsync<DecartException>(() => broken.CompleteAsync());
        Assert.Contains("no-such-dir", error.Message, StringComparison.Ordinal);

        await using var empty = new FfmpegVideoSink(PathOf("empty.mp4"));
        var none = await Assert.ThrowsAsync<DecartException>(() => empty.CompleteAsync());
        Assert.Contains("No frame", none.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_file_streams_through_the_simulator_and_its_transformed_stream_is_recorded()
    {
        string clip = PathOf("input.mp4");
        await RunAsync("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=1280x720:r=30:d=6", "-c:v", "libx264", "-pix_fmt", "yuv420p", clip);
        string output = PathOf("transformed.mp4");

        using var client = sim.CreateClient();
        await using var camera = await FfmpegVideoSource.OpenAsync(clip, Lucy);   // paced like a camera (-re)
        var recorder = new FfmpegVideoSink(output);
        var stamps = new StateStampRecorder { Next = recorder };
        await using (recorder)
        {
            await using (var rt = await client.Realtime.ConnectAsync(camera, new RealtimeConnectOptions
            {
                Model = RealtimeModels.Lucy21,
                InitialState = new RealtimeState { Prompt = "ink" },
                DecodedSink = stamps,
            }))
            {
                var session = await sim.WaitForSessionAsync(s => s.Prompt == "ink");
                await sim.WaitUntilGeneratingAsync(session);
                for (int i = 0; i < 300 && stamps.StampedFrames < 60; i++)
                {
                    await Task.Delay(100);
                }
            }

            await recorder.CompleteAsync();
        }

        var (frames, width, height) = await ProbeAsync(output);
        Assert.Equal((Lucy.Width, Lucy.Height), (width, height));
        Assert.True(frames >= 60, $"{frames} frames recorded");
        Assert.Equal(frames, recorder.FramesWritten);
        Assert.True(stamps.StampedFrames >= 60, $"{stamps.StampedFrames} stamped frames");                          // they are the model's frames (stamped), not the camera's
    }
}
