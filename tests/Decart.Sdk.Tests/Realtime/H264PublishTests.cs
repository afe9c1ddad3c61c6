using Decart.Sdk.Media;
using Decart.Sdk.Models;
using Decart.Sdk.Realtime;
using static Decart.Sdk.Tests.Realtime.RealtimeTestKit;

namespace Decart.Sdk.Tests.Realtime;

/// <summary>Raw frames encoded to H.264 by the SDK (OpenH264), published as Decart's JS SDK 0.1.x does by default.</summary>
public class H264PublishTests
{
    [Theory]
    [InlineData(RealtimeTransport.LiveKit)]
    [InlineData(RealtimeTransport.Direct)]
    public async Task A_synthetic_camera_encoded_to_H264_is_negotiated_decoded_by_the_model_and_answered_in_H264(RealtimeTransport transport)
    {
        await using var sim = await StartSimulatorAsync(); // transform mode: the model decodes what it gets
        using var client = Client(sim);
        var model = RealtimeModels.Lucy21;
        await using var camera = new SyntheticVideoSource(new VideoFormat(model.Width, model.Height, model.Fps), FacingMode.Environment, codec: VideoCodec.H264);
        Assert.Equal(VideoCodec.H264, camera.Codec);
        var log = new StateLog();
        var codecs = new System.Collections.Concurrent.ConcurrentQueue<VideoCodec>();
        var options = new RealtimeConnectOptions { Model = model, Transport = transport, OnConnectionChanged = log.Add, OnError = log.AddError, OnFrame = f => { if (codecs.Count < 50) codecs.Enqueue(f.Codec); } };
        await using var rt = await client.Realtime.ConnectAsync(camera, options);
        await log.WaitForAsync(ConnectionState.Generating);
        var session = sim.Sessions.Find(rt.SessionId!)!;
        await WaitUntilAsync(() => rt.FramesReceived > 30 && session.FramesOut > 30, TimeSpan.FromSeconds(30), "H.264 frames both ways");

        Assert.Equal("H264", session.Codec);
        Assert.Equal("H264", session.OutputCodec);
        Assert.Equal(0, session.DecodeErrors); // the model decoded every frame OpenH264 made
        Assert.Equal((1088, 624), session.Describe() is { FrameWidth: { } w, FrameHeight: { } h } ? (w, h) : (0, 0));
        Assert.All(codecs, c => Assert.Equal(VideoCodec.H264, c));
        Assert.Empty(log.Errors);
    }

    [Fact]
    public void Only_VP8_and_H264_can_be_encoded()
    {
        var ex = Assert.Throws<DecartException>(() => new RawVideoSource(new VideoFormat(64, 64, 30), codec: (VideoCodec)42));
        Assert.Equal(DecartErrorCode.InvalidOptions, ex.Code);
    }
}
