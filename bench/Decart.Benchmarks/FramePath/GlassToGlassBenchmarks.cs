using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using BenchmarkDotNet.Attributes;
using Decart.Benchmarks.Infrastructure;
using Decart.Sdk;
using Decart.Sdk.Media;
using Decart.Sdk.Models;
using Decart.Sdk.Realtime;
using Decart.Simulator.Hosting;

namespace Decart.Benchmarks.FramePath;

/// <summary>
/// Suite 6: glass-to-glass through the simulator on loopback — a frame handed to the SDK's <see cref="RealtimeClient"/>
/// (source → send loop → PeerConnection → UDP) reaches the simulator (in this process, processing latency 0), is
/// echoed by its session (reassembly, echo pacer, packetize, protect) and comes back to the client's
/// <see cref="RealtimeConnectOptions.OnFrame"/>; the time from handing it over to its echo (matched by RTP timestamp)
/// is one measurement. Frames are the 1088×624 test clip's, one every 33.3 ms (30 fps), 300 of them (10 s).
/// Baseline: the same datagrams (count and sizes per frame) sent to a bare UDP echo socket and received back, at the
/// same pace. Connect-to-generating is <see cref="ConnectBenchmarks"/>.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(PerFrameConfig.GlassToGlass))]
[LatencyPlot("Suite 6: glass-to-glass through the simulator vs a bare UDP echo (30 fps, per frame)")]
public class GlassToGlassBenchmarks
{
    private static readonly TimeSpan FrameTimeout = TimeSpan.FromSeconds(5);
    private static readonly long FrameInterval = Stopwatch.Frequency / 30;
    private readonly SemaphoreSlim _echoed = new(0);
    private DecartSimulator _sim = null!;
    private DecartClient _api = null!;
    private RealtimeClient _client = null!;
    private PushSource _source = null!;
    private PlainUdpPath _plain = null!;
    private List<byte[]> _clip = null!;
    private int[][] _datagramSizes = null!;
    private long _frameIndex;
    private long _expectedRtp = -1;
    private long _nextSlot;

    /// <summary>The SDK's transport: Decart's current LiveKit-room flow or the direct one (the baseline row is the same bare UDP echo in both).</summary>
    [Params(RealtimeTransport.Direct, RealtimeTransport.LiveKit)]
    public RealtimeTransport Transport { get; set; }

    [GlobalSetup]
    public void Setup() => SetupAsync().GetAwaiter().GetResult();

    private async Task SetupAsync()
    {
        _clip = Clips.IvfFrames("pattern-1088x624-30fps.ivf");
        _sim = await DecartSimulator.StartAsync(new SimulatorOptions { ProcessingLatency = TimeSpan.Zero, ModelMode = Decart.Simulator.Model.ModelMode.Echo });
        _api = new DecartClient(new DecartClientOptions { ApiKey = _sim.DefaultApiKey, BaseUrl = _sim.BaseUrl, RealtimeBaseUrl = _sim.RealtimeBaseUrl });
        _source = new PushSource(RealtimeModels.Lucy21.Width, RealtimeModels.Lucy21.Height, RealtimeModels.Lucy21.Fps);
        var generating = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _client = await _api.Realtime.ConnectAsync(_source, new RealtimeConnectOptions
        {
            Model = RealtimeModels.Lucy21,
            Transport = Transport,
            InitialState = new RealtimeState { Prompt = "glass to glass" },
            OnConnectionChanged = s =>
            {
                if (s == ConnectionState.Generating)
                {
                    generating.TrySetResult();
                }
            },
            OnFrame = OnEcho,
        });

        // The first frame (the clip's keyframe) starts generation; wait for its echo before measuring.
        _nextSlot = Stopwatch.GetTimestamp();
        if (!SendThroughSimulator())
        {
            throw new InvalidOperationException("the first frame was not echoed");
        }

        await generating.Task.WaitAsync(TimeSpan.FromSeconds(10));

        // Per packet on the wire: RTP header (12) + the SRTP tag of the negotiated AEAD-GCM profile (16).
        const int overhead = 12 + 16;
        _datagramSizes = [.. _clip.Select(frame => Clips.Vp8PayloadSizes(frame).Select(n => n + overhead).ToArray())];
        _plain = new PlainUdpPath(echo: true);
    }

    private void OnEcho(ReceivedVideoFrame frame)
    {
        if (frame.RtpTimestamp == Volatile.Read(ref _expectedRtp))
        {
            _echoed.Release();
        }
    }

    /// <summary>Holds the 30 fps pace: waits for the next 33.3 ms slot (not measured).</summary>
    [IterationSetup]
    public void WaitForNextFrameSlot()
    {
        _nextSlot = Math.Max(_nextSlot + FrameInterval, Stopwatch.GetTimestamp());
        while (Stopwatch.GetTimestamp() < _nextSlot)
        {
            long left = _nextSlot - Stopwatch.GetTimestamp();
            if (left > Stopwatch.Frequency / 500)
            {
                Thread.Sleep(1);
            }
            else
            {
                Thread.SpinWait(20);
            }
        }
    }

    private bool SendThroughSimulator()
    {
        long index = _frameIndex++;
        var timestamp = TimeSpan.FromTicks(index * TimeSpan.TicksPerSecond / 30);
        Volatile.Write(ref _expectedRtp, unchecked((uint)(timestamp.Ticks * 9 / 1000)));
        var data = _clip[(int)(index % _clip.Count)];
        _source.Push(new EncodedVideoFrame(data, timestamp, index % _clip.Count == 0, VideoCodec.Vp8));
        return _echoed.Wait(FrameTimeout);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _client.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _source.Complete();
        _api.Dispose();
        _sim.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _plain.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    /// <summary>The same datagrams to a bare UDP echo socket and back.</summary>
    [Benchmark(Baseline = true, Description = "bare UDP echo")]
    public bool UdpEcho()
    {
        long index = _frameIndex++;
        return _plain.SendFrameAndWait(_datagramSizes[(int)(index % _clip.Count)], FrameTimeout) ? true : throw new TimeoutException("an echoed datagram was lost");
    }

    /// <summary>SDK client → simulator echo → SDK client.</summary>
    [Benchmark(Description = "SDK → simulator → SDK")]
    public bool ThroughSimulator() => SendThroughSimulator() ? true : throw new TimeoutException("a frame was not echoed by the simulator");
}

/// <summary>Connect-to-generating on loopback, both transports: WebSocket, initial prompt, offer/answer (LiveKit: in the room), ICE, DTLS, generation started.</summary>
[MemoryDiagnoser]
[Config(typeof(PerFrameConfig.Connects))]
public class ConnectBenchmarks
{
    private DecartSimulator _sim = null!;
    private DecartClient _api = null!;
    private RealtimeClient? _client;
    private IvfFileSource? _source;

    [GlobalSetup]
    public void Setup()
    {
        _sim = DecartSimulator.StartAsync(new SimulatorOptions { ProcessingLatency = TimeSpan.Zero, ModelMode = Decart.Simulator.Model.ModelMode.Echo }).GetAwaiter().GetResult();
        _api = new DecartClient(new DecartClientOptions { ApiKey = _sim.DefaultApiKey, BaseUrl = _sim.BaseUrl, RealtimeBaseUrl = _sim.RealtimeBaseUrl });
    }

    [IterationSetup]
    public void OpenSource() => _source = IvfFileSource.OpenAsync(Decart.Testing.RepositoryPaths.Clip("pattern-1088x624-30fps.ivf"), 30, loop: true).GetAwaiter().GetResult();

    /// <summary>One connect until Generating over the direct flow (the baseline).</summary>
    [Benchmark(Baseline = true, Description = "connect to generating, direct")]
    public Task ConnectDirect() => ConnectToGeneratingAsync(RealtimeTransport.Direct);

    /// <summary>One connect until Generating through a LiveKit room: livekit_join, room info, join, publish renegotiation.</summary>
    [Benchmark(Description = "connect to generating, LiveKit")]
    public Task ConnectLiveKit() => ConnectToGeneratingAsync(RealtimeTransport.LiveKit);

    private async Task ConnectToGeneratingAsync(RealtimeTransport transport)
    {
        var generating = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _client = await _api.Realtime.ConnectAsync(_source!, new RealtimeConnectOptions
        {
            Model = RealtimeModels.Lucy21,
            Transport = transport,
            InitialState = new RealtimeState { Prompt = "connect benchmark" },
            OnConnectionChanged = s =>
            {
                if (s == ConnectionState.Generating)
                {
                    generating.TrySetResult();
                }
            },
        });
        await generating.Task.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [IterationCleanup]
    public void Disconnect()
    {
        _client?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _source?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _client = null;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _api.Dispose();
        _sim.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }
}

/// <summary>An encoded source the benchmark pushes frames into; the SDK reads them as they come.</summary>
internal sealed class PushSource(int width, int height, int fps) : IVideoSource
{
    private readonly Channel<EncodedVideoFrame> _frames = Channel.CreateUnbounded<EncodedVideoFrame>(new UnboundedChannelOptions { SingleReader = true });

    public VideoFormat Format { get; } = new(width, height, fps);

    public VideoCodec Codec => VideoCodec.Vp8;

    public FacingMode Facing => FacingMode.Unknown;

    public void Push(EncodedVideoFrame frame) => _frames.Writer.TryWrite(frame);

    public void Complete() => _frames.Writer.TryComplete();

    public async IAsyncEnumerable<EncodedVideoFrame> ReadFramesAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var frame in _frames.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return frame;
        }
    }

    public void RequestKeyframe()
    {
    }
}
