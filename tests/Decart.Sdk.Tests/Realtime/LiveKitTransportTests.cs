using Decart.Sdk.Models;
using Decart.Sdk.Realtime;
using Decart.Sdk.Realtime.LiveKit;
using Decart.Simulator.Realtime;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;
using static Decart.Sdk.Tests.Realtime.RealtimeTestKit;

namespace Decart.Sdk.Tests.Realtime;

/// <summary>
/// What only the LiveKit transport has, against the simulator's room server over real sockets: the room join, the
/// model participant, the order of the control messages, passthrough, and the wrong-URL fast failure. Everything
/// both transports share runs for both in <see cref="RealtimeClientTests"/>.
/// </summary>
public class LiveKitTransportTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Joins_the_room_publishes_the_camera_receives_the_models_track_and_leaves_the_room_on_disconnect()
    {
        await using var sim = await StartSimulatorAsync();
        using var client = Client(sim);
        await using var source = await SourceAsync();
        var log = new StateLog();
        var rt = await client.Realtime.ConnectAsync(source, Options(log, new RealtimeState { Prompt = "ukiyo-e" }));
        await log.WaitForAsync(ConnectionState.Generating);

        var session = sim.Sessions.Find(rt.SessionId!)!;
        Assert.Equal("livekit", session.Protocol);
        Assert.False(session.Passthrough); // a prompt was given
        Assert.Equal(("ukiyo-e", "prompt"), (session.History[0].Prompt, session.History[0].Via));
        Assert.Equal(1, sim.OpenRooms);

        var room = rt.CurrentSession!.Room!;
        Assert.Equal(session.RoomName, room.RoomName);
        Assert.StartsWith(LiveKitRoomConnection.ModelIdentityPrefix, room.ModelIdentity, StringComparison.Ordinal);
        Assert.StartsWith("TR_", room.ReceiveTrackSid, StringComparison.Ordinal);
        Assert.True(room.AcceptsFrames);
        Assert.Equal(0, room.MalformedMessages);
        Assert.Equal(0, room.StaleAnswers);

        // The camera went out on its own sendonly section; the model's output came back on the receive section.
        Assert.Contains("a=sendonly", session.RemoteOffer, StringComparison.Ordinal);
        Assert.Contains("a=recvonly", session.RemoteOffer, StringComparison.Ordinal);
        await WaitUntilAsync(() => rt.FramesReceived >= 10 && session.FramesIn >= 10, TimeSpan.FromSeconds(20), "frames both ways");

        await rt.DisposeAsync();
        await session.Ended.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, sim.OpenRooms);
        Assert.Equal([ConnectionState.Connecting, ConnectionState.Connected, ConnectionState.Generating, ConnectionState.Disconnected], log.States);
        Assert.Empty(log.Errors);
    }

    [Fact]
    public async Task Without_an_initial_state_the_join_asks_for_passthrough_and_sends_no_state_frame()
    {
        await using var sim = await StartSimulatorAsync();
        using var client = Client(sim);
        await using var source = await SourceAsync();
        var log = new StateLog();
        await using var rt = await client.Realtime.ConnectAsync(source, Options(log));
        await log.WaitForAsync(ConnectionState.Generating);
        var session = sim.Sessions.Find(rt.SessionId!)!;
        Assert.True(session.Passthrough);
        Assert.Empty(session.History);

        // The first update after a passthrough start is acknowledged like any other.
        await rt.SetPromptAsync("first prompt");
        Assert.Equal("first prompt", session.Prompt);
    }

    [Fact]
    public async Task A_base_url_that_already_ends_in_v1_stream_fails_at_once_with_INVALID_BASE_URL_naming_the_url_without_the_key()
    {
        // Pasting the simulator's printed stream URL as the base URL is the mistake a new user makes.
        await using var sim = await StartSimulatorAsync();
        using var client = new DecartClient(new DecartClientOptions { ApiKey = sim.DefaultApiKey, BaseUrl = sim.BaseUrl, RealtimeBaseUrl = new Uri(sim.RealtimeBaseUrl, "v1/stream") });
        await using var source = await SourceAsync();
        int retries = 0;
        var options = new RealtimeConnectOptions { Model = RealtimeModels.Lucy21, OnRetry = (_, _, _) => retries++ };
        var error = await Assert.ThrowsAsync<DecartException>(() => client.Realtime.ConnectAsync(source, options));
        output.WriteLine(error.Message);
        Assert.Equal(DecartErrorCode.InvalidBaseUrl, error.Code);
        Assert.Equal(0, retries);
        Assert.Contains("/v1/stream/v1/stream", error.Message, StringComparison.Ordinal);
        Assert.Contains("404", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(sim.DefaultApiKey, error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Queue_positions_are_reported_in_order_and_the_first_one_stops_the_room_info_timer()
    {
        await using var sim = await StartSimulatorAsync();
        sim.Faults.Add(new Decart.Simulator.Faults.Fault { Type = Decart.Simulator.Faults.FaultType.Queue, Count = 3, DelayMs = 400 });
        using var client = Client(sim);
        await using var source = await SourceAsync();
        var log = new StateLog();
        var positions = new List<QueuePosition>();
        var options = new RealtimeConnectOptions
        {
            Model = RealtimeModels.Lucy21,
            OnConnectionChanged = log.Add,
            OnError = log.AddError,
            OnQueuePosition = p =>
            {
                lock (positions)
                {
                    positions.Add(p);
                }
            },
            RoomInfoTimeout = TimeSpan.FromMilliseconds(500), // shorter than the 1.2 s in the queue: only the pause lets it through
            Reconnect = ReconnectPolicy.None,
        };
        await using var rt = await client.Realtime.ConnectAsync(source, options);
        await log.WaitForAsync(ConnectionState.Generating);
        lock (positions)
        {
            Assert.Equal([new QueuePosition(3, 3), new QueuePosition(2, 3), new QueuePosition(1, 3)], positions);
        }

        Assert.Empty(log.Errors);
    }

    [Fact]
    public async Task At_capacity_a_second_client_waits_in_the_queue_and_starts_when_the_first_disconnects()
    {
        await using var sim = await StartSimulatorAsync(o => o.MaxConcurrentSessions = 1);
        using var client = Client(sim);
        await using var firstSource = await SourceAsync();
        var firstLog = new StateLog();
        var first = await client.Realtime.ConnectAsync(firstSource, Options(firstLog));
        await firstLog.WaitForAsync(ConnectionState.Generating);

        await using var secondSource = await SourceAsync();
        var secondLog = new StateLog();
        var positions = new System.Collections.Concurrent.ConcurrentQueue<QueuePosition>();
        var options = new RealtimeConnectOptions
        {
            Model = RealtimeModels.Lucy21,
            OnConnectionChanged = secondLog.Add,
            OnError = secondLog.AddError,
            OnQueuePosition = positions.Enqueue,
            RoomInfoTimeout = TimeSpan.FromSeconds(2),
        };
        var connecting = client.Realtime.ConnectAsync(secondSource, options);

        // It waits (past its 2 s room-info timeout: the first queue_position stopped that timer) as first of one.
        await WaitUntilAsync(() => !positions.IsEmpty, TimeSpan.FromSeconds(15), "a queue position");
        Assert.Equal(new QueuePosition(1, 1), positions.First());
        await Task.Delay(TimeSpan.FromSeconds(2.5));
        Assert.False(connecting.IsCompleted, "the second connect waits for the slot");

        await first.DisposeAsync();
        await using var second = await connecting.WaitAsync(TimeSpan.FromSeconds(30));
        await secondLog.WaitForAsync(ConnectionState.Generating);
        Assert.Empty(secondLog.Errors);
        Assert.Equal(0, sim.QueuedSessions);
    }

    [Fact]
    public async Task Cancelling_a_connect_while_queued_ends_it_and_closes_its_room()
    {
        await using var sim = await StartSimulatorAsync();
        sim.Faults.Add(new Decart.Simulator.Faults.Fault { Type = Decart.Simulator.Faults.FaultType.Queue, Count = 1, DelayMs = 60_000 });
        using var client = Client(sim);
        await using var source = await SourceAsync();
        // Cancelled once its queue position has come (so it was queued, not still joining), with a room-info timeout
        // long enough that the cancel is the only way it can end (300 ms here once raced a slow first message).
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        int positions = 0;
        var options = new RealtimeConnectOptions
        {
            Model = RealtimeModels.Lucy21,
            Reconnect = ReconnectPolicy.None,
            RoomInfoTimeout = TimeSpan.FromSeconds(20),
            OnQueuePosition = _ =>
            {
                Interlocked.Increment(ref positions);
                cts.CancelAfter(TimeSpan.FromMilliseconds(200));
            },
        };
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.Realtime.ConnectAsync(source, options, cts.Token));
        Assert.True(Volatile.Read(ref positions) >= 1, "the connect was cancelled before it was queued");
        await WaitUntilAsync(() => sim.OpenRooms == 0, TimeSpan.FromSeconds(10), "the abandoned session's room to close");
    }

    [Fact]
    public async Task The_room_token_and_the_api_key_appear_in_no_log_line_at_any_level()
    {
        await using var sim = await StartSimulatorAsync();
        using var client = Client(sim);
        await using var source = await SourceAsync();
        var lines = new List<string>();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(new ListLoggerProvider(lines)).SetMinimumLevel(LogLevel.Trace));
        var log = new StateLog();
        var options = new RealtimeConnectOptions { Model = RealtimeModels.Lucy21, OnConnectionChanged = log.Add, LoggerFactory = loggerFactory };
        string token;
        await using (var rt = await client.Realtime.ConnectAsync(source, options))
        {
            await log.WaitForAsync(ConnectionState.Generating);
            var session = sim.Sessions.Find(rt.SessionId!)!;
            token = session.Room!.Token;
            await rt.SetPromptAsync("no secrets");
        }

        lock (lines)
        {
            Assert.NotEmpty(lines);
            Assert.DoesNotContain(lines, l => l.Contains(token, StringComparison.Ordinal) || l.Contains(sim.DefaultApiKey, StringComparison.Ordinal));
        }
    }
}
