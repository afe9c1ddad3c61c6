using System.Text;
using Decart.Sdk.Media;
using Decart.Sdk.Realtime;
using static Decart.Sdk.Tests.Realtime.RealtimeTestKit;

namespace Decart.Sdk.Tests.Realtime;

/// <summary>
/// <see cref="RealtimeApi.SubscribeAsync"/>: a second client watching a session's output, receive-only, through the
/// simulator's <c>POST /watch-stream/{room}</c> and its room server, over real sockets.
/// </summary>
public class ViewerTests
{
    [Fact]
    public async Task A_viewer_receives_the_models_output_leaves_without_ending_the_session_and_is_told_when_the_room_goes()
    {
        await using var sim = await StartSimulatorAsync();
        using var client = Client(sim);
        await using var source = await SourceAsync();
        var log = new StateLog();
        var rt = await client.Realtime.ConnectAsync(source, Options(log, new RealtimeState { Prompt = "watched" }));
        await log.WaitForAsync(ConnectionState.Generating);
        var session = sim.Sessions.Find(rt.SessionId!)!;
        Assert.NotNull(rt.SubscribeToken);
        Assert.Equal(session.RoomName, RealtimeViewer.DecodeToken(rt.SubscribeToken!));

        // A first viewer, with its own client: frames arrive both through OnFrame and ReadFramesAsync, in the session's codec.
        using var watcher = Client(sim);
        int callbackFrames = 0;
        var viewerStates = new StateLog();
        var viewer = await watcher.Realtime.SubscribeAsync(rt.SubscribeToken!, new SubscribeOptions
        {
            OnFrame = frame => Interlocked.Increment(ref callbackFrames),
            OnConnectionChanged = viewerStates.Add,
            OnError = viewerStates.AddError,
        });
        Assert.Equal(ConnectionState.Connected, viewer.State);
        Assert.Equal(session.RoomName, viewer.RoomName);
        Assert.Equal(session.Id, viewer.SessionId);
        var received = new List<EncodedVideoFrame>();
        using (var enough = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        {
            await foreach (var frame in viewer.ReadFramesAsync(enough.Token))
            {
                received.Add(frame);
                if (received.Count == 20)
                {
                    break;
                }
            }
        }

        Assert.Equal(20, received.Count);
        Assert.Contains(received, f => f.IsKeyframe);
        var expectedCodec = session.OutputCodec == "H264" ? VideoCodec.H264 : VideoCodec.Vp8;
        Assert.All(received, f => Assert.Equal(expectedCodec, f.Codec));
        Assert.True(Volatile.Read(ref callbackFrames) >= 20, $"OnFrame saw {callbackFrames}");
        Assert.Equal(1, session.Viewers);
        Assert.DoesNotContain(watcher.ToString(), viewer.ToString(), StringComparison.Ordinal);

        // Leaving ends only the viewer: the session keeps generating for its own client.
        await viewer.DisposeAsync();
        Assert.Equal(ConnectionState.Disconnected, viewer.State);
        await WaitUntilAsync(() => session.Viewers == 0, TimeSpan.FromSeconds(10), "the viewer to leave the session");
        long before = rt.FramesReceived;
        await WaitUntilAsync(() => rt.FramesReceived > before + 10, TimeSpan.FromSeconds(20), "the session's client to keep receiving");
        Assert.Empty(viewerStates.Errors);

        // A second viewer; the session's client disconnects: the room closes and the viewer is told, once.
        var second = new StateLog();
        await using var viewer2 = await watcher.Realtime.SubscribeAsync(rt.SubscribeToken!, new SubscribeOptions { OnConnectionChanged = second.Add, OnError = second.AddError });
        await WaitUntilAsync(() => viewer2.FramesReceived > 5, TimeSpan.FromSeconds(30), "the second viewer's frames");
        await rt.DisposeAsync();
        await second.WaitForAsync(ConnectionState.Disconnected, seconds: 20);
        Assert.Equal(ConnectionState.Disconnected, viewer2.State);
        // The state change is raised first, the error right after it on the same thread: wait for it, then it is one.
        await WaitUntilAsync(() => second.Errors.Count > 0, TimeSpan.FromSeconds(5), "the viewer's error after its Disconnected");
        var lost = Assert.Single(second.Errors);
        Assert.Equal(DecartErrorCode.WebRtcError, lost.Code);
        Assert.Empty(log.Errors);
    }

    [Fact]
    public async Task Watching_a_room_that_is_gone_or_with_a_wrong_key_fails_with_a_typed_error_and_no_key_in_it()
    {
        await using var sim = await StartSimulatorAsync();
        using var client = Client(sim);

        var gone = await Assert.ThrowsAsync<DecartException>(() => client.Realtime.SubscribeAsync(RealtimeViewer.EncodeToken("decart-room-that-never-was")));
        Assert.Equal(DecartErrorCode.WebRtcError, gone.Code);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, gone.StatusCode);
        Assert.Contains("decart-room-that-never-was", gone.Message, StringComparison.Ordinal);

        const string wrongKey = "sk-wrong-key-0123456789abcdef";
        using var wrong = Client(sim, wrongKey);
        var refused = await Assert.ThrowsAsync<DecartException>(() => wrong.Realtime.SubscribeAsync(RealtimeViewer.EncodeToken("any-room")));
        Assert.Equal(DecartErrorCode.InvalidApiKey, refused.Code);
        Assert.DoesNotContain(wrongKey, refused.ToString(), StringComparison.Ordinal);
        Assert.Equal(0, sim.OpenRooms);
    }

    public static TheoryData<string> MalformedTokens => new()
    {
        "",
        "   ",
        "not base64 at all!",
        Convert.ToBase64String(Encoding.UTF8.GetBytes("{\"sid\":\"s1\",\"ip\":\"10.0.0.1\",\"port\":9000}")), // the direct transport's old form
        Convert.ToBase64String(Encoding.UTF8.GetBytes("{\"room_name\":\"\"}")),
        Convert.ToBase64String(Encoding.UTF8.GetBytes("[1,2,3]")),
        Convert.ToBase64String(Encoding.UTF8.GetBytes("{\"room_name\":\"" + new string('r', 300) + "\"}")),
        new string('A', 5000),
    };

    [Theory]
    [MemberData(nameof(MalformedTokens))]
    public async Task A_malformed_subscribe_token_is_InvalidInput_before_any_request(string token)
    {
        await using var sim = await StartSimulatorAsync();
        using var client = Client(sim);
        var ex = await Assert.ThrowsAsync<DecartException>(() => client.Realtime.SubscribeAsync(token));
        Assert.Equal(DecartErrorCode.InvalidInput, ex.Code);
        Assert.Null(ex.StatusCode);
    }

    [Fact]
    public void Tokens_round_trip_in_standard_and_url_safe_base64_with_or_without_padding()
    {
        // "ab~~~~" encodes with a '+' and padding, so the URL-safe form differs in both.
        string token = RealtimeViewer.EncodeToken("ab~~~~");
        Assert.Equal("eyJyb29tX25hbWUiOiJhYn5+fn4ifQ==", token);
        Assert.Equal("ab~~~~", RealtimeViewer.DecodeToken(token));
        string urlSafe = token.Replace('+', '-').Replace('/', '_').TrimEnd('=');
        Assert.NotEqual(token, urlSafe);
        Assert.Equal("ab~~~~", RealtimeViewer.DecodeToken(urlSafe));
    }

    [Fact]
    public async Task The_direct_transport_has_no_subscribe_token()
    {
        await using var sim = await StartSimulatorAsync();
        using var client = Client(sim);
        await using var source = await SourceAsync();
        var log = new StateLog();
        await using var rt = await client.Realtime.ConnectAsync(source, Options(log, transport: RealtimeTransport.Direct));
        await log.WaitForAsync(ConnectionState.Generating);
        Assert.Null(rt.SubscribeToken);
    }
}
