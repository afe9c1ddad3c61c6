using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Decart.Sdk;
using Decart.Sdk.Realtime;

namespace Decart.Chaos;

/// <summary>How a check came out.</summary>
public enum Verdict
{
    /// <summary>Everything as it should be.</summary>
    Held,

    /// <summary>It survived, but something measured was worse than the target.</summary>
    Degraded,

    /// <summary>A crash, a hang, a leak, a leaked secret, or a hurt bystander.</summary>
    Broke,
}

/// <summary>One row of the table.</summary>
public sealed record CheckResult(string Area, string Check, Verdict Verdict, string Detail);

/// <summary>Settings of a run: the short mode CI runs, or the long one (minutes of soak, a ceiling sweep).</summary>
public sealed record CampaignOptions
{
    public bool Long { get; init; }

    public int SoakSessions { get; init; } = 6;

    public TimeSpan SoakDuration { get; init; } = TimeSpan.FromSeconds(30);

    public IReadOnlyList<int> Sweep { get; init; } = [];

    public Action<string> Log { get; init; } = Console.WriteLine;
}

/// <summary>
/// The campaign: a standalone simulator process (Release, <c>--verbose</c>, a user's own key) with an SDK session as
/// a bystander, attacked at its WebSocket, its media port and its REST API; its log scanned for secrets; killed with
/// SIGTERM and SIGKILL; soaked; (long mode) swept to its ceiling. Every loop is bounded and sends only to loopback.
/// </summary>
public sealed class Campaign(CampaignOptions options)
{
    // The simulator under attack ends sessions that never negotiate after this long. Short, so the silent-socket check
    // is quick; long enough that the malformed flood (2,000 messages, then a prompt after the rate limit's 1.2 s
    // window) finishes on its one session on a loaded 2-core CI machine (at 2 s it did not, once in a full run).
    private const int NegotiationSeconds = 5;

    private const string UserKey = "chaos_user_key_5c1e8d2f7a";
    private readonly List<CheckResult> _results = [];
    private readonly List<string> _secrets = [UserKey];

    public async Task<IReadOnlyList<CheckResult>> RunAsync(CancellationToken cancellationToken = default)
    {
        using var sim = await SimulatorProcess.StartAsync("--port", "0", "--verbose", "--api-key", UserKey, "--model-mode", "echo", "--negotiation-timeout", NegotiationSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)).ConfigureAwait(false);
        options.Log($"simulator pid {sim.Process.Id} at {sim.Url}");
        await using (var bystander = await Bystander.StartAsync(sim.Url, UserKey, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            Record("setup", "bystander session generating", await bystander.WaitFlowingAsync(TimeSpan.FromSeconds(20)).ConfigureAwait(false) ? Verdict.Held : Verdict.Broke, $"session {bystander.SessionId}");
            string ws = sim.Url.Replace("http://", "ws://", StringComparison.Ordinal);
            await Guard("websocket", "2,000 malformed messages on one socket", bystander, () => MalformedFloodAsync(sim, ws)).ConfigureAwait(false);
            await Guard("websocket", "a 20 MB message in one frame", bystander, () => OversizedAsync(ws, fragmentSize: 0)).ConfigureAwait(false);
            await Guard("websocket", "a 20 MB message in 200-byte fragments", bystander, () => OversizedAsync(ws, fragmentSize: 200)).ConfigureAwait(false);
            await Guard("websocket", "20 sockets that authenticate and never negotiate", bystander, () => SilentSocketsAsync(ws)).ConfigureAwait(false);
            await Guard("websocket", "30 slowloris connections (a header byte a second)", bystander, () => SlowlorisAsync(sim)).ConfigureAwait(false);
            await Guard("media", "20,000 garbage datagrams, forged STUN and DTLS at the media ports", bystander, () => MediaAbuseAsync(sim)).ConfigureAwait(false);
            await Guard("rest", "wrong keys, malformed and oversized bodies, unknown routes", bystander, () => RestAbuseAsync(sim)).ConfigureAwait(false);
            await SoakAsync(sim, bystander, cancellationToken).ConfigureAwait(false);
            string log = sim.Output;
            var leaked = LeakedSecret(log);
            Record("logs", "no key or token in any log line (verbose)", leaked is null ? Verdict.Held : Verdict.Broke, leaked is null ? $"{log.Split('\n').Length} lines scanned for {_secrets.Count} secrets" : $"found one starting {leaked[..6]}");
            await KillAndRestartAsync(sim, bystander).ConfigureAwait(false);
        }

        await SigtermAsync().ConfigureAwait(false);
        await KillWithoutRestartAsync().ConfigureAwait(false);
        await SilentServerAsync().ConfigureAwait(false);
        if (options.Sweep.Count > 0)
        {
            await SweepAsync(cancellationToken).ConfigureAwait(false);
        }

        return _results;
    }

    private void Record(string area, string check, Verdict verdict, string detail)
    {
        var result = new CheckResult(area, check, verdict, detail);
        lock (_results)
        {
            _results.Add(result);
        }

        options.Log($"  {verdict,-8} {area,-9} {check}: {detail}");
    }

    /// <summary>Runs an attack and grades it together with the bystander: broken if the bystander stopped generating.</summary>
    private async Task Guard(string area, string check, Bystander bystander, Func<Task<(Verdict Verdict, string Detail)>> attack)
    {
        (Verdict verdict, string detail) outcome;
        try
        {
            outcome = await attack().WaitAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            outcome = (Verdict.Broke, $"the attack itself failed: {ex.GetType().Name}: {ex.Message}");
        }

        bool flowing = await bystander.WaitFlowingAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        if (!flowing)
        {
            outcome = (Verdict.Broke, outcome.detail + "; the bystander stopped receiving frames");
        }

        Record(area, check, outcome.verdict, outcome.detail);
    }

    private static async Task<ClientWebSocket> OpenAsync(string ws, string key = UserKey)
    {
        var socket = new ClientWebSocket();
        await socket.ConnectAsync(new Uri($"{ws}/v1/stream?api_key={Uri.EscapeDataString(key)}&model=lucy-2.1"), CancellationToken.None).ConfigureAwait(false);
        return socket;
    }

    private static async Task<List<string>> ReadUntilCloseAsync(ClientWebSocket socket, TimeSpan bound)
    {
        var messages = new List<string>();
        var buffer = new byte[64 * 1024];
        using var timeout = new CancellationTokenSource(bound);
        try
        {
            while (true)
            {
                var result = await socket.ReceiveAsync(buffer, timeout.Token).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }

                messages.Add(Encoding.UTF8.GetString(buffer, 0, result.Count));
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
        {
        }

        return messages;
    }

    private static async Task<(Verdict, string)> MalformedFloodAsync(SimulatorProcess sim, string ws)
    {
        int linesBefore = sim.Output.Split('\n').Length;
        using var socket = await OpenAsync(ws).ConfigureAwait(false);
        for (int i = 0; i < 2000; i++)
        {
            await socket.SendAsync(Encoding.UTF8.GetBytes(i % 2 == 0 ? "{not json" : "{\"type\":\"frobnicate\"}"), WebSocketMessageType.Text, true, CancellationToken.None).ConfigureAwait(false);
        }

        await Task.Delay(1200).ConfigureAwait(false); // the rate limit's window
        await socket.SendAsync("{\"type\":\"prompt\",\"prompt\":\"still here\"}"u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None).ConfigureAwait(false);
        bool acked = false;
        var buffer = new byte[64 * 1024];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        while (!acked)
        {
            var result = await socket.ReceiveAsync(buffer, timeout.Token).ConfigureAwait(false);
            acked = Encoding.UTF8.GetString(buffer, 0, result.Count).Contains("\"prompt_ack\"", StringComparison.Ordinal);
        }

        int lines = sim.Output.Split('\n').Length - linesBefore;
        return (lines <= 30 ? Verdict.Held : Verdict.Broke, $"session still acks; {lines} log lines for 2,000 bad messages");
    }

    private static async Task<(Verdict, string)> OversizedAsync(string ws, int fragmentSize)
    {
        using var socket = await OpenAsync(ws).ConfigureAwait(false);
        var payload = new byte[20 * 1024 * 1024];
        Array.Fill(payload, (byte)'a');
        var sending = Task.Run(async () =>
        {
            try
            {
                if (fragmentSize == 0)
                {
                    await socket.SendAsync(payload, WebSocketMessageType.Text, true, CancellationToken.None).ConfigureAwait(false);
                }
                else
                {
                    for (int at = 0; at < payload.Length && socket.State == WebSocketState.Open; at += fragmentSize)
                    {
                        await socket.SendAsync(payload.AsMemory(at, Math.Min(fragmentSize, payload.Length - at)), WebSocketMessageType.Text, at + fragmentSize >= payload.Length, CancellationToken.None).ConfigureAwait(false);
                    }
                }
            }
            catch (Exception ex) when (ex is WebSocketException or IOException or ObjectDisposedException)
            {
            }
        });
        var messages = await ReadUntilCloseAsync(socket, TimeSpan.FromSeconds(20)).ConfigureAwait(false);
        await sending.ConfigureAwait(false);
        bool told = messages.Any(m => m.Contains("Message too large", StringComparison.Ordinal));
        bool closed = socket.CloseStatus == WebSocketCloseStatus.MessageTooBig;
        return (told && closed ? Verdict.Held : Verdict.Broke, $"error {(told ? "received" : "missing")}, close {(socket.CloseStatus is { } c ? ((int)c).ToString(CultureInfo.InvariantCulture) : "none (reset)")}");
    }

    private static async Task<(Verdict, string)> SilentSocketsAsync(string ws)
    {
        var sockets = new List<ClientWebSocket>();
        for (int i = 0; i < 20; i++)
        {
            sockets.Add(await OpenAsync(ws).ConfigureAwait(false));
        }

        var reads = await Task.WhenAll(sockets.Select(s => ReadUntilCloseAsync(s, TimeSpan.FromSeconds(10)))).ConfigureAwait(false);
        int timedOut = reads.Count(m => m.Any(x => x.Contains("Negotiation timed out", StringComparison.Ordinal)));
        foreach (var s in sockets)
        {
            s.Dispose();
        }

        return (timedOut == sockets.Count ? Verdict.Held : Verdict.Broke, $"{timedOut}/{sockets.Count} ended by the negotiation timeout ({NegotiationSeconds} s)");
    }

    private static async Task<(Verdict, string)> SlowlorisAsync(SimulatorProcess sim)
    {
        var clients = new List<TcpClient>();
        using var stop = new CancellationTokenSource();
        for (int i = 0; i < 30; i++)
        {
            var c = new TcpClient();
            await c.ConnectAsync(IPAddress.Loopback, sim.Port).ConfigureAwait(false);
            clients.Add(c);
        }

        var drip = Task.Run(async () =>
        {
            var header = Encoding.ASCII.GetBytes("GET /_sim/sessions HTTP/1.1\r\nHost: x\r\nX-Slow: ");
            for (int i = 0; i < 6 && !stop.IsCancellationRequested; i++)
            {
                foreach (var c in clients)
                {
                    try
                    {
                        await c.GetStream().WriteAsync(header.AsMemory(Math.Min(i, header.Length - 1), 1)).ConfigureAwait(false);
                    }
                    catch (IOException)
                    {
                    }
                }

                await Task.Delay(1000).ConfigureAwait(false);
            }
        });

        // Meanwhile an ordinary request is served.
        using var http = new HttpClient { BaseAddress = new Uri(sim.Url), Timeout = TimeSpan.FromSeconds(5) };
        var watch = Stopwatch.StartNew();
        using var response = await http.GetAsync("/_sim/sessions").ConfigureAwait(false);
        var served = watch.Elapsed;
        await drip.ConfigureAwait(false);
        foreach (var c in clients)
        {
            c.Dispose();
        }

        return (response.IsSuccessStatusCode ? Verdict.Held : Verdict.Broke, $"a request during the attack answered {(int)response.StatusCode} in {served.TotalMilliseconds:F0} ms");
    }

    private static async Task<(Verdict, string)> MediaAbuseAsync(SimulatorProcess sim)
    {
        // Every UDP port the process has open on loopback: the bystander's media port among them.
        var ports = UdpPortsOf(sim.Process.Id).ToList();
        if (ports.Count == 0)
        {
            return (Verdict.Degraded, "no media port found to attack");
        }

        using var udp = new UdpClient(AddressFamily.InterNetwork);
        var random = new Random(17);
        var datagram = new byte[1200];
        int sent = 0;
        for (int i = 0; i < 20_000; i++)
        {
            random.NextBytes(datagram);
            int kind = i % 4;
            if (kind == 1)
            {
                datagram[0] = 0; datagram[1] = 1;                                  // a STUN binding request header with junk after it
                datagram[4] = 0x21; datagram[5] = 0x12; datagram[6] = 0xA4; datagram[7] = 0x42;
            }
            else if (kind == 2)
            {
                datagram[0] = 22; datagram[1] = 0xFE; datagram[2] = 0xFD;          // a DTLS handshake record of noise
            }
            else if (kind == 3)
            {
                datagram[0] = 0x80; datagram[1] = 96;                              // an RTP header with noise for SRTP
            }

            await udp.SendAsync(datagram.AsMemory(0, 40 + (i % 1100)), new IPEndPoint(IPAddress.Loopback, ports[i % ports.Count])).ConfigureAwait(false);
            sent++;
        }

        return (Verdict.Held, $"{sent} datagrams to {ports.Count} UDP port(s); the process is alive");
    }

    private static IEnumerable<int> UdpPortsOf(int pid)
    {
        // Sockets of the process (its fd links) matched against /proc/net/udp inodes.
        var inodes = new HashSet<string>(StringComparer.Ordinal);
        foreach (var fd in Directory.EnumerateFiles($"/proc/{pid}/fd"))
        {
            try
            {
                var target = new FileInfo(fd).LinkTarget;
                if (target is not null && target.StartsWith("socket:[", StringComparison.Ordinal))
                {
                    inodes.Add(target[8..^1]);
                }
            }
            catch (IOException)
            {
            }
        }

        foreach (var table in new[] { "/proc/net/udp" })
        {
            foreach (var line in File.ReadLines(table).Skip(1))
            {
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length > 9 && inodes.Contains(parts[9]) && parts[1].StartsWith("0100007F:", StringComparison.Ordinal))
                {
                    yield return int.Parse(parts[1][9..], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                }
            }
        }
    }

    private async Task<(Verdict, string)> RestAbuseAsync(SimulatorProcess sim)
    {
        using var http = new HttpClient { BaseAddress = new Uri(sim.Url), Timeout = TimeSpan.FromSeconds(30) };
        int fiveHundreds = 0, total = 0;
        async Task Send(HttpRequestMessage request)
        {
            using var response = await http.SendAsync(request).ConfigureAwait(false);
            total++;
            fiveHundreds += (int)response.StatusCode >= 500 ? 1 : 0;
        }

        for (int i = 0; i < 100; i++)
        {
            var wrong = new HttpRequestMessage(HttpMethod.Post, "/v1/client/tokens");
            wrong.Headers.Add("X-API-KEY", "wrong_" + i.ToString(CultureInfo.InvariantCulture));
            await Send(wrong).ConfigureAwait(false);
            var malformed = new HttpRequestMessage(HttpMethod.Post, "/v1/client/tokens") { Content = new StringContent("{\"expiresIn\":", Encoding.UTF8, "application/json") };
            malformed.Headers.Add("X-API-KEY", UserKey);
            await Send(malformed).ConfigureAwait(false);
            await Send(new HttpRequestMessage(HttpMethod.Get, "/v1/nothing/" + i.ToString(CultureInfo.InvariantCulture))).ConfigureAwait(false);
        }

        for (int i = 0; i < 20; i++)
        {
            var token = new HttpRequestMessage(HttpMethod.Post, "/v1/client/tokens");
            token.Headers.Add("X-API-KEY", UserKey);
            using var response = await http.SendAsync(token).ConfigureAwait(false);
            var issued = JsonNode.Parse(await response.Content.ReadAsStringAsync().ConfigureAwait(false))?["apiKey"]?.GetValue<string>();
            if (issued is not null)
            {
                _secrets.Add(issued);
            }
        }

        var huge = new HttpRequestMessage(HttpMethod.Post, "/v1/generate/lucy-pro-t2i") { Content = new ByteArrayContent(new byte[60 * 1024 * 1024]) };
        huge.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("multipart/form-data");
        huge.Headers.Add("X-API-KEY", UserKey);
        try
        {
            await Send(huge).ConfigureAwait(false);
        }
        catch (HttpRequestException)
        {
            total++; // the server may cut an over-limit upload off: refused, not served
        }

        return (fiveHundreds == 0 ? Verdict.Held : Verdict.Broke, $"{total} abusive requests, {fiveHundreds} answered 5xx");
    }

    private async Task SoakAsync(SimulatorProcess sim, Bystander bystander, CancellationToken cancellationToken)
    {
        string url = sim.Url;
        var window = TimeSpan.FromSeconds(options.Long ? 30 : 10);
        await Task.Delay(window, cancellationToken).ConfigureAwait(false);
        double alone = bystander.Percentile(0.99, window);                     // the uncontended figure
        var clients = new List<Bystander>();
        for (int i = 0; i < options.SoakSessions; i++)
        {
            clients.Add(await Bystander.StartAsync(url, UserKey, cancellationToken: cancellationToken).ConfigureAwait(false));
        }

        await Task.Delay(TimeSpan.FromSeconds(5), cancellationToken).ConfigureAwait(false); // warm-up
        var samples = new List<(double Minutes, double Rss, int Fds, long Threads, double HeapMb)>();
        var watch = Stopwatch.StartNew();
        long frames0 = clients.Sum(c => c.Frames);
        using var http = new HttpClient { BaseAddress = new Uri(url) };
        async Task SampleAsync()
        {
            // The live managed heap (after a full GC) is what a leak grows; RSS also holds what the GC keeps reserved.
            var health = JsonNode.Parse(await http.GetStringAsync("/_sim/health?collect=true", cancellationToken).ConfigureAwait(false))!;
            double heap = health["managedHeapBytes"]!.GetValue<long>() / 1024.0 / 1024.0;
            samples.Add((watch.Elapsed.TotalMinutes, sim.RssMb, sim.OpenFds, sim.Threads, heap));
        }

        while (watch.Elapsed < options.SoakDuration)
        {
            await SampleAsync().ConfigureAwait(false);
            await Task.Delay(TimeSpan.FromSeconds(options.Long ? 30 : 5), cancellationToken).ConfigureAwait(false);
        }

        await SampleAsync().ConfigureAwait(false);
        double atEnd = bystander.Percentile(0.99, window);                     // under the soak's load, at its end
        double fps = (clients.Sum(c => c.Frames) - frames0) / watch.Elapsed.TotalSeconds / clients.Count;
        int stalled = clients.Count(c => !c.Flowing(TimeSpan.FromSeconds(2)));
        foreach (var c in clients)
        {
            await c.DisposeAsync().ConfigureAwait(false);
        }

        // Growth after warm-up: from the sample a tenth of the way in (the first minute settles pools and JIT).
        var warm = samples[Math.Min(samples.Count - 1, samples.Count / 10)];
        double minutes = Math.Max(0.1, samples[^1].Minutes - warm.Minutes);
        double growth = (samples[^1].Rss - warm.Rss) / minutes;
        double heapGrowth = (samples[^1].HeapMb - warm.HeapMb) / minutes;
        var first = samples[0];
        var last = samples[^1];
        bool ratcheted = atEnd - alone > 10;
        var verdict = stalled > 0 ? Verdict.Broke : !options.Long || (heapGrowth < 1.0 && !ratcheted) ? Verdict.Held : Verdict.Degraded;
        Record("soak", $"{options.SoakSessions} sessions for {options.SoakDuration.TotalMinutes:0.#} min", verdict,
            string.Create(CultureInfo.InvariantCulture, $"{fps:F1} fps each, {stalled} stalled; managed heap {first.HeapMb:F0} → {last.HeapMb:F0} MB ({heapGrowth:+0.00;-0.00} MB/min after warm-up), RSS {first.Rss:F0} → {last.Rss:F0} MB ({growth:+0.0;-0.0} MB/min), fds {first.Fds} → {last.Fds}, threads {first.Threads} → {last.Threads}; bystander p99 {alone:F1} ms alone, {atEnd:F1} ms at the end"));
        Record("soak", "bystander through the soak", bystander.Flowing(TimeSpan.FromSeconds(2)) ? Verdict.Held : Verdict.Broke, $"{bystander.Frames} frames received in all");
    }

    private async Task KillAndRestartAsync(SimulatorProcess sim, Bystander bystander)
    {
        int port = sim.Port;
        int reconnectingBefore = bystander.States.Count(s => s == ConnectionState.Reconnecting);
        sim.Signal("-KILL");
        await sim.Process.WaitForExitAsync().ConfigureAwait(false);
        await Task.Delay(500).ConfigureAwait(false);
        var watch = Stopwatch.StartNew();
        using var again = await SimulatorProcess.StartAsync("--port", port.ToString(CultureInfo.InvariantCulture), "--api-key", UserKey, "--model-mode", "echo").ConfigureAwait(false);
        long frames = bystander.Frames;
        bool back = false;
        while (watch.Elapsed < TimeSpan.FromSeconds(40) && !back)
        {
            back = bystander.State == ConnectionState.Generating && bystander.Frames > frames + 10;
            await Task.Delay(100).ConfigureAwait(false);
        }

        bool sawReconnecting = bystander.States.Count(s => s == ConnectionState.Reconnecting) > reconnectingBefore;
        Record("process", "kill -9 and restart on the same port", back && sawReconnecting ? Verdict.Held : Verdict.Broke,
            string.Create(CultureInfo.InvariantCulture, $"bystander {(sawReconnecting ? "reconnecting" : "never reconnecting")}, {(back ? $"generating again {watch.Elapsed.TotalSeconds:F1} s after the restart" : "not back")}"));
    }

    private async Task SigtermAsync()
    {
        using var sim = await SimulatorProcess.StartAsync("--port", "0", "--model-mode", "echo").ConfigureAwait(false);
        string ws = sim.Url.Replace("http://", "ws://", StringComparison.Ordinal);
        var sockets = new List<ClientWebSocket>();
        for (int i = 0; i < 50; i++)
        {
            sockets.Add(await OpenAsync(ws, Decart.Simulator.Hosting.SimulatorOptions.DevelopmentKey).ConfigureAwait(false));
        }

        // Each client answers the server's close at once, as browsers and the SDK do.
        var reads = sockets.Select(async s =>
        {
            await ReadUntilCloseAsync(s, TimeSpan.FromSeconds(15)).ConfigureAwait(false);
            try
            {
                await s.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is WebSocketException or IOException or ObjectDisposedException)
            {
            }
        }).ToArray();
        var watch = Stopwatch.StartNew();
        sim.Signal("-TERM");
        await Task.WhenAll(reads).ConfigureAwait(false);
        var allClosed = watch.Elapsed;
        await sim.Process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(15)).ConfigureAwait(false);
        var exited = watch.Elapsed;
        int goingAway = sockets.Count(s => s.CloseStatus == WebSocketCloseStatus.EndpointUnavailable);
        foreach (var s in sockets)
        {
            s.Dispose();
        }

        var verdict = goingAway < sockets.Count || sim.Process.ExitCode != 0 ? Verdict.Broke : exited < TimeSpan.FromSeconds(1) ? Verdict.Held : Verdict.Degraded;
        Record("process", "SIGTERM with 50 open sessions", verdict,
            string.Create(CultureInfo.InvariantCulture, $"{goingAway}/{sockets.Count} closed 1001 in {allClosed.TotalMilliseconds:F0} ms, exit {sim.Process.ExitCode} after {exited.TotalMilliseconds:F0} ms"));
    }

    private async Task KillWithoutRestartAsync()
    {
        using var sim = await SimulatorProcess.StartAsync("--port", "0", "--model-mode", "echo").ConfigureAwait(false);
        var quick = new ReconnectPolicy { MaxRetries = 5, InitialDelay = TimeSpan.FromMilliseconds(100), MaxDelay = TimeSpan.FromMilliseconds(400) };
        await using var bystander = await Bystander.StartAsync(sim.Url, Decart.Simulator.Hosting.SimulatorOptions.DevelopmentKey, quick).ConfigureAwait(false);
        await bystander.WaitFlowingAsync(TimeSpan.FromSeconds(20)).ConfigureAwait(false);
        sim.Signal("-KILL");
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(60) && bystander.State != ConnectionState.Disconnected)
        {
            await Task.Delay(100).ConfigureAwait(false);
        }

        await Task.Delay(500).ConfigureAwait(false);
        int errors = bystander.Errors.Count;
        Record("process", "kill -9 without restart (5 quick retries)", bystander.State == ConnectionState.Disconnected && errors == 1 ? Verdict.Held : Verdict.Broke,
            string.Create(CultureInfo.InvariantCulture, $"{errors} error(s) ({string.Join(", ", bystander.Errors.Select(e => e.CodeString))}), {bystander.State} after {watch.Elapsed.TotalSeconds:F1} s"));
    }

    private async Task SilentServerAsync()
    {
        // A server that accepts the WebSocket upgrade and then says nothing: the SDK must give up on its documented timeout.
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        using var stop = new CancellationTokenSource();
        var server = Task.Run(async () =>
        {
            var held = new List<TcpClient>();
            try
            {
                while (!stop.IsCancellationRequested)
                {
                    var c = await listener.AcceptTcpClientAsync(stop.Token).ConfigureAwait(false);
                    held.Add(c);
                    var stream = c.GetStream();
                    var buffer = new byte[8192];
                    int n = await stream.ReadAsync(buffer, stop.Token).ConfigureAwait(false);
                    var request = Encoding.ASCII.GetString(buffer, 0, n);
                    var key = request.Split("\r\n").First(l => l.StartsWith("Sec-WebSocket-Key:", StringComparison.OrdinalIgnoreCase))["Sec-WebSocket-Key:".Length..].Trim();
                    var accept = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));
                    await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"), stop.Token).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException or InvalidOperationException)
            {
            }
            finally
            {
                foreach (var c in held)
                {
                    c.Dispose();
                }
            }
        });

        using var client = new DecartClient(new DecartClientOptions { ApiKey = "silent_server_key", BaseUrl = new Uri($"http://127.0.0.1:{port}"), RealtimeBaseUrl = new Uri($"ws://127.0.0.1:{port}") });
        await using var source = await Decart.Sdk.Media.IvfFileSource.OpenAsync(Decart.Testing.RepositoryPaths.Clip("pattern-1088x624-30fps.ivf"), fps: 30).ConfigureAwait(false);
        var watch = Stopwatch.StartNew();
        string outcome;
        Verdict verdict;
        try
        {
            await using var rt = await client.Realtime.ConnectAsync(source, new RealtimeConnectOptions
            {
                Model = Decart.Sdk.Models.RealtimeModels.Lucy21,
                Reconnect = ReconnectPolicy.None,
                RoomInfoTimeout = TimeSpan.FromSeconds(3),
            }).WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
            (verdict, outcome) = (Verdict.Broke, "connected to a server that never answered");
        }
        catch (DecartException ex)
        {
            (verdict, outcome) = (Verdict.Held, string.Create(CultureInfo.InvariantCulture, $"{ex.CodeString} after {watch.Elapsed.TotalSeconds:F1} s: {ex.Message}"));
        }
        catch (TimeoutException)
        {
            (verdict, outcome) = (Verdict.Broke, "hung past 30 s");
        }

        await stop.CancelAsync().ConfigureAwait(false);
        listener.Stop();
        await server.ConfigureAwait(false);
        Record("sdk", "a server that accepts the socket and says nothing", verdict, outcome);
    }

    private async Task SweepAsync(CancellationToken cancellationToken)
    {
        foreach (int n in options.Sweep)
        {
            using var sim = await SimulatorProcess.StartAsync("--port", "0", "--model-mode", "echo").ConfigureAwait(false);
            var clients = new List<Bystander>();
            for (int i = 0; i < n; i++)
            {
                clients.Add(await Bystander.StartAsync(sim.Url, Decart.Simulator.Hosting.SimulatorOptions.DevelopmentKey, cancellationToken: cancellationToken).ConfigureAwait(false));
            }

            await Task.Delay(TimeSpan.FromSeconds(5), cancellationToken).ConfigureAwait(false);
            long f0 = clients.Sum(c => c.Frames);
            var cpu0 = sim.Process.TotalProcessorTime;
            await Task.Delay(TimeSpan.FromSeconds(20), cancellationToken).ConfigureAwait(false);
            sim.Process.Refresh();
            double fps = (clients.Sum(c => c.Frames) - f0) / 20.0 / n;
            double cpu = (sim.Process.TotalProcessorTime - cpu0).TotalSeconds / 20.0 * 100;
            var all = clients.SelectMany(c => c.Latencies(TimeSpan.FromSeconds(20))).Order().ToArray();
            double p50 = Bystander.Percentile(all, 0.5), p99 = Bystander.Percentile(all, 0.99);
            foreach (var c in clients)
            {
                await c.DisposeAsync().ConfigureAwait(false);
            }

            // The knee: p50 above twice the model's 30 ms latency.
            Record("ceiling", $"{n} sessions (echo)", fps >= 29 && p50 <= 60 ? Verdict.Held : Verdict.Degraded,
                string.Create(CultureInfo.InvariantCulture, $"{fps:F1} fps per session, echo p50 {p50:F1} ms p99 {p99:F1} ms, simulator CPU {cpu:F0} % of one core, RSS {sim.RssMb:F0} MB"));
        }
    }

    private string? LeakedSecret(string log) => _secrets.FirstOrDefault(s => log.Contains(s, StringComparison.Ordinal));
}
