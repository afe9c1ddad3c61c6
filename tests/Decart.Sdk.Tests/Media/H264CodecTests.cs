using Decart.Rtc.Codecs;
using Decart.Sdk.Media;
using Decart.Sdk.Media.OpenH264;
using Decart.Sdk.Testing;

namespace Decart.Sdk.Tests.Media;

/// <summary>Runs against the system OpenH264 (Debian libopenh264-7, installed by the test command).</summary>
public class H264CodecTests
{
    [Fact]
    public void Encode_decode_keeps_the_picture_and_the_first_frame_is_an_IDR_with_parameter_sets()
    {
        using var encoder = new H264Encoder(new H264EncoderOptions { Width = 1088, Height = 624, TargetBitrateKbps = 2500 });
        using var decoder = new H264Decoder();
        using var frame = I420Frame.Rent(1088, 624);
        var buffer = new byte[encoder.MaxEncodedSize];
        for (int i = 0; i < 45; i++)
        {
            TestPattern.Render(frame, i);
            int size = encoder.Encode(frame, buffer, out bool key);
            Assert.True(size > 0);
            var unit = buffer.AsSpan(0, size);
            Assert.Equal(i == 0, key);
            Assert.Equal(i == 0, H264Nal.IsKeyframe(unit)); // what the RTP side (Decart.Rtc) sees too
            using var decoded = decoder.Decode(unit);
            Assert.NotNull(decoded);
            Assert.Equal((1088, 624), (decoded.Width, decoded.Height));
            Assert.Equal(i, TestPattern.ReadCounter(decoded));
        }

        encoder.RequestKeyframe();
        TestPattern.Render(frame, 99);
        int n = encoder.Encode(frame, buffer, out bool idr);
        Assert.True(idr && H264Nal.IsKeyframe(buffer.AsSpan(0, n)), "a requested keyframe is an IDR");
    }

    [Theory]
    [InlineData(1088, 624, 2500)]
    [InlineData(1088, 624, 600)]
    [InlineData(1280, 720, 2500)]
    public void The_state_stamp_survives_300_frames_with_no_misread(int width, int height, int kbps)
    {
        using var encoder = new H264Encoder(new H264EncoderOptions { Width = width, Height = height, TargetBitrateKbps = kbps });
        using var decoder = new H264Decoder();
        using var frame = I420Frame.Rent(width, height);
        var buffer = new byte[encoder.MaxEncodedSize];
        int misreads = 0, unread = 0;
        for (int i = 1; i <= 300; i++)
        {
            TestPattern.Render(frame, i);
            var stamp = new StateStamp(i / 37, i + 1000, i);
            stamp.Write(frame);
            using var decoded = decoder.Decode(buffer.AsSpan(0, encoder.Encode(frame, buffer, out _)));
            Assert.NotNull(decoded);
            if (!StateStamp.TryRead(decoded, out var read))
            {
                unread++;
            }
            else if (read != stamp)
            {
                misreads++;
            }
        }

        Assert.Equal((0, 0), (misreads, unread));
    }

    [Fact]
    public void Garbage_is_a_typed_error_for_that_unit_and_the_decoder_recovers_at_the_next_IDR()
    {
        // Bad input tried: random bytes with a start code, a truncated IDR, a P frame before any IDR, an empty unit, an odd size.
        using var encoder = new H264Encoder(new H264EncoderOptions { Width = 320, Height = 240, TargetBitrateKbps = 500 });
        using var decoder = new H264Decoder();
        using var frame = I420Frame.Rent(320, 240);
        var buffer = new byte[encoder.MaxEncodedSize];
        TestPattern.Render(frame, 1);
        var idr = buffer.AsSpan(0, encoder.Encode(frame, buffer, out _)).ToArray();
        TestPattern.Render(frame, 2);
        var p = buffer.AsSpan(0, encoder.Encode(frame, buffer, out _)).ToArray();

        Assert.Equal(DecartErrorCode.InvalidInput, Assert.Throws<DecartException>(() => decoder.Decode(p)).Code);  // no parameter sets yet
        var random = new byte[500];
        new Random(3).NextBytes(random);
        random[0] = 0; random[1] = 0; random[2] = 0; random[3] = 1; random[4] = 0x65;
        Assert.Throws<DecartException>(() => decoder.Decode(random));
        Assert.Throws<DecartException>(() => decoder.Decode(idr.AsSpan(0, idr.Length / 3)));
        Assert.Throws<DecartException>(() => decoder.Decode([]));

        using var decoded = decoder.Decode(idr);
        Assert.NotNull(decoded);
        Assert.Equal(1, TestPattern.ReadCounter(decoded));
        Assert.Equal(DecartErrorCode.InvalidOptions, Assert.Throws<DecartException>(() => new H264Encoder(new H264EncoderOptions { Width = 321, Height = 241 })).Code);
    }
}
