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
//   dotnet run -c Release --project bench/Decart.LoadTest -- sessions [N=50] [seconds=30] [echo|transform] [livekit|direct]
//   dotnet run -c Release --project bench/Decart.LoadTest -- connect [runs=20] [livekit|direct]
// The simulator runs as its own process (the built Decart.Simulator.dll), as in CI or on a developer machine;
// the clients (the SDK, an IVF clip at 30 fps) run here.
string mode = args.Length > 0 ? args[0] : "sessions";
string root = FindRoot();
string clip = Path.Combine(root, "assets", "clips", "pattern-1088x624-30fps.ivf");
// The model mode: echo (the bitstream back; the capacity figure) unless "transform" is given (decode, draw, encode).
string modelMode = args.Contains("transform") ? "transform" : "echo";
// The transport: Decart's current LiveKit-room flow (the SDK's default) unless "direct" is given.
var transport = args.Contains("direct") ? RealtimeTransport.Direct : RealtimeTransport.LiveKit;
Console.WriteLine($"transport {transport}, model mode {modelMode}");
using var sim = SimulatorProcess.Start(modelMode);
Console.WriteLine($"simulator pid {sim.Process.Id} at {sim.Url}");
using var client = new DecartClient(new DecartClientOptions { ApiKey = "sim_dev_key", BaseUrl = new Uri(sim.Url), RealtimeBaseUrl = new Uri(sim.Url) });

if (mode == "connect")
{
    int runs = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 20;
    var times = new List<double>();
    for (int i = 0; i < runs + 2; i++)
    {
        await using var source = await IvfFileSource.OpenAsync(clip, 30);
        var firstFrame = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var watch = Stopwatch.StartNew();
        await using var rt = await client.Realtime.ConnectAsync(source, new RealtimeConnectOptions
        {
            Model = RealtimeModels.Lucy21,
            Transport = transport,
            InitialState = new RealtimeState { Prompt = "load test" },
            OnFrame = _ => firstFrame.TrySetResult(),
        });
        double connected = watch.Elapsed.TotalMilliseconds;
        await firstFrame.Task.WaitAsync(TimeSpan.FromSeconds(30));
        double total = watch.Elapsed.TotalMilliseconds;
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

int sessions = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 50;
int seconds = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 30;
var clients = new List<(RealtimeClient Client, TimedSource Source, Counter Echo)>();
var latencies = new ConcurrentBag<double>();
for (int i = 0; i < sessions; i++)
{
    var source = new TimedSource(await IvfFileSource.OpenAsync(clip, 30));
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
                latencies.Add(Stopwatch.GetElapsedTime(sent).TotalMilliseconds);
            }
        },
    });
    clients.Add((rt, source, echo));
}

Console.WriteLine($"{sessions} sessions connected; warming up 5 s");
await Task.Delay(5000);
long sent0 = clients.Sum(c => c.Client.FramesSent);
long echo0 = clients.Sum(c => Interlocked.Read(ref c.Echo.Value));
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
var sorted = latencies.OrderBy(x => x).ToArray();
double sent = sent1 - sent0;
double echoed = echo1 - echo0;
Console.WriteLine($"sessions {sessions}, model mode {modelMode}, {elapsed:F0} s measured, {Environment.ProcessorCount} cores");
Console.WriteLine($"frames sent {sent:F0} ({sent / elapsed / sessions:F1} fps per session), echoed back {echoed:F0}; lost {Math.Max(0, 1 - echoed / sent) * 100:F2} %; simulator dropped {simDropped}");
Console.WriteLine($"simulator CPU {(cpu1 - cpu0).TotalSeconds / elapsed * 100:F0} % of one core ({(cpu1 - cpu0).TotalSeconds / elapsed / Environment.ProcessorCount * 100:F0} % of the machine)");
Console.WriteLine($"load program (the {sessions} SDK clients) CPU {(self1 - self0).TotalSeconds / elapsed * 100:F0} % of one core");
if (sorted.Length > 0)
{
    Console.WriteLine($"echo latency (send → echoed frame assembled, includes the 30 ms model latency): p50 {sorted[sorted.Length / 2]:F1} ms, p99 {sorted[(int)(sorted.Length * 0.99)]:F1} ms, {sorted.Length} samples");
}

foreach (var c in clients)
{
    await c.Client.DisposeAsync();
    await c.Source.DisposeAsync();
}

return 0;

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
