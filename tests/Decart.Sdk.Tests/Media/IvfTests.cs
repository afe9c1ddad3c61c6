using Decart.Sdk.Media;

namespace Decart.Sdk.Tests.Media;

public class IvfTests
{
    [Fact]
    public async Task Frames_round_trip_and_rewind_loops()
    {
        var ms = new MemoryStream();
        await using (var writer = new IvfWriter(ms, new IvfHeader("VP80", 1088, 624, 30, 1, 0), ownsStream: false))
        {
            for (int i = 0; i < 5; i++)
            {
                await writer.WriteFrameAsync(Enumerable.Repeat((byte)i, 10 + i).ToArray(), i);
            }
        }

        ms.Position = 0;
        await using var reader = await IvfReader.OpenAsync(ms, ownsStream: false);
        Assert.Equal(new IvfHeader("VP80", 1088, 624, 30, 1, 5), reader.Header);
        for (int pass = 0; pass < 2; pass++)
        {
            for (int i = 0; i < 5; i++)
            {
                var frame = await reader.ReadFrameAsync();
                Assert.NotNull(frame);
                Assert.Equal(i, frame.Value.Pts);
                Assert.Equal(10 + i, frame.Value.Data.Length);
                Assert.All(frame.Value.Data.ToArray(), b => Assert.Equal((byte)i, b));
            }

            Assert.Null(await reader.ReadFrameAsync());
            reader.Rewind();
        }
    }

    public static TheoryData<string, byte[]> BadFiles()
    {
        var good = new MemoryStream();
        var w = new IvfWriter(good, new IvfHeader("VP80", 64, 64, 30, 1, 0), ownsStream: false);
        w.WriteFrameAsync(new byte[100], 0).AsTask().Wait();
        w.DisposeAsync().AsTask().Wait();
        var bytes = good.ToArray();

        var hugeFrame = (byte[])bytes.Clone();
        BitConverter.GetBytes(uint.MaxValue).CopyTo(hugeFrame, 32);
        var badTimebase = (byte[])bytes.Clone();
        BitConverter.GetBytes(0).CopyTo(badTimebase, 16);
        return new TheoryData<string, byte[]>
        {
            { "empty file", [] },
            { "short header", bytes[..20] },
            { "wrong signature", [.. "RIFF"u8.ToArray(), .. bytes[4..]] },
            { "zero timebase", badTimebase },
            { "frame length of 4 GiB", hugeFrame },
            { "truncated frame", bytes[..^10] },
            { "truncated frame header", bytes[..(32 + 6)] },
        };
    }

    [Theory]
    [MemberData(nameof(BadFiles))]
    public async Task Malformed_files_are_InvalidInput(string what, byte[] bytes)
    {
        var ex = await Assert.ThrowsAsync<DecartException>(async () =>
        {
            await using var reader = await IvfReader.OpenAsync(new MemoryStream(bytes), ownsStream: true);
            while (await reader.ReadFrameAsync() is not null)
            {
            }
        });
        Assert.True(ex.Code == DecartErrorCode.InvalidInput, what);
    }
}
