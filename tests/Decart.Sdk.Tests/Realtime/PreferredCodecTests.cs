using Decart.Sdk.Media;
using Decart.Sdk.Models;
using Decart.Sdk.Realtime;
using static Decart.Sdk.Tests.Realtime.RealtimeTestKit;

namespace Decart.Sdk.Tests.Realtime;

/// <summary><see cref="RealtimeConnectOptions.PreferredVideoCodec"/>: the codec the camera is published in, against the simulator over real sockets.</summary>
public class PreferredCodecTests
{
    private static readonly RealtimeModel Model = RealtimeModels.Lucy21;

    [Theory]
    [InlineData(RealtimeTransport.LiveKit)]
    [InlineData(RealtimeTransport.Direct)]
    public async Task A_source_that_encodes_itself_is_switched_to_the_preferred_codec_and_a_replacement_follows_the_session(RealtimeTransport transport)
    {
        await using var sim = await StartSimulatorAsync();
        using var client = Client(sim);
        await using var camera = new SyntheticVideoSource(new VideoFormat(Model.Width, Model.Height, Model.Fps), FacingMode.Environment); // VP8 by default
        var log = new StateLog();
        await using var rt = await client.Realtime.ConnectAsync(camera, new RealtimeConnectOptions { Model = Model, Transport = transport, PreferredVideoCodec = VideoCodec.H264, OnConnectionChanged = log.Add, OnError = log.AddError });
        var session = sim.Sessions.Find(rt.SessionId!)!;
        Assert.Equal((VideoCodec.H264, "H264"), (camera.Codec, session.Codec));
        await WaitUntilAsync(() => session.FramesIn >= 15 && rt.FramesReceived >= 15, TimeSpan.FromSeconds(30), "H.264 frames both ways");
        Assert.Equal(0, session.DecodeErrors);

        // A second camera made with the default codec is switched to the session's before its first frame.
        await using var second = new SyntheticVideoSource(new VideoFormat(Model.Width, Model.Height, Model.Fps), FacingMode.Environment);
        await rt.ReplaceSourceAsync(second);
        Assert.Equal(VideoCodec.H264, second.Codec);
        long before = session.FramesIn;
        await WaitUntilAsync(() => session.FramesIn > before + 15, TimeSpan.FromSeconds(30), "the second camera's frames");
        Assert.Equal(0, session.DecodeErrors);
        Assert.Empty(log.Errors);
    }

    [Fact]
    public async Task An_encoded_source_of_another_codec_is_refused_before_any_connection()
    {
        await using var sim = await StartSimulatorAsync();
        using var client = Client(sim);
        await using var clip = await SourceAsync(); // VP8 frames from a file: nothing to re-encode
        var error = await Assert.ThrowsAsync<DecartException>(() => client.Realtime.ConnectAsync(clip, new RealtimeConnectOptions { Model = Model, PreferredVideoCodec = VideoCodec.H264 }));
        Assert.Equal(DecartErrorCode.InvalidOptions, error.Code);
        Assert.Contains("PreferredVideoCodec is H264 but IvfFileSource produces encoded Vp8 frames", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, sim.Sessions.TotalStarted);
    }

    [Fact]
    public async Task A_source_already_encoding_keeps_its_codec_and_the_preference_is_refused()
    {
        await using var raw = new RawVideoSource(new VideoFormat(Model.Width, Model.Height, Model.Fps));
        using (var frame = I420Frame.Rent(Model.Width, Model.Height))
        {
            await raw.PushAsync(frame.Clone());
        }

        await using var frames = raw.ReadFramesAsync(CancellationToken.None).GetAsyncEnumerator();
        Assert.True(await frames.MoveNextAsync()); // the VP8 encoder exists now
        Assert.False(((ICodecSelectable)raw).TrySelectCodec(VideoCodec.H264));
        Assert.True(((ICodecSelectable)raw).TrySelectCodec(VideoCodec.Vp8));
        Assert.Equal(VideoCodec.Vp8, raw.Codec);
    }
}
