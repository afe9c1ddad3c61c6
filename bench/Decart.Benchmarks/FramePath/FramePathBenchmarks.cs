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
/// stack adds over the socket itself.
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
        _plain = new PlainUdpPath(echo: false);
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
        _client.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _plain.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    /// <summary>The same datagrams over plain UDP sockets: what the socket itself costs.</summary>
    [Benchmark(Baseline = true, Description = "plain UDP datagrams")]
    public bool PlainUdp() => _plain.SendFrameAndWait(_datagramSizes, FrameTimeout) ? true : throw new TimeoutException("a plain UDP datagram was lost");

    /// <summary>Packetize → protect → UDP → unprotect → depacketize → assembled frame.</summary>
    [Benchmark(Description = "Decart.Rtc frame path")]
    public bool Stack() => SendThroughStack() ? true : throw new TimeoutException("a frame did not arrive through the stack");
}
