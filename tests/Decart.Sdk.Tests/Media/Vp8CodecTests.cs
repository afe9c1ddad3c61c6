using Decart.Sdk.Media;
using Decart.Sdk.Media.Vpx;

namespace Decart.Sdk.Tests.Media;

/// <summary>Runs against the system libvpx (Debian libvpx7, installed by the test command).</summary>
public class Vp8CodecTests
{
    private const int Width = 1088;
    private const int Height = 624;

    internal static double PsnrY(I420Frame a, I420Frame b)
    {
        double sse = 0;
        for (int y = 0; y < a.Height; y++)
        {
            for (int x = 0; x < a.Width; x++)
            {
                int d = a.Y[(y * a.StrideY) + x] - b.Y[(y * b.StrideY) + x];
                sse += d * d;
            }
        }

        double mse = sse / (a.Width * a.Height);
        return mse == 0 ? 100 : 10 * Math.Log10(255.0 * 255.0 / mse);
    }

    private static (int Width, int Height) Vp8KeyframeSize(ReadOnlySpan<byte> frame)
    {
        // RFC 6386 §9.1: 3-byte frame tag (bit 0 = 0 for keyframes), start code 9d 01 2a, then 14-bit width/height.
        Assert.Equal(0, frame[0] & 1);
        Assert.True(frame.Slice(3, 3).SequenceEqual(new byte[] { 0x9d, 0x01, 0x2a }));
        return (BitConverter.ToUInt16(frame[6..]) & 0x3FFF, BitConverter.ToUInt16(frame[8..]) & 0x3FFF);
    }

    [Fact]
    public void Encode_decode_keeps_the_picture_and_the_frame_counter()
    {
        using var encoder = new Vp8Encoder(new Vp8EncoderOptions { Width = Width, Height = Height, Fps = 30, TargetBitrateKbps = 2000 });
        using var decoder = new Vp8Decoder();
        using var frame = I420Frame.Rent(Width, Height);
        var buffer = new byte[encoder.MaxEncodedSize];
        double worst = double.MaxValue;
        for (int i = 0; i < 45; i++)
        {
            TestPattern.Render(frame, i);
            int size = encoder.Encode(frame, buffer, out bool key);
            Assert.True(size > 0);
            if (i == 0)
            {
                Assert.True(key, "the first frame is a keyframe");
                Assert.Equal((Width, Height), Vp8KeyframeSize(buffer.AsSpan(0, size)));
            }

            using var decoded = decoder.Decode(buffer.AsSpan(0, size));
            Assert.NotNull(decoded);
            Assert.Equal(Width, decoded.Width);
            Assert.Equal(Height, decoded.Height);
            Assert.Equal(i, TestPattern.ReadCounter(decoded));
            if (i >= 5)
            {
                worst = Math.Min(worst, PsnrY(frame, decoded));
            }
        }

        // Threshold: 30 dB luma PSNR on the synthetic pattern at 2 Mbit/s (measured ~40+ dB here).
        Assert.True(worst > 30, $"worst luma PSNR {worst:F1} dB");
    }

    [Fact]
    public void Keyframe_request_makes_the_next_frame_a_keyframe()
    {
        using var encoder = new Vp8Encoder(new Vp8EncoderOptions { Width = 320, Height = 240 });
        using var frame = I420Frame.Rent(320, 240);
        var buffer = new byte[encoder.MaxEncodedSize];
        var keys = new List<bool>();
        for (int i = 0; i < 12; i++)
        {
            if (i == 7)
            {
                encoder.RequestKeyframe();
            }

            TestPattern.Render(frame, i);
            encoder.Encode(frame, buffer, out bool key);
            keys.Add(key);
        }

        Assert.True(keys[0]);
        Assert.True(keys[7]);
        Assert.Equal(2, keys.Count(k => k));
    }

    [Fact]
    public void A_mirrored_frame_decodes_to_the_flipped_picture()
    {
        using var encoder = new Vp8Encoder(new Vp8EncoderOptions { Width = Width, Height = Height, TargetBitrateKbps = 3000 });
        using var decoder = new Vp8Decoder();
        using var frame = I420Frame.Rent(Width, Height);
        using var mirrored = I420Frame.Rent(Width, Height);
        var buffer = new byte[encoder.MaxEncodedSize];
        TestPattern.Render(frame, 123);
        FrameMirror.MirrorHorizontal(frame, mirrored);
        int size = encoder.Encode(mirrored, buffer, out _);
        using var decoded = decoder.Decode(buffer.AsSpan(0, size));
        Assert.NotNull(decoded);
        Assert.Equal(-1, TestPattern.ReadCounter(decoded)); // mirrored digits do not read
        FrameMirror.MirrorHorizontalInPlace(decoded);
        Assert.Equal(123, TestPattern.ReadCounter(decoded));
        Assert.True(PsnrY(frame, decoded) > 30);
    }

    [Fact]
    public void Corrupt_and_empty_frames_are_InvalidInput_and_the_decoder_recovers_on_a_keyframe()
    {
        using var encoder = new Vp8Encoder(new Vp8EncoderOptions { Width = 320, Height = 240 });
        using var decoder = new Vp8Decoder();
        using var frame = I420Frame.Rent(320, 240);
        var buffer = new byte[encoder.MaxEncodedSize];
        TestPattern.Render(frame, 1);
        int size = encoder.Encode(frame, buffer, out _);

        Assert.Equal(DecartErrorCode.InvalidInput, Assert.Throws<DecartException>(() => decoder.Decode([])).Code);
        var garbage = new byte[200];
        new Random(5).NextBytes(garbage);
        garbage[0] = 0x00; // claims to be a keyframe with a bogus start code
        Assert.Equal(DecartErrorCode.InvalidInput, Assert.Throws<DecartException>(() => decoder.Decode(garbage)).Code);

        using var decoded = decoder.Decode(buffer.AsSpan(0, size));
        Assert.NotNull(decoded);
        Assert.Equal(1, TestPattern.ReadCounter(decoded));
    }

    [Fact]
    public void Bad_options_and_wrong_frame_size_are_typed_errors()
    {
        Assert.Equal(DecartErrorCode.InvalidOptions, Assert.Throws<DecartException>(() => new Vp8Encoder(new Vp8EncoderOptions { Width = 0, Height = 10 })).Code);
        Assert.Equal(DecartErrorCode.InvalidOptions, Assert.Throws<DecartException>(() => new Vp8Encoder(new Vp8EncoderOptions { Width = 64, Height = 64, Fps = 0 })).Code);
        using var encoder = new Vp8Encoder(new Vp8EncoderOptions { Width = 64, Height = 64 });
        using var wrong = I420Frame.Rent(32, 32);
        Assert.Equal(DecartErrorCode.InvalidInput, Assert.Throws<DecartException>(() => encoder.Encode(wrong, new byte[65536], out _)).Code);
        Assert.Equal(DecartErrorCode.InvalidOptions, Assert.Throws<DecartException>(() => encoder.SetTargetBitrate(1)).Code);
        encoder.SetTargetBitrate(500);
    }

    [Fact]
    public void Missing_library_hint_names_the_package_for_this_os()
    {
        Assert.True(LibVpx.IsAvailable);
        Assert.Contains("libvpx", LibVpx.InstallHint, StringComparison.Ordinal);
        if (OperatingSystem.IsLinux())
        {
            Assert.Contains("apt-get install libvpx7", LibVpx.InstallHint, StringComparison.Ordinal);
        }
    }
}

public class ShippedClipTests
{
    private static string ClipPath(string name)
    {
        return Decart.Testing.RepositoryPaths.Clip(name);
    }

    [Theory]
    [InlineData("pattern-1088x624-30fps.ivf", 1088, 624)]
    [InlineData("pattern-1280x704-30fps.ivf", 1280, 704)]
    public async Task Shipped_vp8_clips_decode_to_90_numbered_frames_of_the_model_size(string name, int width, int height)
    {
        await using var reader = await IvfReader.OpenAsync(ClipPath(name));
        Assert.Equal("VP80", reader.Header.FourCc);
        Assert.Equal((width, height, 30), (reader.Header.Width, reader.Header.Height, reader.Header.TimebaseDenominator));
        using var decoder = new Vp8Decoder();
        int n = 0;
        while (await reader.ReadFrameAsync() is { } frame)
        {
            using var picture = decoder.Decode(frame.Data.Span);
            Assert.NotNull(picture);
            Assert.Equal((width, height), (picture.Width, picture.Height));
            Assert.Equal(n, TestPattern.ReadCounter(picture));
            n++;
        }

        Assert.Equal(90, n);
    }
}
