using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Decart.Simulator.Faults;
using Decart.Simulator.Hosting;
using Decart.Simulator.Realtime;

namespace Decart.Simulator.Tests;

/// <summary>The control API under /_sim over real HTTP, as a test in any language would use it.</summary>
public class ControlApiTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Sessions_are_listed_with_their_state_and_can_be_dropped_by_mode()
    {
        await using var sim = await DecartSimulator.StartAsync(new SimulatorOptions { ProcessingLatency = TimeSpan.FromMilliseconds(5) });
        using var http = new HttpClient { BaseAddress = sim.BaseUrl };
        var next = sim.Sessions.NextSessionAsync();
        await using var client = await RawRealtimeClient.OpenAsync(sim);
        var session = await next.WaitAsync(Bound);
        await client.PromptAsync("listed prompt", enhance: false);
        await client.NegotiateAsync();
        client.StartMedia();
        await client.ExpectAsync("generation_started");

        using var list = JsonDocument.Parse(await http.GetStringAsync("/_sim/sessions"));
        var entry = Assert.Single(list.RootElement.EnumerateArray());
        Assert.Equal(session.Id, entry.GetProperty("id").GetString());
        Assert.Equal("lucy-2.1", entry.GetProperty("model").GetString());
        Assert.Equal("generating", entry.GetProperty("state").GetString());
        Assert.Equal("listed prompt", entry.GetProperty("prompt").GetString());
        Assert.False(entry.GetProperty("enhance").GetBoolean());
        Assert.True(entry.GetProperty("framesIn").GetInt64() > 0);
        Assert.True(entry.GetProperty("framesOut").GetInt64() > 0);
        Assert.Equal("VP8", entry.GetProperty("codec").GetString());

        Assert.Equal(HttpStatusCode.NotFound, (await http.PostAsync("/_sim/sessions/nope/drop", null)).StatusCode);
        var bad = await http.PostAsync($"/_sim/sessions/{session.Id}/drop", new StringContent("{\"mode\":\"sideways\"}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);

        var drop = await http.PostAsJsonAsync($"/_sim/sessions/{session.Id}/drop", new { mode = "websocket" });
        Assert.Equal(HttpStatusCode.OK, drop.StatusCode);
        await client.Closed.WaitAsync(Bound);
        await session.Ended.WaitAsync(Bound);
        using var after = JsonDocument.Parse(await http.GetStringAsync($"/_sim/sessions/{session.Id}"));
        Assert.Equal("ended", after.RootElement.GetProperty("state").GetString());
        Assert.Equal("dropped", after.RootElement.GetProperty("endReason").GetString());
    }

    [Fact]
    public async Task A_media_drop_over_http_black_holes_media_but_keeps_the_websocket()
    {
        await using var sim = await DecartSimulator.StartAsync();
        using var http = new HttpClient { BaseAddress = sim.BaseUrl };
        var next = sim.Sessions.NextSessionAsync();
        await using var client = await RawRealtimeClient.OpenAsync(sim);
        var session = await next.WaitAsync(Bound);
        await client.NegotiateAsync(consent: TimeSpan.FromSeconds(2));
        client.StartMedia();
        await client.ExpectAsync("generation_started");

        var failed = new TaskCompletionSource();
        client.Pc!.StateChanged += s =>
        {
            if (s == Decart.Rtc.PeerConnectionState.Failed)
            {
                failed.TrySetResult();
            }
        };
        Assert.Equal(HttpStatusCode.OK, (await http.PostAsJsonAsync($"/_sim/sessions/{session.Id}/drop", new { mode = "media" })).StatusCode);
        await failed.Task.WaitAsync(Bound); // the client's consent freshness noticed
        Assert.Equal(WebSocketState.Open, client.SocketState);
        Assert.NotEqual(SessionPhase.Ended, session.State);
        Assert.True(session.PacketsDroppedByFaults > 0);
    }

    [Fact]
    public async Task Faults_are_added_listed_scoped_removed_and_validated_over_http()
    {
        await using var sim = await DecartSimulator.StartAsync();
        using var http = new HttpClient { BaseAddress = sim.BaseUrl };
        var next = sim.Sessions.NextSessionAsync();
        await using var client = await RawRealtimeClient.OpenAsync(sim);
        var session = await next.WaitAsync(Bound);

        var added = await http.PostAsync("/_sim/faults", new StringContent("{\"type\":\"latency\",\"latencyMs\":100,\"jitterMs\":20,\"target\":\"both\"}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, added.StatusCode);
        var latencyId = JsonDocument.Parse(await added.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString();

        var scoped = await http.PostAsync($"/_sim/sessions/{session.Id}/faults", new StringContent("{\"type\":\"delay_acks\",\"delayMs\":300}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, scoped.StatusCode);
        using (var scopedJson = JsonDocument.Parse(await scoped.Content.ReadAsStringAsync()))
        {
            Assert.Equal(session.Id, scopedJson.RootElement.GetProperty("sessionId").GetString());
        }

        using (var faults = JsonDocument.Parse(await http.GetStringAsync("/_sim/faults")))
        {
            Assert.Equal(["latency", "delay_acks"], faults.RootElement.EnumerateArray().Select(f => f.GetProperty("type").GetString()));
        }

        using (var listed = JsonDocument.Parse(await http.GetStringAsync($"/_sim/sessions/{session.Id}")))
        {
            Assert.Equal(2, listed.RootElement.GetProperty("faults").GetArrayLength());
        }

        // Signaling latency (100 ± 20 ms each way) plus the delayed ack (300 ms) hold the ack back.
        var watch = System.Diagnostics.Stopwatch.StartNew();
        await client.PromptAsync("slow");
        Assert.True(watch.ElapsedMilliseconds >= 450, $"{watch.ElapsedMilliseconds} ms");

        Assert.Equal(HttpStatusCode.NoContent, (await http.DeleteAsync($"/_sim/faults/{latencyId}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.DeleteAsync($"/_sim/faults/{latencyId}")).StatusCode);
        Assert.Single(sim.Faults.All);
        Assert.Equal(HttpStatusCode.NoContent, (await http.DeleteAsync("/_sim/faults")).StatusCode);
        Assert.Empty(sim.Faults.All);

        // Bad faults: a clear 400 naming the field.
        (string Body, string Expect)[] bad =
        [
            ("{\"type\":\"teleport\"}", "type"),
            ("{\"type\":\"loss\",\"lossPercent\":150}", "lossPercent"),
            ("{\"type\":\"latency\",\"latencyMs\":10,\"jitterMs\":50}", "jitterMs"),
            ("{\"type\":\"loss\",\"lossPercent\":5,\"lossPrecent\":5}", "lossPrecent"),
            ("{\"type\":\"drop\",\"probability\":2}", "probability"),
            ("not json", "Invalid fault"),
        ];
        foreach (var (body, expect) in bad)
        {
            var response = await http.PostAsync("/_sim/faults", new StringContent(body, Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains(expect, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Equal(HttpStatusCode.NotFound, (await http.PostAsync("/_sim/sessions/nope/faults", new StringContent("{\"type\":\"stall\",\"stallSeconds\":1}", Encoding.UTF8, "application/json"))).StatusCode);
    }

    [Fact]
    public async Task A_refuse_fault_over_http_turns_away_the_next_connections()
    {
        await using var sim = await DecartSimulator.StartAsync();
        using var http = new HttpClient { BaseAddress = sim.BaseUrl };
        var added = await http.PostAsJsonAsync("/_sim/faults", new { type = "refuse", count = 1, error = "Server busy" });
        Assert.Equal(HttpStatusCode.Created, added.StatusCode);
        await using (var refused = await RawRealtimeClient.OpenAsync(sim))
        {
            Assert.Equal("Server busy", (string?)(await refused.ExpectAsync("error"))["error"]);
        }

        await using var accepted = await RawRealtimeClient.OpenAsync(sim);
        Assert.True((bool)(await accepted.PromptAsync("ok"))["success"]!);
    }
}
