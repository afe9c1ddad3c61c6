using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Decart.Simulator.Hosting;
using Decart.Simulator.Realtime;
using Xunit.Abstractions;

namespace Decart.Interop.Tests;

/// <summary>
/// A LiveKit client that is not Decart's and not a browser: LiveKit's own Node SDK, <c>@livekit/rtc-node</c> 1.1.0 from
/// npm (the Rust client SDK over native libwebrtc), unmodified, joins the simulator's room with the token of
/// <c>livekit_room_info</c>, publishes a camera and receives the model's track — the room server speaks LiveKit, not
/// just what Decart's JS SDK happens to use. (This client sends the token as <c>Authorization: Bearer</c>, not in the
/// query as livekit-client does; the room server accepts both.)
/// </summary>
public sealed class RtcNodeInteropTests(ITestOutputHelper output)
{
    [Fact]
    public async Task LiveKits_node_sdk_joins_the_room_of_a_livekit_join_publishes_and_receives_the_model_track()
    {
        await using var sim = await DecartSimulator.StartAsync(new SimulatorOptions { TickInterval = TimeSpan.FromMilliseconds(500) });

        // The control socket, as Decart's clients open it.
        using var ws = new ClientWebSocket();
        await ws.ConnectAsync(new Uri(sim.RealtimeBaseUrl, $"/v1/stream?api_key={sim.DefaultApiKey}&model=lucy-2.1"), CancellationToken.None);
        await SendAsync(ws, """{"type":"livekit_join","passthrough":false}""");
        await SendAsync(ws, """{"type":"prompt","prompt":"seen by rtc-node","enhance_prompt":true}""");
        var messages = new List<JsonElement>();
        var reader = Task.Run(async () =>
        {
            var buffer = new byte[64 * 1024];
            try
            {
                while (ws.State == WebSocketState.Open)
                {
                    var result = await ws.ReceiveAsync(buffer, CancellationToken.None);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        break;
                    }

                    lock (messages)
                    {
                        messages.Add(JsonDocument.Parse(buffer.AsMemory(0, result.Count)).RootElement.Clone());
                    }
                }
            }
            catch (WebSocketException)
            {
            }
        });
        JsonElement info = default;
        await SdkPage.WaitForAsync(() =>
        {
            lock (messages)
            {
                info = messages.FirstOrDefault(m => m.GetProperty("type").GetString() == "livekit_room_info");
                return Task.FromResult(info.ValueKind == JsonValueKind.Object);
            }
        }, "livekit_room_info", TimeSpan.FromSeconds(15));
        var session = sim.Sessions.Open.Single();

        // LiveKit's Node SDK, in its own process, with only the URL and the token.
        var script = Path.Combine(Decart.Testing.RepositoryPaths.Root, "tests", "Decart.Interop.Tests", "js", "rtc-node-client.mjs");
        var start = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = Path.GetDirectoryName(script)! };
        foreach (var arg in new[] { script, info.GetProperty("livekit_url").GetString()!, info.GetProperty("token").GetString()!, "1088", "624", "90" })
        {
            start.ArgumentList.Add(arg);
        }

        using var node = Process.Start(start)!;
        var stderr = node.StandardError.ReadToEndAsync();
        string stdout;
        using (var bound = new CancellationTokenSource(TimeSpan.FromSeconds(90)))
        {
            try
            {
                stdout = await node.StandardOutput.ReadToEndAsync(bound.Token);
                await node.WaitForExitAsync(bound.Token);
            }
            finally
            {
                if (!node.HasExited)
                {
                    node.Kill(entireProcessTree: true);
                }
            }
        }

        output.WriteLine("rtc-node: " + stdout.Trim());
        string log = await stderr;
        output.WriteLine(log.Length > 2000 ? log[^2000..] : log);
        var result = JsonDocument.Parse(stdout.Trim().Split('\n')[^1]).RootElement;
        Assert.True(result.GetProperty("ok").GetBoolean(), stdout);
        Assert.Equal("inference-server-" + session.Id[..12], result.GetProperty("from").GetString());
        Assert.Equal([1088, 624], result.GetProperty("size").EnumerateArray().Select(e => e.GetInt32()).ToArray());

        // The simulator saw a LiveKit-era session whose camera came from rtc-node, and generated from it.
        Assert.Equal("livekit", session.Protocol);
        Assert.True(session.FramesIn > 0 && session.FramesOut >= 30, $"in {session.FramesIn}, out {session.FramesOut}");
        Assert.Equal("seen by rtc-node", session.Prompt);
        // This client offers its layers as f;h;q (livekit-client: q;h;f): the model must still be fed the full layer.
        output.WriteLine($"codec {session.Codec}, input layer {session.InputLayer}, warnings: {string.Join(" | ", session.Warnings)}");
        Assert.Contains("a=simulcast:send f;h;q", session.RemoteOffer, StringComparison.Ordinal);
        if (Environment.GetEnvironmentVariable("DECART_CAPTURE_OFFER") is { Length: > 0 } capture)
        {
            File.WriteAllText(capture + "-rtc-node.sdp", session.RemoteOffer); // how tests/Decart.Rtc.Tests/Sdp/fixtures were made
        }

        output.WriteLine("layers with media: " + string.Join(",", session.InputLayers) + $"; measured fps {session.Describe().MeasuredFps}, frames in {session.FramesIn}");
        Assert.True(session.InputLayer == "f", $"input layer {session.InputLayer}; layers with media {string.Join(",", session.InputLayers)}; warnings {string.Join(" | ", session.Warnings)}");
        // The full layer at the model's size, at 30 fps (measured by RTP time). On a busy machine libwebrtc's CPU
        // adaptation may send that layer scaled down (one run with two CPU hogs: 628x360), which the simulator rightly
        // warns about; that warning alone is the sender's choice, not a wrong layer.
        Assert.DoesNotContain(session.Warnings, w => !IsCpuAdaptedFullLayer(w));
        lock (messages)
        {
            Assert.Contains(messages, m => m.GetProperty("type").GetString() == "generation_started");
        }

        await ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
        await session.Ended.WaitAsync(TimeSpan.FromSeconds(15));
        await reader.WaitAsync(TimeSpan.FromSeconds(15));
        Assert.Equal(0, sim.OpenRooms);
    }

    /// <summary>A frame-size warning for a layer scaled down from the model's 1088x624 at its aspect ratio.</summary>
    private static bool IsCpuAdaptedFullLayer(string warning)
    {
        var size = System.Text.RegularExpressions.Regex.Match(warning, @"^Frame size (\d+)x(\d+) does not match model lucy-2\.1 \(1088x624\)");
        if (!size.Success)
        {
            return false;
        }

        int width = int.Parse(size.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        int height = int.Parse(size.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
        return width < 1088 && height < 624 && Math.Abs((double)width / height - 1088.0 / 624) < 0.05;
    }

    private static Task SendAsync(ClientWebSocket ws, string text) => ws.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None);
}
