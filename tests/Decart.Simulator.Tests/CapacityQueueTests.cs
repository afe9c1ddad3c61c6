using System.Text.Json.Nodes;
using Decart.Rtc;
using Decart.Simulator.Hosting;

namespace Decart.Simulator.Tests;

/// <summary>The model's capacity (<see cref="SimulatorOptions.MaxConcurrentSessions"/>): sessions past it wait in a queue and are told their place.</summary>
public sealed class CapacityQueueTests
{
    private static async Task<RawRealtimeClient> JoinAsync(DecartSimulator sim)
    {
        var raw = await RawRealtimeClient.OpenAsync(sim);
        await raw.SendAsync(new JsonObject { ["type"] = "livekit_join", ["passthrough"] = true });
        return raw;
    }

    private static (int Position, int Size) Place(JsonObject message) => ((int)message["position"]!, (int)message["queue_size"]!);

    private static Task WaitAsync(Func<bool> condition, string what) => Poll.UntilAsync(condition, what, TimeSpan.FromSeconds(15));

    [Fact]
    public async Task Past_capacity_livekit_sessions_queue_first_come_first_served_and_are_told_each_change_of_place()
    {
        await using var sim = await DecartSimulator.StartAsync(new SimulatorOptions { MaxConcurrentSessions = 1 });
        await using var a = await JoinAsync(sim);
        await a.ExpectAsync("livekit_room_info");

        // B waits first in a queue of one; C joins behind it, and B is told the queue grew.
        await using var b = await JoinAsync(sim);
        Assert.Equal((1, 1), Place(await b.ExpectAsync("queue_position")));
        await using var c = await JoinAsync(sim);
        Assert.Equal((2, 2), Place(await c.ExpectAsync("queue_position")));
        Assert.Equal((1, 2), Place(await b.ExpectAsync("queue_position")));
        await WaitAsync(() => sim.QueuedSessions == 2, "two queued");
        var bSession = sim.Sessions.Open.Single(s => s.RoomName is not null && s.QueuePosition == 1);
        Assert.Equal(1, bSession.Describe().QueuePosition);
        using (var http = new HttpClient { BaseAddress = sim.BaseUrl })
        {
            // The control API shows each session's protocol, room and place in the queue.
            using var listed = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync($"/_sim/sessions/{bSession.Id}"));
            Assert.Equal(1, listed.RootElement.GetProperty("queuePosition").GetInt32());
            Assert.Equal("livekit", listed.RootElement.GetProperty("protocol").GetString());
            Assert.Equal(bSession.RoomName, listed.RootElement.GetProperty("roomName").GetString());
        }

        Assert.DoesNotContain(b.All, m => (string?)m["type"] == "livekit_room_info");

        // A ends: its slot goes to B (room info now), and C moves up to first of one.
        await a.DisposeAsync();
        var info = await b.ExpectAsync("livekit_room_info");
        Assert.Equal(bSession.RoomName, (string?)info["room_name"]);
        Assert.Equal((1, 1), Place(await c.ExpectAsync("queue_position")));
        Assert.Null(bSession.QueuePosition);

        // A queued session that leaves gives up its place: nobody waits any more, and the slot count is untouched.
        await c.DisposeAsync();
        await WaitAsync(() => sim.QueuedSessions == 0, "C to leave the queue");

        // Raising the capacity admits the next one at once.
        await using var d = await JoinAsync(sim);
        Assert.Equal((1, 1), Place(await d.ExpectAsync("queue_position")));
        sim.Capacity = 2;
        await d.ExpectAsync("livekit_room_info");
        Assert.Equal(0, sim.QueuedSessions);
    }

    [Fact]
    public async Task A_direct_session_past_capacity_waits_silently_for_its_answer()
    {
        await using var sim = await DecartSimulator.StartAsync(new SimulatorOptions { MaxConcurrentSessions = 1 });
        await using var holder = await JoinAsync(sim);
        await holder.ExpectAsync("livekit_room_info");

        await using var direct = await RawRealtimeClient.OpenAsync(sim);
        await using var pc = new PeerConnection(new PeerConnectionOptions());
        var offer = await pc.CreateOfferAsync();
        await direct.SendAsync(new JsonObject { ["type"] = "offer", ["sdp"] = offer.ToString() });
        await WaitAsync(() => sim.QueuedSessions == 1, "the direct session to queue");
        Assert.DoesNotContain(direct.All, m => (string?)m["type"] is "answer" or "queue_position"); // the 0.0.x protocol has no queue message

        await holder.DisposeAsync();
        var answer = await direct.ExpectAsync("answer");
        Assert.Contains("m=video", (string)answer["sdp"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_capacity_below_zero_is_refused_and_the_scenario_file_checks_it()
    {
        await using var sim = await DecartSimulator.StartAsync(new SimulatorOptions());
        Assert.Throws<ArgumentOutOfRangeException>(() => sim.Capacity = -1);
        Assert.Null(sim.Capacity);
        var bad = Assert.Throws<ScenarioException>(() => Scenario.Parse("""{"maxConcurrentSessions":0}""", "test.json"));
        Assert.Contains("maxConcurrentSessions", bad.Message, StringComparison.Ordinal);
    }
}
