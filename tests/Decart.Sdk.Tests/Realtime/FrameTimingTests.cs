using Decart.Sdk.Models;
using Decart.Sdk.Realtime;
using Decart.Simulator.Model;
using static Decart.Sdk.Tests.Realtime.RealtimeTestKit;

namespace Decart.Sdk.Tests.Realtime;

/// <summary>
/// Glass-to-glass through the simulator's room server over real sockets: with <c>MeasureGlassToGlass</c> every sent
/// frame carries its capture time in livekit-client's packet trailer, the simulator strips it before the model and
/// puts it back on the output made from that frame, and the client measures capture → receipt.
/// </summary>
public class FrameTimingTests
{
    [Theory]
    [InlineData(ModelMode.Echo)]
    [InlineData(ModelMode.Transform)]
    public async Task The_capture_time_travels_through_the_model_and_the_client_measures_at_least_the_models_latency(ModelMode mode)
    {
        // The model holds every frame 150 ms: a measured glass-to-glass below that would mean the capture time was not
        // the input frame's (or not carried at all).
        await using var sim = await StartSimulatorAsync(o => { o.ModelMode = mode; o.ProcessingLatency = TimeSpan.FromMilliseconds(150); });
        using var client = Client(sim);
        await using var source = await SourceAsync();
        var log = new StateLog();
        await using var rt = await client.Realtime.ConnectAsync(source, new RealtimeConnectOptions { Model = RealtimeModels.Lucy21, InitialState = new RealtimeState { Prompt = "timed" }, OnConnectionChanged = log.Add, OnError = log.AddError, MeasureGlassToGlass = true });
        var session = sim.Sessions.Find(rt.SessionId!)!;
        Assert.True(session.FrameTiming, "the join announced client_capabilities.frame_timing");
        await WaitUntilAsync(() => rt.GlassToGlass.SampleCount >= 20, TimeSpan.FromSeconds(30), "20 glass-to-glass samples after the 2 s warm-up");

        var g2g = rt.GlassToGlass;
        Assert.NotNull(g2g.TimeToFirstFrame);
        // The model holds each frame 150 ms; 140 allows the timers' granularity (the deep probe's same measure once read
        // 148.6 ms) and still fails a path that does not wait for the model (loopback is ~1 ms).
        Assert.InRange(g2g.Median!.Value.TotalMilliseconds, 140, 10_000);
        Assert.True(g2g.P90 >= g2g.Median, $"p90 {g2g.P90} < median {g2g.Median}");
        Assert.True(session.TrailersIn >= session.FramesIn - 1, $"{session.TrailersIn} of {session.FramesIn} camera frames had a trailer");
        Assert.True(session.TrailersOut >= 20, $"{session.TrailersOut} outputs carried the capture time");
        Assert.Equal(0, session.DecodeErrors); // stripped before the decoder (transform) and before the client's decoder
        Assert.Empty(log.Errors);
    }

    [Theory]
    [InlineData(ModelMode.Echo)]
    [InlineData(ModelMode.Transform)]
    public async Task On_the_direct_transport_frames_are_matched_by_rtp_timestamp(ModelMode mode)
    {
        // No trailer on the direct flow: the model gives each output the RTP timestamp of its input, and the client
        // matches them. The model holds every frame 150 ms, so less than that would be a wrong match.
        await using var sim = await StartSimulatorAsync(o => { o.ModelMode = mode; o.ProcessingLatency = TimeSpan.FromMilliseconds(150); });
        using var client = Client(sim);
        await using var source = await SourceAsync();
        await using var rt = await client.Realtime.ConnectAsync(source, new RealtimeConnectOptions { Model = RealtimeModels.Lucy21, Transport = RealtimeTransport.Direct, InitialState = new RealtimeState { Prompt = "timed" }, MeasureGlassToGlass = true });
        var session = sim.Sessions.Find(rt.SessionId!)!;
        await WaitUntilAsync(() => rt.GlassToGlass.SampleCount >= 20, TimeSpan.FromSeconds(30), "20 glass-to-glass samples on the direct transport");
        Assert.Equal((0L, 0L), (session.TrailersIn, session.TrailersOut)); // nothing appended to the frames
        var g2g = rt.GlassToGlass;
        // The model holds each frame 150 ms; 140 allows the timers' granularity (the deep probe's same measure once read
        // 148.6 ms) and still fails a path that does not wait for the model (loopback is ~1 ms).
        Assert.InRange(g2g.Median!.Value.TotalMilliseconds, 140, 10_000);
        Assert.True(g2g.P90 >= g2g.Median);
    }

    [Fact]
    public async Task Without_the_option_nothing_is_appended_and_only_the_time_to_first_frame_is_measured()
    {
        await using var sim = await StartSimulatorAsync();
        using var client = Client(sim);
        await using var source = await SourceAsync();
        await using var rt = await client.Realtime.ConnectAsync(source, Options(null, new RealtimeState { Prompt = "untimed" }));
        var session = sim.Sessions.Find(rt.SessionId!)!;
        await WaitUntilAsync(() => rt.FramesReceived >= 30, TimeSpan.FromSeconds(30), "30 frames");
        Assert.False(session.FrameTiming);
        Assert.Equal((0L, 0L), (session.TrailersIn, session.TrailersOut));
        var g2g = rt.GlassToGlass;
        Assert.NotNull(g2g.TimeToFirstFrame);
        Assert.Equal((0, null), (g2g.SampleCount, g2g.Median));
    }

    [Fact]
    public async Task A_viewer_of_a_timed_session_gets_frames_without_the_trailer()
    {
        await using var sim = await StartSimulatorAsync(o => o.ModelMode = ModelMode.Echo);
        using var client = Client(sim);
        await using var source = await SourceAsync();
        await using var rt = await client.Realtime.ConnectAsync(source, new RealtimeConnectOptions { Model = RealtimeModels.Lucy21, InitialState = new RealtimeState { Prompt = "watched" }, MeasureGlassToGlass = true });
        var lengths = new System.Collections.Concurrent.ConcurrentQueue<(int Length, bool EndsInMagic)>();
        await using var viewer = await client.Realtime.SubscribeAsync(rt.SubscribeToken!, new SubscribeOptions
        {
            OnFrame = frame => lengths.Enqueue((frame.Data.Length, frame.Data.EndsWith("LKTS"u8))),
        });
        await WaitUntilAsync(() => lengths.Count >= 30, TimeSpan.FromSeconds(30), "30 frames at the viewer");
        Assert.DoesNotContain(lengths, f => f.EndsInMagic);
    }
}
