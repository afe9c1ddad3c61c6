using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Decart.Rtc;
using Decart.Rtc.Codecs;
using Decart.Rtc.Sdp;
using Decart.Sdk.Media;
using Microsoft.Playwright;

namespace Decart.Interop.Tests;

/// <summary>Launches Debian's Chromium (<c>/usr/bin/chromium</c>, never a downloaded browser), headless, with a fake camera.</summary>
internal static class DebianChromium
{
    public static Task<IBrowser> LaunchAsync(IPlaywright playwright) => playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
    {
        ExecutablePath = "/usr/bin/chromium",
        Headless = true,
        Args =
        [
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            "--allow-loopback-in-peer-connection", "--autoplay-policy=no-user-gesture-required",

            // Test pages are served by Playwright's router and the servers listen on 127.0.0.1: without this,
            // Chromium's Local Network Access checks block a page's WebSocket to loopback.
            "--disable-features=LocalNetworkAccessChecks,BlockInsecurePrivateNetworkRequests",
        ],
    });
}

/// <summary>Debian's Chromium, headless with a fake camera, driven by Playwright (never a downloaded browser).</summary>
internal sealed class BrowserPeer : IAsyncDisposable
{
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;

    public IPage Page { get; private set; } = null!;

    public BlockingCollection<string?> Candidates { get; } = [];

    public static async Task<BrowserPeer> StartAsync()
    {
        var peer = new BrowserPeer();
        peer._playwright = await Playwright.CreateAsync();
        peer._browser = await DebianChromium.LaunchAsync(peer._playwright);
        var context = await peer._browser.NewContextAsync();
        await context.GrantPermissionsAsync(["camera"]);
        peer.Page = await context.NewPageAsync();
        await peer.Page.RouteAsync("http://localhost:8765/**", route => route.FulfillAsync(new RouteFulfillOptions
        {
            ContentType = "text/html",
            Body = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "page.html")),
        }));
        await peer.Page.ExposeFunctionAsync<string, bool>("toCSharp", json =>
        {
            using var doc = JsonDocument.Parse(json);
            if (doc.RootElement.GetProperty("kind").GetString() == "candidate")
            {
                var c = doc.RootElement.GetProperty("candidate");
                peer.Candidates.Add(c.ValueKind == JsonValueKind.Null ? null : c.GetString());
            }

            return true;
        });
        await peer.Page.GotoAsync("http://localhost:8765/");
        return peer;
    }

    /// <summary>Feeds the browser's trickled candidates into our peer until the browser says it is done.</summary>
    public Task PumpCandidates(PeerConnection pc, CancellationToken ct) => Task.Run(
        async () =>
        {
            while (!ct.IsCancellationRequested)
            {
                if (Candidates.TryTake(out var candidate, 100))
                {
                    if (candidate is null)
                    {
                        return;
                    }

                    await pc.AddRemoteCandidateAsync(candidate, ct);
                }
            }
        },
        ct);

    public async ValueTask DisposeAsync()
    {
        await _browser.CloseAsync();
        _playwright.Dispose();
    }
}

public sealed class ChromiumInteropTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private static string Clip(string name)
    {
        return Path.Combine(Decart.Testing.RepositoryPaths.Root, "assets", "clips", name);
    }

    private static async Task<List<byte[]>> ClipFrames()
    {
        await using var reader = await IvfReader.OpenAsync(Clip("pattern-1088x624-30fps.ivf"));
        var frames = new List<byte[]>();
        while (await reader.ReadFrameAsync() is { } f)
        {
            frames.Add(f.Data.ToArray());
        }

        return frames;
    }

    private static async Task ExchangeMedia(BrowserPeer browser, PeerConnection pc, (int Width, int Height) camera)
    {
        // Browser → C#: complete VP8 frames whose keyframe size is the fake camera's.
        var keyframeSize = new TaskCompletionSource<(int, int)>(TaskCreationOptions.RunContinuationsAsynchronously);
        int received = 0;
        pc.FrameReceived += (frame, _, key) =>
        {
            Interlocked.Increment(ref received);
            if (key && Vp8Bitstream.TryReadKeyframeSize(frame, out int w, out int h))
            {
                keyframeSize.TrySetResult((w, h));
            }
        };

        // C# → browser: the shipped clip at 30 fps; the page counts rendered frames.
        var clip = await ClipFrames();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var sender = Task.Run(async () =>
        {
            for (int i = 0; !stop.IsCancellationRequested; i++)
            {
                pc.SendFrame(clip[i % clip.Count], (uint)(i * 3000));
                await Task.Delay(33);
                if (i % clip.Count == clip.Count - 1)
                {
                    // the clip loops: its first frame is a keyframe again
                }
            }
        });

        Assert.Equal(camera, await keyframeSize.Task.WaitAsync(Bound));
        int rendered = 0;
        for (int i = 0; i < 100 && rendered < 60; i++)
        {
            await Task.Delay(100);
            rendered = await browser.Page.EvaluateAsync<int>("() => window.rendered");
        }

        stop.Cancel();
        await sender;
        Assert.True(rendered >= 60, $"the browser rendered {rendered} frames");
        Assert.True(received >= 30, $"received {received} frames from the browser");
    }

    [Fact]
    public Task Csharp_offerer_and_chromium_answerer_exchange_vp8_both_ways() => CsharpOffersToChromiumAsync(dtlsClient: false);

    /// <summary>
    /// Every other browser test has Chromium as the DTLS client. Here the offer says a=setup:active, so Chromium must
    /// answer passive: BoringSSL is the DTLS server and the stack's own DTLS the client.
    /// </summary>
    [Fact]
    public Task Csharp_dtls_client_against_chromium_as_dtls_server_exchanges_vp8_both_ways() => CsharpOffersToChromiumAsync(dtlsClient: true);

    private static async Task CsharpOffersToChromiumAsync(bool dtlsClient)
    {
        await using var browser = await BrowserPeer.StartAsync();
        var settings = JsonDocument.Parse(await browser.Page.EvaluateAsync<string>("() => setup()")).RootElement;
        var camera = (settings.GetProperty("width").GetInt32(), settings.GetProperty("height").GetInt32());
        await using var pc = new PeerConnection(new PeerConnectionOptions { Addresses = [IPAddress.Loopback] });
        using var cts = new CancellationTokenSource(Bound);
        var offer = (await pc.CreateOfferAsync(includeAudioReceive: false)).ToString();
        if (dtlsClient)
        {
            Assert.Contains("a=setup:actpass", offer, StringComparison.Ordinal);
            offer = offer.Replace("a=setup:actpass", "a=setup:active", StringComparison.Ordinal);
        }

        var answer = await browser.Page.EvaluateAsync<string>("sdp => answer(sdp)", offer);
        if (dtlsClient)
        {
            Assert.Contains("a=setup:passive", answer, StringComparison.Ordinal);
        }

        await pc.SetRemoteDescriptionAsync(SessionDescription.Parse(answer, SdpType.Answer));
        _ = browser.PumpCandidates(pc, cts.Token);
        await pc.ConnectedAsync().WaitAsync(Bound);
        Assert.Equal("VP8", pc.Video!.CodecName);
        await ExchangeMedia(browser, pc, camera);
    }

    [Fact]
    public async Task Chromium_offerer_and_csharp_ice_lite_answerer_exchange_vp8_both_ways()
    {
        await using var browser = await BrowserPeer.StartAsync();
        var settings = JsonDocument.Parse(await browser.Page.EvaluateAsync<string>("() => setup()")).RootElement;
        var camera = (settings.GetProperty("width").GetInt32(), settings.GetProperty("height").GetInt32());
        await using var pc = new PeerConnection(new PeerConnectionOptions { IceLite = true, Addresses = [IPAddress.Loopback] });
        using var cts = new CancellationTokenSource(Bound);
        var offer = await browser.Page.EvaluateAsync<string>("() => offer(false)");
        await pc.SetRemoteDescriptionAsync(SessionDescription.Parse(offer, SdpType.Offer));
        var answer = await pc.CreateAnswerAsync();
        await browser.Page.EvaluateAsync("sdp => accept(sdp)", answer.ToString());
        _ = browser.PumpCandidates(pc, cts.Token);
        await pc.ConnectedAsync().WaitAsync(Bound);
        Assert.Equal("VP8", pc.Video!.CodecName);
        await ExchangeMedia(browser, pc, camera);
    }
}

public sealed class ChromiumH264Tests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private static List<byte[]> H264AccessUnits()
    {
        return H264Nal.SplitAccessUnits(File.ReadAllBytes(Path.Combine(Decart.Testing.RepositoryPaths.Root, "assets", "clips", "pattern-1088x624-30fps.h264")));
    }

    [Fact]
    public async Task Chromium_offerer_preferring_h264_and_csharp_answerer_exchange_h264()
    {
        await using var browser = await BrowserPeer.StartAsync();
        var settings = JsonDocument.Parse(await browser.Page.EvaluateAsync<string>("() => setup()")).RootElement;
        var camera = (settings.GetProperty("width").GetInt32(), settings.GetProperty("height").GetInt32());
        await using var pc = new PeerConnection(new PeerConnectionOptions { IceLite = true, Addresses = [IPAddress.Loopback], CodecPreference = ["H264", "VP8"] });
        using var cts = new CancellationTokenSource(Bound);
        var offer = await browser.Page.EvaluateAsync<string>("() => offer(true)");
        await pc.SetRemoteDescriptionAsync(SessionDescription.Parse(offer, SdpType.Offer));
        var answer = await pc.CreateAnswerAsync();
        await browser.Page.EvaluateAsync("sdp => accept(sdp)", answer.ToString());
        _ = browser.PumpCandidates(pc, cts.Token);
        await pc.ConnectedAsync().WaitAsync(Bound);
        Assert.Equal("H264", pc.Video!.CodecName);

        var sizeFromBrowser = new TaskCompletionSource<(int, int)>(TaskCreationOptions.RunContinuationsAsynchronously);
        pc.FrameReceived += (frame, _, _) =>
        {
            if (H264Nal.TryReadSize(frame, out int w, out int h))
            {
                sizeFromBrowser.TrySetResult((w, h));
            }
        };
        var units = H264AccessUnits();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var sender = Task.Run(async () =>
        {
            for (int i = 0; !stop.IsCancellationRequested; i++)
            {
                pc.SendFrame(units[i % units.Count], (uint)(i * 3000));
                await Task.Delay(33);
            }
        });

        int rendered = 0;
        for (int i = 0; i < 100 && rendered < 60; i++)
        {
            await Task.Delay(100);
            rendered = await browser.Page.EvaluateAsync<int>("() => window.rendered");
        }

        (int, int)? fromBrowser = null;
        if (await Task.WhenAny(sizeFromBrowser.Task, Task.Delay(TimeSpan.FromSeconds(5))) == sizeFromBrowser.Task)
        {
            fromBrowser = await sizeFromBrowser.Task;
        }
        stop.Cancel();
        await sender;
        Assert.True(rendered >= 60, $"the browser rendered {rendered} of our H.264 frames");
        Assert.Equal(camera, fromBrowser);
    }
}
