using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using Decart.Chaos;
using Decart.Simulator.Hosting;

namespace Decart.Simulator.Tests;

/// <summary>
/// The simulator's log, as a user's CI would see it: the built simulator as its own process with <c>--verbose</c>.
/// No line at any level may carry a key or a token (ASP.NET's request lines include the query string), the banner
/// masks user-supplied keys, and a flood of bad input writes a bounded number of lines.
/// </summary>
public class LogHygieneTests
{
    private const string UserKey = "user_permanent_key_7f3a9c21";
    private const string WrongKey = "wrong_key_5b8e0d44aa";

    [Fact]
    public async Task A_verbose_run_logs_requests_but_never_a_key_or_token_and_the_banner_masks_user_keys()
    {
        using var sim = await SimulatorProcess.StartAsync("--port", "0", "--verbose", "--api-key", UserKey);
        // The rest of the banner, to its last line (its stdout is read asynchronously).
        var until = DateTime.UtcNow.AddSeconds(10);
        while (!sim.Output.Contains("Press Ctrl+C to stop.", StringComparison.Ordinal) && DateTime.UtcNow < until)
        {
            await Task.Delay(20);
        }

        string banner = sim.Output;
        Assert.Contains("Press Ctrl+C to stop.", banner, StringComparison.Ordinal);
        Assert.DoesNotContain(UserKey, banner, StringComparison.Ordinal);
        Assert.Contains("API key: user*** (27 characters)", banner, StringComparison.Ordinal);

        var secrets = new List<string> { UserKey, WrongKey };
        using var http = new HttpClient();

        // A client token over REST, then used on /v1/stream.
        var request = new HttpRequestMessage(HttpMethod.Post, $"{sim.Url}/v1/client/tokens");
        request.Headers.Add("X-API-KEY", UserKey);
        using var response = await http.SendAsync(request);
        var token = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["apiKey"]!.GetValue<string>();
        secrets.Add(token);

        // The wrong key is refused (logged as a refusal), the right key and the token are accepted.
        await ConnectAsync(sim.Url, WrongKey, expectAccepted: false);
        await ConnectAsync(sim.Url, token, expectAccepted: true);
        using (var ws = await ConnectAsync(sim.Url, UserKey, expectAccepted: true))
        {
            // A LiveKit-era join: the room token goes to /lk/rtc/v1/validate as access_token, as livekit-client does.
            await SendAsync(ws, """{"type":"livekit_join"}""");
            var info = await ReceiveTypeAsync(ws, "livekit_room_info");
            string roomToken = info["token"]!.GetValue<string>();
            secrets.Add(roomToken);
            using var validate = await http.GetAsync($"{sim.Url}/lk/rtc/v1/validate?access_token={Uri.EscapeDataString(roomToken)}&join_request=bad");
            Assert.Equal(System.Net.HttpStatusCode.Unauthorized, validate.StatusCode);
        }

        string log = await sim.StopAsync();
        Assert.Contains("/v1/stream", log, StringComparison.Ordinal); // request lines were logged: the scan means something
        Assert.Contains("/lk/rtc/v1/validate", log, StringComparison.Ordinal);
        foreach (var secret in secrets)
        {
            Assert.DoesNotContain(secret, log, StringComparison.Ordinal);
        }

        Assert.Contains("api_key=***", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_flood_of_malformed_messages_writes_a_few_lines_and_counts_the_rest()
    {
        using var sim = await SimulatorProcess.StartAsync("--port", "0", "--verbose");
        using (var ws = await ConnectAsync(sim.Url, SimulatorOptions.DevelopmentKey, expectAccepted: true))
        {
            // Bad input tried: 300 messages of three kinds (not JSON, no type, unknown type).
            for (int i = 0; i < 100; i++)
            {
                await SendAsync(ws, "{not json");
                await SendAsync(ws, """{"no_type":1}""");
                await SendAsync(ws, """{"type":"frobnicate"}""");
            }

            // The session keeps working after the flood: a prompt is still acknowledged (the rate limit allows it after a second).
            await Task.Delay(1100);
            await SendAsync(ws, """{"type":"prompt","prompt":"still here"}""");
            var ack = await ReceiveTypeAsync(ws, "prompt_ack");
            Assert.True(ack["success"]!.GetValue<bool>());
        }

        string log = await sim.StopAsync();
        int badLines = log.Split('\n').Count(l => l.Contains("ignored", StringComparison.Ordinal) || l.Contains("more bad input", StringComparison.Ordinal));
        Assert.InRange(badLines, 2, 6);
        Assert.Contains("more bad input; counted, no longer logged", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refused_over_long_prompt_is_not_reflected_in_full()
    {
        await using var sim = await DecartSimulator.StartAsync();
        await using var client = await RawRealtimeClient.OpenAsync(sim);
        string huge = new('x', 2_000_000);
        await client.SendAsync(new JsonObject { ["type"] = "prompt", ["prompt"] = huge });
        var ack = await client.ExpectAsync("prompt_ack");
        Assert.False(ack["success"]!.GetValue<bool>());
        Assert.Equal(1000, ack["prompt"]!.GetValue<string>().Length);
    }

    private static async Task<ClientWebSocket> ConnectAsync(string url, string key, bool expectAccepted)
    {
        var ws = new ClientWebSocket();
        var uri = new Uri($"{url.Replace("http://", "ws://", StringComparison.Ordinal)}/v1/stream?api_key={Uri.EscapeDataString(key)}&model=lucy-2.1");
        try
        {
            await ws.ConnectAsync(uri, CancellationToken.None);
            if (!expectAccepted)
            {
                // Refused keys are told so with an error and a close.
                var error = await ReceiveTypeAsync(ws, "error");
                Assert.Contains("Invalid API key", error["error"]!.GetValue<string>(), StringComparison.Ordinal);
            }
        }
        catch (WebSocketException) when (!expectAccepted)
        {
        }

        return ws;
    }

    private static Task SendAsync(ClientWebSocket ws, string text) =>
        ws.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None);

    private static async Task<JsonObject> ReceiveTypeAsync(ClientWebSocket ws, string type)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var buffer = new byte[64 * 1024];
        while (true)
        {
            using var message = new MemoryStream();
            WebSocketReceiveResult result;
            do
            {
                result = await ws.ReceiveAsync(buffer, timeout.Token);
                message.Write(buffer, 0, result.Count);
            }
            while (!result.EndOfMessage);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                throw new InvalidOperationException($"closed before '{type}'");
            }

            var json = JsonNode.Parse(message.ToArray())!.AsObject();
            if (json["type"]?.GetValue<string>() == type)
            {
                return json;
            }
        }
    }
}
