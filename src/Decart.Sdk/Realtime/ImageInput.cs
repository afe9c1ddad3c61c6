using System.Security.Cryptography;

namespace Decart.Sdk.Realtime;

/// <summary>
/// A reference image for a realtime session: PNG, JPEG or WebP bytes from memory, a stream, a file, or a
/// <c>data:</c> URL — sent base64-encoded on the signaling socket (<c>image_data</c>) — or a file uploaded once with
/// <c>client.Files</c> and named by its id (<see cref="FromFileRef"/>, sent as <c>image_ref</c>).
/// </summary>
public sealed class ImageInput
{
    /// <summary>Largest image accepted: 10 MiB (the service's WebSocket message limit, after base64).</summary>
    public const int MaxBytes = 7 * 1024 * 1024;

    private ImageInput(ReadOnlyMemory<byte> bytes) => Bytes = bytes;

    private ImageInput(string fileRef) => FileRef = fileRef;

    /// <summary>The encoded image; empty for a file reference.</summary>
    public ReadOnlyMemory<byte> Bytes { get; }

    /// <summary>The uploaded file's id (<c>file_…</c>) when this input refers to one, else null.</summary>
    public string? FileRef { get; }

    /// <summary>An image uploaded with <c>client.Files.UploadAsync</c>, named by its id: the session sends <c>image_ref</c>, not the bytes.</summary>
    /// <param name="fileId">The id from the upload's <see cref="Http.FileReference"/> (<c>file_…</c>).</param>
    /// <returns>The input.</returns>
    /// <exception cref="DecartException"><see cref="DecartErrorCode.InvalidInput"/> when the id is not a file id.</exception>
    public static ImageInput FromFileRef(string fileId)
    {
        if (!Http.ImageInputRefs.IsFileRef(fileId))
        {
            throw new DecartException(DecartErrorCode.InvalidInput, $"image: '{(fileId is { Length: > 40 } ? fileId[..40] + "…" : fileId)}' is not a file id (file_…, from client.Files.UploadAsync).");
        }

        return new ImageInput(fileId);
    }

    /// <summary>From bytes (copied).</summary>
    /// <param name="bytes">PNG, JPEG or WebP bytes.</param>
    /// <returns>The input.</returns>
    /// <exception cref="DecartException"><see cref="DecartErrorCode.InvalidInput"/> for empty or oversized images.</exception>
    public static ImageInput FromBytes(ReadOnlySpan<byte> bytes)
    {
        Validate(bytes.Length);
        return new ImageInput(bytes.ToArray());
    }

    /// <summary>From a stream, read to its end.</summary>
    /// <param name="stream">The image.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The input.</returns>
    public static async Task<ImageInput> FromStreamAsync(Stream stream, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > MaxBytes)
            {
                Validate(MaxBytes + 1);
            }

            buffer.Write(chunk, 0, read);
        }

        Validate((int)buffer.Length);
        return new ImageInput(buffer.ToArray());
    }

    /// <summary>From a file.</summary>
    /// <param name="path">PNG, JPEG or WebP file.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The input.</returns>
    public static async Task<ImageInput> FromFileAsync(string path, CancellationToken cancellationToken = default)
    {
        if (!File.Exists(path))
        {
            throw new DecartException(DecartErrorCode.InvalidInput, $"image file '{path}' does not exist.");
        }

        await using var stream = File.OpenRead(path);
        return await FromStreamAsync(stream, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>From a <c>data:image/…;base64,…</c> URL.</summary>
    /// <param name="dataUrl">The URL.</param>
    /// <returns>The input.</returns>
    public static ImageInput FromDataUrl(string dataUrl)
    {
        ArgumentNullException.ThrowIfNull(dataUrl);
        int comma = dataUrl.IndexOf(',', StringComparison.Ordinal);
        if (!dataUrl.StartsWith("data:", StringComparison.OrdinalIgnoreCase) || comma < 0 || !dataUrl[..comma].EndsWith(";base64", StringComparison.OrdinalIgnoreCase))
        {
            throw new DecartException(DecartErrorCode.InvalidInput, "image must be a base64 data URL (data:image/png;base64,...).");
        }

        try
        {
            return FromBytes(Convert.FromBase64String(dataUrl[(comma + 1)..]));
        }
        catch (FormatException ex)
        {
            throw new DecartException(DecartErrorCode.InvalidInput, "image data URL is not valid base64.", ex);
        }
    }

    /// <summary>Wraps bytes as an image input.</summary>
    /// <param name="bytes">PNG, JPEG or WebP bytes.</param>
    public static implicit operator ImageInput(byte[] bytes) => FromBytes(bytes);

    /// <summary>The base64 text sent as <c>image_data</c>.</summary>
    /// <returns>Base64 of <see cref="Bytes"/>.</returns>
    /// <exception cref="InvalidOperationException">For a file reference, which has no bytes here.</exception>
    public string ToBase64() => FileRef is null ? Convert.ToBase64String(Bytes.Span) : throw new InvalidOperationException("A file reference has no bytes to encode; it is sent as image_ref.");

    /// <summary>A short description: size and a hash prefix (or the file id), never the bytes.</summary>
    /// <returns>The description.</returns>
    public override string ToString() => FileRef is { } id ? $"image {id}" : $"image {Bytes.Length} B sha256:{Convert.ToHexStringLower(SHA256.HashData(Bytes.Span))[..12]}";

    private static void Validate(int length)
    {
        if (length == 0)
        {
            throw new DecartException(DecartErrorCode.InvalidInput, "image is empty.");
        }

        if (length > MaxBytes)
        {
            throw new DecartException(DecartErrorCode.InvalidInput, $"image is larger than {MaxBytes / (1024 * 1024)} MiB.");
        }
    }
}
