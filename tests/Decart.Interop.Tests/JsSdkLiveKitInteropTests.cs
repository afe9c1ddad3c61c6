using System.Net.Http.Json;
using System.Text.Json;
using Decart.Simulator.Hosting;
using Decart.Simulator.Realtime;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace Decart.Interop.Tests;

/// <summary>
/// Decart's current JavaScript SDK, <c>@decartai/sdk@0.1.20</c> from npm, unmodified (bundled with esbuild by the
/// test command), in headless Debian Chromium with a fake camera, against the simulator's LiveKit front over real
/// sockets: <c>livekit_join</c> on <c>/v1/stream</c>, then the built-in room server (livekit-client 2.20.2, signal
/// protocol 17, one peer connection with 3+3 placeholder sections, a data section and the H.264/VP8 simulcast camera).
/// </summary>
public sealed class JsSdkLiveKitInteropTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(45);
    private SdkPage _sdk = null!;
    private IPage _page = null!;
    private DecartSimulator _sim = null!;

    public async Task InitializeAsync()
    {
        _sim = await DecartSimulator.StartAsync(new SimulatorOptions { TickInterval = TimeSpan.FromMilliseconds(500) });
        _sdk = await SdkPage.OpenAsync("decart-sdk-lk.js", "@decartai/sdk@0.1.20", "sdk-lk-page.html", "http://localhost:8766", output);
        _page = _sdk.Page;
        await _page.EvaluateAsync("([r, b]) => window.configureSimulator(r, b)", new object[] { _sim.RealtimeBaseUrl.GetLeftPart(UriPartial.Authority), _sim.BaseUrl.GetLeftPart(UriPartial.Authority) });
    }

    public async Task DisposeAsync()
    {
        await _sdk.DisposeAsync();
        await _sim.DisposeAsync();
    }

    [Theory]
    [InlineData("h264", "H264")]
    [InlineData("vp8", "VP8")]
    public async Task The_current_JS_SDK_joins_a_room_renders_the_model_track_sets_prompt_and_image_and_reconnects_after_a_drop(string preferred, string codec)
    {
        var connected = await _page.EvaluateAsync<JsonElement>("([k, m, p, c]) => window.tryConnect(k, m, p, c)", new object[] { _sim.DefaultApiKey, "lucy-2.1", "a lighthouse at dusk", preferred });
        Assert.True(connected.GetProperty("ok").GetBoolean(), connected.ToString());
        var sessionId = connected.GetProperty("sessionId").GetString();
        var session = _sim.Sessions.Find(sessionId!);
        Assert.NotNull(session);
        Assert.Equal(("livekit", "lucy-2.1"), (session!.Protocol, session.Model));
        Assert.False(session.Passthrough);
        Assert.StartsWith("decart-js-sdk/0.1.20", session.UserAgent ?? string.Empty, StringComparison.Ordinal);
        await session.WaitForPromptAsync("a lighthouse at dusk").WaitAsync(Bound); // the initial state, sent as the frame after livekit_join

        // The model's track (the echo of the camera's highest simulcast layer) renders at the model's size.
        await SdkPage.WaitForAsync(async () => await _page.EvaluateAsync<int>("() => window.framesRendered()") >= 60, "60 rendered frames of the model track", Bound);
        var size = await _page.EvaluateAsync<int[]>("() => window.videoSize()");
        Assert.Equal([1088, 624], size);
        Assert.Equal(codec, session.Codec);
        output.WriteLine($"input layers {string.Join(",", session.InputLayers)}, model fed from '{session.InputLayer}'");
        // Chromium turns its simulcast layers on as its bandwidth estimate grows; on a loaded machine 'f' can come a
        // few seconds after the first frames (one clean-clone run saw the model still on 'h' at 60 frames).
        await SdkPage.WaitForAsync(() => Task.FromResult(session.InputLayer == "f"), $"the model fed from the highest layer 'f' (now '{session.InputLayer}')", Bound);
        Assert.Equal("f", session.InputLayer);
        if (Environment.GetEnvironmentVariable("DECART_CAPTURE_OFFER") is { Length: > 0 } capture)
        {
            File.WriteAllText(capture + "-" + preferred + ".sdp", session.RemoteOffer);
        }

        Assert.True(session.FramesIn >= 60 && session.FramesOut >= 60, $"{session.FramesIn} in, {session.FramesOut} out");
        await SdkPage.WaitForAsync(async () => await _page.EvaluateAsync<string>("() => window.state()") == "generating", "the JS client to report generating", Bound);

        // setPrompt and set({prompt, image}) resolve, and the simulator applied them.
        Assert.Equal("ok", await _page.EvaluateAsync<string>("() => window.call(() => window.rt.setPrompt('foggy harbour', { enhance: false }))"));
        Assert.Equal(("foggy harbour", false), (session.Prompt, session.Enhance));
        const string png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
        Assert.Equal("ok", await _page.EvaluateAsync<string>($"() => window.call(() => window.rt.set({{ prompt: 'neon harbour', image: 'data:image/png;base64,{png}' }}))"));
        Assert.Equal("neon harbour", session.Prompt);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Convert.FromBase64String(png))), session.ImageHash);

        // A drop of the control socket: the JS SDK's own reconnect brings it back on a new session and room.
        var next = _sim.Sessions.NextSessionAsync();
        using var http = new HttpClient { BaseAddress = _sim.BaseUrl };
        var drop = await http.PostAsJsonAsync($"/_sim/sessions/{sessionId}/drop", new { mode = "websocket" });
        Assert.True(drop.IsSuccessStatusCode, await drop.Content.ReadAsStringAsync());
        var second = await next.WaitAsync(Bound);
        await second.WaitUntilAsync(s => s.Protocol != "pending").WaitAsync(Bound); // the session exists before its first message
        Assert.Equal("livekit", second.Protocol);
        Assert.NotEqual(session.RoomName, second.RoomName);
        await SdkPage.WaitForAsync(async () => await _page.EvaluateAsync<string>("() => window.state()") == "connected", "the JS client to report connected after the reconnect", Bound);

        // Found with this test: livekit-client stops a published track when its room disconnects
        // (stopLocalTrackOnUnpublish), so JS 0.1.20's reconnect republishes an ended camera track and the model
        // gets no input: the new session stays connected, never generating. The simulator, like the service,
        // starts generating on the first input frame. The SDK's own replaceVideoTrack is the way out.
        Assert.Equal(["video:ended"], await _page.EvaluateAsync<string[]>("() => window.cameraTracks()"));
        await second.WaitForPromptAsync("a lighthouse at dusk").WaitAsync(Bound); // JS 0.1.20 re-sends its connect-time initial state, not the last set()
        Assert.Equal((0L, SessionPhase.Connected), (second.FramesIn, second.State));
        Assert.Equal("ok", await _page.EvaluateAsync<string>("() => window.call(() => window.replaceCamera())"));
        await second.WaitUntilAsync(s => s.State == SessionPhase.Generating).WaitAsync(Bound);
        Assert.Equal("f", second.InputLayer);
        int rendered = await _page.EvaluateAsync<int>("() => window.framesRendered()");
        await SdkPage.WaitForAsync(async () => await _page.EvaluateAsync<int>("() => window.framesRendered()") > rendered + 20, "frames rendered after the reconnect", Bound);
        await SdkPage.WaitForAsync(async () => await _page.EvaluateAsync<string>("() => window.state()") == "generating", "the JS client to report generating again", Bound);
        var states = await _page.EvaluateAsync<string[]>("() => window.states");
        output.WriteLine($"JS states: {string.Join(" > ", states)}");
        Assert.Contains("reconnecting", states);
        Assert.Empty(await _page.EvaluateAsync<string[]>("() => window.errors"));
        await _page.EvaluateAsync("() => window.rt.disconnect()");
        await session.Ended.WaitAsync(Bound);
        await second.Ended.WaitAsync(Bound);
        Assert.Equal(0, _sim.OpenRooms);
    }

    [Fact]
    public async Task A_browser_page_mints_a_token_uploads_files_processes_and_streams_with_an_image_ref_across_origins()
    {
        const string png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
        var bytes = Convert.FromBase64String(png);
        var result = await _page.EvaluateAsync<JsonElement>("([k, p]) => window.browserApis(k, p)", new object[] { _sim.DefaultApiKey, png });
        Assert.True(result.GetProperty("ok").GetBoolean(), result.ToString());
        output.WriteLine(result.ToString());

        // The token the page minted is what every later call used: the realtime session is the token's.
        string token = result.GetProperty("token").GetString()!;
        Assert.StartsWith("ek_", token, StringComparison.Ordinal);
        Assert.NotEqual(_sim.DefaultApiKey, token);
        Assert.Equal(result.GetProperty("first").GetString(), result.GetProperty("gotId").GetString());
        Assert.Equal("image/png", result.GetProperty("mime").GetString());
        Assert.NotEqual(JsonValueKind.Null, result.GetProperty("firstExpires").ValueKind);
        Assert.Equal(JsonValueKind.Null, result.GetProperty("secondExpires").ValueKind);
        Assert.Equal("image/png", result.GetProperty("processType").GetString());
        Assert.True(result.GetProperty("processSize").GetInt32() > 8);
        Assert.Equal("FILES_GET_ERROR", result.GetProperty("deletedGet").GetString());

        // The session started from the first file (image_ref in the initial state) and switched to the second.
        var session = _sim.Sessions.Find(result.GetProperty("sessionId").GetString()!)!;
        Assert.Equal("livekit", session.Protocol);
        var initial = session.History[0];
        Assert.Equal((Sha(bytes), "in the uploaded style", "set_image"), (initial.ImageHash, initial.Prompt, initial.Via));
        Assert.Equal(Sha([.. bytes, 0, 1, 2, 3]), session.ImageHash);
        await SdkPage.WaitForAsync(async () => await _page.EvaluateAsync<int>("() => window.framesRendered()") >= 30, "30 rendered frames", Bound);
        Assert.Empty(await _page.EvaluateAsync<string[]>("() => window.errors"));
        await _page.EvaluateAsync("() => window.rt.disconnect()");
        await session.Ended.WaitAsync(Bound);

        static string Sha(byte[] data) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(data));
    }

    [Fact]
    public async Task A_second_page_subscribes_with_the_sessions_subscribe_token_and_watches_the_model_track()
    {
        var connected = await _page.EvaluateAsync<JsonElement>("([k, m, p]) => window.tryConnect(k, m, p)", new object[] { _sim.DefaultApiKey, "lucy-2.1", "a harbour at night" });
        Assert.True(connected.GetProperty("ok").GetBoolean(), connected.ToString());
        var session = _sim.Sessions.Find(connected.GetProperty("sessionId").GetString()!)!;
        await session.WaitUntilAsync(s => s.State == SessionPhase.Generating).WaitAsync(Bound);
        string token = await _page.EvaluateAsync<string>("() => window.subscribeToken()");
        var decoded = JsonDocument.Parse(Convert.FromBase64String(token)).RootElement;
        Assert.Equal(session.RoomName, decoded.GetProperty("room_name").GetString());

        // Bad input tried first: a token for a room that does not exist is refused with the server's reason.
        await using var viewerPage = await SdkPage.OpenAsync("decart-sdk-lk.js", "@decartai/sdk@0.1.20", "sdk-lk-page.html", "http://localhost:8767", output);
        var viewer = viewerPage.Page;
        await viewer.EvaluateAsync("([r, b]) => window.configureSimulator(r, b)", new object[] { _sim.RealtimeBaseUrl.GetLeftPart(UriPartial.Authority), _sim.BaseUrl.GetLeftPart(UriPartial.Authority) });
        string bogus = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("""{"room_name":"decart-nosuchroom"}"""));
        var refused = await viewer.EvaluateAsync<JsonElement>("([k, t]) => window.trySubscribe(k, t)", new object[] { _sim.DefaultApiKey, bogus });
        Assert.False(refused.GetProperty("ok").GetBoolean());
        // JS 0.1.20 logs the server's 404 and reason ("watch-stream request failed (404): …") and rejects with its
        // own category, WEBRTC_SIGNALING_ERROR.
        Assert.StartsWith("WEBRTC_SIGNALING_ERROR", refused.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, session.Viewers);

        var subscribed = await viewer.EvaluateAsync<JsonElement>("([k, t]) => window.trySubscribe(k, t)", new object[] { _sim.DefaultApiKey, token });
        Assert.True(subscribed.GetProperty("ok").GetBoolean(), subscribed.ToString());
        await SdkPage.WaitForAsync(
            async () => await viewer.EvaluateAsync<int>("() => window.framesRendered()") >= 30,
            "30 frames of the model track rendered by the viewer",
            Bound,
            async () => $"viewer page {await SdkPage.DescribeRemoteAsync(viewer)}; session {JsonSerializer.Serialize(session.Describe())}; frames out {session.FramesOut}");
        var viewerSize = await viewer.EvaluateAsync<int[]>("() => window.videoSize()");
        Assert.Equal([1088, 624], viewerSize);
        Assert.Equal(1, session.Viewers);
        Assert.Equal(1, session.Describe().Viewers);

        // The viewer leaving ends only its own connection: the session keeps generating for its publisher.
        await viewer.EvaluateAsync("() => window.sub.disconnect()");
        await session.WaitUntilAsync(s => s.Viewers == 0).WaitAsync(Bound);
        long before = session.FramesOut;
        await session.WaitUntilAsync(s => s.FramesOut > before + 15).WaitAsync(Bound);
        Assert.Equal(SessionPhase.Generating, session.State);
        await _page.EvaluateAsync("() => window.rt.disconnect()");
        await session.Ended.WaitAsync(Bound);
        Assert.Equal(0, _sim.OpenRooms);
    }

    [Fact]
    public async Task At_capacity_one_the_JS_SDK_reports_its_queue_position_and_connects_when_the_slot_frees()
    {
        // Another session (a bare control socket that joined) holds the only slot.
        _sim.Capacity = 1;
        using var holder = new System.Net.WebSockets.ClientWebSocket();
        await holder.ConnectAsync(new Uri(_sim.RealtimeBaseUrl, $"/v1/stream?api_key={_sim.DefaultApiKey}&model=lucy-2.1"), CancellationToken.None);
        await holder.SendAsync("""{"type":"livekit_join","passthrough":true}"""u8.ToArray(), System.Net.WebSockets.WebSocketMessageType.Text, true, CancellationToken.None);
        await SdkPage.WaitForAsync(() => Task.FromResult(_sim.Sessions.Open.Any(s => s.RoomName is not null && s.QueuePosition is null)), "the holder's slot", Bound);

        // The page connects as usual; JS 0.1.20 hears queue_position (onQueuePosition) and waits.
        await _page.EvaluateAsync("([k, m, p]) => { window.pending = window.tryConnect(k, m, p); }", new object[] { _sim.DefaultApiKey, "lucy-2.1", "queued" });
        await SdkPage.WaitForAsync(async () => await _page.EvaluateAsync<int>("() => window.queue.length") >= 1, "a queue position in the page", Bound);
        var first = await _page.EvaluateAsync<JsonElement>("() => window.queue[0]");
        Assert.Equal((1, 1), (first.GetProperty("position").GetInt32(), first.GetProperty("queueSize").GetInt32()));
        var queued = _sim.Sessions.Open.Single(s => s.QueuePosition == 1);
        Assert.Equal(SessionPhase.Connecting, queued.State);

        // The holder leaves: the page's session gets its room, connects and generates.
        holder.Abort();
        var connected = await _page.EvaluateAsync<JsonElement>("() => window.pending");
        Assert.True(connected.GetProperty("ok").GetBoolean(), connected.ToString());
        Assert.Equal(queued.Id, connected.GetProperty("sessionId").GetString());
        await queued.WaitUntilAsync(s => s.State == SessionPhase.Generating).WaitAsync(Bound);
        await SdkPage.WaitForAsync(async () => await _page.EvaluateAsync<int>("() => window.framesRendered()") >= 15, "frames after the queue", Bound);
        Assert.Equal(0, _sim.QueuedSessions);
        await _page.EvaluateAsync("() => window.rt.disconnect()");
    }

    [Fact]
    public async Task The_current_JS_SDK_rejects_an_invalid_key_fast_without_retrying()
    {
        var started = DateTime.UtcNow;
        var result = await _page.EvaluateAsync<JsonElement>("([k, m, p]) => window.tryConnect(k, m, p)", new object[] { "not-a-key", "lucy-2.1", "x" });
        Assert.False(result.GetProperty("ok").GetBoolean());
        Assert.Contains("invalid api key", result.GetProperty("error").GetString(), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(0, _sim.Sessions.TotalStarted);
        Assert.Equal(1, _sim.Sessions.TotalRefused); // permanent: not retried
        output.WriteLine($"rejected after {(DateTime.UtcNow - started).TotalMilliseconds:F0} ms");
    }

    [Theory]
    [InlineData("echo")]
    [InlineData("transform")]
    public async Task The_deep_connectivity_check_runs_a_timed_session_whose_frames_carry_the_capture_time_through_the_model(string mode)
    {
        // checkConnectivity({deep: true, model}) opens a real session with debugQuality: livekit-client's frame-metadata
        // worker stamps each frame's capture time in a packet trailer, the simulator carries it through the model onto
        // the output frame made from it, and the page's worker reads it back. The model holds frames 150 ms, so a
        // figure below that would not be this path's.
        _sim.Options.ModelMode = mode == "echo" ? Decart.Simulator.Model.ModelMode.Echo : Decart.Simulator.Model.ModelMode.Transform;
        _sim.Options.ProcessingLatency = TimeSpan.FromMilliseconds(150);
        await _page.EvaluateAsync("() => window.observeFrameTiming()");
        var next = _sim.Sessions.NextSessionAsync();
        var probe = await _page.EvaluateAsync<JsonElement>("([k, m]) => window.deepProbe(k, m)", new object[] { _sim.DefaultApiKey, "lucy-2.1" });
        Assert.True(probe.GetProperty("ok").GetBoolean(), probe.ToString());
        output.WriteLine(probe.ToString());
        var report = probe.GetProperty("report");
        var metrics = report.GetProperty("metrics");
        Assert.Equal("udp", metrics.GetProperty("transport").GetString());
        Assert.Equal(JsonValueKind.Number, metrics.GetProperty("rttMs").ValueKind);
        Assert.Contains(report.GetProperty("quality").GetString(), new[] { "good", "fair" });

        var session = await next.WaitAsync(Bound);
        Assert.True(session.FrameTiming, "the probe's join announced frame_timing");
        Assert.True(session.TrailersIn > 0 && session.TrailersOut > 0, $"{session.TrailersIn} trailers in, {session.TrailersOut} out");
        Assert.Equal(0, session.DecodeErrors);
        AssertGlassToGlass(await _page.EvaluateAsync<JsonElement>("() => window.frameTimingSummary()"), 150);
    }

    [Fact]
    public async Task With_debug_quality_every_output_frame_carries_its_inputs_capture_time_and_the_video_still_renders()
    {
        await _page.EvaluateAsync("() => window.observeFrameTiming()");
        var connected = await _page.EvaluateAsync<JsonElement>("([k, m, p, c, d]) => window.tryConnect(k, m, p, c, d)", new object[] { _sim.DefaultApiKey, "lucy-2.1", "timed", "h264", true });
        Assert.True(connected.GetProperty("ok").GetBoolean(), connected.ToString());
        await _page.EvaluateAsync("() => window.watchStats()");
        await SdkPage.WaitForAsync(async () => (await _page.EvaluateAsync<JsonElement>("() => window.frameTimingSummary()")).GetProperty("samples").GetInt32() >= 30, "30 timed frames on screen", Bound);
        AssertGlassToGlass(await _page.EvaluateAsync<JsonElement>("() => window.frameTimingSummary()"), _sim.Options.ProcessingLatency.TotalMilliseconds);
        output.WriteLine($"the JS SDK's own glassToGlass stats: {await _page.EvaluateAsync<string>("() => JSON.stringify(window.lastStats)")}");
        Assert.True(await _page.EvaluateAsync<int>("() => window.framesRendered()") >= 30, "the trailer was stripped before the decoder");
        var session = _sim.Sessions.Find(connected.GetProperty("sessionId").GetString()!)!;
        Assert.True(session.FrameTiming);
        Assert.True(session.TrailersOut >= 30, $"{session.TrailersOut} outputs with a trailer");
        Assert.Equal(0, session.DecodeErrors);
        await _page.EvaluateAsync("() => window.rt.disconnect()");
    }

    [Theory]
    [InlineData("h264", "H264")]
    [InlineData("vp8", "VP8")]
    public async Task Against_a_room_server_without_the_single_connection_path_the_JS_SDK_falls_back_to_two_connections(string preferred, string codec)
    {
        // As a LiveKit server before 1.9: /rtc/v1 and its /validate answer 404, so livekit-client retries on /rtc with
        // two peer connections — the server offers the subscriber one (the model's track), the client offers the
        // publisher one (the camera).
        _sim.Options.RoomSingleConnection = false;
        var connected = await _page.EvaluateAsync<JsonElement>("([k, m, p, c]) => window.tryConnect(k, m, p, c)", new object[] { _sim.DefaultApiKey, "lucy-2.1", "two connections", preferred });
        Assert.True(connected.GetProperty("ok").GetBoolean(), connected.ToString());
        var session = _sim.Sessions.Find(connected.GetProperty("sessionId").GetString()!)!;
        await SdkPage.WaitForAsync(async () => await _page.EvaluateAsync<int>("() => window.framesRendered()") >= 30, "30 rendered frames of the model track", Bound);
        var size = await _page.EvaluateAsync<int[]>("() => window.videoSize()");
        Assert.Equal([1088, 624], size);
        Assert.Equal(2, session.RoomPeerConnections);
        Assert.Equal(codec, session.Codec);
        Assert.Equal("ok", await _page.EvaluateAsync<string>("() => window.call(() => window.rt.setPrompt('second connection', { enhance: false }))"));
        Assert.Equal("second connection", session.Prompt);
        Assert.True(session.FramesIn >= 30 && session.FramesOut >= 30, $"{session.FramesIn} in, {session.FramesOut} out");
        Assert.Equal(0, session.DecodeErrors);
        await _page.EvaluateAsync("() => window.rt.disconnect()");
    }

    [Theory]
    [InlineData("room")]
    [InlineData("room-reconnect")]
    public async Task A_room_leave_from_the_server_brings_the_JS_SDK_back_on_a_new_session(string mode)
    {
        // The room server sends leave (DISCONNECT, or RECONNECT as a draining LiveKit node does) and closes; the session
        // ends with its room, so whatever livekit-client tries first, Decart's own reconnect makes a new session.
        var connected = await _page.EvaluateAsync<JsonElement>("([k, m, p]) => window.tryConnect(k, m, p)", new object[] { _sim.DefaultApiKey, "lucy-2.1", "left" });
        Assert.True(connected.GetProperty("ok").GetBoolean(), connected.ToString());
        var session = _sim.Sessions.Find(connected.GetProperty("sessionId").GetString()!)!;
        await session.WaitUntilAsync(s => s.State == SessionPhase.Generating).WaitAsync(Bound);
        var next = _sim.Sessions.NextSessionAsync();
        using var http = new HttpClient { BaseAddress = _sim.BaseUrl };
        var drop = await http.PostAsJsonAsync($"/_sim/sessions/{session.Id}/drop", new { mode });
        Assert.True(drop.IsSuccessStatusCode, await drop.Content.ReadAsStringAsync());
        var second = await next.WaitAsync(Bound);
        await second.WaitUntilAsync(s => s.RoomName is not null).WaitAsync(Bound);
        Assert.NotEqual(session.RoomName, second.RoomName);
        await SdkPage.WaitForAsync(async () => await _page.EvaluateAsync<string>("() => window.state()") == "connected", "the JS client connected again", Bound);
        Assert.Equal("ok", await _page.EvaluateAsync<string>("() => window.call(() => window.replaceCamera())")); // see the drop test: the old camera track ended
        await second.WaitUntilAsync(s => s.State == SessionPhase.Generating).WaitAsync(Bound);
        Assert.Contains("reconnecting", await _page.EvaluateAsync<string[]>("() => window.states"));
        await _page.EvaluateAsync("() => window.rt.disconnect()");
    }

    private void AssertGlassToGlass(JsonElement summary, double modelLatencyMs)
    {
        output.WriteLine($"glass-to-glass in the page: {summary}");
        Assert.True(summary.GetProperty("metadata").GetInt32() > 0, "livekit-client's worker read trailers on the model's track");
        Assert.True(summary.GetProperty("samples").GetInt32() > 0, summary.ToString());
        // At least the model's hold, less 10 ms for timer granularity (the SDK's own measure once read 148.6 ms of 150).
        Assert.InRange(summary.GetProperty("medianMs").GetDouble(), modelLatencyMs - 10, 10_000);
    }
}
