using Decart.Sdk.Media;
using Decart.Sdk.Media.Vpx;
using Decart.Sdk.Models;
using Decart.Sdk.Realtime;

namespace Decart.Sdk.Tests.Media;

/// <summary>Raw frames in: mirror before encoding, keyframes on request, back-pressure; the realtime client sets Mirror.</summary>
public class RawVideoSourceTests
{
    [Fact]
    public async Task A_mirrored_source_sends_frames_that_decode_to_the_flipped_picture_and_keyframes_come_on_request()
    {
        var format = new VideoFormat(320, 240, 30);
        await using var source = new RawVideoSource(format, FacingMode.User) { Mirror = true };
        using var decoder = new Vp8Decoder();
        using var original = I420Frame.Rent(320, 240);
        TestPattern.Render(original, 1234);
        using var expected = I420Frame.Rent(320, 240);
        FrameMirror.MirrorHorizontal(original, expected);

        var reader = source.ReadFramesAsync(CancellationToken.None).GetAsyncEnumerator();
        var keys = new List<bool>();
        double psnr = 0;
        for (int i = 0; i < 6; i++)
        {
            if (i == 4)
            {
                source.RequestKeyframe(); // as a PLI would
            }

            var frame = original.Clone();
            frame.Timestamp = TimeSpan.FromSeconds(i / 30.0);
            await source.PushAsync(frame);

            Assert.True(await reader.MoveNextAsync());
            keys.Add(reader.Current.IsKeyframe);
            Assert.Equal(TimeSpan.FromSeconds(i / 30.0), reader.Current.Timestamp);
            using var decoded = decoder.Decode(reader.Current.Data.Span);
            if (decoded is not null)
            {
                psnr = Vp8CodecTests.PsnrY(decoded, expected);
            }
        }

        Assert.True(psnr > 30, $"PSNR {psnr:F1} dB against the flipped picture");
        Assert.Equal([true, false, false, false, true, false], keys); // the first, and the next one encoded after the request
        Assert.Equal(1234, TestPattern.ReadCounter(Flip(source.CopyLastSentFrame()!)));
        await reader.DisposeAsync();
    }

    private static I420Frame Flip(I420Frame frame)
    {
        FrameMirror.MirrorHorizontalInPlace(frame);
        return frame;
    }

    [Fact]
    public async Task Push_waits_while_two_frames_are_queued_and_bad_frames_are_typed_errors()
    {
        await using var source = new RawVideoSource(new VideoFormat(64, 48, 30));
        await source.PushAsync(I420Frame.Rent(64, 48));
        await source.PushAsync(I420Frame.Rent(64, 48));
        var third = source.PushAsync(I420Frame.Rent(64, 48)).AsTask();
        await Task.Delay(100);
        Assert.False(third.IsCompleted); // back-pressure: nobody reads yet

        await using var reader = source.ReadFramesAsync(CancellationToken.None).GetAsyncEnumerator();
        Assert.True(await reader.MoveNextAsync());
        await third.WaitAsync(TimeSpan.FromSeconds(5));

        var wrong = await Assert.ThrowsAsync<DecartException>(() => source.PushAsync(I420Frame.Rent(32, 32)).AsTask());
        Assert.Equal(DecartErrorCode.InvalidInput, wrong.Code);
        var odd = Assert.Throws<DecartException>(() => new RawVideoSource(new VideoFormat(63, 48, 30)));
        Assert.Equal(DecartErrorCode.InvalidOptions, odd.Code);
    }

    [Fact]
    public async Task The_realtime_client_turns_mirror_on_for_a_front_camera_under_Auto_and_off_for_a_back_camera()
    {
        await using var sim = await Decart.Simulator.Hosting.DecartSimulator.StartAsync();
        using var client = new DecartClient(new DecartClientOptions { ApiKey = sim.DefaultApiKey, BaseUrl = sim.BaseUrl, RealtimeBaseUrl = sim.RealtimeBaseUrl });
        var model = RealtimeModels.Lucy21;
        await using var front = new SyntheticVideoSource(new VideoFormat(model.Width, model.Height, model.Fps), FacingMode.User);
        await using (var rt = await client.Realtime.ConnectAsync(front, new RealtimeConnectOptions { Model = model, Mirror = MirrorMode.Auto }))
        {
            Assert.True(front.Mirror);
        }

        await using var back = new SyntheticVideoSource(new VideoFormat(model.Width, model.Height, model.Fps), FacingMode.Environment);
        await using (var rt = await client.Realtime.ConnectAsync(back, new RealtimeConnectOptions { Model = model, Mirror = MirrorMode.Auto }))
        {
            Assert.False(back.Mirror);
        }
    }
}
