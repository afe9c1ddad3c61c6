using System.Diagnostics;
using System.Globalization;
using Decart.Sdk;
using Decart.Sdk.Media;
using Decart.Sdk.Media.Ffmpeg;
using Decart.Sdk.Models;
using Decart.Sdk.Realtime;
using Decart.Simulator.Faults;
using Decart.Simulator.Hosting;

// The Decart .NET toolkit in one command. With no arguments: an embedded simulator, a synthetic front camera
// (mirror auto) streaming to lucy-latest, a prompt, an atomic prompt+image change, a dropped connection that the
// SDK reconnects on its own, snapshots of a sent and a received frame, and a summary.
//   dotnet run --project samples/Quickstart [-- --short] [--out DIR] [--live] [--transport livekit|direct]
//                                            [--input FILE|DEVICE|URL [--input-format F]] [--record OUT.mp4]
// --live streams to the real service with DECART_API_KEY instead of the simulator. --transport direct uses the older
// direct WebRTC flow instead of Decart's current LiveKit rooms (the default). --input streams anything ffmpeg reads
// (a file, looped; /dev/video0 with --input-format v4l2; an RTSP URL; a lavfi graph with --input-format lavfi) in
// place of the synthetic camera; --record writes the transformed stream to a file (both need Debian's ffmpeg).
bool live = args.Contains("--live");
bool quick = args.Contains("--short");
if (args.Contains("--help") || args.Contains("-h"))
{
    Console.WriteLine("Usage: Quickstart [--short] [--out DIR] [--live] [--transport livekit|direct] [--input FILE|DEVICE|URL [--input-format F]] [--record OUT.mp4]");
    return 0;
}

int transportAt = Array.IndexOf(args, "--transport");
string transportName = transportAt >= 0 && transportAt + 1 < args.Length ? args[transportAt + 1] : "livekit";
if (!Enum.TryParse<RealtimeTransport>(transportName, ignoreCase: true, out var transport))
{
    Console.Error.WriteLine($"--transport must be livekit or direct (got '{transportName}').");
    return 2;
}

string? Option(string name)
{
    int at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
}

string outDir = Option("--out") ?? "quickstart-output";
string? input = Option("--input");
string? inputFormat = Option("--input-format");
string? record = Option("--record");
var phase = quick ? TimeSpan.FromSeconds(2) : TimeSpan.FromSeconds(5);
var model = RealtimeModels.LucyLatest;

await using var sim = live ? null : await DecartSimulator.StartAsync(new SimulatorOptions());
DecartClient client;
try
{
    client = live
        ? new DecartClient(new DecartClientOptions())
        : new DecartClient(new DecartClientOptions { ApiKey = sim!.DefaultApiKey, BaseUrl = sim.BaseUrl, RealtimeBaseUrl = sim.RealtimeBaseUrl });
}
catch (DecartException ex)
{
    Console.Error.WriteLine($"{ex.CodeString}: {ex.Message}");
    return 2;
}

using var _ = client;
Console.WriteLine(live ? "Streaming to the real Decart service." : $"Embedded Decart simulator at {sim!.BaseUrl} (no key needed).");

// The camera: a synthetic front camera by default, or anything ffmpeg reads, decoded at the model's size and fps.
var format = new VideoFormat(model.Width, model.Height, model.Fps);
SyntheticVideoSource? synthetic = null;
FfmpegVideoSource? external = null;
FfmpegVideoSink? recorder = null;
try
{
    if (input is null)
    {
        synthetic = new SyntheticVideoSource(format, FacingMode.User);
    }
    else
    {
        external = await FfmpegVideoSource.OpenAsync(input, format, new FfmpegSourceOptions { InputFormat = inputFormat, Loop = File.Exists(input) });
    }

    recorder = record is null ? null : new FfmpegVideoSink(record, new FfmpegSinkOptions { Fps = model.Fps });
}
catch (DecartException ex)
{
    Console.Error.WriteLine($"{ex.CodeString}: {ex.Message}");
    return 2;
}

IMirrorableVideoSource camera = (IMirrorableVideoSource?)synthetic ?? external!;
await using var cameraLifetime = (IAsyncDisposable)camera;
await using var recorderLifetime = recorder;
I420Frame? CopyLastSent() => synthetic?.CopyLastSentFrame() ?? external?.CopyLastSentFrame();
long FramesOut() => synthetic?.FramesRendered ?? external?.FramesRead ?? 0;
var stats = new Stats();
var states = new List<string>();
var generating = new SemaphoreSlim(0);
var reconnecting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

var options = new RealtimeConnectOptions
{
    Model = model,
    Transport = transport,
    Mirror = MirrorMode.Auto,                                      // a front camera: the sent frames are flipped
    InitialState = new RealtimeState { Prompt = "a watercolor lighthouse at dusk" },
    OnConnectionChanged = state =>
    {
        lock (states)
        {
            states.Add(state.ToString());
        }

        stats.State = state;
        if (state == ConnectionState.Generating)
        {
            generating.Release();
        }
        else if (state == ConnectionState.Reconnecting)
        {
            reconnecting.TrySetResult();
        }
    },
    OnError = error => Console.WriteLine($"\nerror {error.CodeString}: {error.Message}"),
    OnFrame = _ => Interlocked.Increment(ref stats.Received),   // encoded frames as they arrive (zero-copy)
    DecodedSink = new MeasuringSink(synthetic, stats, recorder), // decoded pictures (the SDK decodes on its own worker)
};

// The SDK traces each connect with a span per phase (ActivitySource "Decart.Sdk", what OpenTelemetry reads); here a
// plain listener keeps them for the summary.
var spans = new System.Collections.Concurrent.ConcurrentQueue<Activity>();
using var tracing = new ActivityListener
{
    ShouldListenTo = s => s.Name == Decart.Sdk.Telemetry.DecartTelemetry.Name,
    Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
    ActivityStopped = spans.Enqueue,
};
ActivitySource.AddActivityListener(tracing);

using var status = new CancellationTokenSource();
var statusLine = Task.Run(() => StatusLoopAsync(stats, FramesOut, status.Token));
await using (var rt = await client.Realtime.ConnectAsync(camera, options))
{
    rt.GenerationTick += (_, tick) => stats.GenerationSeconds = tick.Seconds;
    await Step("connected; waiting for the first transformed frame", generating.WaitAsync(TimeSpan.FromSeconds(30)));
    await Task.Delay(phase);

    using (var reference = CopyLastSent())
    {
        var image = reference is null ? null : ImageInput.FromBytes(PngWriter.Encode(reference));
        await Step("changing prompt and reference image atomically (SetAsync)", rt.SetAsync(new RealtimeState { Prompt = "the same lighthouse as a neon cyberpunk tower", Image = image }));
        stats.Phase = "after SetAsync";
    }

    await Task.Delay(phase);
    if (sim is not null)
    {
        await Step("asking the simulator to drop the connection", sim.DropAsync(rt.SessionId!, DropMode.WebSocket));
        await Step("the SDK reconnects on its own", reconnecting.Task.WaitAsync(TimeSpan.FromSeconds(30)));
        await Step("…and resumes generating with the same prompt and image", generating.WaitAsync(TimeSpan.FromSeconds(30)));
        stats.MarkReconnected();
        stats.Phase = "after reconnect";
        await Task.Delay(phase);
    }

    stats.Reconnects = rt.Reconnects;
    stats.Sent = rt.FramesSent;
}

status.Cancel();
await statusLine;
if (recorder is not null)
{
    await Step($"finishing the recording {record}", recorder.CompleteAsync());
}

Directory.CreateDirectory(outDir);
string sentPng = Path.Combine(outDir, "sent.png");
string receivedPng = Path.Combine(outDir, "received.png");
using (var sentFrame = CopyLastSent())
{
    if (sentFrame is not null)
    {
        await PngWriter.WriteAsync(sentFrame, sentPng);
    }
}

using (var last = stats.TakeLastDecoded())
{
    if (last is not null)
    {
        await PngWriter.WriteAsync(last, receivedPng);
    }
}

var latencies = stats.Latencies();
Console.WriteLine();
Console.WriteLine("Summary");
Console.WriteLine($"  model: {model.Name} ({model.Width}x{model.Height} @ {model.Fps} fps), mirror: auto ({(synthetic is null ? "not a front camera: not mirrored" : "front camera")}), transport: {transport.ToString().ToLowerInvariant()}");
Console.WriteLine($"  states: {string.Join(" > ", states)}");
Console.WriteLine($"  frames sent: {stats.Sent}, received: {stats.Received}, received after reconnect: {stats.ReceivedAfterReconnect}");
Console.WriteLine($"  reconnects: {stats.Reconnects}");
if (spans.FirstOrDefault(s => s.OperationName == "decart.realtime.connect") is { } firstConnect)
{
    // The first connect's phases in the order they started; first-frame (from the connect's start to the model's first
    // frame) last.
    var phases = spans.Where(s => s.ParentSpanId == firstConnect.SpanId).OrderBy(s => s.OperationName == "first-frame").ThenBy(s => s.StartTimeUtc)
        .Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.OperationName} {s.Duration.TotalMilliseconds:F0} ms"));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  connect: {firstConnect.Duration.TotalMilliseconds:F0} ms ({string.Join(", ", phases)})"));
}

Console.WriteLine(latencies.Length > 0
    ? $"  glass-to-glass latency: p50 {Percentile(latencies, 0.5):F1} ms, p99 {Percentile(latencies, 0.99):F1} ms ({latencies.Length} frames)"
    : "  glass-to-glass latency: no readable frames");
foreach (var (name, values) in stats.LatenciesByPhase())
{
    Console.WriteLine(values.Length > 0
        ? $"    {name}: p50 {Percentile(values, 0.5):F1} ms, p99 {Percentile(values, 0.99):F1} ms ({values.Length} frames)"
        : $"    {name}: no readable frames");
}

Console.WriteLine(sim is null
    ? "  state version on screen: (the real service draws no stamp)"
    : $"  state version on screen: v{stats.Version} (the simulator's model stamps each frame with its session's state version: v1 the initial prompt, v2 after SetAsync; a reconnected session starts at v1 with the restored state)");
Console.WriteLine($"  generation seconds (current session): {stats.GenerationSeconds:0.#}");
Console.WriteLine($"  snapshots: {sentPng}, {receivedPng}");
if (recorder is not null)
{
    Console.WriteLine($"  recording: {record} ({recorder.FramesWritten} frames, {recorder.FramesDropped} dropped)");
}

if (external?.Error is { } inputError)
{
    Console.WriteLine($"  input: {inputError}");
}

bool ok = stats.Received > 0 && (live || (stats.Reconnects >= 1 && stats.ReceivedAfterReconnect > 0));
Console.WriteLine(ok ? "  result: ok" : "  result: FAILED");
return ok ? 0 : 1;

static async Task Step(string what, Task task)
{
    Console.WriteLine($"\n> {what}");
    await task;
}

static double Percentile(double[] sorted, double p) => sorted[Math.Min(sorted.Length - 1, (int)(sorted.Length * p))];

static async Task StatusLoopAsync(Stats stats, Func<long> framesOut, CancellationToken cancellationToken)
{
    bool terminal = !Console.IsOutputRedirected;
    long lastSent = 0, lastReceived = 0;
    var every = terminal ? TimeSpan.FromMilliseconds(500) : TimeSpan.FromSeconds(1);
    try
    {
        while (true)
        {
            await Task.Delay(every, cancellationToken);
            long sent = framesOut(), got = Interlocked.Read(ref stats.Received);
            double outFps = (sent - lastSent) / every.TotalSeconds, inFps = (got - lastReceived) / every.TotalSeconds;
            (lastSent, lastReceived) = (sent, got);
            var l = stats.Latencies();
            string line = string.Create(CultureInfo.InvariantCulture, $"{stats.State,-12} out {outFps,5:F1} fps  in {inFps,5:F1} fps  latency p50 {(l.Length > 0 ? Percentile(l, 0.5) : 0),6:F1} ms  state v{stats.Version}  generation {stats.GenerationSeconds,4:0} s");
            Console.Write(terminal ? "\r" + line : line + Environment.NewLine);
        }
    }
    catch (OperationCanceledException)
    {
    }
}

/// <summary>
/// Reads the frame counter back from each decoded picture to time it against when it was rendered (synthetic camera
/// only), keeps a snapshot, and hands a copy to the recording when there is one.
/// </summary>
internal sealed class MeasuringSink(SyntheticVideoSource? camera, Stats stats, IVideoSink? recording) : IVideoSink
{
    private long _count;

    public void OnFrame(I420Frame picture)
    {
        long now = Stopwatch.GetTimestamp();
        recording?.OnFrame(picture.Clone());
        using (picture)
        {
            if (++_count % 10 == 0)
            {
                stats.KeepDecoded(picture.Clone()); // the snapshot shows what arrived (mirrored, like the sent frame)
            }

            // The simulator's model stamps each frame with the state version it was made with (upright: drawn on the output).
            if (Decart.Sdk.Testing.StateStamp.TryRead(picture, out var stamp))
            {
                stats.Version = stamp.Version;
            }

            if (camera is null)
            {
                return;
            }

            // The output shows the mirrored picture; flip it back to read the counter.
            if (camera.Mirror)
            {
                FrameMirror.MirrorHorizontalInPlace(picture);
            }

            long counter = TestPattern.ReadCounter(picture);
            if (counter >= 0 && camera.TryGetSendTime(counter, out long sent))
            {
                stats.AddLatency(Stopwatch.GetElapsedTime(sent, now).TotalMilliseconds);
            }
        }
    }
}

/// <summary>What the run counts (updated from the media and decode threads).</summary>
internal sealed class Stats
{
    private readonly List<(string Phase, double Ms)> _latencies = [];
    private I420Frame? _lastDecoded;
    private long _receivedAtReconnect = -1;
    public long Received;

    public volatile ConnectionState State;

    public double GenerationSeconds { get; set; }

    public long Sent { get; set; }

    public int Reconnects { get; set; }

    public long ReceivedAfterReconnect => _receivedAtReconnect < 0 ? 0 : Interlocked.Read(ref Received) - _receivedAtReconnect;

    public void MarkReconnected() => _receivedAtReconnect = Interlocked.Read(ref Received);

    public volatile string Phase = "initial prompt";

    public volatile int Version;

    public void AddLatency(double ms)
    {
        lock (_latencies)
        {
            _latencies.Add((Phase, ms));
        }
    }

    public IEnumerable<(string Phase, double[] Sorted)> LatenciesByPhase()
    {
        lock (_latencies)
        {
            return _latencies.GroupBy(p => p.Phase).Select(g => (g.Key, g.Select(p => p.Ms).Order().ToArray())).ToArray();
        }
    }

    public double[] Latencies()
    {
        lock (_latencies)
        {
            return _latencies.Select(p => p.Ms).Order().ToArray();
        }
    }

    public void KeepDecoded(I420Frame frame) => Interlocked.Exchange(ref _lastDecoded, frame)?.Dispose();

    public I420Frame? TakeLastDecoded() => Interlocked.Exchange(ref _lastDecoded, null);
}
