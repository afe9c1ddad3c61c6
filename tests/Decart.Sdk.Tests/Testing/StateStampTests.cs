using Decart.Sdk.Media;
using Decart.Sdk.Media.Vpx;
using Decart.Sdk.Testing;

namespace Decart.Sdk.Tests.Testing;

/// <summary>The state stamp the simulator's model draws: it must read back exactly after a realtime codec, and never misread.</summary>
public class StateStampTests
{
    [Theory]
    [InlineData(1088, 624, 2500)] // lucy-2.1 at the simulator's model bitrate
    [InlineData(1088, 624, 600)]  // a starved stream: still no misread
    [InlineData(1280, 720, 2500)] // lucy-vton at 720p
    public void Survives_VP8_for_300_frames_with_no_misread(int width, int height, int kbps)
    {
        using var encoder = new Vp8Encoder(new Vp8EncoderOptions { Width = width, Height = height, Fps = 30, TargetBitrateKbps = kbps, Threads = 1 });
        using var decoder = new Vp8Decoder();
        using var frame = I420Frame.Rent(width, height);
        var buffer = new byte[encoder.MaxEncodedSize];
        int misreads = 0, unread = 0;
        for (int i = 1; i <= 300; i++)
        {
            TestPattern.Render(frame, i);
            var stamp = new StateStamp(i / 37, i + 1000, i);   // the version changes every 37 frames
            stamp.Write(frame);
            int size = encoder.Encode(frame, buffer, out _);
            using var decoded = decoder.Decode(buffer.AsSpan(0, size));
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

        Assert.Equal(0, misreads);
        Assert.Equal(0, unread);
    }

    [Fact]
    public void Values_round_trip_at_their_limits_and_wrap_documented()
    {
        using var frame = I420Frame.Rent(1088, 624);
        foreach (var stamp in new[] { new StateStamp(0, 0, 0), new StateStamp(65535, 0xFFFFFF, 0xFFFFFF), new StateStamp(12345, 0xABCDEF, 0x123456) })
        {
            TestPattern.Render(frame, 7);
            stamp.Write(frame);
            Assert.True(StateStamp.TryRead(frame, out var read));
            Assert.Equal(stamp, read);
        }
    }

    [Fact]
    public void A_frame_without_a_stamp_or_with_a_damaged_one_reads_as_none()
    {
        // Bad input tried: a plain test pattern, a flat grey frame, a stamp with one payload cell inverted, a frame too small to hold one.
        using var frame = I420Frame.Rent(1088, 624);
        TestPattern.Render(frame, 42);
        Assert.False(StateStamp.TryRead(frame, out _));
        frame.Fill(128, 128, 128);
        Assert.False(StateStamp.TryRead(frame, out _));

        new StateStamp(3, 4, 5).Write(frame);
        Assert.True(StateStamp.TryRead(frame, out _));
        int cell = StateStamp.CellSize(frame.Width);
        var (x0, y0, _, _) = StateStamp.Bounds(frame.Width, frame.Height);
        int cx = x0 + (9 * cell), cy = y0; // a payload cell (after the 4 sync cells)
        byte flipped = frame.Y[(cy * frame.StrideY) + cx] > 128 ? (byte)16 : (byte)235;
        for (int row = cy; row < cy + cell; row++)
        {
            frame.Y.Slice((row * frame.StrideY) + cx, cell).Fill(flipped);
        }

        Assert.False(StateStamp.TryRead(frame, out _)); // the checksum catches it

        using var tiny = I420Frame.Rent(100, 20);
        tiny.Fill(16, 128, 128);
        new StateStamp(1, 1, 1).Write(tiny); // too small: left as is
        Assert.False(StateStamp.TryRead(tiny, out _));
        Assert.True(tiny.Y.IndexOfAnyExcept((byte)16) < 0);
    }
}
