using System.Net;
using BenchmarkDotNet.Attributes;
using Decart.Benchmarks.Infrastructure;
using Decart.Rtc;
using Decart.Rtc.Codecs;
using Decart.Rtc.Sdp;

namespace Decart.Benchmarks.FramePath;

/// <summary>
/// Suite 5: one encoded frame through the whole in-process media stack — <see cref="PeerConnection.SendFrame"/>
/// (VP8 packetize, RTP, SRTP protect, UDP send on loopback) to the other peer's receive loop (SRTP unprotect, RTP
/// parse, depacketize, reorder buffer, assembled frame event) — against the same datagrams, count and sizes, sent and
/// received with plain UDP sockets. The two peers are a real offerer and ICE-lite answerer connected by ICE and DTLS
/// in the setup. One frame per invocation: the p50/p95/p99 columns are per frame, and the ratio shows what the
/// stack adds over the socket itself. Two more rows send the frame as three simulcast layers (the frame, a quarter and a
/// sixteenth of it, each its own RTP stream told apart by RID) through the stack and as the same datagrams over plain
/// UDP; the receiver delivers the largest layer.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(PerFrameConfig.InProcess))]
[LatencyPlot("Suite 5: one frame through the stack vs plain UDP (loopback, per frame)")]
public class FramePathBenchmarks
{
    private static readonly TimeSpan FrameTimeout = TimeSpan.FromSeconds(5);
    private readonly SemaphoreSlim _received = new(0);
    private PeerConnection _client = null!;
    private PeerConnection _server = null!;
    private PlainUdpPath _plain = null!;
    private PlainUdpPath _plainUnbatched = null!;
    private PeerConnection _simulcastClient = null!;
    private PeerConnection _simulcastServer = null!;
    private readonly SemaphoreSlim _simulcastReceived = new(0);
    private AssembledFrameHandler _onSimulcastFrame = null!;
    private int[] _layerDatagramSizes = null!;
    private int[] _layerCounts = null!;
    private AssembledFrameHandler _onFrame = null!;
    private byte[] _frame = null!;
    private int[] _datagramSizes = null!;
    private uint _timestamp;
    private long _bytesOut;

    /// <summary>Frame size in KB: 2 and 12 (delta frames), 60 (a keyframe).</summary>
    [Params(2, 12, 60)]
    public int FrameKB { get; set; }

    [GlobalSetup]
    public void Setup() => SetupAsync().GetAwaiter().GetResult();

    private async Task SetupAsync()
    {
        _client = new PeerConnection(new PeerConnectionOptions { Addresses = [IPAddress.Loopback] });
        _server = new PeerConnection(new PeerConnectionOptions { IceLite = true, Addresses = [IPAddress.Loopback] });
        var offer = await _client.CreateOfferAsync();
        await _server.SetRemoteDescriptionAsync(SessionDescription.Parse(offer.ToString(), SdpType.Offer));
        var answer = await _server.CreateAnswerAsync();
        await _client.SetRemoteDescriptionAsync(SessionDescription.Parse(answer.ToString(), SdpType.Answer));
        await Task.WhenAll(_client.ConnectedAsync(), _server.ConnectedAsync()).WaitAsync(TimeSpan.FromSeconds(20));
        _onFrame = OnFrame;
        _server.FrameReceived += _onFrame;

        // Frame bytes: the VP8 keyframe bit set so the receiver delivers every frame; the stack does not decode.
        _frame = new byte[FrameKB * 1024];
        new Random(FrameKB).NextBytes(_frame);
        _frame[0] = 0x10;

        // The baseline sends what the stack sends: the packetizer's payloads plus the per-packet overhead measured here.
        long bytes0 = _server.Stats.BytesReceived, packets0 = _server.Stats.PacketsReceived;
        if (!SendThroughStack())
        {
            throw new InvalidOperationException("the first frame did not arrive");
        }

        var payloads = Clips.Vp8PayloadSizes(_frame);

        long packets = _server.Stats.PacketsReceived - packets0;
        long overhead = (_server.Stats.BytesReceived - bytes0 - payloads.Sum()) / Math.Max(1, packets);
        if (packets != payloads.Length || overhead is < 12 or > 64)
        {
            throw new InvalidOperationException($"expected {payloads.Length} packets of payload + header + tag, the peer counted {packets} (overhead {overhead})");
        }

        _datagramSizes = [.. payloads.Select(p => p + (int)overhead)];
        _plain = new PlainUdpPath(echo: false, batched: true);
        _plainUnbatched = new PlainUdpPath(echo: false);

        // Three simulcast layers on a second pair (separate send section, layers by RID).
        _simulcastClient = new PeerConnection(new PeerConnectionOptions { Addresses = [IPAddress.Loopback], SendLayers = ["q", "h", "f"] });
        _simulcastServer = new PeerConnection(new PeerConnectionOptions { IceLite = true, Addresses = [IPAddress.Loopback] });
        var simulcastOffer = await _simulcastClient.CreateOfferAsync(new OfferOptions { SeparateSections = true, Receive = false });
        await _simulcastServer.SetRemoteDescriptionAsync(SessionDescription.Parse(simulcastOffer.ToString(), SdpType.Offer));
        var simulcastAnswer = await _simulcastServer.CreateAnswerAsync(new AnswerOptions { Send = false });
        await _simulcastClient.SetRemoteDescriptionAsync(SessionDescription.Parse(simulcastAnswer.ToString(), SdpType.Answer));
        await Task.WhenAll(_simulcastClient.ConnectedAsync(), _simulcastServer.ConnectedAsync()).WaitAsync(TimeSpan.FromSeconds(20));
        _onSimulcastFrame = (_, _, _) => _simulcastReceived.Release();
        _simulcastServer.FrameReceived += _onSimulcastFrame;
        for (int i = 0; i < 60 && _simulcastServer.ActiveLayer != "f"; i++)
        {
            SendThroughStackSimulcast(); // the receiver settles on the largest layer
            Thread.Sleep(20);
        }

        if (_simulcastServer.ActiveLayer != "f")
        {
            throw new InvalidOperationException($"the simulcast receiver is on layer {_simulcastServer.ActiveLayer}, not f");
        }

        while (_simulcastReceived.Wait(0))
        {
        }

        long layerBytes0 = _simulcastServer.Stats.BytesReceived, layerPackets0 = _simulcastServer.Stats.PacketsReceived;
        if (!SendThroughStackSimulcast())
        {
            throw new InvalidOperationException("the first simulcast frame did not arrive");
        }

        int[][] layers = [Clips.Vp8PayloadSizes(_frame[..(_frame.Length / 16)]), Clips.Vp8PayloadSizes(_frame[..(_frame.Length / 4)]), payloads];
        _layerCounts = [.. layers.Select(l => l.Length)];
        var layerPayloads = layers.SelectMany(l => l).ToArray();
        long layerPackets = _simulcastServer.Stats.PacketsReceived - layerPackets0;
        long layerOverhead = (_simulcastServer.Stats.BytesReceived - layerBytes0 - layerPayloads.Sum()) / Math.Max(1, layerPackets);
        if (layerPackets != layerPayloads.Length || layerOverhead is < 12 or > 64)
        {
            throw new InvalidOperationException($"expected {layerPayloads.Length} packets in three layers, the peer counted {layerPackets} (overhead {layerOverhead})");
        }

        _layerDatagramSizes = [.. layerPayloads.Select(p => p + (int)layerOverhead)];
    }

    private bool SendThroughStackSimulcast()
    {
        _timestamp += 3000;
        return _simulcastClient.SendFrame(_frame.AsSpan(0, _frame.Length / 16), _timestamp, "q")
            && _simulcastClient.SendFrame(_frame.AsSpan(0, _frame.Length / 4), _timestamp, "h")
            && _simulcastClient.SendFrame(_frame, _timestamp, "f")
            && _simulcastReceived.Wait(FrameTimeout);
    }

    private void OnFrame(ReadOnlySpan<byte> frame, uint timestamp, bool keyframe)
    {
        _bytesOut += frame.Length;
        _received.Release();
    }

    private bool SendThroughStack()
    {
        _timestamp += 3000;
        return _client.SendFrame(_frame, _timestamp) && _received.Wait(FrameTimeout);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _server.FrameReceived -= _onFrame;
        _simulcastServer.FrameReceived -= _onSimulcastFrame;
        _simulcastClient.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _simulcastServer.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _client.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _plain.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _plainUnbatched.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    /// <summary>
    /// The same datagrams over plain UDP sockets, batched as the stack batches them (a frame in a few <c>sendmmsg</c> calls, one
    /// <c>recvmmsg</c> for what waits): what the socket itself costs.
    /// </summary>
    [Benchmark(Baseline = true, Description = "plain UDP datagrams")]
    public bool PlainUdp() => _plain.SendFrameAndWait(_datagramSizes, FrameTimeout) ? true : throw new TimeoutException("a plain UDP datagram was lost");

    /// <summary>The same datagrams with one <c>sendto</c> and one receive call each: what batching saves.</summary>
    [Benchmark(Description = "plain UDP, one call per datagram")]
    public bool PlainUdpUnbatched() => _plainUnbatched.SendFrameAndWait(_datagramSizes, FrameTimeout) ? true : throw new TimeoutException("a plain UDP datagram was lost");

    /// <summary>Packetize → protect → UDP → unprotect → depacketize → assembled frame.</summary>
    [Benchmark(Description = "Decart.Rtc frame path")]
    public bool Stack() => SendThroughStack() ? true : throw new TimeoutException("a frame did not arrive through the stack");

    /// <summary>The datagrams of three simulcast layers (1/16 + 1/4 + 1 of the frame) over plain UDP, each layer's batched as the stack batches a frame.</summary>
    [Benchmark(Description = "plain UDP, 3 layers' datagrams")]
    public bool PlainUdpThreeLayers() => _plain.SendFrameAndWait(_layerDatagramSizes, FrameTimeout, _layerCounts) ? true : throw new TimeoutException("a plain UDP datagram was lost");

    /// <summary>The frame as three simulcast layers through the stack; the receiver assembles all three and delivers the largest.</summary>
    [Benchmark(Description = "Decart.Rtc frame path, 3 simulcast layers")]
    public bool StackThreeLayers() => SendThroughStackSimulcast() ? true : throw new TimeoutException("a frame did not arrive through the simulcast stack");
}
