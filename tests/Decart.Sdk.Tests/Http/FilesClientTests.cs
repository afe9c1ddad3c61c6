using System.Net;
using Decart.Sdk.Http;
using Decart.Sdk.Realtime;
using Decart.Simulator.Hosting;
using Microsoft.Extensions.Time.Testing;
using static Decart.Sdk.Tests.Realtime.RealtimeTestKit;

namespace Decart.Sdk.Tests.Http;

/// <summary><c>client.Files</c> against the embedded simulator over real HTTP, and the references it hands out.</summary>
public sealed class FilesClientTests
{
    [Fact]
    public async Task Upload_get_and_delete_round_trip_with_ttl_persistent_and_default_expiry()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero));
        await using var sim = await DecartSimulator.StartAsync(new SimulatorOptions { TimeProvider = time });
        using var client = Client(sim);

        var file = await client.Files.UploadAsync(new MemoryStream(Png), "style.png");
        Assert.StartsWith("file_", file.Id, StringComparison.Ordinal);
        Assert.Equal(("style.png", "image/png", (long)Png.Length), (file.FileName, file.MimeType, file.SizeBytes));
        Assert.Equal(time.GetUtcNow().AddHours(24), file.ExpiresAt);
        Assert.Equal(file, await client.Files.GetAsync(file.Id));

        var persistent = await client.Files.UploadAsync(new MemoryStream(Png), "keep.png", new FileUploadOptions { Persistent = true });
        Assert.Null(persistent.ExpiresAt);
        string path = Path.Combine(Path.GetTempPath(), $"decart-files-{Guid.NewGuid():N}.png");
        await File.WriteAllBytesAsync(path, Png);
        try
        {
            var hour = await client.Files.UploadAsync(path, new FileUploadOptions { Ttl = TimeSpan.FromHours(1) });
            Assert.Equal(time.GetUtcNow().AddHours(1), hour.ExpiresAt);
            Assert.Equal(Path.GetFileName(path), hour.FileName);

            time.Advance(TimeSpan.FromHours(1));
            var expired = await Assert.ThrowsAsync<DecartException>(() => client.Files.GetAsync(hour.Id));
            Assert.Equal((DecartErrorCode.FilesGetError, HttpStatusCode.Gone), (expired.Code, expired.StatusCode));
            Assert.Equal("FILES_GET_ERROR", expired.Code.ToWireString());
        }
        finally
        {
            File.Delete(path);
        }

        await client.Files.DeleteAsync(file.Id);
        var gone = await Assert.ThrowsAsync<DecartException>(() => client.Files.GetAsync(file.Id));
        Assert.Equal((DecartErrorCode.FilesGetError, HttpStatusCode.NotFound), (gone.Code, gone.StatusCode));
        var twice = await Assert.ThrowsAsync<DecartException>(() => client.Files.DeleteAsync(file.Id));
        Assert.Equal(DecartErrorCode.FilesDeleteError, twice.Code);
    }

    [Fact]
    public async Task Bad_uploads_are_refused_before_sending_or_with_the_services_reason()
    {
        await using var sim = await DecartSimulator.StartAsync(new SimulatorOptions { MaxImageBytes = 1024 });
        using var client = Client(sim);

        // Bad input tried, refused locally (nothing sent): TTLs of 59 s, 31 days and 90.5 s, a TTL with Persistent,
        // an empty name, a missing file, ids that are not file ids.
        foreach (var options in new FileUploadOptions[]
        {
            new() { Ttl = TimeSpan.FromSeconds(59) },
            new() { Ttl = TimeSpan.FromDays(31) },
            new() { Ttl = TimeSpan.FromSeconds(90.5) },
            new() { Ttl = TimeSpan.FromHours(1), Persistent = true },
        })
        {
            var error = await Assert.ThrowsAsync<DecartException>(() => client.Files.UploadAsync(new MemoryStream(Png), "a.png", options));
            Assert.Equal(DecartErrorCode.InvalidInput, error.Code);
            Assert.StartsWith("ttl:", error.Message, StringComparison.Ordinal);
        }

        Assert.Equal(DecartErrorCode.InvalidInput, (await Assert.ThrowsAsync<DecartException>(() => client.Files.UploadAsync(new MemoryStream(Png), " "))).Code);
        Assert.Equal(DecartErrorCode.InvalidInput, (await Assert.ThrowsAsync<DecartException>(() => client.Files.UploadAsync("/no/such/file.png"))).Code);
        foreach (var id in new[] { "", "abc", "file_", "file_a b", "file_" + new string('x', 300) })
        {
            Assert.Equal(DecartErrorCode.InvalidInput, (await Assert.ThrowsAsync<DecartException>(() => client.Files.GetAsync(id))).Code);
            Assert.Equal(DecartErrorCode.InvalidInput, Assert.Throws<DecartException>(() => ImageInput.FromFileRef(id)).Code);
        }

        // Refused by the service: not an image, too large, a wrong key.
        var text = await Assert.ThrowsAsync<DecartException>(() => client.Files.UploadAsync(new MemoryStream("hello"u8.ToArray()), "a.txt"));
        Assert.Equal((DecartErrorCode.FilesUploadError, HttpStatusCode.UnsupportedMediaType), (text.Code, text.StatusCode));
        var big = new byte[2048];
        Png.CopyTo(big, 0);
        var tooBig = await Assert.ThrowsAsync<DecartException>(() => client.Files.UploadAsync(new MemoryStream(big), "big.png"));
        Assert.Equal((DecartErrorCode.FilesUploadError, HttpStatusCode.RequestEntityTooLarge), (tooBig.Code, tooBig.StatusCode));
        using var wrong = Client(sim, key: "sk_not_a_key_4242");
        var denied = await Assert.ThrowsAsync<DecartException>(() => wrong.Files.UploadAsync(new MemoryStream(Png), "a.png"));
        Assert.Equal(DecartErrorCode.InvalidApiKey, denied.Code);
        Assert.DoesNotContain("sk_not_a_key_4242", denied.ToString(), StringComparison.Ordinal);
        Assert.Equal(0, ((Decart.Simulator.Rest.FileStore)sim.Services.GetService(typeof(Decart.Simulator.Rest.FileStore))!).Count);
    }

    [Fact]
    public void A_file_reference_describes_itself_by_id_and_has_no_bytes_to_encode()
    {
        var image = ImageInput.FromFileRef("file_0123abcd");
        Assert.Equal("file_0123abcd", image.FileRef);
        Assert.True(image.Bytes.IsEmpty);
        Assert.Equal("image file_0123abcd", image.ToString());
        Assert.Throws<InvalidOperationException>(() => image.ToBase64());
        Assert.Null(ImageInput.FromBytes(Png).FileRef);
    }
}
