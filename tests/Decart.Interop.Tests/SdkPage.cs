using Microsoft.Playwright;
using Xunit.Abstractions;

namespace Decart.Interop.Tests;

/// <summary>
/// A headless Debian Chromium page with a fake camera that loads one of Decart's JS SDK bundles (built from npm by the
/// test command) and a test page, both served from a routed origin so nothing leaves the machine. The page's console
/// goes to the test output.
/// </summary>
internal sealed class SdkPage : IAsyncDisposable
{
    private readonly IPlaywright _playwright;
    private readonly IBrowser _browser;

    private SdkPage(IPlaywright playwright, IBrowser browser, IPage page)
    {
        _playwright = playwright;
        _browser = browser;
        Page = page;
    }

    /// <summary>The page, with the SDK loaded.</summary>
    public IPage Page { get; }

    /// <summary>Opens the page.</summary>
    /// <param name="bundle">The bundle's file in js/dist, e.g. <c>decart-sdk.js</c>; the page loads it at <c>/{bundle}</c>.</param>
    /// <param name="sdk">The npm package it was built from, for the message when it is missing.</param>
    /// <param name="page">The test page in js/ (copied to the output directory).</param>
    /// <param name="origin">The routed origin, e.g. <c>http://localhost:8765</c>.</param>
    /// <param name="output">Where the browser console goes.</param>
    public static async Task<SdkPage> OpenAsync(string bundle, string sdk, string page, string origin, ITestOutputHelper output)
    {
        var bundlePath = Path.Combine(Decart.Testing.RepositoryPaths.Root, "tests", "Decart.Interop.Tests", "js", "dist", bundle);
        Assert.True(File.Exists(bundlePath), $"{bundlePath} is missing: ./test.sh installs {sdk} from npm and bundles it (npm ci && node build.mjs in tests/Decart.Interop.Tests/js)");
        var js = Path.Combine(AppContext.BaseDirectory, "js");
        var playwright = await Playwright.CreateAsync();
        var browser = await DebianChromium.LaunchAsync(playwright);
        var context = await browser.NewContextAsync();
        await context.GrantPermissionsAsync(["camera"]);
        var p = await context.NewPageAsync();
        p.Console += (_, m) => output.WriteLine($"[browser {m.Type}] {m.Text}");
        // Routed on the context, so the frame-metadata worker the 0.1.x bundle starts (a request of the worker, not the
        // page) is served too.
        await context.RouteAsync(origin + "/**", route =>
        {
            var path = new Uri(route.Request.Url).AbsolutePath;
            return path == "/" + bundle ? route.FulfillAsync(new RouteFulfillOptions { ContentType = "text/javascript", Body = File.ReadAllText(bundlePath) })
                : path == "/frame-metadata-worker.js" ? route.FulfillAsync(new RouteFulfillOptions { ContentType = "text/javascript", Body = File.ReadAllText(Path.Combine(Path.GetDirectoryName(bundlePath)!, "frame-metadata-worker.js")) })
                : path == "/page-common.js" ? route.FulfillAsync(new RouteFulfillOptions { ContentType = "text/javascript", Body = File.ReadAllText(Path.Combine(js, "page-common.js")) })
                : route.FulfillAsync(new RouteFulfillOptions { ContentType = "text/html", Body = File.ReadAllText(Path.Combine(js, page)) });
        });
        await p.GotoAsync(origin + "/");
        return new SdkPage(playwright, browser, p);
    }

    /// <summary>Polls <paramref name="condition"/> every 100 ms, failing the test after <paramref name="bound"/>.</summary>
    /// <param name="condition">What to wait for.</param>
    /// <param name="what">Its name in the failure.</param>
    /// <param name="bound">How long to wait at most.</param>
    public static Task WaitForAsync(Func<Task<bool>> condition, string what, TimeSpan bound) => WaitForAsync(condition, what, bound, null);

    /// <summary>Polls <paramref name="condition"/> until it holds; on timeout the failure says what <paramref name="diagnose"/> saw then.</summary>
    public static async Task WaitForAsync(Func<Task<bool>> condition, string what, TimeSpan bound, Func<Task<string>>? diagnose)
    {
        var deadline = DateTime.UtcNow + bound;
        while (!await condition())
        {
            if (DateTime.UtcNow >= deadline)
            {
                Assert.Fail($"timed out waiting for {what}" + (diagnose is null ? "" : "; " + await diagnose()));
            }

            await Task.Delay(100);
        }
    }

    /// <summary>What a page's remote &lt;video&gt; shows and whether media reaches it: frames, ready state, the track's mute, the SDK's states.</summary>
    public static Task<string> DescribeRemoteAsync(IPage page) => page.EvaluateAsync<string>("""
        () => {
          const v = document.getElementById("remote");
          const t = v.srcObject ? v.srcObject.getVideoTracks()[0] : null;
          return JSON.stringify({ frames: window.framesRendered(), readyState: v.readyState, paused: v.paused, size: [v.videoWidth, v.videoHeight],
            track: t ? { state: t.readyState, muted: t.muted } : null, states: window.states, visibility: document.visibilityState });
        }
        """);

    public async ValueTask DisposeAsync()
    {
        await _browser.CloseAsync();
        _playwright.Dispose();
    }
}
