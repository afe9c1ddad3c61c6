using Decart.Sdk.Media;
using Decart.Sdk.Models;
using Decart.Sdk.Realtime;
using Decart.Simulator.Faults;
using Decart.Simulator.Realtime;
using static Decart.Sdk.Tests.Realtime.RealtimeTestKit;

namespace Decart.Sdk.Tests.Realtime;

/// <summary>
/// A room server without LiveKit's single-connection path (as LiveKit before 1.9: <c>/rtc/v1</c> and its
/// <c>/validate</c> answer 404): the SDK falls back to <c>/rtc</c> with two peer connections — it answers the server's
/// offer for the subscriber connection (the model's track) and offers the camera on a publisher connection of its own.
/// Against the simulator's room server in that mode, over real sockets.
/// </summary>
public class TwoConnectionRoomTests
{
    [Theory]
    [InlineData(VideoCodec.Vp8)]
    [InlineData(VideoCodec.H264)]
    public async Task The_SDK_falls_back_to_two_connections_publishes_receives_and_updates_the_state(VideoCodec codec)
    {
        await using var sim = await StartSimulatorAsync(o => o.RoomSingleConnection = false);
        using var client = Client(sim);
        var model = RealtimeModels.Lucy21;
        await using var source = new SyntheticVideoSource(new VideoFormat(model.Width, model.Height, model.Fps), FacingMode.Environment, codec: codec);
        var log = new StateLog();
        await using var rt = await client.Realtime.ConnectAsync(source, Options(log, new RealtimeState { Prompt = "two" }));
        await log.WaitForAsync(ConnectionState.Generating);

        var session = sim.Sessions.Find(rt.SessionId!)!;
        var room = rt.CurrentSession!.Room!;
        Assert.True(room.TwoConnections);
        Assert.Equal(2, session.RoomPeerConnections);
        Assert.Equal(codec == VideoCodec.H264 ? "H264" : "VP8", session.Codec); // the camera, on the publisher connection
        Assert.StartsWith("TR_", room.ReceiveTrackSid, StringComparison.Ordinal);
        await WaitUntilAsync(() => rt.FramesReceived >= 15 && session.FramesIn >= 15, TimeSpan.FromSeconds(30), "frames both ways");
        await rt.SetPromptAsync("still two");
        Assert.Equal("still two", session.Prompt);
        Assert.Equal((0L, 0L), (room.MalformedMessages, room.StaleAnswers));
        Assert.Equal(0, session.DecodeErrors);
        Assert.Empty(log.Errors);
    }

    [Fact]
    public async Task A_room_leave_on_the_two_connection_path_reconnects_with_the_state_restored()
    {
        await using var sim = await StartSimulatorAsync(o => o.RoomSingleConnection = false);
        using var client = Client(sim);
        await using var source = await SourceAsync();
        var log = new StateLog();
        await using var rt = await client.Realtime.ConnectAsync(source, Options(log, new RealtimeState { Prompt = "kept across" }));
        await log.WaitForAsync(ConnectionState.Generating);
        var first = sim.Sessions.Find(rt.SessionId!)!;

        var next = sim.Sessions.NextSessionAsync();
        await first.DropAsync(DropMode.Room);
        var second = await next.WaitAsync(TimeSpan.FromSeconds(30));
        await log.WaitForAsync(ConnectionState.Generating, occurrence: 2);
        await second.WaitForPromptAsync("kept across").WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(2, second.RoomPeerConnections);
        long before = rt.FramesReceived;
        await WaitUntilAsync(() => rt.FramesReceived > before + 10, TimeSpan.FromSeconds(30), "frames after the reconnect");
        Assert.Equal(1, rt.Reconnects);
    }

    [Fact]
    public async Task A_viewer_watches_through_a_subscriber_connection_only()
    {
        await using var sim = await StartSimulatorAsync(o => o.RoomSingleConnection = false);
        using var client = Client(sim);
        await using var source = await SourceAsync();
        await using var rt = await client.Realtime.ConnectAsync(source, Options(null, new RealtimeState { Prompt = "watched" }));
        long frames = 0;
        await using var viewer = await client.Realtime.SubscribeAsync(rt.SubscribeToken!, new SubscribeOptions { OnFrame = _ => Interlocked.Increment(ref frames) });
        await WaitUntilAsync(() => Interlocked.Read(ref frames) >= 15, TimeSpan.FromSeconds(30), "15 frames at the viewer");
        Assert.Equal(1, sim.Sessions.Find(rt.SessionId!)!.Viewers);
    }
}
