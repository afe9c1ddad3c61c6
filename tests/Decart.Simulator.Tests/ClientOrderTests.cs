using System.Text.Json.Nodes;
using Decart.Simulator.Hosting;

namespace Decart.Simulator.Tests;

/// <summary>
/// Every order of messages Decart's clients have used on <c>/v1/stream</c> since the LiveKit move (JS 0.1.0–0.1.20,
/// Python 0.1.4), each over a real socket: the session gets its room and the state the client meant.
/// </summary>
public sealed class ClientOrderTests
{
    private static readonly string Png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

    private static async Task<(DecartSimulator Sim, RawRealtimeClient Client)> OpenAsync(string? extraQuery = null)
    {
        var sim = await DecartSimulator.StartAsync(new SimulatorOptions());
        var raw = await RawRealtimeClient.OpenAsync(sim, extraQuery: extraQuery);
        return (sim, raw);
    }

    [Fact]
    public async Task JS_0_1_8_and_later_join_with_passthrough_false_then_the_state_as_the_next_frame()
    {
        var (sim, raw) = await OpenAsync();
        await using (sim)
        await using (raw)
        {
            await raw.SendAsync(new JsonObject { ["type"] = "livekit_join", ["passthrough"] = false, ["client_capabilities"] = new JsonObject { ["frame_timing"] = true } });
            await raw.SendAsync(new JsonObject { ["type"] = "set_image", ["image_data"] = Png, ["prompt"] = "noir", ["enhance_prompt"] = true });
            await raw.ExpectAsync("livekit_room_info");
            Assert.True((bool)(await raw.ExpectAsync("set_image_ack"))["success"]!);
            var session = sim.Sessions.Open.Single();
            Assert.Equal(("noir", "set_image", false, true), (session.History[0].Prompt, session.History[0].Via, session.Passthrough, session.FrameTiming));
            Assert.NotNull(session.ImageHash);
        }
    }

    [Fact]
    public async Task JS_0_1_0_to_0_1_5_send_a_bare_join_and_the_state_after_room_info()
    {
        var (sim, raw) = await OpenAsync();
        await using (sim)
        await using (raw)
        {
            await raw.SendAsync(new JsonObject { ["type"] = "livekit_join" });
            var info = await raw.ExpectAsync("livekit_room_info");
            Assert.StartsWith("ws://", (string)info["livekit_url"]!, StringComparison.Ordinal);
            var ack = await raw.PromptAsync("after the room");
            Assert.True((bool)ack["success"]!);
            Assert.Equal("after the room", (string?)ack["prompt"]);
            Assert.Equal("after the room", sim.Sessions.Open.Single().Prompt);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task JS_0_1_6_and_0_1_7_bundle_the_initial_state_in_the_join(bool withImage)
    {
        var (sim, raw) = await OpenAsync();
        await using (sim)
        await using (raw)
        {
            var initial = new JsonObject { ["prompt"] = "bundled", ["enhance_prompt"] = false };
            if (withImage)
            {
                initial["image_data"] = Png;
            }

            await raw.SendAsync(new JsonObject { ["type"] = "livekit_join", ["initial_state"] = initial });
            await raw.ExpectAsync(withImage ? "set_image_ack" : "prompt_ack");
            await raw.ExpectAsync("livekit_room_info");
            var first = sim.Sessions.Open.Single().History[0];
            Assert.Equal(("bundled", false, withImage ? "set_image" : "prompt"), (first.Prompt, first.Enhance, first.Via));
            Assert.Equal(withImage, first.ImageHash is not null);
        }
    }

    [Fact]
    public async Task JS_0_1_6_initial_state_null_is_only_a_capability_marker()
    {
        var (sim, raw) = await OpenAsync();
        await using (sim)
        await using (raw)
        {
            await raw.SendAsync(JsonNode.Parse("""{"type":"livekit_join","initial_state":null}""")!.AsObject());
            await raw.ExpectAsync("livekit_room_info");
            Assert.Empty(sim.Sessions.Open.Single().History);
            Assert.DoesNotContain(raw.All, m => (string?)m["type"] is "error" or "prompt_ack" or "set_image_ack");
        }
    }

    [Fact]
    public async Task Before_0_1_9_a_bare_camera_stream_bootstraps_with_a_null_set_image()
    {
        var (sim, raw) = await OpenAsync();
        await using (sim)
        await using (raw)
        {
            await raw.SendAsync(new JsonObject { ["type"] = "livekit_join", ["passthrough"] = true });
            await raw.ExpectAsync("livekit_room_info");
            await raw.SendAsync(JsonNode.Parse("""{"type":"set_image","image_data":null,"prompt":null}""")!.AsObject());
            Assert.True((bool)(await raw.ExpectAsync("set_image_ack"))["success"]!);
            var session = sim.Sessions.Open.Single();
            Assert.Equal((null, null), (session.Prompt, session.ImageHash));
        }
    }

    [Fact]
    public async Task Python_0_1_4_sends_early_room_info_a_bare_join_then_the_state_whose_ack_it_awaits_before_the_room()
    {
        var (sim, raw) = await OpenAsync("livekit_early_room_info=true");
        await using (sim)
        await using (raw)
        {
            await raw.SendAsync(new JsonObject { ["type"] = "livekit_join" });
            await raw.ExpectAsync("livekit_room_info");
            await raw.SendAsync(new JsonObject { ["type"] = "prompt", ["prompt"] = "from python", ["enhance_prompt"] = true });
            Assert.True((bool)(await raw.ExpectAsync("prompt_ack"))["success"]!);
            var session = sim.Sessions.Open.Single();
            Assert.Equal("true", session.QueryParameters["livekit_early_room_info"]);
            Assert.Equal("from python", session.Prompt);
            Assert.NotNull(session.RoomName);
        }
    }

    [Fact]
    public async Task A_second_join_or_a_join_after_an_offer_is_refused_and_counted()
    {
        var (sim, raw) = await OpenAsync();
        await using (sim)
        await using (raw)
        {
            await raw.SendAsync(new JsonObject { ["type"] = "livekit_join" });
            await raw.ExpectAsync("livekit_room_info");
            await raw.SendAsync(new JsonObject { ["type"] = "livekit_join" });
            var error = await raw.ExpectAsync("error");
            Assert.Contains("livekit_join is accepted once", (string)error["error"]!, StringComparison.Ordinal);
            var session = sim.Sessions.Open.Single();
            Assert.Equal(1, session.IgnoredMessages);
            Assert.Equal(1, sim.OpenRooms);
        }
    }
}
