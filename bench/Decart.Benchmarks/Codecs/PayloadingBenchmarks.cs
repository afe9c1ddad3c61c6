using BenchmarkDotNet.Attributes;
using Decart.Benchmarks.Infrastructure;
using Decart.Rtc.Codecs;

namespace Decart.Benchmarks.Codecs;

/// <summary>
/// Suite 3: payloading of real frames from the repository's 1088×624 clips — packetize (VP8 RFC 7741, H.264 FU-A/
/// STAP-A) and depacketize + assemble, in order and with every pair of packets swapped. Packetizing is the
/// baseline of each (codec, frame) row: the ratio shows what reassembly costs on top.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(MicroConfig))]
public class PayloadingBenchmarks
{
    private const int MaxPayload = 1100;
    private readonly byte[] _payload = new byte[1500];
    private byte[] _frame = null!;
    private byte[][] _packets = null!;
    private int[] _lengths = null!;
    private bool[] _markers = null!;
    private int[] _reordered = null!;
    private FrameAssembler _assembler = null!;
    private ushort _sequence;
    private uint _timestamp;
    private long _assembled;
    private AssembledFrameHandler _onFrame = null!;

    /// <summary>Codec and frame: VP8 or H.264, keyframe or delta.</summary>
    [Params("VP8 key", "VP8 delta", "H264 key", "H264 delta")]
    public string Frame { get; set; } = "VP8 key";

    private bool IsH264 => Frame.StartsWith("H264", StringComparison.Ordinal);

    [GlobalSetup]
    public void Setup()
    {
        var frames = IsH264 ? H264Nal.SplitAccessUnits(File.ReadAllBytes(Clip("pattern-1088x624-30fps.h264"))) : Clips.IvfFrames("pattern-1088x624-30fps.ivf");
        _frame = Frame.EndsWith("key", StringComparison.Ordinal) ? frames[0] : frames[1];
        var packets = new List<byte[]>();
        var markers = new List<bool>();
        foreach (var (bytes, last) in Packetize())
        {
            packets.Add(bytes);
            markers.Add(last);
        }

        _packets = [.. packets];
        _lengths = [.. packets.Select(p => p.Length)];
        _markers = [.. markers];
        _reordered = Enumerable.Range(0, _packets.Length).Select(i => i % 2 == 0 ? Math.Min(i + 1, _packets.Length - 1) : i - 1).ToArray();
        if (_packets.Length % 2 == 1)
        {
            _reordered[^1] = _packets.Length - 1;
        }

        _assembler = new FrameAssembler(IsH264 ? RtpCodec.H264 : RtpCodec.Vp8);
        _onFrame = OnFrame; // one delegate, not one per call

        // A receiver drops delta frames until it has a keyframe: feed the clip's keyframe first, then check that
        // the measured frame really assembles (a benchmark of discarded packets would be meaningless).
        var measured = _frame;
        _frame = frames[0];
        foreach (var (bytes, last) in Packetize())
        {
            _assembler.Push(_sequence++, _timestamp, last, bytes, _onFrame);
        }

        _frame = measured;
        long before = _assembled;
        AssembleInOrder();
        AssembleReordered();
        if (_assembled < before + (2L * _frame.Length) - 64)
        {
            throw new InvalidOperationException($"the {Frame} frame did not assemble ({_assembled - before} bytes out)");
        }
    }

    /// <summary>Packets per frame (reported in the setup log).</summary>
    public int PacketCount => _packets.Length;

    [Benchmark(Baseline = true)]
    public int PacketizeFrame()
    {
        int total = 0;
        if (IsH264)
        {
            var packetizer = new H264Packetizer(_frame, MaxPayload);
            while (packetizer.TryWriteNext(_payload, out int n, out _))
            {
                total += n;
            }
        }
        else
        {
            var packetizer = new Vp8Packetizer(_frame, MaxPayload, 7);
            while (packetizer.TryWriteNext(_payload, out int n, out _))
            {
                total += n;
            }
        }

        return total;
    }

    [Benchmark]
    public long AssembleInOrder()
    {
        _timestamp += 3000;
        for (int i = 0; i < _packets.Length; i++)
        {
            _assembler.Push(_sequence++, _timestamp, _markers[i], _packets[i].AsSpan(0, _lengths[i]), _onFrame);
        }

        return _assembled;
    }

    [Benchmark]
    public long AssembleReordered()
    {
        _timestamp += 3000;
        ushort first = _sequence;
        _sequence += (ushort)_packets.Length;
        for (int i = 0; i < _packets.Length; i++)
        {
            int k = _reordered[i];
            _assembler.Push((ushort)(first + k), _timestamp, _markers[k], _packets[k].AsSpan(0, _lengths[k]), _onFrame);
        }

        return _assembled;
    }

    private void OnFrame(ReadOnlySpan<byte> frame, uint timestamp, bool key) => _assembled += frame.Length;

    private List<(byte[] Bytes, bool Last)> Packetize()
    {
        var result = new List<(byte[], bool)>();
        if (IsH264)
        {
            var packetizer = new H264Packetizer(_frame, MaxPayload);
            while (packetizer.TryWriteNext(_payload, out int n, out bool last))
            {
                result.Add((_payload.AsSpan(0, n).ToArray(), last));
            }
        }
        else
        {
            var packetizer = new Vp8Packetizer(_frame, MaxPayload, 7);
            while (packetizer.TryWriteNext(_payload, out int n, out bool last))
            {
                result.Add((_payload.AsSpan(0, n).ToArray(), last));
            }
        }

        return result;
    }

    private static string Clip(string name)
    {
        return Path.Combine(Decart.Testing.RepositoryPaths.Root, "assets", "clips", name);
    }
}
