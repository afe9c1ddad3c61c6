using System.Net;
using System.Net.WebSockets;
using System.Text.Json.Nodes;
using Decart.Rtc.LiveKit;
using Decart.Simulator.Hosting;
using Decart.Simulator.Rooms;
using Decart.Rtc.LiveKit.Proto;
using Microsoft.Extensions.DependencyInjection;

namespace Decart.Simulator.Tests;

/// <summary><c>POST /watch-stream/{room}</c>: viewer grants of a live room, on real Kestrel.</summary>
public sealed class WatchStreamTests
{
    private static HttpRequestMessage Watch(string room, string? key)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/watch-stream/" + Uri.EscapeDataString(room)) { Content = new StringContent("{}") };
        if (key is not null)
        {
            request.Headers.Add("X-API-KEY", key);
        }

        return request;
    }

    private static async Task<(RawRealtimeClient Client, string Room)> LiveRoomAsync(DecartSimulator sim)
    {
        var raw = await RawRealtimeClient.OpenAsync(sim);
        await raw.SendAsync(new JsonObject { ["type"] = "livekit_join" });
        var info = await raw.ExpectAsync("livekit_room_info");
        return (raw, (string)info["room_name"]!);
    }

    [Fact]
    public async Task Grants_need_a_key_and_a_live_room_and_are_bounded_per_room()
    {
        await using var sim = await DecartSimulator.StartAsync(new SimulatorOptions());
        using var http = new HttpClient { BaseAddress = sim.BaseUrl };
        var (raw, room) = await LiveRoomAsync(sim);
        await using (raw)
        {
            // Bad input tried: no key, a wrong key, a room that never was (and a 2000-character one), each refused with a JSON error.
            using (var missing = await http.SendAsync(Watch(room, key: null)))
            {
                Assert.Equal(HttpStatusCode.Unauthorized, missing.StatusCode);
                Assert.Contains("Missing API key", await missing.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            }

            using (var wrong = await http.SendAsync(Watch(room, "sk-not-a-key-42")))
            {
                Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
                Assert.DoesNotContain("sk-not-a-key-42", await wrong.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            }

            using (var unknown = await http.SendAsync(Watch(new string('x', 2000), SimulatorOptions.DevelopmentKey)))
            {
                Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
                Assert.True((await unknown.Content.ReadAsStringAsync()).Length < 300, "the error does not echo a huge room name");
            }

            // A grant: the room server's URL on this host, a viewer token unlike the publisher's, the room and the session.
            using var granted = await http.SendAsync(Watch(room, SimulatorOptions.DevelopmentKey));
            Assert.Equal(HttpStatusCode.OK, granted.StatusCode);
            var body = JsonNode.Parse(await granted.Content.ReadAsStringAsync())!;
            Assert.Equal($"ws://{sim.BaseUrl.Authority}/lk", (string?)body["livekit_url"]);
            Assert.Equal(room, (string?)body["room_name"]);
            Assert.Equal(sim.Sessions.Open.Single().Id, (string?)body["session_id"]);
            string viewerToken = (string)body["token"]!;
            Assert.StartsWith("lkv_", viewerToken, StringComparison.Ordinal);

            // A grant is good for one join: the first WebSocket is accepted, the second refused with 401.
            var join = LiveKitSignal.EncodeJoinRequest(new JoinRequest { ClientInfo = new ClientInfo { Protocol = LiveKitSignal.ProtocolVersion } });
            var url = new Uri($"ws://{sim.BaseUrl.Authority}/lk/rtc/v1?access_token={Uri.EscapeDataString(viewerToken)}&join_request={Uri.EscapeDataString(join)}");
            using (var first = new ClientWebSocket())
            {
                await first.ConnectAsync(url, CancellationToken.None);
                Assert.Equal(WebSocketState.Open, first.State);
                using var second = new ClientWebSocket();
                second.Options.CollectHttpResponseDetails = true;
                await Assert.ThrowsAsync<WebSocketException>(() => second.ConnectAsync(url, CancellationToken.None));
                Assert.Equal(HttpStatusCode.Unauthorized, second.HttpStatusCode);
            }

            // Grants are bounded per room: 32 outstanding, the next is 429.
            var registry = sim.Services.GetRequiredService<RoomRegistry>();
            while (registry.ViewerGrants < 32)
            {
                using var more = await http.SendAsync(Watch(room, SimulatorOptions.DevelopmentKey));
                Assert.Equal(HttpStatusCode.OK, more.StatusCode);
            }

            using (var tooMany = await http.SendAsync(Watch(room, SimulatorOptions.DevelopmentKey)))
            {
                Assert.Equal((HttpStatusCode)429, tooMany.StatusCode);
            }
        }

        // The session ends with its socket: the room closes, its grants go with it, and the room is not found.
        await WaitAsync(() => sim.OpenRooms == 0, "the room to close");
        await WaitAsync(() => sim.Services.GetRequiredService<RoomRegistry>().ViewerGrants == 0, "the grants to go");
        using var after = await http.SendAsync(Watch(room, SimulatorOptions.DevelopmentKey));
        Assert.Equal(HttpStatusCode.NotFound, after.StatusCode);
    }

    private static Task WaitAsync(Func<bool> condition, string what) => Poll.UntilAsync(condition, what, TimeSpan.FromSeconds(15));
}
