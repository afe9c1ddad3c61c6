using Decart.Sdk.Media;
using Decart.Sdk.Models;
using Decart.Sdk.Realtime;
using static Decart.Sdk.Tests.Realtime.RealtimeTestKit;

namespace Decart.Sdk.Tests.Realtime;

/// <summary>
/// A source encoding three simulcast layers (a quarter, half and full size): published as q, h and f in a room, as
/// livekit-client publishes a camera, with the model fed the full layer; on the direct flow only the full layer goes.
/// </summary>
public class SimulcastPublishTests
{
    [Fact]
    public async Task Three_layers_are_published_in_the_room_and_the_model_gets_the_full_one()
    {
        await using var sim = await StartSimulatorAsync(); // transform mode: the model decodes the layer it is fed
        using var client = Client(sim);
        var model = RealtimeModels.Lucy21;
        await using var camera = new SyntheticVideoSource(new VideoFormat(model.Width, model.Height, model.Fps), FacingMode.Environment) { SimulcastLayers = 3 };
        Assert.Equal(
            [new SimulcastLayer("q", model.Width / 4, model.Height / 4, 150), new SimulcastLayer("h", model.Width / 2, model.Height / 2, 375), new SimulcastLayer("f", model.Width, model.Height, 1500)],
            camera.Layers);
        var log = new StateLog();
        await using var rt = await client.Realtime.ConnectAsync(camera, new RealtimeConnectOptions { Model = model, Transport = RealtimeTransport.LiveKit, OnConnectionChanged = log.Add, OnError = log.AddError });
        await log.WaitForAsync(ConnectionState.Generating);
        var session = sim.Sessions.Find(rt.SessionId!)!;
        await WaitUntilAsync(() => session.InputLayers.Count == 3 && rt.FramesReceived > 30 && session.FramesOut > 30, TimeSpan.FromSeconds(30), "three layers in, the model's frames out");

        Assert.Equal(["q", "h", "f"], session.InputLayers);
        Assert.Equal("f", session.InputLayer);
        Assert.Equal((model.Width, model.Height), session.Describe() is { FrameWidth: { } w, FrameHeight: { } h } ? (w, h) : (0, 0));
        Assert.Equal(0, session.DecodeErrors);
        Assert.Equal(["q", "h", "f"], rt.CurrentSession!.PeerConnection!.SendLayers);
        // A capture counts once, however many layers it went out as.
        long sent = rt.FramesSent, rendered = camera.FramesRendered;
        Assert.True(sent <= rendered && sent > rendered / 2, $"{sent} frames counted sent of {rendered} captured");
        Assert.Empty(log.Errors);
    }

    [Fact]
    public async Task On_the_direct_flow_only_the_full_layer_is_sent()
    {
        await using var sim = await StartSimulatorAsync();
        using var client = Client(sim);
        var model = RealtimeModels.Lucy21;
        await using var camera = new SyntheticVideoSource(new VideoFormat(model.Width, model.Height, model.Fps), FacingMode.Environment) { SimulcastLayers = 3 };
        var log = new StateLog();
        await using var rt = await client.Realtime.ConnectAsync(camera, new RealtimeConnectOptions { Model = model, Transport = RealtimeTransport.Direct, OnConnectionChanged = log.Add, OnError = log.AddError });
        await log.WaitForAsync(ConnectionState.Generating);
        var session = sim.Sessions.Find(rt.SessionId!)!;
        await WaitUntilAsync(() => rt.FramesReceived > 30 && session.FramesOut > 30, TimeSpan.FromSeconds(30), "frames both ways");
        Assert.Empty(rt.CurrentSession!.PeerConnection!.SendLayers);
        Assert.Equal((model.Width, model.Height), session.Describe() is { FrameWidth: { } w, FrameHeight: { } h } ? (w, h) : (0, 0));
        Assert.Empty(session.Warnings); // no size or rate complaint: the model got the full layer only
        Assert.Empty(log.Errors);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    public void Layer_counts_outside_one_to_three_are_refused(int layers)
    {
        var ex = Assert.Throws<DecartException>(() => new RawVideoSource(new VideoFormat(64, 64, 30)) { SimulcastLayers = layers });
        Assert.Equal(DecartErrorCode.InvalidOptions, ex.Code);
    }

    [Fact]
    public void A_size_that_does_not_halve_evenly_is_refused()
    {
        var ex = Assert.Throws<DecartException>(() => new RawVideoSource(new VideoFormat(100, 60, 30)) { SimulcastLayers = 3 }); // 100/8 is not whole
        Assert.Contains("multiples of 8", ex.Message, StringComparison.Ordinal);
        Assert.Equal(2, new RawVideoSource(new VideoFormat(100, 60, 30)) { SimulcastLayers = 2 }.SimulcastLayers);
    }

    [Fact]
    public void Halving_averages_each_two_by_two_block()
    {
        using var big = I420Frame.Rent(8, 8);
        for (int i = 0; i < big.Y.Length; i++)
        {
            big.Y[i] = (byte)(i % 8 < 4 ? 100 : 200); // left half dark, right half bright
        }

        big.U.Fill(50);
        big.V.Fill(70);
        using var half = I420Frame.Rent(4, 4);
        FrameScaler.Halve(big, half);
        Assert.Equal(100, half.Y[0]);
        Assert.Equal(200, half.Y[3]);
        Assert.All(half.U.ToArray(), b => Assert.Equal(50, b));
        Assert.Throws<ArgumentException>(() => FrameScaler.Halve(big, big));
    }
}
