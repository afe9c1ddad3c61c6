using Decart.Sdk.Realtime;

namespace Decart.Sdk.Tests.Realtime;

public class ImageInputTests
{
    private static readonly byte[] Png = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3];

    [Fact]
    public async Task Every_source_gives_the_same_bytes_and_base64()
    {
        var path = Path.GetTempFileName();
        await File.WriteAllBytesAsync(path, Png);
        try
        {
            var inputs = new[]
            {
                ImageInput.FromBytes(Png),
                (ImageInput)Png,
                await ImageInput.FromStreamAsync(new MemoryStream(Png)),
                await ImageInput.FromFileAsync(path),
                ImageInput.FromDataUrl("data:image/png;base64," + Convert.ToBase64String(Png)),
            };
            Assert.All(inputs, i => Assert.Equal(Convert.ToBase64String(Png), i.ToBase64()));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void ToString_describes_without_dumping_the_bytes()
    {
        var text = ImageInput.FromBytes(Png).ToString();
        Assert.StartsWith("image 11 B sha256:", text, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToBase64String(Png), text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_images_are_InvalidInput()
    {
        // Bad input tried: empty bytes, an oversized stream, a missing file, a data URL without base64, broken base64.
        Assert.Equal(DecartErrorCode.InvalidInput, Assert.Throws<DecartException>(() => ImageInput.FromBytes([])).Code);
        var big = new MemoryStream(new byte[ImageInput.MaxBytes + 10]);
        Assert.Equal(DecartErrorCode.InvalidInput, (await Assert.ThrowsAsync<DecartException>(() => ImageInput.FromStreamAsync(big))).Code);
        Assert.Equal(DecartErrorCode.InvalidInput, (await Assert.ThrowsAsync<DecartException>(() => ImageInput.FromFileAsync("/nonexistent/x.png"))).Code);
        Assert.Equal(DecartErrorCode.InvalidInput, Assert.Throws<DecartException>(() => ImageInput.FromDataUrl("data:image/png,abc")).Code);
        Assert.Equal(DecartErrorCode.InvalidInput, Assert.Throws<DecartException>(() => ImageInput.FromDataUrl("data:image/png;base64,@@@")).Code);
        Assert.Equal(DecartErrorCode.InvalidInput, Assert.Throws<DecartException>(() => ImageInput.FromDataUrl("https://example.com/x.png")).Code);
    }
}
