using System.Net.Http.Json;
using System.Text.Json;
using Decart.Simulator.Hosting;
using Decart.Simulator.Model;
using Decart.Simulator.Realtime;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace Decart.Interop.Tests;

/// <summary>
/// Decart's own JavaScript SDK, <c>@decartai/sdk@0.0.46</c> from npm, unmodified (bundled with esbuild by the test
/// command), in headless Debian Chromium with a fake camera, against the simulator over real sockets.
/// </summary>
public sealed class JsSdkInteropTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(45);
    private SdkPage _sdk = null!;
    private IPage _page = null!;
    private DecartSimulator _sim = null!;

    public async Task InitializeAsync()
    {
        _sim = await DecartSimulator.StartAsync(new SimulatorOptions { TickInterval = TimeSpan.FromMilliseconds(500) });
        _sdk = await SdkPage.OpenAsync("decart-sdk.js", "@decartai/sdk@0.0.46", "sdk-page.html", "http://localhost:8765", output);
        _page = _sdk.Page;
        await _page.EvaluateAsync("base => window.configureSimulator(base)", _sim.RealtimeBaseUrl.GetLeftPart(UriPartial.Authority));
    }

    public async Task DisposeAsync()
    {
        await _sdk.DisposeAsync();
        await _sim.DisposeAsync();
    }

    [Theory]
    [InlineData(ModelMode.Transform)]
    [InlineData(ModelMode.Echo)]
    public async Task The_JS_SDK_connects_renders_the_output_sets_prompt_and_image_and_comes_back_after_a_drop_through_its_own_reconnect(ModelMode mode)
    {
        _sim.Options.ModelMode = mode;
        var connected = await _page.EvaluateAsync<JsonElement>("([k, m, p]) => window.tryConnect(k, m, p)", new object[] { _sim.DefaultApiKey, "mirage", "a lighthouse at dusk" });
        Assert.True(connected.GetProperty("ok").GetBoolean(), connected.ToString());
        Assert.Contains(connected.GetProperty("state").GetString(), new[] { "connected", "generating" });
        var sessionId = connected.GetProperty("sessionId").GetString();
        Assert.False(string.IsNullOrEmpty(sessionId));
        var session = _sim.Sessions.Find(sessionId!);
        Assert.NotNull(session);
        Assert.Equal("mirage", session!.Model);
        Assert.StartsWith("decart-js-sdk", session.UserAgent ?? string.Empty, StringComparison.OrdinalIgnoreCase);
        await session.WaitForPromptAsync("a lighthouse at dusk").WaitAsync(Bound); // sent after connect, as 0.0.46 does

        // The echoed stream renders in the <video>.
        await SdkPage.WaitForAsync(async () => await _page.EvaluateAsync<int>("() => window.framesRendered()") >= 30, "30 rendered echo frames", Bound);
        var size = await _page.EvaluateAsync<int[]>("() => window.videoSize()");
        Assert.True(size[0] > 0 && size[1] > 0, $"video size {size[0]}x{size[1]}");
        Assert.True(session.FramesIn >= 30 && session.FramesOut >= 30, $"{session.FramesIn} in, {session.FramesOut} out");
        Assert.Equal(mode == ModelMode.Transform ? "transform" : "echo", session.EffectiveModelMode);

        // setPrompt and set({prompt, image}) resolve, and the simulator applied them.
        Assert.Equal("ok", await _page.EvaluateAsync<string>("() => window.call(() => window.rt.setPrompt('foggy harbour', { enhance: false }))"));
        Assert.Equal(("foggy harbour", false), (session.Prompt, session.Enhance));
        int foggy = session.StateVersion;
        await session.WaitUntilAsync(s => s.Frames(30).Any(f => f.Version >= foggy)).WaitAsync(Bound); // made with it, in either mode
        const string png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
        Assert.Equal("ok", await _page.EvaluateAsync<string>($"() => window.call(() => window.rt.set({{ prompt: 'neon harbour', image: 'data:image/png;base64,{png}' }}))"));
        Assert.Equal("neon harbour", session.Prompt);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Convert.FromBase64String(png))), session.ImageHash);

        // A drop through the control API: the JS SDK's own reconnect brings it back on a new session.
        var next = _sim.Sessions.NextSessionAsync();
        using var http = new HttpClient { BaseAddress = _sim.BaseUrl };
        var drop = await http.PostAsJsonAsync($"/_sim/sessions/{sessionId}/drop", new { mode = "websocket" });
        Assert.True(drop.IsSuccessStatusCode, await drop.Content.ReadAsStringAsync());
        var second = await next.WaitAsync(Bound);
        await SdkPage.WaitForAsync(async () => (await _page.EvaluateAsync<string[]>("() => window.states")).Contains("reconnecting"), "the JS client to report reconnecting", Bound);
        await second.WaitUntilAsync(s => s.State == SessionPhase.Generating).WaitAsync(Bound);
        int rendered = await _page.EvaluateAsync<int>("() => window.framesRendered()");
        await SdkPage.WaitForAsync(async () => await _page.EvaluateAsync<int>("() => window.framesRendered()") > rendered + 20, "frames rendered after the reconnect", Bound);
        var states = await _page.EvaluateAsync<string[]>("() => window.states");
        output.WriteLine($"JS states: {string.Join(" > ", states)}");
        Assert.Contains(states[^1], new[] { "connected", "generating" });
        await _page.EvaluateAsync("() => window.rt.disconnect()");
        await session.Ended.WaitAsync(Bound);
        await second.Ended.WaitAsync(Bound);
    }

    [Fact]
    public async Task The_JS_SDK_rejects_connect_with_an_invalid_key()
    {
        var result = await _page.EvaluateAsync<JsonElement>("([k, m, p]) => window.tryConnect(k, m, p)", new object[] { "not-a-key", "mirage", "x" });
        Assert.False(result.GetProperty("ok").GetBoolean());
        Assert.Contains("invalid api key", result.GetProperty("error").GetString(), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(0, _sim.Sessions.TotalStarted);
        Assert.Equal(1, _sim.Sessions.TotalRefused); // permanent: the JS client did not retry
    }
}
