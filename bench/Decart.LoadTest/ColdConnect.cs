using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Decart.Sdk;
using Decart.Sdk.Media;
using Decart.Sdk.Models;
using Decart.Sdk.Realtime;
using Decart.Sdk.Telemetry;

/// <summary>
/// Cold connects: the first connect of a fresh process, as every app start pays it. <see cref="RunAsync"/> starts this
/// program <c>runs</c> times in <c>connect-once</c> mode against one standalone simulator and reports the median and
/// p95 of connect-to-first-frame and of each phase (the SDK's <c>Decart.Sdk</c> spans), plus the process start-up
/// before the connect began.
/// </summary>
internal static class ColdConnect
{
    public static async Task<int> OnceAsync(Uri simulator, RealtimeTransport transport, string clip, bool trace = false)
    {
        var started = Process.GetCurrentProcess().StartTime.ToUniversalTime();
        var spans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == DecartTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        var beforeConnect = DateTime.UtcNow;
        using var client = new DecartClient(new DecartClientOptions { ApiKey = "sim_dev_key", BaseUrl = simulator, RealtimeBaseUrl = simulator }, null, trace ? new TraceLoggerFactory() : null);
        var (rt, source, connected, total) = await ConnectToFirstFrameAsync(client, clip, transport, "cold connect");
        await using var disposeSource = source;
        await using var disposeClient = rt;
        var line = new List<string>
        {
            string.Create(CultureInfo.InvariantCulture, $"total={total:F1}"),
            string.Create(CultureInfo.InvariantCulture, $"connected={connected:F1}"),
            string.Create(CultureInfo.InvariantCulture, $"startup={(beforeConnect - started).TotalMilliseconds:F1}"),
        };
        if (spans.FirstOrDefault(s => s.OperationName == "decart.realtime.connect") is { } connect)
        {
            line.Add(string.Create(CultureInfo.InvariantCulture, $"connect-span={connect.Duration.TotalMilliseconds:F1}"));
            var phases = spans.Where(s => s.ParentSpanId == connect.SpanId).ToList();
            phases.AddRange(spans.Where(s => phases.Any(p => p.OperationName == "room-join" && s.ParentSpanId == p.SpanId)));
            foreach (var phase in phases.OrderBy(s => s.StartTimeUtc))
            {
                line.Add(string.Create(CultureInfo.InvariantCulture, $"{phase.OperationName}={phase.Duration.TotalMilliseconds:F1}"));
                line.Add(string.Create(CultureInfo.InvariantCulture, $"{phase.OperationName}@={(phase.StartTimeUtc - connect.StartTimeUtc).TotalMilliseconds:F1}"));
            }
        }

        Console.WriteLine("cold " + string.Join(' ', line));
        return 0;
    }

    /// <summary>One connect of <paramref name="client"/> with the clip at 30 fps: ms until <c>ConnectAsync</c> returned and until the model's first frame.</summary>
    public static async Task<(RealtimeClient Rt, IvfFileSource Source, double Connected, double Total)> ConnectToFirstFrameAsync(DecartClient client, string clip, RealtimeTransport transport, string prompt)
    {
        var source = await IvfFileSource.OpenAsync(clip, 30);
        var firstFrame = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var watch = Stopwatch.StartNew();
        RealtimeClient? rt = null;
        try
        {
            rt = await client.Realtime.ConnectAsync(source, new RealtimeConnectOptions
            {
                Model = RealtimeModels.Lucy21,
                Transport = transport,
                InitialState = new RealtimeState { Prompt = prompt },
                OnFrame = _ => firstFrame.TrySetResult(),
            });
            double connected = watch.Elapsed.TotalMilliseconds;
            await firstFrame.Task.WaitAsync(TimeSpan.FromSeconds(30));
            return (rt, source, connected, watch.Elapsed.TotalMilliseconds);
        }
        catch
        {
            if (rt is not null)
            {
                await rt.DisposeAsync();
            }

            await source.DisposeAsync();
            throw;
        }
    }

    public static async Task<int> RunAsync(string simulatorUrl, int runs, RealtimeTransport transport)
    {
        string self = typeof(ColdConnect).Assembly.Location;
        var samples = new List<Dictionary<string, double>>();
        for (int i = 0; i < runs; i++)
        {
            var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            info.ArgumentList.Add(self);
            info.ArgumentList.Add("connect-once");
            info.ArgumentList.Add(simulatorUrl);
            info.ArgumentList.Add(transport == RealtimeTransport.Direct ? "direct" : "livekit");
            using var child = Process.Start(info)!;
            var stdout = child.StandardOutput.ReadToEndAsync();
            var stderr = child.StandardError.ReadToEndAsync();
            if (!child.WaitForExit(60_000))
            {
                child.Kill(entireProcessTree: true);
                child.WaitForExit();
                Console.WriteLine($"run {i}: timed out");
                continue;
            }

            string output = await stdout;
            await stderr;
            var line = output.Split('\n').FirstOrDefault(l => l.StartsWith("cold ", StringComparison.Ordinal));
            if (line is null)
            {
                Console.WriteLine($"run {i}: no result (exit {child.ExitCode})");
                continue;
            }

            Console.WriteLine($"run {i}: {line[5..]}");
            samples.Add(line[5..].Split(' ').Select(kv => kv.Split('=')).ToDictionary(kv => kv[0], kv => double.Parse(kv[1], CultureInfo.InvariantCulture)));
        }

        Console.WriteLine($"cold connects ({transport}), {samples.Count} fresh processes, median / p95 ms:");
        foreach (var key in samples.SelectMany(s => s.Keys).Distinct())
        {
            var values = samples.Where(s => s.ContainsKey(key)).Select(s => s[key]).Order().ToList();
            double p95 = values[Math.Min(values.Count - 1, (int)Math.Ceiling(values.Count * 0.95) - 1)];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {key,-18} {values[values.Count / 2],8:F0} {p95,8:F0}"));
        }

        return samples.Count == runs ? 0 : 1;
    }
}

/// <summary>Prints every SDK log line with the milliseconds since the process started (connect-once … trace).</summary>
internal sealed class TraceLoggerFactory : Microsoft.Extensions.Logging.ILoggerFactory
{
    private static readonly DateTime Started = Process.GetCurrentProcess().StartTime.ToUniversalTime();

    public void AddProvider(Microsoft.Extensions.Logging.ILoggerProvider provider)
    {
    }

    public Microsoft.Extensions.Logging.ILogger CreateLogger(string categoryName) => new Logger(categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(string category) : Microsoft.Extensions.Logging.ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{(DateTime.UtcNow - Started).TotalMilliseconds,8:F1} ms  {category}: {formatter(state, exception)}"));
    }
}
