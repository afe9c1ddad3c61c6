using BenchmarkDotNet.Attributes;
using Decart.Benchmarks.Infrastructure;
using Decart.Sdk.Media;

namespace Decart.Benchmarks.Media;

/// <summary>
/// Suite 4: horizontal mirror of a 1088×624 I420 frame (what <c>mirror</c> costs per sent frame), the
/// vectorized path against the plain per-byte loop in the same run.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(MicroConfig))]
public class MirrorBenchmarks
{
    private I420Frame _source = null!;
    private I420Frame _destination = null!;

    /// <summary>Frame width: the lucy-2.1 model's, and an odd one that exercises the scalar tail.</summary>
    [Params(1088, 1087)]
    public int Width { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _source = I420Frame.Rent(Width, 624);
        new Random(1).NextBytes(_source.Data);
        _destination = I420Frame.Rent(Width, 624);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _source.Dispose();
        _destination.Dispose();
    }

    [Benchmark(Baseline = true)]
    public void Scalar()
    {
        FrameMirror.MirrorPlaneScalar(_source.Y, _source.StrideY, _destination.Y, _destination.StrideY, _source.Width, _source.Height);
        FrameMirror.MirrorPlaneScalar(_source.U, _source.StrideU, _destination.U, _destination.StrideU, _source.ChromaWidth, _source.ChromaHeight);
        FrameMirror.MirrorPlaneScalar(_source.V, _source.StrideV, _destination.V, _destination.StrideV, _source.ChromaWidth, _source.ChromaHeight);
    }

    [Benchmark]
    public void Vectorized() => FrameMirror.MirrorHorizontal(_source, _destination);
}
