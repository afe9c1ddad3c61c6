using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Decart.Bench;
using System.Text.Json;
using Decart.Sdk;
using Decart.Sdk.Media;
using Decart.Sdk.Models;
using Decart.Sdk.Realtime;

// Usage:
//   dotnet run -c Release --project bench/Decart.LoadTest -- sessions [N=50] [seconds=30] [echo|transform] [livekit|direct] [camera [h264]]
//     camera: the camera-rate clips of tools/make-camera-clip.sh (1088x624, 30 fps, 3 Mbit/s) instead of the test pattern
//     latencies=FILE: also writes the echo latencies there (quantiles and each second's p50/p99/max, for tools/plot-latency.py)
//   dotnet run -c Release --project bench/Decart.LoadTest -- connect [runs=20] [livekit|direct]
//   dotnet run -c Release --project bench/Decart.LoadTest -- connect-cold [runs=20] [livekit|direct]
//     one connect per fresh process (20 processes), with each one's phase breakdown
//   dotnet run -c Release --project bench/Decart.LoadTest -- bandwidth [adapt|fixed] [seconds=60] [livekit|direct]
//     a camera-like source (1088x624, 30 fps, VP8 at 3 Mbit/s, noise-rich) through a 1 Mbit/s cap from 10 s to 40 s
// The simulator runs as its own process (the built Decart.Simulator.dll), as in CI or on a developer machine;
// the clients (the SDK, an IVF clip at 30 fps) run here.
string mode = args.Length > 0 ? args[0] : "sessions";
string root = FindRoot();
string clip = Path.Combine(root, "assets", "clips", "pattern-1088x624-30fps.ivf");
if (mode == "connect-once")
{
    // One connect from this fresh process (the cold path: JIT, DTLS certificate, first keyframe) to the simulator at
    // args[1]; prints one line: the total to the first model frame and each connect phase (the SDK's spans).
    return await ColdConnect.OnceAsync(new Uri(args[1]), args.Contains("direct") ? RealtimeTransport.Direct : RealtimeTransport.LiveKit, clip, args.Contains("trace"));
}

// The model mode: echo (the bitstream back; the capacity figure) unless "transform" is given (decode, draw, encode).
string modelMode = args.Contains("transform") ? "transform" : "echo";
// The transport: Decart's current LiveKit-room flow (the SDK's default) unless "direct" is given.
var transport = args.Contains("direct") ? RealtimeTransport.Direct : RealtimeTransport.LiveKit;
Console.WriteLine($"transport {transport}, model mode {modelMode}");
using var sim = SimulatorProcess.Start(modelMode);
Console.WriteLine($"simulator pid {sim.Process.Id} at {sim.Url}");
using var client = new DecartClient(new DecartClientOptions { ApiKey = "sim_dev_key", BaseUrl = new Uri(sim.Url), RealtimeBaseUrl = new Uri(sim.Url) });

if (mode == "connect-cold")
{
    int runs = args.Length > 1 && int.TryParse(args[1], CultureInfo.InvariantCulture, out int r) ? r : 20;
    return await ColdConnect.RunAsync(sim.Url, runs, transport);
}

if (mode == "connect")
{
    int runs = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 20;
    var times = new List<double>();
    for (int i = 0; i < runs + 2; i++)
    {
        var (rt, source, connected, total) = await ColdConnect.ConnectToFirstFrameAsync(client, clip, transport, "load test");
        await using var disposeSource = source;
        await using var disposeClient = rt;
        if (i >= 2)
        {
            times.Add(total); // the first two warm the JIT and are not counted
        }

        Console.WriteLine($"run {i}: connected {connected:F0} ms, first frame {total:F0} ms");
    }

    times.Sort();
    double p95 = times[Math.Min(times.Count - 1, (int)Math.Ceiling(times.Count * 0.95) - 1)];
    Console.WriteLine($"connect-to-first-frame ({transport}) over {runs} runs on loopback: median {times[times.Count / 2]:F0} ms, p95 {p95:F0} ms, min {times[0]:F0} ms, max {times[^1]:F0} ms");
    return 0;
}

if (mode == "bandwidth")
{
    bool adapt = !args.Contains("fixed");
    int total = args.Length > 2 && int.TryParse(args[2], CultureInfo.InvariantCulture, out int t) ? t : 60;
    int capAt = total * 10 / 60, liftAt = total * 40 / 60;
    var model = RealtimeModels.Lucy21;
    await using var camera = new RawVideoSource(new VideoFormat(model.Width, model.Height, model.Fps), FacingMode.Environment, targetBitrateKbps: 3000);
    using var stopCamera = new CancellationTokenSource();
    var feeding = Task.Run(() => Decart.Testing.CameraLikeFrames.PushAsync(camera, model.Width, model.Height, model.Fps, stopCamera.Token));
    await using var rt = await client.Realtime.ConnectAsync(camera, new RealtimeConnectOptions { Model = model, Transport = transport, AdaptBitrate = adapt, InitialState = new RealtimeState { Prompt = "bandwidth" } });
    using var control = new HttpClient { BaseAddress = new Uri(sim.Url) };
    string? faultId = null;
    long lastIn = 0, lastPlis = 0, lastNacks = 0, lastProbes = 0;
    var rows = new List<(int Second, double SendKbps, int? TargetKbps, double Loss, double ServerFps)>();
    Console.WriteLine($"adaptive sender {(adapt ? "on" : "off")}; cap 1 Mbit/s from {capAt} s to {liftAt} s");
    Console.WriteLine("  s  send kbit/s  target  upstream loss  fps at server  PLIs  NACKs  probes");
    for (int second = 1; second <= total; second++)
    {
        await Task.Delay(1000);
        if (second == capAt)
        {
            var added = await control.PostAsync("/_sim/faults", new StringContent("""{"type":"bandwidth","bandwidthKbps":1000,"direction":"from_client"}""", System.Text.Encoding.UTF8, "application/json"));
            faultId = JsonDocument.Parse(await added.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString();
        }
        else if (second == liftAt && faultId is not null)
        {
            await control.DeleteAsync($"/_sim/faults/{faultId}");
        }

        var info = JsonDocument.Parse(await control.GetStringAsync($"/_sim/sessions/{rt.SessionId}")).RootElement;
        long framesIn = info.GetProperty("framesIn").GetInt64();
        var stats = rt.Stats;
        var row = (second, (stats?.SendBitrate ?? 0) / 1000, stats?.TargetBitrateKbps, stats?.UpstreamLoss ?? 0, (double)(framesIn - lastIn));
        lastIn = framesIn;
        rows.Add(row);
        long plis = stats?.PlisReceived ?? 0, nacks = stats?.NacksReceived ?? 0;
        long probes = stats?.ProbesSent ?? 0;
        Console.WriteLine($"{row.second,3}  {row.Item2,10:F0}  {row.Item3?.ToString(CultureInfo.InvariantCulture) ?? "-",6}  {row.Item4,12:P1}  {row.Item5,13:F0}  {plis - lastPlis,4}  {nacks - lastNacks,5}  {probes - lastProbes,6}");
        lastProbes = probes;
        (lastPlis, lastNacks) = (plis, nacks);
    }

    await stopCamera.CancelAsync();
    await feeding;
    // Settled: the first second after the cap from which the send rate stays under the cap until it is lifted.
    var capped = rows.Where(r => r.Second > capAt && r.Second <= liftAt).ToList();
    int? settled = capped.Select((r, i) => (r, i)).FirstOrDefault(x => capped.Skip(x.i).All(r => r.SendKbps <= 1000)).r.Second is int at and > 0 ? at - capAt : null;
    var afterSettle = settled is int sAt ? capped.Where(r => r.Second >= capAt + sAt).ToList() : [];
    int? recovered = rows.Where(r => r.Second > liftAt).FirstOrDefault(r => r.SendKbps >= 2500).Second is int back and > 0 ? back - liftAt : null;
    Console.WriteLine($"summary ({(adapt ? "adaptive" : "fixed")}): settled under the cap after {(settled is null ? "never" : settled + " s")}; " +
        $"while settled: upstream loss {(afterSettle.Count > 0 ? afterSettle.Average(r => r.Loss) : double.NaN):P1}, {(afterSettle.Count > 0 ? afterSettle.Average(r => r.ServerFps) : double.NaN):F1} fps at the server; " +
        $"whole cap: {capped.Average(r => r.ServerFps):F1} fps; back above 2.5 Mbit/s {(recovered is null ? "never" : recovered + " s")} after the cap was lifted");
    return 0;
}

int sessions = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 50;
int seconds = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 30;
var clients = new List<(RealtimeClient Client, TimedSource Source, Counter Echo)>();
var latencies = new ConcurrentBag<(double At, double Ms)>();
long measuredStart = Stopwatch.GetTimestamp(); // reset just before measuring starts; the echo handlers read it
// 'camera': the camera-rate clips of tools/make-camera-clip.sh (3 Mbit/s, ~10 packets a frame) instead of the
// ~300 kbit/s test pattern; with 'h264' the H.264 one.
bool cameraRate = args.Contains("camera"), h264 = args.Contains("h264");
string cameraClip = Path.Combine(root, "artifacts", "clips", h264 ? "camera-1088x624-30fps.h264" : "camera-1088x624-30fps.ivf");
if (cameraRate && !File.Exists(cameraClip))
{
    Console.Error.WriteLine($"{cameraClip} is missing: run tools/make-camera-clip.sh first");
    return 2;
}

Console.WriteLine(cameraRate ? $"clip {Path.GetFileName(cameraClip)} ({new FileInfo(cameraClip).Length * 8 / 10 / 1000} kbit/s)" : $"clip {Path.GetFileName(clip)}");
for (int i = 0; i < sessions; i++)
{
    IVideoSource inner = !cameraRate ? await IvfFileSource.OpenAsync(clip, 30)
        : h264 ? await AnnexBFileSource.OpenAsync(cameraClip, 1088, 624, 30)
        : await IvfFileSource.OpenAsync(cameraClip, 30);
    var source = new TimedSource(inner);
    var echo = new Counter();
    var rt = await client.Realtime.ConnectAsync(source, new RealtimeConnectOptions
    {
        Model = RealtimeModels.Lucy21,
        Transport = transport,
        OnFrame = f =>
        {
            Interlocked.Increment(ref echo.Value);
            if (source.TryTakeSendTime(f.RtpTimestamp, out long sent) && echo.Measuring)
            {
                latencies.Add((Stopwatch.GetElapsedTime(Volatile.Read(ref measuredStart)).TotalSeconds, Stopwatch.GetElapsedTime(sent).TotalMilliseconds));
            }
        },
    });
    clients.Add((rt, source, echo));
}

Console.WriteLine($"{sessions} sessions connected; warming up 5 s");
await Task.Delay(5000);
long sent0 = clients.Sum(c => c.Client.FramesSent);
long echo0 = clients.Sum(c => Interlocked.Read(ref c.Echo.Value));
Volatile.Write(ref measuredStart, Stopwatch.GetTimestamp()); // before any sample is taken, so every second counts from here
foreach (var c in clients)
{
    c.Echo.Measuring = true;
}

var cpu0 = sim.CpuTime();
var self0 = Process.GetCurrentProcess().TotalProcessorTime;
var wall = Stopwatch.StartNew();
await Task.Delay(TimeSpan.FromSeconds(seconds));
var cpu1 = sim.CpuTime();
var self1 = Process.GetCurrentProcess().TotalProcessorTime;
double elapsed = wall.Elapsed.TotalSeconds;
foreach (var c in clients)
{
    c.Echo.Measuring = false;
}

long sent1 = clients.Sum(c => c.Client.FramesSent);
long echo1 = clients.Sum(c => Interlocked.Read(ref c.Echo.Value));
using var http = new HttpClient { BaseAddress = new Uri(sim.Url) };
using var list = JsonDocument.Parse(await http.GetStringAsync("/_sim/sessions"));
long simDropped = list.RootElement.EnumerateArray().Sum(s => s.GetProperty("framesDropped").GetInt64());
var sorted = latencies.Select(l => l.Ms).Order().ToArray();
double sent = sent1 - sent0;
double echoed = echo1 - echo0;
Console.WriteLine($"sessions {sessions}, model mode {modelMode}, {elapsed:F0} s measured, {Environment.ProcessorCount} cores");
Console.WriteLine($"frames sent {sent:F0} ({sent / elapsed / sessions:F1} fps per session), echoed back {echoed:F0}; lost {Math.Max(0, 1 - echoed / sent) * 100:F2} %; simulator dropped {simDropped}");
Console.WriteLine($"simulator CPU {(cpu1 - cpu0).TotalSeconds / elapsed * 100:F0} % of one core ({(cpu1 - cpu0).TotalSeconds / elapsed / Environment.ProcessorCount * 100:F0} % of the machine)");
Console.WriteLine($"load program (the {sessions} SDK clients) CPU {(self1 - self0).TotalSeconds / elapsed * 100:F0} % of one core");
var clientStats = clients.Select(c => c.Client.Stats).OfType<RealtimeStats>().ToList();
Console.WriteLine($"clients (whole session): frames dropped by the receivers {clientStats.Sum(s => s.FramesDropped)}, NACKs sent {clientStats.Sum(s => s.NacksSent)} / received {clientStats.Sum(s => s.NacksReceived)}, PLIs sent {clientStats.Sum(s => s.PlisSent)} / received {clientStats.Sum(s => s.PlisReceived)}");
if (sorted.Length > 0)
{
    Console.WriteLine($"echo latency (send → echoed frame assembled, includes the 30 ms model latency): p50 {sorted[sorted.Length / 2]:F1} ms, p99 {sorted[(int)(sorted.Length * 0.99)]:F1} ms, {sorted.Length} samples");
    if (args.FirstOrDefault(a => a.StartsWith("latencies=", StringComparison.Ordinal)) is { } latencyArg)
    {
        WriteLatencies(latencyArg["latencies=".Length..], sorted, latencies, $"sessions {sessions}, {transport}, {modelMode}, {(cameraRate ? Path.GetFileName(cameraClip) : Path.GetFileName(clip))}, {elapsed:F0} s, lost {Math.Max(0, 1 - echoed / sent) * 100:F2} %");
    }
}

foreach (var c in clients)
{
    await c.Client.DisposeAsync();
    await c.Source.DisposeAsync();
}

return 0;

// Quantiles 0.1 %..99.9 % (and the maximum) of the whole window, then each second's count, p50, p99 and maximum.
static void WriteLatencies(string path, double[] sorted, IEnumerable<(double At, double Ms)> samples, string title)
{
    using var file = new StreamWriter(path);
    file.WriteLine("# " + title);
    file.WriteLine("# quantile latency_ms");
    for (int q = 1; q <= 999; q++)
    {
        file.WriteLine(string.Create(CultureInfo.InvariantCulture, $"q {q / 1000.0:F3} {sorted[Math.Min(sorted.Length - 1, (int)(sorted.Length * (q / 1000.0)))]:F2}"));
    }

    file.WriteLine(string.Create(CultureInfo.InvariantCulture, $"q 1.000 {sorted[^1]:F2}"));
    file.WriteLine("# second frames p50_ms p99_ms max_ms");
    foreach (var second in samples.GroupBy(s => (int)s.At).OrderBy(g => g.Key))
    {
        var ms = second.Select(s => s.Ms).Order().ToArray();
        file.WriteLine(string.Create(CultureInfo.InvariantCulture, $"s {second.Key} {ms.Length} {ms[ms.Length / 2]:F2} {ms[Math.Min(ms.Length - 1, (int)(ms.Length * 0.99))]:F2} {ms[^1]:F2}"));
    }
}

static string FindRoot()
{
    return Decart.Testing.RepositoryPaths.Root;
}

/// <summary>A counter with a measuring flag.</summary>
internal sealed class Counter
{
    public long Value;
    public volatile bool Measuring;
}
