using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Decart.Rtc.Codecs;
using Decart.Sdk.Media;
using Decart.Sdk.Models;
using Decart.Sdk.Realtime;
using Decart.Simulator.Hosting;

namespace Decart.Sdk.Tests.Realtime;

/// <summary>Shared pieces of the realtime integration tests: an embedded simulator, clients, sources, waits.</summary>
internal static class RealtimeTestKit
{
    /// <summary>A valid 1×1 PNG.</summary>
    public static readonly byte[] Png = Convert.FromBase64String("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==");

    /// <summary>A different valid PNG (same image, different bytes after the end chunk does not matter to the checks).</summary>
    public static readonly byte[] Png2 = [.. Png, 0, 1, 2, 3];

    public static string Clip(string name)
    {
        return Path.Combine(Decart.Testing.RepositoryPaths.Root, "assets", "clips", name);
    }

    public static string Sha256(byte[] bytes) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes));

    public static Task<DecartSimulator> StartSimulatorAsync(Action<SimulatorOptions>? configure = null)
    {
        var options = new SimulatorOptions { TickInterval = TimeSpan.FromMilliseconds(250), ProcessingLatency = TimeSpan.FromMilliseconds(5) };
        configure?.Invoke(options);
        return DecartSimulator.StartAsync(options);
    }

    public static DecartClient Client(DecartSimulator sim, string? key = null) =>
        new(new DecartClientOptions { ApiKey = key ?? sim.DefaultApiKey, BaseUrl = sim.BaseUrl, RealtimeBaseUrl = sim.RealtimeBaseUrl });

    public static Task<IvfFileSource> SourceAsync(string clip = "pattern-1088x624-30fps.ivf") => IvfFileSource.OpenAsync(Clip(clip), fps: 30, loop: true);

    public static RealtimeConnectOptions Options(StateLog? log = null, RealtimeState? initial = null, RealtimeTransport transport = RealtimeTransport.LiveKit) => new()
    {
        Model = RealtimeModels.Lucy21,
        Transport = transport,
        InitialState = initial,
        OnConnectionChanged = log is null ? null : log.Add,
        OnError = log is null ? null : log.AddError,
    };

    /// <summary>Waits for a condition, polling (for counters that have no event).</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (!condition())
        {
            try
            {
                await Task.Delay(20, cts.Token);
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"timed out after {timeout.TotalSeconds} s waiting for {what}");
            }
        }
    }

    /// <summary>Records state changes and errors, and lets a test await a state.</summary>
    public sealed class StateLog
    {
        private readonly ConcurrentQueue<ConnectionState> _states = new();
        private readonly ConcurrentQueue<DecartException> _errors = new();

        public IReadOnlyList<ConnectionState> States => [.. _states];

        public IReadOnlyList<DecartException> Errors => [.. _errors];

        public void Add(ConnectionState state) => _states.Enqueue(state);

        public void AddError(DecartException error) => _errors.Enqueue(error);

        public Task WaitForAsync(ConnectionState state, int occurrence = 1, double seconds = 30) =>
            WaitUntilAsync(() => _states.Count(s => s == state) >= occurrence, TimeSpan.FromSeconds(seconds), $"state {state} #{occurrence} (saw {string.Join(",", _states)})");
    }

    /// <summary>An H.264 source: the shipped Annex B clip split into access units, looped at 30 fps.</summary>
    public sealed class H264ClipSource : IVideoSource
    {
        private readonly List<byte[]> _units;

        public H264ClipSource()
        {
            _units = H264Nal.SplitAccessUnits(File.ReadAllBytes(Clip("pattern-1088x624-30fps.h264")));
        }

        public VideoFormat Format => new(1088, 624, 30);

        public VideoCodec Codec => VideoCodec.H264;

        public FacingMode Facing => FacingMode.Unknown;

        public async IAsyncEnumerable<EncodedVideoFrame> ReadFramesAsync([EnumeratorCancellation] CancellationToken cancellationToken)
        {
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(1000.0 / 30));
            long n = 0;
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                var unit = _units[(int)(n % _units.Count)];
                yield return new EncodedVideoFrame(unit, TimeSpan.FromSeconds(n / 30.0), H264Nal.IsKeyframe(unit), VideoCodec.H264);
                n++;
            }
        }

        public void RequestKeyframe()
        {
        }
    }
}
