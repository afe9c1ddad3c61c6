using Decart.Rtc.Codecs;

namespace Decart.Rtc.Tests.Codecs;

public sealed class RtpCodecTests
{
    [Theory]
    [InlineData("VP8", "VP8")]
    [InlineData("vp8", "VP8")]
    [InlineData("video/VP8", "VP8")]
    [InlineData("H264", "H264")]
    [InlineData("video/h264", "H264")]
    public void Names_and_mime_types_find_the_one_object(string name, string expected)
    {
        Assert.True(RtpCodec.TryParse(name, out var codec));
        Assert.Same(expected == "VP8" ? RtpCodec.Vp8 : RtpCodec.H264, codec);
        Assert.Equal("video/" + expected, codec.MimeType);
        Assert.Equal(90_000, codec.ClockRate);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("AV1")]
    [InlineData("video/")]
    [InlineData("rtx")]
    public void Unknown_names_are_refused(string? name)
    {
        Assert.False(RtpCodec.TryParse(name, out _));
        var ex = Assert.Throws<ArgumentException>(() => RtpCodec.Parse(name ?? new string('x', 100)));
        Assert.Contains("VP8, H264", ex.Message, StringComparison.Ordinal);
        Assert.True(ex.Message.Length < 200, "a hostile name is trimmed in the message");
    }

    [Fact]
    public void Each_reads_its_own_keyframe_size()
    {
        var vp8 = Clips.IvfFrames("pattern-1088x624-30fps.ivf")[0];
        var h264 = H264Nal.SplitAccessUnits(File.ReadAllBytes(Clips.Path("pattern-1088x624-30fps.h264")))[0];
        Assert.True(RtpCodec.Vp8.TryReadKeyframeSize(vp8, out int w, out int h));
        Assert.Equal((1088, 624), (w, h));
        Assert.True(RtpCodec.H264.TryReadKeyframeSize(h264, out w, out h));
        Assert.Equal((1088, 624), (w, h));
        Assert.False(RtpCodec.H264.TryReadKeyframeSize(vp8, out _, out _));
    }
}
