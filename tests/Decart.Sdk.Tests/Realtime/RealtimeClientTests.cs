using System.Diagnostics;
using System.Threading.Channels;
using Decart.Rtc.Sdp;
using Decart.Sdk.Models;
using Decart.Sdk.Realtime;
using Decart.Simulator.Faults;
using Decart.Simulator.Realtime;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;
using static Decart.Sdk.Tests.Realtime.RealtimeTestKit;

namespace Decart.Sdk.Tests.Realtime;

/// <summary>The realtime client against the embedded simulator: real Kestrel, real WebSocket, real UDP, DTLS and SRTP.</summary>
public class RealtimeClientTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(RealtimeTransport.LiveKit)]
    [InlineData(RealtimeTransport.Direct)]
    public async Task Connects_generates_receives_echoed_frames_applies_every_kind_of_update_ticks_and_disconnects_cleanly(RealtimeTransport transport)
    {
        await using var sim = await StartSimulatorAsync();
        using var client = Client(sim);
        await using var source = await SourceAsync();
        var log = new StateLog();
        var ticks = new List<double>();
        var options = Options(log, new RealtimeState { Prompt = "anime style" }, transport);
        var rt = await client.Realtime.ConnectAsync(source, options);
        rt.GenerationTick += (_, t) =>
        {
            lock (ticks)
            {
                ticks.Add(t.Seconds);
            }
        };

        await log.WaitForAsync(ConnectionState.Generating);
        Assert.NotNull(rt.SessionId);
        var session = sim.Sessions.Find(rt.SessionId!);
        Assert.NotNull(session);
        Assert.Equal(transport == RealtimeTransport.LiveKit ? "livekit" : "direct", session!.Protocol);
        Assert.Equal("anime style", session!.History[0].Prompt); // the initial state came first (direct: before the offer; LiveKit: the frame after livekit_join)
        Assert.Equal("prompt", session.History[0].Via);

        // Echoed frames come back through the pull API, with increasing timestamps and the model's size.
        var frames = new List<Decart.Sdk.Media.EncodedVideoFrame>();
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20)))
        {
            await foreach (var frame in rt.ReadFramesAsync(cts.Token))
            {
                frames.Add(frame);
                if (frames.Count == 15)
                {
                    break;
                }
            }
        }

        Assert.Equal(15, frames.Count);
        Assert.True(frames.Zip(frames.Skip(1)).All(p => p.Second.Timestamp > p.First.Timestamp));
        Assert.All(frames, f => Assert.Equal(Decart.Sdk.Media.VideoCodec.Vp8, f.Codec));

        await rt.SetPromptAsync("watercolor", enhance: false);
        Assert.Equal(("watercolor", false, (string?)null), (session.Prompt, session.Enhance, session.ImageHash));

        await rt.SetAsync(new RealtimeState { Prompt = "oil painting", Image = Png });
        Assert.Equal(("oil painting", true, Sha256(Png)), (session.Prompt, session.Enhance, session.ImageHash));
        Assert.Equal("set_image", session.History[^1].Via);

        await rt.SetImageAsync(null);
        Assert.Equal(("oil painting", (string?)null), (session.Prompt, session.ImageHash));

        await WaitUntilAsync(() => { lock (ticks) { return ticks.Count >= 2; } }, TimeSpan.FromSeconds(20), "two generation ticks");
        lock (ticks)
        {
            Assert.True(ticks.Zip(ticks.Skip(1)).All(p => p.Second > p.First), string.Join(",", ticks));
        }

        await rt.DisposeAsync();
        Assert.Equal([ConnectionState.Connecting, ConnectionState.Connected, ConnectionState.Generating, ConnectionState.Disconnected], log.States);
        Assert.Empty(log.Errors);
        await session.Ended.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(SessionPhase.Ended, session.State);
        Assert.True(session.FramesIn > 15 && session.FramesOut >= 15, $"{session.FramesIn} in, {session.FramesOut} out");

        // Calls after disconnect fail fast with a typed error.
        var late = await Assert.ThrowsAsync<DecartException>(() => rt.SetPromptAsync("late"));
        Assert.Equal(DecartErrorCode.WebRtcError, late.Code);
    }

    [Theory]
    [InlineData(RealtimeTransport.LiveKit)]
    [InlineData(RealtimeTransport.Direct)]
    public async Task An_invalid_key_is_INVALID_API_KEY_and_is_not_retried(RealtimeTransport transport)
    {
        await using var sim = await StartSimulatorAsync();
        using var client = Client(sim, key: "wrong_key_123");
        await using var source = await SourceAsync();
        int retries = 0;
        var options = Options() is var o ? new RealtimeConnectOptions { Model = o.Model, Transport = transport, OnRetry = (_, _, _) => retries++ } : null!;
        var error = await Assert.ThrowsAsync<DecartException>(() => client.Realtime.ConnectAsync(source, options));
        Assert.Equal(DecartErrorCode.InvalidApiKey, error.Code);
        Assert.Equal(0, retries);
        Assert.DoesNotContain("wrong_key_123", error.ToString(), StringComparison.Ordinal);
        Assert.Equal(0, sim.Sessions.TotalStarted);
    }

    [Fact]
    public async Task An_unknown_model_is_MODEL_NOT_FOUND()
    {
        await using var sim = await StartSimulatorAsync();
        using var client = Client(sim);
        await using var source = await SourceAsync();
        var options = new RealtimeConnectOptions { Model = new RealtimeModel("no-such-model", 30, 30, 1088, 624) };
        var error = await Assert.ThrowsAsync<DecartException>(() => client.Realtime.ConnectAsync(source, options));
        Assert.Equal(DecartErrorCode.ModelNotFound, error.Code);
        Assert.Contains("no-such-model", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_expired_client_token_is_refused_for_a_new_session_while_a_session_opened_before_expiry_keeps_running()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var sim = await StartSimulatorAsync(o => o.TimeProvider = time);
        var token = sim.Tokens.Issue(TimeSpan.FromSeconds(60), null, null, null);
        using var client = Client(sim, token.Key);
        await using var source = await SourceAsync();
        var log = new StateLog();
        await using var rt = await client.Realtime.ConnectAsync(source, Options(log));
        await log.WaitForAsync(ConnectionState.Generating);

        time.Advance(TimeSpan.FromSeconds(61));
        var session = sim.Sessions.Find(rt.SessionId!)!;
        long before = session.FramesIn;
        await WaitUntilAsync(() => session.FramesIn > before + 10, TimeSpan.FromSeconds(10), "frames after expiry");
        await rt.SetPromptAsync("still mine");
        Assert.Equal("still mine", session.Prompt);
        Assert.Equal(ConnectionState.Generating, rt.State);

        await using var source2 = await SourceAsync();
        var error = await Assert.ThrowsAsync<DecartException>(() => client.Realtime.ConnectAsync(source2, Options()));
        Assert.Equal(DecartErrorCode.InvalidApiKey, error.Code);
        Assert.Contains("expired", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Reconnect")]
    [InlineData("Resume")]
    [InlineData("Disconnect")]
    public async Task A_room_leave_of_any_action_reconnects_the_session_quietly_with_its_state(string actionName)
    {
        var action = Enum.Parse<Decart.Rtc.LiveKit.Proto.LeaveRequest.Types.Action>(actionName);
        await using var sim = await StartSimulatorAsync();
        using var client = Client(sim);
        await using var source = await SourceAsync();
        var log = new StateLog();
        await using var rt = await client.Realtime.ConnectAsync(source, Options(log, new RealtimeState { Prompt = "before the leave" }));
        await log.WaitForAsync(ConnectionState.Generating);
        var session = sim.Sessions.Find(rt.SessionId!)!;
        var next = sim.Sessions.NextSessionAsync();

        await session.Room!.Publisher!.LeaveAsync(action, Decart.Rtc.LiveKit.Proto.DisconnectReason.SignalClose);
        var restored = await next.WaitAsync(TimeSpan.FromSeconds(30));
        await log.WaitForAsync(ConnectionState.Generating, occurrence: 2);
        Assert.Equal("before the leave", restored.History[0].Prompt);
        Assert.Equal(1, rt.Reconnects);
        Assert.Contains(ConnectionState.Reconnecting, log.States);
        Assert.Empty(log.Errors); // a reconnect that succeeds is not an error
    }

    [Theory]
    [InlineData(DropMode.WebSocket, RealtimeTransport.LiveKit)]
    [InlineData(DropMode.Media, RealtimeTransport.LiveKit)]
    [InlineData(DropMode.Room, RealtimeTransport.LiveKit)]
    [InlineData(DropMode.RoomReconnect, RealtimeTransport.LiveKit)]
    [InlineData(DropMode.RoomResume, RealtimeTransport.LiveKit)]
    [InlineData(DropMode.WebSocket, RealtimeTransport.Direct)]
    [InlineData(DropMode.Media, RealtimeTransport.Direct)]
    public async Task A_drop_mid_session_reconnects_and_restores_the_last_acknowledged_prompt_and_image(DropMode mode, RealtimeTransport transport)
    {
        await using var sim = await StartSimulatorAsync();
        using var client = Client(sim);
        await using var source = await SourceAsync();
        var log = new StateLog();
        var lines = new List<string>();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(new ListLoggerProvider(lines)).SetMinimumLevel(LogLevel.Debug));
        var options = new RealtimeConnectOptions
        {
            Model = RealtimeModels.Lucy21,
            Transport = transport,
            OnConnectionChanged = log.Add,
            OnError = log.AddError,
            LoggerFactory = loggerFactory,
            ConsentTimeout = TimeSpan.FromSeconds(2), // a media black hole is noticed through ICE consent
        };
        await using var rt = await client.Realtime.ConnectAsync(source, options);
        await log.WaitForAsync(ConnectionState.Generating);
        await rt.SetAsync(new RealtimeState { Prompt = "neon city", Image = Png, Enhance = false });
        var first = rt.SessionId!;

        var next = sim.Sessions.NextSessionAsync();
        await sim.DropAsync(first, mode);
        await log.WaitForAsync(ConnectionState.Reconnecting, seconds: 20);
        var second = await next.WaitAsync(TimeSpan.FromSeconds(30));
        await log.WaitForAsync(ConnectionState.Generating, occurrence: 2, seconds: 30);

        foreach (var s in sim.Sessions)
        {
            output.WriteLine($"{s.Id} {s.State} {s.EndReason} history={s.History.Count} in={s.FramesIn} out={s.FramesOut}");
        }

        lock (lines)
        {
            lines.ForEach(output.WriteLine);
        }

        output.WriteLine($"client: {rt.SessionId} reconnects={rt.Reconnects} states={string.Join(",", log.States)} errors={string.Join(";", log.Errors.Select(e => e.Message))}");
        Assert.NotEqual(first, second.Id);
        Assert.Equal(second.Id, rt.SessionId);
        var restored = second.History[0];
        Assert.Equal(("neon city", false, Sha256(Png), "set_image"), (restored.Prompt, restored.Enhance, restored.ImageHash, restored.Via));
        Assert.Equal(1, rt.Reconnects);
        Assert.Empty(log.Errors);
        long framesBefore = second.FramesOut;
        await WaitUntilAsync(() => second.FramesOut > framesBefore + 10, TimeSpan.FromSeconds(10), "echo after reconnect");
        output.WriteLine($"{mode}: states {string.Join(" > ", log.States)}");
    }

    [Theory]
    [InlineData(RealtimeTransport.LiveKit)]
    [InlineData(RealtimeTransport.Direct)]
    public async Task Refused_connections_are_retried_on_the_policy_schedule_measured_on_a_fake_clock(RealtimeTransport transport)
    {
        await using var sim = await StartSimulatorAsync();
        sim.Faults.Add(new Fault { Type = FaultType.Refuse, Count = 3 });
        using var client = Client(sim);
        await using var source = await SourceAsync();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var retries = Channel.CreateUnbounded<(int Retry, TimeSpan Delay)>();
        var options = new RealtimeConnectOptions { Model = RealtimeModels.Lucy21, Transport = transport, TimeProvider = time, OnRetry = (n, d, _) => retries.Writer.TryWrite((n, d)) };

        var connect = client.Realtime.ConnectAsync(source, options);
        var schedule = await DriveRetriesAsync(time, retries.Reader, connect, () => sim.Sessions.TotalRefused + sim.Sessions.TotalStarted);
        await using var rt = await connect;

        Assert.Equal([(1, TimeSpan.FromSeconds(1)), (2, TimeSpan.FromSeconds(2)), (3, TimeSpan.FromSeconds(4))], schedule);
        Assert.Equal(3, sim.Sessions.TotalRefused);
        Assert.Equal(1, sim.Sessions.TotalStarted);
    }

    [Fact]
    public async Task When_reconnect_retries_run_out_the_client_is_Disconnected_with_exactly_one_Error()
    {
        await using var sim = await StartSimulatorAsync();
        using var client = Client(sim);
        await using var source = await SourceAsync();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var log = new StateLog();
        var retries = Channel.CreateUnbounded<(int Retry, TimeSpan Delay)>();
        var options = new RealtimeConnectOptions
        {
            Model = RealtimeModels.Lucy21,
            TimeProvider = time,
            OnConnectionChanged = log.Add,
            OnError = log.AddError,
            OnRetry = (n, d, _) => retries.Writer.TryWrite((n, d)),
        };
        await using var rt = await client.Realtime.ConnectAsync(source, options);
        await log.WaitForAsync(ConnectionState.Generating);

        sim.Faults.Add(new Fault { Type = FaultType.Refuse, Count = 100, Error = "Service temporarily unavailable" });
        await sim.DropAsync(rt.SessionId!, DropMode.WebSocket);
        var gaveUp = log.WaitForAsync(ConnectionState.Disconnected, seconds: 60);
        var schedule = await DriveRetriesAsync(time, retries.Reader, gaveUp, () => sim.Sessions.TotalRefused + sim.Sessions.TotalStarted);
        await gaveUp;

        Assert.Equal([1, 2, 4, 8, 10], schedule.Select(s => s.Delay.TotalSeconds));
        Assert.Equal([ConnectionState.Connecting, ConnectionState.Connected, ConnectionState.Generating, ConnectionState.Reconnecting, ConnectionState.Disconnected], log.States);
        var error = Assert.Single(log.Errors);
        Assert.Equal(DecartErrorCode.WebRtcError, error.Code);
        Assert.Contains("temporarily unavailable", error.Message, StringComparison.Ordinal);
        var late = await Assert.ThrowsAsync<DecartException>(() => rt.SetPromptAsync("too late"));
        Assert.Equal(DecartErrorCode.WebRtcError, late.Code);
    }

    [Fact]
    public async Task CustomizeOffer_rewrites_the_offer_the_server_sees_and_forcing_H264_makes_H264_flow()
    {
        await using var sim = await StartSimulatorAsync();
        using var client = Client(sim);
        var source = new H264ClipSource();
        var received = 0;
        var options = new RealtimeConnectOptions
        {
            Model = RealtimeModels.Lucy21,
            CustomizeOffer = (offer, _) =>
            {
                SdpNegotiation.KeepOnlyCodec(offer, "H264");
                offer.Attributes.Add(new SdpAttribute("x-decart-test", "customized"));
                return ValueTask.FromResult(offer);
            },
            OnFrame = f =>
            {
                if (f.Codec == Decart.Sdk.Media.VideoCodec.H264 && Decart.Rtc.Codecs.H264Nal.TryReadSize(f.Data, out int w, out int h) && (w, h) == (1088, 624))
                {
                    Interlocked.Increment(ref received);
                }
            },
        };
        await using var rt = await client.Realtime.ConnectAsync(source, options);
        var session = sim.Sessions.Find(rt.SessionId!)!;
        Assert.Equal("H264", session.Codec);
        Assert.Contains("a=x-decart-test:customized", session.RemoteOffer, StringComparison.Ordinal);
        Assert.DoesNotContain("VP8/90000", session.RemoteOffer, StringComparison.Ordinal);
        await WaitUntilAsync(() => Volatile.Read(ref received) >= 2, TimeSpan.FromSeconds(20), "echoed H.264 keyframes of the clip's size");
        Assert.Equal((1088, 624), (session.Describe().FrameWidth, session.Describe().FrameHeight));
    }

    [Theory]
    [InlineData(RealtimeTransport.LiveKit)]
    [InlineData(RealtimeTransport.Direct)]
    public async Task Malformed_and_unknown_server_messages_are_logged_and_ignored_and_the_session_goes_on(RealtimeTransport transport)
    {
        await using var sim = await StartSimulatorAsync();
        using var client = Client(sim);
        await using var source = await SourceAsync();
        var lines = new List<string>();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(new ListLoggerProvider(lines)).SetMinimumLevel(LogLevel.Debug));
        var log = new StateLog();
        var options = new RealtimeConnectOptions { Model = RealtimeModels.Lucy21, Transport = transport, OnConnectionChanged = log.Add, OnError = log.AddError, LoggerFactory = loggerFactory };
        await using var rt = await client.Realtime.ConnectAsync(source, options);
        await log.WaitForAsync(ConnectionState.Generating);
        var session = sim.Sessions.Find(rt.SessionId!)!;

        string[] bad =
        [
            "{not json",                                       // malformed JSON
            "[1,2,3]",                                         // not an object
            "{\"no_type\":1}",                                 // no type
            "{\"type\":\"mystery_feature\",\"x\":1}",          // unknown type
            "{\"type\":\"generation_tick\",\"seconds\":\"x\"}", // wrong field type
            "{\"type\":\"prompt_ack\"}",                       // missing fields
            "{\"type\":\"answer\",\"sdp\":\"garbage\"}",       // an answer nobody asked for
            "{\"type\":\"ice-candidate\",\"candidate\":{\"candidate\":\"candidate:nonsense\"}}", // unusable candidate
        ];
        foreach (var text in bad)
        {
            session.SendRaw(text);
        }

        await WaitUntilAsync(() => rt.IgnoredMessages >= 6, TimeSpan.FromSeconds(10), "ignored messages counted");
        await rt.SetPromptAsync("after the garbage");
        Assert.Equal("after the garbage", session.Prompt);
        Assert.Equal(ConnectionState.Generating, rt.State);
        Assert.Empty(log.Errors);
        long before = rt.FramesReceived;
        await WaitUntilAsync(() => rt.FramesReceived > before + 10, TimeSpan.FromSeconds(10), "frames still flowing");
        lock (lines)
        {
            Assert.Contains(lines, l => l.Contains("Ignored", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.Contains("Realtime WebSocket open", StringComparison.Ordinal) && !l.Contains("api_key", StringComparison.Ordinal)); // the URL is logged without its query
            Assert.DoesNotContain(lines, l => l.Contains(sim.DefaultApiKey, StringComparison.Ordinal));
        }

        Assert.DoesNotContain(sim.DefaultApiKey, rt.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_rejected_update_and_a_missing_ack_fail_with_typed_errors_and_the_session_goes_on()
    {
        await using var sim = await StartSimulatorAsync();
        using var client = Client(sim);
        await using var source = await SourceAsync();
        var log = new StateLog();
        // 2 s: a normal ack (sent with the first frame made with the new prompt) must fit even on a loaded 2-core CI
        // machine; the delayed one (6 s) must not.
        var options = new RealtimeConnectOptions { Model = RealtimeModels.Lucy21, OnConnectionChanged = log.Add, PromptTimeout = TimeSpan.FromSeconds(2) };
        await using var rt = await client.Realtime.ConnectAsync(source, options);
        await log.WaitForAsync(ConnectionState.Generating);

        // success:false (a GIF is not an accepted image) → INVALID_INPUT with the server's reason; state unchanged.
        byte[] gif = Convert.FromBase64String("R0lGODlhAQABAAAAACw=");
        var rejected = await Assert.ThrowsAsync<DecartException>(() => rt.SetImageAsync(ImageInput.FromBytes(gif)));
        Assert.Equal(DecartErrorCode.InvalidInput, rejected.Code);
        Assert.Contains("PNG, JPEG or WebP", rejected.ServerMessage, StringComparison.Ordinal);
        Assert.Null(rt.AcknowledgedState.Image);

        // No ack in time → WEB_RTC_ERROR naming the ack; the client stays usable.
        var session = sim.Sessions.Find(rt.SessionId!)!;
        var delay = sim.Faults.Add(new Fault { Type = FaultType.DelayAcks, DelayMs = 6000, SessionId = session.Id });
        var late = await Assert.ThrowsAsync<DecartException>(() => rt.SetPromptAsync("too slow"));
        Assert.Equal(DecartErrorCode.WebRtcError, late.Code);
        Assert.Contains("prompt_ack", late.Message, StringComparison.Ordinal);
        sim.Faults.Remove(delay.Id!);
        await rt.SetPromptAsync("in time");
        Assert.Equal("in time", rt.AcknowledgedState.Prompt);

        // Bad input on our side never reaches the wire.
        var empty = await Assert.ThrowsAsync<DecartException>(() => rt.SetPromptAsync(string.Empty));
        Assert.Equal(DecartErrorCode.InvalidInput, empty.Code);
    }

    [Fact]
    public async Task Disconnecting_during_a_reconnect_cancels_it_without_an_error()
    {
        await using var sim = await StartSimulatorAsync();
        using var client = Client(sim);
        await using var source = await SourceAsync();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var log = new StateLog();
        var options = new RealtimeConnectOptions { Model = RealtimeModels.Lucy21, TimeProvider = time, OnConnectionChanged = log.Add, OnError = log.AddError };
        var rt = await client.Realtime.ConnectAsync(source, options);
        await log.WaitForAsync(ConnectionState.Generating);
        sim.Faults.Add(new Fault { Type = FaultType.Refuse, Count = 100 });
        await sim.DropAsync(rt.SessionId!, DropMode.WebSocket);
        await log.WaitForAsync(ConnectionState.Reconnecting);
        await WaitUntilAsync(() => sim.Sessions.TotalRefused >= 1, TimeSpan.FromSeconds(10), "the first reconnect attempt");

        await rt.DisconnectAsync().WaitAsync(TimeSpan.FromSeconds(10));
        long attempts = sim.Sessions.TotalRefused;
        time.Advance(TimeSpan.FromMinutes(5)); // every backoff timer would have fired by now
        await Task.Delay(300);
        Assert.Equal(attempts, sim.Sessions.TotalRefused);
        Assert.Equal(ConnectionState.Disconnected, rt.State);
        Assert.Equal(ConnectionState.Disconnected, log.States[^1]);
        Assert.Empty(log.Errors);

        // The source was lent, not given: it still works.
        await foreach (var frame in source.ReadFramesAsync(CancellationToken.None))
        {
            Assert.True(frame.Data.Length > 0);
            break;
        }
    }

    [Fact]
    public async Task A_server_error_mid_session_is_an_Error_event_with_a_code_and_the_session_stays_up()
    {
        await using var sim = await StartSimulatorAsync();
        using var client = Client(sim);
        await using var source = await SourceAsync();
        var log = new StateLog();
        await using var rt = await client.Realtime.ConnectAsync(source, Options(log));
        await log.WaitForAsync(ConnectionState.Generating);
        sim.Faults.Add(new Fault { Type = FaultType.ServerError, Error = "GPU hiccup" });
        await WaitUntilAsync(() => log.Errors.Count == 1, TimeSpan.FromSeconds(10), "the error event");
        Assert.Equal(DecartErrorCode.WebRtcError, log.Errors[0].Code);
        Assert.Equal("GPU hiccup", log.Errors[0].ServerMessage);
        await rt.SetPromptAsync("carry on");
        Assert.Equal(ConnectionState.Generating, rt.State);
    }

    [Theory]
    [InlineData(RealtimeTransport.LiveKit)]
    [InlineData(RealtimeTransport.Direct)]
    public async Task Generation_ended_by_the_server_is_reported_and_not_reconnected(RealtimeTransport transport)
    {
        await using var sim = await StartSimulatorAsync();
        using var client = Client(sim);
        await using var source = await SourceAsync();
        var log = new StateLog();
        GenerationEnded? ended = null;
        await using var rt = await client.Realtime.ConnectAsync(source, Options(log, null, transport));
        rt.GenerationEnded += (_, e) => ended = e;
        await log.WaitForAsync(ConnectionState.Generating);
        sim.Faults.Add(new Fault { Type = FaultType.EndGeneration });
        await log.WaitForAsync(ConnectionState.Disconnected);
        Assert.Equal("insufficient_credits", ended?.Reason);
        Assert.DoesNotContain(ConnectionState.Reconnecting, log.States);
        Assert.Equal(1, sim.Sessions.TotalStarted);
    }

    [Fact]
    public async Task Mirror_On_with_an_encoded_source_and_a_wrong_frame_size_under_StrictFormat_are_INVALID_OPTIONS()
    {
        await using var sim = await StartSimulatorAsync();
        using var client = Client(sim);
        await using var source = await SourceAsync();
        var mirror = await Assert.ThrowsAsync<DecartException>(() => client.Realtime.ConnectAsync(source, new RealtimeConnectOptions { Model = RealtimeModels.Lucy21, Mirror = MirrorMode.On }));
        Assert.Equal(DecartErrorCode.InvalidOptions, mirror.Code);
        Assert.Contains("Mirror", mirror.Message, StringComparison.Ordinal);

        await using var wide = await SourceAsync("pattern-1280x704-30fps.ivf");
        var strict = await Assert.ThrowsAsync<DecartException>(() => client.Realtime.ConnectAsync(wide, new RealtimeConnectOptions { Model = RealtimeModels.Lucy21, StrictFormat = true }));
        Assert.Equal(DecartErrorCode.InvalidOptions, strict.Code);
        Assert.Contains("1280x704", strict.Message, StringComparison.Ordinal);
        Assert.Equal(0, sim.Sessions.TotalStarted);

        // Lenient: a warning, and the session runs (the simulator counts the same mismatch on its side).
        var warnings = new List<string>();
        await using var rt = await client.Realtime.ConnectAsync(wide, new RealtimeConnectOptions { Model = RealtimeModels.Lucy21, OnWarning = warnings.Add });
        Assert.Contains(warnings, w => w.Contains("1280x704", StringComparison.Ordinal));
        var session = sim.Sessions.Find(rt.SessionId!)!;
        await session.WaitUntilAsync(s => s.Warnings.Count > 0).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Contains("1280x704", session.Warnings[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_server_sent_offer_is_answered()
    {
        await using var sim = await StartSimulatorAsync(o => o.ServerOffers = true);
        using var client = Client(sim);
        await using var source = await SourceAsync();
        var log = new StateLog();
        await using var rt = await client.Realtime.ConnectAsync(source, Options(log, new RealtimeState { Prompt = "server offers" }, RealtimeTransport.Direct)); // a server offer exists only in the direct flow
        await log.WaitForAsync(ConnectionState.Generating);
        var session = sim.Sessions.Find(rt.SessionId!)!;
        Assert.Null(session.RemoteOffer); // no client offer was needed
        Assert.Equal("VP8", session.Codec);
        Assert.True(rt.FramesReceived > 0 || session.FramesOut > 0);
    }

    /// <summary>
    /// Plays the fake clock through each retry delay the policy announces, until <paramref name="done"/>: advance by
    /// the announced delay, then wait for the next connection attempt to reach the simulator (advancing again only if
    /// the backoff timer was armed after the first nudge).
    /// </summary>
    private static async Task<List<(int Retry, TimeSpan Delay)>> DriveRetriesAsync(FakeTimeProvider time, ChannelReader<(int Retry, TimeSpan Delay)> retries, Task done, Func<long> attempts)
    {
        var schedule = new List<(int, TimeSpan)>();
        var deadline = Stopwatch.StartNew();
        while (!done.IsCompleted && deadline.Elapsed < TimeSpan.FromSeconds(90))
        {
            if (!retries.TryRead(out var retry))
            {
                await Task.WhenAny(done, Task.Delay(20));
                continue;
            }

            schedule.Add(retry);
            long before = attempts();
            while (attempts() == before && !done.IsCompleted && deadline.Elapsed < TimeSpan.FromSeconds(90))
            {
                time.Advance(retry.Delay);
                var nudge = Stopwatch.StartNew();
                while (attempts() == before && !done.IsCompleted && nudge.Elapsed < TimeSpan.FromSeconds(1))
                {
                    await Task.Delay(10);
                }
            }
        }

        return schedule;
    }
}

/// <summary>Runs alone (no other test class in parallel), so process-wide counts of sockets, descriptors and threads mean something.</summary>
[CollectionDefinition(nameof(ResourceLeakTests), DisableParallelization = true)]
public sealed class ResourceLeakCollection;

/// <summary>Connect/disconnect cycles must not leak sockets, descriptors or threads.</summary>
[Collection(nameof(ResourceLeakTests))]
public class ResourceLeakTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(RealtimeTransport.LiveKit)]
    [InlineData(RealtimeTransport.Direct)]
    public async Task Two_hundred_connect_disconnect_cycles_leave_no_growth_in_sockets_threads_or_handles(RealtimeTransport transport)
    {
        await using var sim = await StartSimulatorAsync();
        using var client = Client(sim);
        await using var source = await SourceAsync();
        var options = Options(null, null, transport);

        // Warm up (JIT, pools, the first certificate) before the baseline.
        for (int i = 0; i < 5; i++)
        {
            await using var warm = await client.Realtime.ConnectAsync(source, options);
        }

        await Settle();
        var (sockets0, fds0, threads0) = Measure();
        var watch = Stopwatch.StartNew();
        (int Sockets, int Fds, int Threads) half = default;
        for (int i = 0; i < 200; i++)
        {
            var rt = await client.Realtime.ConnectAsync(source, options);
            await rt.DisconnectAsync();
            if (i == 99)
            {
                await Settle();
                half = Measure();
            }
        }

        watch.Stop();
        var closing = Stopwatch.StartNew();
        try
        {
            await WaitUntilAsync(() => sim.Sessions.Open.Count == 0, TimeSpan.FromSeconds(60), "the simulator to close every session");
        }
        finally
        {
            output.WriteLine($"simulator sessions closed {closing.Elapsed.TotalSeconds:F1} s after the last disconnect; still open: {string.Join("; ", sim.Sessions.Open.Select(o => $"{o.Id} {o.State} in={o.FramesIn} started={o.StartedAt:O}"))}");
        }

        await Settle();
        var (sockets1, fds1, threads1) = Measure();
        output.WriteLine($"sockets at the end by protocol: {DescribeSockets()}");
        output.WriteLine($"200 cycles in {watch.Elapsed.TotalSeconds:F1} s ({watch.Elapsed.TotalMilliseconds / 200:F0} ms each); sockets {sockets0} -> {half.Sockets} -> {sockets1}, fds {fds0} -> {half.Fds} -> {fds1}, threads {threads0} -> {half.Threads} -> {threads1} (start -> after 100 -> after 200)");

        // A leak grows with the cycles; the runtime's lazily created descriptors (epoll, eventfd, pipes of new
        // socket-engine or timer threads) do not. So: the second 100 cycles add (almost) nothing, and the totals
        // stay within a small constant (one run in many has kept one peer's sockets once; see the output).
        Assert.True(sockets1 - half.Sockets <= 2, $"sockets {sockets0} -> {half.Sockets} -> {sockets1}");
        Assert.True(sockets1 <= sockets0 + 10, $"sockets {sockets0} -> {half.Sockets} -> {sockets1}");
        Assert.True(fds1 - half.Fds <= 4, $"fds {fds0} -> {half.Fds} -> {fds1}");
        Assert.True(fds1 <= fds0 + 16, $"fds {fds0} -> {fds1}");
        Assert.True(threads1 <= threads0 + 8, $"threads {threads0} -> {threads1}");
        Assert.Equal(205, sim.Sessions.TotalStarted);

        static async Task Settle()
        {
            for (int i = 0; i < 3; i++)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                await Task.Delay(300);
            }
        }

        static string DescribeSockets()
        {
            var inodes = Directory.GetFiles("/proc/self/fd").Select(f =>
            {
                try
                {
                    return new FileInfo(f).LinkTarget;
                }
                catch (IOException)
                {
                    return null;
                }
            }).Where(t => t?.StartsWith("socket:[", StringComparison.Ordinal) == true).Select(t => t![8..^1]).ToHashSet();
            var parts = new List<string>();
            foreach (var table in new[] { "udp", "udp6", "tcp", "tcp6" })
            {
                var lines = File.ReadAllLines($"/proc/self/net/{table}").Skip(1).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Where(c => c.Length > 9 && inodes.Contains(c[9])).ToList();
                parts.Add($"{table} {lines.Count} [{string.Join(" ", lines.Select(c => c[1]))}]");
            }

            return string.Join(", ", parts);
        }

        static (int Sockets, int Fds, int Threads) Measure()
        {
            var fds = Directory.GetFiles("/proc/self/fd");
            int sockets = fds.Count(f =>
            {
                try
                {
                    return new FileInfo(f).LinkTarget?.StartsWith("socket:", StringComparison.Ordinal) == true;
                }
                catch (IOException)
                {
                    return false;
                }
            });
            return (sockets, fds.Length, Process.GetCurrentProcess().Threads.Count);
        }
    }
}
