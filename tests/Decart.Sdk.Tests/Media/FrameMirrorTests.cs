using Decart.Sdk.Media;
using FsCheck;
using FsCheck.Fluent;

namespace Decart.Sdk.Tests.Media;

public class FrameMirrorTests
{
    private static I420Frame RandomFrame(int width, int height, int seed)
    {
        var frame = I420Frame.Rent(width, height);
        new Random(seed).NextBytes(frame.Data);
        return frame;
    }

    private static void NaiveMirror(I420Frame src, I420Frame dst)
    {
        for (int y = 0; y < src.Height; y++)
        {
            for (int x = 0; x < src.Width; x++)
            {
                dst.Y[(y * dst.StrideY) + (src.Width - 1 - x)] = src.Y[(y * src.StrideY) + x];
            }
        }

        for (int y = 0; y < src.ChromaHeight; y++)
        {
            for (int x = 0; x < src.ChromaWidth; x++)
            {
                dst.U[(y * dst.StrideU) + (src.ChromaWidth - 1 - x)] = src.U[(y * src.StrideU) + x];
                dst.V[(y * dst.StrideV) + (src.ChromaWidth - 1 - x)] = src.V[(y * src.StrideV) + x];
            }
        }
    }

    [Theory]
    [InlineData(1088, 624)]
    [InlineData(1280, 704)]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(15, 3)]
    [InlineData(31, 7)]
    [InlineData(33, 9)]
    [InlineData(63, 5)]
    [InlineData(65, 5)]
    [InlineData(97, 33)]
    [InlineData(1087, 623)]
    public void Vectorized_mirror_matches_a_naive_flip_on_odd_and_even_sizes(int width, int height)
    {
        using var src = RandomFrame(width, height, width * 31 + height);
        using var fast = I420Frame.Rent(width, height);
        using var naive = I420Frame.Rent(width, height);
        FrameMirror.MirrorHorizontal(src, fast);
        NaiveMirror(src, naive);
        Assert.True(naive.Data.SequenceEqual(fast.Data));

        using var inPlace = src.Clone();
        FrameMirror.MirrorHorizontalInPlace(inPlace);
        Assert.True(naive.Data.SequenceEqual(inPlace.Data));
    }

    [Fact]
    public void Mirror_matches_naive_for_every_width_up_to_200_property()
    {
        Prop.ForAll(Gen.Choose(1, 200).ToArbitrary(), Gen.Choose(1, 9).ToArbitrary(), (width, height) =>
        {
            using var src = RandomFrame(width, height, width ^ (height << 8));
            using var fast = I420Frame.Rent(width, height);
            using var naive = I420Frame.Rent(width, height);
            FrameMirror.MirrorHorizontal(src, fast);
            NaiveMirror(src, naive);
            using var twice = I420Frame.Rent(width, height);
            FrameMirror.MirrorHorizontal(fast, twice);
            return naive.Data.SequenceEqual(fast.Data) && twice.Data.SequenceEqual(src.Data);
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Scalar_baseline_matches_the_vector_path()
    {
        using var src = RandomFrame(1088, 624, 7);
        var a = new byte[1088 * 624];
        var b = new byte[1088 * 624];
        FrameMirror.MirrorPlane(src.Y, src.StrideY, a, 1088, 1088, 624);
        FrameMirror.MirrorPlaneScalar(src.Y, src.StrideY, b, 1088, 1088, 624);
        Assert.Equal(a, b);
    }

    [Fact]
    public void Mismatched_sizes_and_aliasing_are_typed_errors()
    {
        using var a = I420Frame.Rent(16, 16);
        using var b = I420Frame.Rent(18, 16);
        Assert.Equal(DecartErrorCode.InvalidInput, Assert.Throws<DecartException>(() => FrameMirror.MirrorHorizontal(a, b)).Code);
        Assert.Equal(DecartErrorCode.InvalidInput, Assert.Throws<DecartException>(() => FrameMirror.MirrorHorizontal(a, a)).Code);
        Assert.Equal(DecartErrorCode.InvalidInput, Assert.Throws<DecartException>(() => I420Frame.Rent(0, 10)).Code);
        Assert.Equal(DecartErrorCode.InvalidInput, Assert.Throws<DecartException>(() => I420Frame.Rent(10, 20000)).Code);
    }
}
