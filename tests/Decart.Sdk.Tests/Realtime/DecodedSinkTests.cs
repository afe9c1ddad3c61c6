using Decart.Sdk.Media;
using Decart.Sdk.Models;
using Decart.Sdk.Realtime;
using Decart.Simulator.Testing;

namespace Decart.Sdk.Tests.Realtime;

/// <summary>
/// <see cref="RealtimeConnectOptions.DecodedSink"/>: both codecs are decoded, and a sink that stalls costs frames
/// (skipped to the next keyframe, which is asked for), not memory. Bad input tried: a sink that blocks for two seconds.
/// </summary>
public sealed class DecodedSinkTests(DecartSimulatorFixture sim) : IClassFixture<DecartSimulatorFixture>
{
    private static readonly RealtimeModel Model = RealtimeModels.Lucy21;

    [Theory]
    [InlineData(VideoCodec.Vp8)]
    [InlineData(VideoCodec.H264)]
    public async Task The_models_frames_are_decoded_in_either_codec(VideoCodec codec)
    {
        using var client = sim.CreateClient();
        await using var camera = new SyntheticVideoSource(new VideoFormat(Model.Width, Model.Height, Model.Fps), FacingMode.Environment, codec: codec);
        var stamps = new StateStampRecorder();
        await using var rt = await client.Realtime.ConnectAsync(camera, new RealtimeConnectOptions
        {
            Model = Model,
            PreferredVideoCodec = codec,
            InitialState = new RealtimeState { Prompt = $"decode {codec}" },
            DecodedSink = stamps,
        });
        var session = await sim.WaitForSessionAsync(s => s.Prompt == $"decode {codec}");
        Assert.Equal(codec == VideoCodec.H264 ? "H264" : "VP8", session.OutputCodec);
        await stamps.WaitForVersionAsync(1);
        await sim.WaitUntilAsync(session, _ => stamps.StampedFrames >= 20);
        Assert.Equal(0, stamps.UnstampedFrames);
    }

    [Fact]
    public async Task A_stalled_sink_loses_frames_up_to_a_keyframe_not_memory_and_decodes_again_after()
    {
        using var client = sim.CreateClient();
        await using var camera = new SyntheticVideoSource(new VideoFormat(Model.Width, Model.Height, Model.Fps), FacingMode.Environment);
        using var gate = new ManualResetEventSlim(false);
        var stamps = new StateStampRecorder();
        var sink = new StallingSink(gate, stamps);
        await using var rt = await client.Realtime.ConnectAsync(camera, new RealtimeConnectOptions
        {
            Model = Model,
            InitialState = new RealtimeState { Prompt = "stall" },
            DecodedSink = sink,
        });
        var session = await sim.WaitForSessionAsync(s => s.Prompt == "stall");

        // The sink blocks on its first frame; 2 s of frames arrive meanwhile (60 > the 30 that may wait).
        await sim.WaitUntilAsync(session, _ => rt.FramesReceived >= 75);
        Assert.True(rt.FramesDroppedBeforeDecode > 0, $"{rt.FramesReceived} received, none dropped");
        long plis = rt.CurrentSession!.PeerConnection!.Stats.PlisSent;
        Assert.True(plis > 0, "no keyframe was asked for");

        gate.Set();
        long stampedAtRelease = stamps.StampedFrames;
        await sim.WaitUntilAsync(session, _ => stamps.StampedFrames >= stampedAtRelease + 40);
        Assert.Equal(0, stamps.UnstampedFrames);                     // after the skip, every frame decodes whole
        Assert.True(sink.Received <= rt.FramesReceived - rt.FramesDroppedBeforeDecode + 1);
    }

    /// <summary>Blocks on the first frame until the gate opens, then passes every frame on.</summary>
    private sealed class StallingSink(ManualResetEventSlim gate, IVideoSink next) : IVideoSink
    {
        private long _received;

        public long Received => Interlocked.Read(ref _received);

        public void OnFrame(I420Frame frame)
        {
            Interlocked.Increment(ref _received);
            gate.Wait(TimeSpan.FromSeconds(30));
            next.OnFrame(frame);
        }
    }
}
