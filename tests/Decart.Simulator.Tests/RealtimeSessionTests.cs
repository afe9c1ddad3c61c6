using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using Decart.Simulator.Faults;
using Decart.Simulator.Hosting;
using Decart.Simulator.Realtime;

namespace Decart.Simulator.Tests;

/// <summary>The simulator's /v1/stream, driven by a protocol-level client over real sockets.</summary>
public class RealtimeSessionTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);
    private const string Png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

    private static Task<DecartSimulator> StartAsync(Action<SimulatorOptions>? configure = null)
    {
        var options = new SimulatorOptions { TickInterval = TimeSpan.FromMilliseconds(200), ProcessingLatency = TimeSpan.FromMilliseconds(5) };
        configure?.Invoke(options);
        return DecartSimulator.StartAsync(options);
    }

    private static async Task<(RawRealtimeClient Client, SimulatedSession Session)> GeneratingAsync(DecartSimulator sim, string clip = "pattern-1088x624-30fps.ivf", int fps = 30, string model = "lucy-2.1")
    {
        var next = sim.Sessions.NextSessionAsync();
        var client = await RawRealtimeClient.OpenAsync(sim, model: model);
        var session = await next.WaitAsync(Bound);
        await client.NegotiateAsync();
        client.StartMedia(clip, fps);
        await client.ExpectAsync("generation_started");
        return (client, session);
    }

    [Fact]
    public async Task A_client_that_closes_first_gets_a_close_back_not_a_reset()
    {
        await using var sim = await StartAsync();
        using var ws = new System.Net.WebSockets.ClientWebSocket();
        await ws.ConnectAsync(new Uri(sim.RealtimeBaseUrl, $"/v1/stream?api_key={sim.DefaultApiKey}&model=lucy-2.1"), CancellationToken.None);
        await ws.SendAsync("""{"type":"livekit_join","passthrough":true}"""u8.ToArray(), System.Net.WebSockets.WebSocketMessageType.Text, true, CancellationToken.None);
        var session = await sim.Sessions.WaitForSessionAsync().WaitAsync(TimeSpan.FromSeconds(15));
        await session.WaitUntilAsync(s => s.RoomName is not null).WaitAsync(TimeSpan.FromSeconds(15));

        // CloseAsync reads what is still queued (livekit_room_info) and needs the server's close frame to complete.
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        await ws.CloseAsync(System.Net.WebSockets.WebSocketCloseStatus.NormalClosure, "bye", bound.Token);
        Assert.Equal(System.Net.WebSockets.WebSocketState.Closed, ws.State);
        Assert.Equal(System.Net.WebSockets.WebSocketCloseStatus.NormalClosure, ws.CloseStatus);
        await session.Ended.WaitAsync(TimeSpan.FromSeconds(15));
        Assert.Equal("client closed", session.EndReason);
    }

    [Fact]
    public async Task A_session_acks_state_answers_sends_session_id_echoes_ticks_and_records()
    {
        await using var sim = await StartAsync(o => o.RecordSessions = true);
        var next = sim.Sessions.NextSessionAsync();
        await using var client = await RawRealtimeClient.OpenAsync(sim);
        var session = await next.WaitAsync(Bound);
        Assert.Equal("raw-test", session.UserAgent);

        // Initial state before the offer: an atomic set_image with prompt.
        await client.SendAsync(new JsonObject { ["type"] = "set_image", ["image_data"] = Png, ["prompt"] = "a castle", ["enhance_prompt"] = false });
        var ack = await client.ExpectAsync("set_image_ack");
        Assert.True((bool)ack["success"]!);
        Assert.Null(ack["error"]);
        Assert.Equal(("a castle", false), (session.Prompt, session.Enhance));
        Assert.Equal(64, session.ImageHash!.Length);

        await client.NegotiateAsync();
        var id = await client.ExpectAsync("session_id");
        Assert.Equal(session.Id, (string)id["session_id"]!);
        Assert.True(IPAddress.TryParse((string)id["server_ip"]!, out _));
        Assert.Equal(session.MediaPort, (int)id["server_port"]!);
        await session.WaitUntilAsync(s => s.State == SessionPhase.Connected).WaitAsync(Bound); // the server's DTLS may finish a moment after the client's

        client.StartMedia();
        await client.ExpectAsync("generation_started");
        Assert.Equal(SessionPhase.Generating, session.State);
        var t1 = await client.ExpectAsync("generation_tick");
        var t2 = await client.ExpectAsync("generation_tick");
        Assert.True((double)t2["seconds"]! > (double)t1["seconds"]!);

        // prompt_ack echoes the prompt; image cleared with image_data null keeps the prompt.
        var promptAck = await client.PromptAsync("a castle at night");
        Assert.Equal(("a castle at night", true), ((string?)promptAck["prompt"], (bool)promptAck["success"]!));
        await client.SendAsync(new JsonObject { ["type"] = "set_image", ["image_data"] = null });
        Assert.True((bool)(await client.ExpectAsync("set_image_ack"))["success"]!);
        Assert.Equal(("a castle at night", (string?)null), (session.Prompt, session.ImageHash));
        Assert.Equal(["set_image", "prompt", "set_image"], session.History.Select(h => h.Via));

        await session.WaitUntilAsync(s => s.FramesOut >= 30).WaitAsync(Bound);
        await WaitAsync(() => client.Pc!.Stats.FramesReceived >= 20, "20 echoed frames received by the client");

        var ivf = session.Recording!;
        Assert.Equal("DKIF"u8.ToArray(), ivf[..4]);
        Assert.Equal("VP80"u8.ToArray(), ivf[8..12]);
        Assert.True(BitConverter.ToUInt32(ivf, 24) >= 30);
        Assert.Equal((1088, 624), (session.Describe().FrameWidth, session.Describe().FrameHeight));
    }

    [Theory]
    [InlineData("", "prompt must be 1-1000 characters")]
    [InlineData("x", null)]
    public async Task Prompt_length_is_checked(string prompt, string? error)
    {
        await using var sim = await StartAsync();
        await using var client = await RawRealtimeClient.OpenAsync(sim);
        var ack = await client.PromptAsync(prompt);
        Assert.Equal(error is null, (bool)ack["success"]!);
        Assert.Equal(error, (string?)ack["error"]);
        var tooLong = await client.PromptAsync(new string('p', 1001));
        Assert.False((bool)tooLong["success"]!);
    }

    [Theory]
    [InlineData("not base64 !!!", "image_data is not valid base64")]
    [InlineData("R0lGODlhAQABAAAAACw=", "Unsupported image format: expected PNG, JPEG or WebP")] // a GIF
    public async Task Bad_images_are_refused_with_a_reason_and_the_state_is_kept(string image, string reason)
    {
        await using var sim = await StartAsync();
        var next = sim.Sessions.NextSessionAsync();
        await using var client = await RawRealtimeClient.OpenAsync(sim);
        var session = await next;
        await client.PromptAsync("kept");
        await client.SendAsync(new JsonObject { ["type"] = "set_image", ["image_data"] = image, ["prompt"] = "lost" });
        var ack = await client.ExpectAsync("set_image_ack");
        Assert.False((bool)ack["success"]!);
        Assert.Equal(reason, (string?)ack["error"]);
        Assert.Equal("kept", session.Prompt);
        Assert.Equal(1, session.RejectedUpdates);
    }

    [Fact]
    public async Task An_image_over_the_limit_is_refused()
    {
        await using var sim = await StartAsync(o => o.MaxImageBytes = 1000);
        await using var client = await RawRealtimeClient.OpenAsync(sim);
        var big = Convert.ToBase64String([.. Convert.FromBase64String(Png), .. new byte[2000]]);
        await client.SendAsync(new JsonObject { ["type"] = "set_image", ["image_data"] = big });
        var ack = await client.ExpectAsync("set_image_ack");
        Assert.False((bool)ack["success"]!);
        Assert.Contains("too large", (string?)ack["error"], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("wrong", "lucy-2.1", "Invalid API key")]
    [InlineData(null, "lucy-9", "Model lucy-9 not found")]
    public async Task Refused_connections_get_an_error_then_a_close(string? key, string model, string error)
    {
        await using var sim = await StartAsync();
        await using var client = await RawRealtimeClient.OpenAsync(sim, key ?? sim.DefaultApiKey, model);
        var message = await client.ExpectAsync("error");
        Assert.Equal(error, (string?)message["error"]);
        await client.Closed.WaitAsync(Bound);
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, client.CloseStatus);
        Assert.Equal(0, sim.Sessions.TotalStarted);
    }

    [Fact]
    public async Task Every_realtime_model_of_the_protocol_is_served_including_the_legacy_names()
    {
        await using var sim = await StartAsync();
        foreach (var model in new[] { "lucy-2.1", "lucy-2.5", "lucy-vton-2", "lucy-vton-3", "lucy-vton-3.5", "lucy-2.1-vton-2", "lucy-restyle-2", "lucy-latest", "lucy-vton-latest", "lucy-restyle-latest", "mirage", "mirage_v2", "lucy_v2v_720p_rt", "lucy_2_rt", "live_avatar" })
        {
            await using var client = await RawRealtimeClient.OpenAsync(sim, model: model);
            Assert.True((bool)(await client.PromptAsync("hello"))["success"]!, model);
        }
    }

    [Fact]
    public async Task Client_tokens_enforce_allowed_models_allowed_origins_and_the_session_duration()
    {
        await using var sim = await StartAsync();
        var token = sim.Tokens.Issue(TimeSpan.FromMinutes(5), ["lucy-2.1"], ["https://app.example"], TimeSpan.FromSeconds(1.5));

        await using (var wrongModel = await RawRealtimeClient.OpenAsync(sim, token.Key, "lucy-2.5", "https://app.example"))
        {
            Assert.Contains("not allowed to use model lucy-2.5", (string?)(await wrongModel.ExpectAsync("error"))["error"], StringComparison.Ordinal);
        }

        await using (var wrongOrigin = await RawRealtimeClient.OpenAsync(sim, token.Key, "lucy-2.1", "https://evil.example"))
        {
            Assert.Contains("origin https://evil.example is not allowed", (string?)(await wrongOrigin.ExpectAsync("error"))["error"], StringComparison.Ordinal);
        }

        // Scheme and host compare case-insensitively (RFC 6454); the port does not.
        await using (var upperCase = await RawRealtimeClient.OpenAsync(sim, token.Key, "lucy-2.1", "HTTPS://App.Example"))
        {
            Assert.True((bool)(await upperCase.PromptAsync("case"))["success"]!);
        }

        await using (var otherPort = await RawRealtimeClient.OpenAsync(sim, token.Key, "lucy-2.1", "https://app.example:8443"))
        {
            Assert.Contains("is not allowed", (string?)(await otherPort.ExpectAsync("error"))["error"], StringComparison.Ordinal);
        }

        await using var ok = await RawRealtimeClient.OpenAsync(sim, token.Key, "lucy-2.1", "https://app.example");
        Assert.True((bool)(await ok.PromptAsync("hi"))["success"]!);
        var ended = await ok.ExpectAsync("generation_ended", 10);
        Assert.Equal("session_time_limit", (string?)ended["reason"]);
        await ok.Closed.WaitAsync(Bound);
    }

    [Fact]
    public async Task Strict_constraints_close_a_session_sending_the_wrong_size_while_lenient_ones_count_a_warning()
    {
        await using (var strict = await StartAsync(o => o.StrictConstraints = true))
        {
            var next = strict.Sessions.NextSessionAsync();
            var client = await RawRealtimeClient.OpenAsync(strict);
            var session = await next.WaitAsync(Bound);
            await client.NegotiateAsync();
            client.StartMedia("pattern-1280x704-30fps.ivf");
            await using (client)
            {
                var error = await client.ExpectAsync("error");
                Assert.Equal("Frame size 1280x704 does not match model lucy-2.1 (1088x624)", (string?)error["error"]);
                await session.Ended.WaitAsync(Bound);
                Assert.Equal("constraint violated", session.EndReason);
            }
        }

        await using var lenient = await StartAsync();
        var (c2, s2) = await GeneratingAsync(lenient, "pattern-1280x704-30fps.ivf");
        await using (c2)
        {
            await s2.WaitUntilAsync(s => s.Warnings.Count > 0).WaitAsync(Bound);
            Assert.Contains("1280x704", s2.Warnings[0], StringComparison.Ordinal);
            Assert.Equal(SessionPhase.Generating, s2.State);
        }
    }

    [Fact]
    public async Task A_frame_rate_above_the_models_maximum_is_measured_and_warned_about()
    {
        await using var sim = await StartAsync();
        var (client, session) = await GeneratingAsync(sim, fps: 50, model: "mirage_v2"); // 22 fps model (size differs too)
        await using (client)
        {
            await session.WaitUntilAsync(s => s.Warnings.Any(w => w.StartsWith("Frame rate", StringComparison.Ordinal))).WaitAsync(Bound);
            Assert.True(session.Describe().MeasuredFps > 22, $"measured {session.Describe().MeasuredFps}");

            // The echo is capped at the model's fps: over two seconds, no more than ~22 fps come back.
            long out0 = session.FramesOut;
            var span = System.Diagnostics.Stopwatch.StartNew();
            await Task.Delay(2000);
            double outFps = (session.FramesOut - out0) / span.Elapsed.TotalSeconds; // the span as it lasted: a late timer is no burst
            Assert.True(outFps <= 22 * 1.2, $"echo at {outFps} fps");
        }
    }

    [Fact]
    public async Task Bad_input_is_answered_or_counted_and_never_hurts_the_session_or_its_neighbours()
    {
        await using var sim = await StartAsync(o => { o.MaxMessageBytes = 64 * 1024; o.MaxUpdatesPerSecond = 10; });
        var (bystander, bystanderSession) = await GeneratingAsync(sim);
        await using var _ = bystander;
        var next = sim.Sessions.NextSessionAsync();
        await using var client = await RawRealtimeClient.OpenAsync(sim);
        var session = await next;

        await client.SendTextAsync("{not json");                                            // malformed JSON → error
        Assert.Equal("Invalid message: not valid JSON", (string?)(await client.ExpectAsync("error"))["error"]);
        await client.SendTextAsync("[1,2]");                                                // not an object → error
        await client.ExpectAsync("error");
        await client.SendTextAsync("{\"type\":\"telepathy\"}");                              // unknown type → ignored, counted
        await client.SendTextAsync("{\"type\":\"ice-candidate\",\"candidate\":{\"candidate\":\"candidate:1 1 udp 1 1.2.3.4 5 typ host\"}}"); // before any offer → ignored
        await client.SendTextAsync("{\"type\":\"answer\",\"sdp\":\"v=0\"}");                 // an answer nobody asked for → ignored
        await client.SendBytesAsync([1, 2, 3], WebSocketMessageType.Binary);                 // binary → ignored
        await client.SendTextAsync("{\"type\":\"offer\",\"sdp\":\"garbage\"}");              // bad SDP → error naming the line
        Assert.StartsWith("Invalid SDP offer:", (string?)(await client.ExpectAsync("error"))["error"], StringComparison.Ordinal);

        // A flood of prompts: the first ten in a second are taken, the rest refused with a reason.
        var flood = Enumerable.Range(0, 30).Select(i => client.SendAsync(new JsonObject { ["type"] = "prompt", ["prompt"] = $"p{i}", ["enhance_prompt"] = true }));
        foreach (var send in flood)
        {
            await send;
        }

        var acks = new List<JsonObject>();
        for (int i = 0; i < 30; i++)
        {
            acks.Add(await client.ExpectAsync("prompt_ack"));
        }

        Assert.True(acks.Count(a => (bool)a["success"]!) == 10, string.Join(" ", acks.Select(a => a.ToJsonString())));
        Assert.All(acks.Where(a => !(bool)a["success"]!), a => Assert.Contains("debounce", (string?)a["error"], StringComparison.Ordinal));
        Assert.Equal(4, session.IgnoredMessages);
        Assert.Equal(3, session.MalformedMessages);

        // An SDP with no video is answered with an error and the session is closed.
        await using (var noVideo = await RawRealtimeClient.OpenAsync(sim))
        {
            const string audioOnly = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=fingerprint:sha-256 00:11\r\na=setup:actpass\r\na=rtpmap:111 opus/48000/2\r\n";
            await noVideo.SendAsync(new JsonObject { ["type"] = "offer", ["sdp"] = audioOnly });
            Assert.Equal("SDP offer has no video section", (string?)(await noVideo.ExpectAsync("error"))["error"]);
            await noVideo.Closed.WaitAsync(Bound);
        }

        // Garbage UDP at a session's media port is discarded and counted; the session keeps echoing.
        long discarded = bystanderSession.DatagramsDiscarded;
        using (var udp = new UdpClient(AddressFamily.InterNetwork))
        {
            for (int i = 0; i < 50; i++)
            {
                await udp.SendAsync(Encoding.ASCII.GetBytes($"garbage {i}"), new IPEndPoint(IPAddress.Loopback, bystanderSession.MediaPort!.Value));
            }
        }

        await WaitAsync(() => bystanderSession.DatagramsDiscarded >= discarded + 50, "garbage datagrams counted");

        // An oversized message: an error, then the session is closed with 1009.
        await client.SendTextAsync("{\"type\":\"prompt\",\"prompt\":\"" + new string('x', 100_000) + "\"}");
        Assert.StartsWith("Message too large", (string?)(await client.ExpectAsync("error"))["error"], StringComparison.Ordinal);
        await client.Closed.WaitAsync(Bound);
        Assert.Equal(WebSocketCloseStatus.MessageTooBig, client.CloseStatus);
        await session.Ended.WaitAsync(Bound);

        // The neighbour never noticed.
        long out0 = bystanderSession.FramesOut;
        await bystanderSession.WaitUntilAsync(s => s.FramesOut > out0 + 15).WaitAsync(Bound);
        Assert.Equal(SessionPhase.Generating, bystanderSession.State);
        Assert.Equal(0, bystanderSession.MalformedMessages);
    }

    [Fact]
    public async Task Faults_in_process_drop_after_frames_stall_server_error_end_generation_and_delay_acks()
    {
        await using var sim = await StartAsync();
        var (client, session) = await GeneratingAsync(sim);
        await using (client)
        {
            // Delayed acks: the ack waits.
            var delay = sim.Faults.Add(new Fault { Type = FaultType.DelayAcks, DelayMs = 600, SessionId = session.Id });
            var watch = System.Diagnostics.Stopwatch.StartNew();
            await client.PromptAsync("slow");
            Assert.True(watch.ElapsedMilliseconds >= 550, $"ack after {watch.ElapsedMilliseconds} ms");
            Assert.True(sim.Faults.Remove(delay.Id!));

            // A stall: nothing is echoed for a while, then it resumes.
            // (3 s, sampled 0.3 s and 0.7 s in: a busy machine's late timers still sample inside it; 1 s once risked not.)
            var stall = System.Diagnostics.Stopwatch.StartNew();
            sim.Faults.Add(new Fault { Type = FaultType.Stall, StallSeconds = 3 });
            await Task.Delay(300);
            long stalled = client.Pc!.Stats.FramesReceived;
            await Task.Delay(400);
            long during = client.Pc.Stats.FramesReceived - stalled;
            Assert.True(stall.Elapsed < TimeSpan.FromSeconds(2.8), $"sampled {stall.Elapsed.TotalSeconds:0.0} s into a 3 s stall");
            Assert.InRange(during, 0, 1);
            await WaitAsync(() => client.Pc.Stats.FramesReceived > stalled + 10, "frames after the stall");
            Assert.True(session.PacketsDroppedByFaults > 0);

            // A server error: the message arrives and the session stays.
            sim.Faults.Add(new Fault { Type = FaultType.ServerError, Error = "GPU on fire" });
            Assert.Equal("GPU on fire", (string?)(await client.ExpectAsync("error"))["error"]);
            Assert.Equal(SessionPhase.Generating, session.State);

            // Drop after N more frames.
            long target = session.FramesIn + 20;
            sim.Faults.Add(new Fault { Type = FaultType.Drop, AfterFrames = target, Mode = DropMode.WebSocket, SessionId = session.Id });
            await session.Ended.WaitAsync(Bound);
            Assert.True(session.FramesIn >= target);
            Assert.Equal("dropped", session.EndReason);
        }

        var (c2, s2) = await GeneratingAsync(sim);
        await using (c2)
        {
            sim.Faults.Add(new Fault { Type = FaultType.EndGeneration });
            var ended = await c2.ExpectAsync("generation_ended");
            Assert.Equal("insufficient_credits", (string?)ended["reason"]);
            await s2.Ended.WaitAsync(Bound);
        }
    }

    [Fact]
    public async Task Refuse_faults_turn_away_the_next_N_connections_with_their_error()
    {
        await using var sim = await StartAsync();
        sim.Faults.Add(new Fault { Type = FaultType.Refuse, Count = 2, Error = "Capacity exceeded" });
        for (int i = 0; i < 2; i++)
        {
            await using var refused = await RawRealtimeClient.OpenAsync(sim);
            Assert.Equal("Capacity exceeded", (string?)(await refused.ExpectAsync("error"))["error"]);
        }

        await using var accepted = await RawRealtimeClient.OpenAsync(sim);
        Assert.True((bool)(await accepted.PromptAsync("in"))["success"]!);
        Assert.Equal((2, 1), (sim.Sessions.TotalRefused, sim.Sessions.TotalStarted));
        Assert.Empty(sim.Faults.All);
    }

    [Fact]
    public async Task Loss_latency_and_bandwidth_faults_impair_media_as_configured()
    {
        await using var sim = await StartAsync();
        var (client, session) = await GeneratingAsync(sim);
        await using (client)
        {
            var loss = sim.Faults.Add(new Fault { Type = FaultType.Loss, LossPercent = 20, Direction = FaultDirection.ToClient });
            await WaitAsync(() => session.PacketsDroppedByFaults > 20, "packets lost to the fault");
            await WaitAsync(() => client.Pc!.Stats.NacksSent > 0, "the client to NACK the losses");
            sim.Faults.Remove(loss.Id!);

            sim.Faults.Add(new Fault { Type = FaultType.Latency, LatencyMs = 150, JitterMs = 10, Direction = FaultDirection.Both });
            await WaitAsync(() => client.Pc!.Stats.RoundTripTime >= TimeSpan.FromMilliseconds(250), "RTT to include 2 x 150 ms");
            sim.Faults.Clear();

            long dropped = session.PacketsDroppedByFaults;
            sim.Faults.Add(new Fault { Type = FaultType.Bandwidth, BandwidthKbps = 100, Direction = FaultDirection.FromClient });
            await WaitAsync(() => session.PacketsDroppedByFaults > dropped + 10, "packets beyond the bandwidth cap dropped");
        }
    }

    private static Task WaitAsync(Func<bool> condition, string what) => Poll.UntilAsync(condition, what, Bound);
}
