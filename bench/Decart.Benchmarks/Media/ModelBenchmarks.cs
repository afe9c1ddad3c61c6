using Decart.Rtc.Codecs;
using BenchmarkDotNet.Attributes;
using Decart.Benchmarks.Infrastructure;
using Decart.Sdk.Media;
using Decart.Sdk.Testing;
using Decart.Simulator.Model;

namespace Decart.Benchmarks.Media;

/// <summary>
/// Suite 7: what the simulator's transform mode costs per output frame at lucy-2.1's 1088×624 — decode, draw the
/// state and the stamp, encode — against the baseline any transforming model pays in the same run: decode and encode
/// alone. The ratio is the simulator's own overhead; the transform alone is measured too. One frame per operation,
/// a 30-frame clip of the test pattern cycled through one decoder and one encoder of each codec (VP8: libvpx, 1 thread,
/// cpu-used 10; H.264: OpenH264), as the simulator runs them.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(MicroConfig))]
public class ModelBenchmarks
{
    private const int Width = 1088;
    private const int Height = 624;
    private readonly List<byte[]> _clip = [];
    private readonly RenderState _state = new(3, "a watercolor lighthouse at dusk", true, new string('a', 64));
    private IModelDecoder _decoder = null!;
    private IModelEncoder _encoder = null!;
    private I420Frame _output = null!;
    private I420Frame _picture = null!;
    private byte[] _encoded = null!;
    private int _next;

    /// <summary>The session's codec.</summary>
    [Params("VP8", "H264")]
    public string Codec { get; set; } = "VP8";

    [GlobalSetup]
    public void Setup()
    {
        using (var source = ModelCodecs.Encoder(RtpCodec.Parse(Codec), Width, Height, 30))
        using (var frame = I420Frame.Rent(Width, Height))
        {
            var buffer = new byte[source.MaxEncodedSize];
            for (int i = 0; i < 30; i++)
            {
                if (i == 0)
                {
                    source.RequestKeyframe();
                }

                TestPattern.Render(frame, i);
                _clip.Add(buffer.AsSpan(0, source.Encode(frame, buffer)).ToArray());
            }
        }

        _decoder = ModelCodecs.Decoder(RtpCodec.Parse(Codec));
        _encoder = ModelCodecs.Encoder(RtpCodec.Parse(Codec), Width, Height, 30);
        _encoded = new byte[_encoder.MaxEncodedSize];
        _output = I420Frame.Rent(Width, Height);
        _picture = I420Frame.Rent(Width, Height);
        TestPattern.Render(_picture, 1);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _decoder.Dispose();
        _encoder.Dispose();
        _output.Dispose();
        _picture.Dispose();
    }

    /// <summary>Decode one frame and encode it again: the floor of any model that outputs new pixels.</summary>
    [Benchmark(Baseline = true)]
    public int DecodeEncode()
    {
        using var decoded = _decoder.Decode(_clip[_next++ % _clip.Count])!;
        return _encoder.Encode(decoded, _encoded);
    }

    /// <summary>The simulator's transform mode per output frame: decode, scale-copy, tone, banner, inset, stamp, encode.</summary>
    [Benchmark]
    public int DecodeTransformEncode()
    {
        using var decoded = _decoder.Decode(_clip[_next++ % _clip.Count])!;
        ModelTransform.Apply(decoded, _output, _state, new StateStamp(3, _next, _next));
        return _encoder.Encode(_output, _encoded);
    }

    /// <summary>The drawing alone on a decoded picture.</summary>
    [Benchmark]
    public void TransformOnly() => ModelTransform.Apply(_picture, _output, _state, new StateStamp(3, 1, 1));
}
