using System.Globalization;
using System.Net.Http.Headers;

namespace Decart.Sdk.Http;

/// <summary>
/// The Files API: upload an image once, then refer to it by id (<c>ImageInput.FromFileRef</c>) in realtime sessions —
/// in the initial state, <c>SetAsync</c> or <c>SetImageAsync</c> — without sending its bytes again.
/// </summary>
public sealed class FilesClient
{
    /// <summary>Shortest time to live the service accepts.</summary>
    public static readonly TimeSpan MinTtl = TimeSpan.FromSeconds(60);

    /// <summary>Longest time to live the service accepts (30 days).</summary>
    public static readonly TimeSpan MaxTtl = TimeSpan.FromDays(30);

    private readonly DecartHttp _http;

    internal FilesClient(DecartHttp http) => _http = http;

    /// <summary>Uploads a file from a stream (read to its end; not disposed).</summary>
    /// <param name="content">The image (PNG, JPEG or WebP).</param>
    /// <param name="fileName">The name to upload it under.</param>
    /// <param name="options">Its time to live; null for the service's default (24 h).</param>
    /// <param name="cancellationToken">Cancels the upload.</param>
    /// <returns>The file's reference.</returns>
    /// <exception cref="DecartException"><see cref="DecartErrorCode.InvalidInput"/> for a bad time to live or an empty name;
    /// <see cref="DecartErrorCode.InvalidApiKey"/>; <see cref="DecartErrorCode.FilesUploadError"/> when the service refuses it
    /// (too large, not an image).</exception>
    public async Task<FileReference> UploadAsync(Stream content, string fileName, FileUploadOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        if (string.IsNullOrWhiteSpace(fileName))
        {
            throw new DecartException(DecartErrorCode.InvalidInput, "fileName: must not be empty.");
        }

        string? ttl = TtlField(options);
        using var buffer = new MemoryStream();
        await content.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        var bytes = buffer.ToArray();
        return await _http.SendForJsonAsync(
            () =>
            {
                var file = new ByteArrayContent(bytes);
                file.Headers.ContentType = new MediaTypeHeaderValue(MediaTypeOf(fileName));
                var form = new MultipartFormDataContent { { file, "file", fileName } };
                if (ttl is not null)
                {
                    form.Add(new StringContent(ttl), "ttl_seconds");
                }

                return new HttpRequestMessage(HttpMethod.Post, _http.Url("/v1/files")) { Content = form };
            },
            DecartJsonContext.Default.FileReference,
            DecartErrorCode.FilesUploadError,
            "upload a file",
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Uploads a file from disk.</summary>
    /// <param name="path">The image (PNG, JPEG or WebP).</param>
    /// <param name="options">Its time to live; null for the service's default (24 h).</param>
    /// <param name="cancellationToken">Cancels the upload.</param>
    /// <returns>The file's reference.</returns>
    /// <exception cref="DecartException"><see cref="DecartErrorCode.InvalidInput"/> when the file does not exist, and as
    /// <see cref="UploadAsync(Stream, string, FileUploadOptions?, CancellationToken)"/>.</exception>
    public async Task<FileReference> UploadAsync(string path, FileUploadOptions? options = null, CancellationToken cancellationToken = default)
    {
        if (!File.Exists(path))
        {
            throw new DecartException(DecartErrorCode.InvalidInput, $"file '{path}' does not exist.");
        }

        await using var stream = File.OpenRead(path);
        return await UploadAsync(stream, Path.GetFileName(path), options, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads a file's metadata.</summary>
    /// <param name="fileId">Its id (<c>file_…</c>).</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The file's reference.</returns>
    /// <exception cref="DecartException"><see cref="DecartErrorCode.FilesGetError"/> when it is unknown, deleted or expired
    /// (<see cref="DecartException.StatusCode"/> says which: 404 or 410).</exception>
    public Task<FileReference> GetAsync(string fileId, CancellationToken cancellationToken = default)
    {
        CheckId(fileId);
        return _http.SendForJsonAsync(
            () => new HttpRequestMessage(HttpMethod.Get, _http.Url("/v1/files/" + Uri.EscapeDataString(fileId))),
            DecartJsonContext.Default.FileReference,
            DecartErrorCode.FilesGetError,
            "get a file",
            cancellationToken);
    }

    /// <summary>Deletes a file; sessions can no longer refer to it.</summary>
    /// <param name="fileId">Its id (<c>file_…</c>).</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>A task that completes when it is deleted.</returns>
    /// <exception cref="DecartException"><see cref="DecartErrorCode.FilesDeleteError"/> when it is unknown.</exception>
    public async Task DeleteAsync(string fileId, CancellationToken cancellationToken = default)
    {
        CheckId(fileId);
        await _http.SendForBytesAsync(
            () => new HttpRequestMessage(HttpMethod.Delete, _http.Url("/v1/files/" + Uri.EscapeDataString(fileId))),
            DecartErrorCode.FilesDeleteError,
            "delete a file",
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The <c>ttl_seconds</c> field for the options, checked as the service checks it.</summary>
    /// <param name="options">The options.</param>
    /// <returns>Whole seconds, <c>persistent</c>, or null for the default.</returns>
    /// <exception cref="DecartException"><see cref="DecartErrorCode.InvalidInput"/> naming the field.</exception>
    internal static string? TtlField(FileUploadOptions? options)
    {
        if (options is null)
        {
            return null;
        }

        if (options.Persistent)
        {
            return options.Ttl is null
                ? "persistent"
                : throw new DecartException(DecartErrorCode.InvalidInput, "ttl: give a time to live or Persistent, not both.");
        }

        if (options.Ttl is not { } ttl)
        {
            return null;
        }

        if (ttl < MinTtl || ttl > MaxTtl || ttl.Ticks % TimeSpan.TicksPerSecond != 0)
        {
            throw new DecartException(DecartErrorCode.InvalidInput, $"ttl: must be whole seconds from {MinTtl.TotalSeconds:0} s to {MaxTtl.TotalDays:0} days (got {ttl}).");
        }

        return ((long)ttl.TotalSeconds).ToString(CultureInfo.InvariantCulture);
    }

    private static void CheckId(string fileId)
    {
        if (!ImageInputRefs.IsFileRef(fileId))
        {
            throw new DecartException(DecartErrorCode.InvalidInput, "fileId: must be a file id (file_…).");
        }
    }

    private static string MediaTypeOf(string fileName) => Path.GetExtension(fileName).ToLowerInvariant() switch
    {
        ".png" => "image/png",
        ".jpg" or ".jpeg" => "image/jpeg",
        ".webp" => "image/webp",
        _ => "application/octet-stream",
    };
}

/// <summary>What a file reference looks like.</summary>
internal static class ImageInputRefs
{
    /// <summary>The prefix of every uploaded file's id.</summary>
    public const string Prefix = "file_";

    /// <summary>Longest id accepted (a guard against a megabyte pasted by mistake).</summary>
    public const int MaxLength = 256;

    public static bool IsFileRef(string? id) =>
        id is { Length: > 5 and <= MaxLength } && id.StartsWith(Prefix, StringComparison.Ordinal) && !id.Any(char.IsWhiteSpace);
}
