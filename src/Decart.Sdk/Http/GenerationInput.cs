namespace Decart.Sdk.Http;

/// <summary>A file sent to a batch model (<c>data</c>, <c>reference_image</c>, <c>start</c>, <c>end</c>).</summary>
public sealed class FileInput
{
    private FileInput(ReadOnlyMemory<byte> content, string fileName, string contentType)
    {
        Content = content;
        FileName = fileName;
        ContentType = contentType;
    }

    /// <summary>The bytes.</summary>
    public ReadOnlyMemory<byte> Content { get; }

    /// <summary>The file name sent in the multipart part.</summary>
    public string FileName { get; }

    /// <summary>The media type sent in the multipart part.</summary>
    public string ContentType { get; }

    /// <summary>From bytes.</summary>
    /// <param name="content">The file's bytes.</param>
    /// <param name="fileName">A name, e.g. <c>input.mp4</c>.</param>
    /// <param name="contentType">Its media type; guessed from the name when null.</param>
    /// <returns>The input.</returns>
    public static FileInput FromBytes(ReadOnlyMemory<byte> content, string fileName = "input.bin", string? contentType = null) =>
        new(content, fileName, contentType ?? GuessContentType(fileName));

    /// <summary>From a stream, read to its end.</summary>
    /// <param name="stream">The content.</param>
    /// <param name="fileName">A name.</param>
    /// <param name="contentType">Its media type; guessed from the name when null.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The input.</returns>
    public static async Task<FileInput> FromStreamAsync(Stream stream, string fileName, string? contentType = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        return FromBytes(buffer.ToArray(), fileName, contentType);
    }

    /// <summary>From a file on disk.</summary>
    /// <param name="path">The file.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The input.</returns>
    /// <exception cref="DecartException"><see cref="DecartErrorCode.InvalidInput"/> when the file does not exist.</exception>
    public static async Task<FileInput> FromFileAsync(string path, CancellationToken cancellationToken = default)
    {
        if (!File.Exists(path))
        {
            throw new DecartException(DecartErrorCode.InvalidInput, $"input file '{path}' does not exist.");
        }

        return FromBytes(await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false), Path.GetFileName(path));
    }

    /// <summary>Describes the file without its bytes.</summary>
    /// <returns>A description.</returns>
    public override string ToString() => $"{FileName} ({ContentType}, {Content.Length} B)";

    private static string GuessContentType(string fileName) => Path.GetExtension(fileName).ToLowerInvariant() switch
    {
        ".png" => "image/png",
        ".jpg" or ".jpeg" => "image/jpeg",
        ".webp" => "image/webp",
        ".mp4" => "video/mp4",
        ".webm" => "video/webm",
        ".mov" => "video/quicktime",
        _ => "application/octet-stream",
    };
}

/// <summary>The inputs of a batch generation. Which fields a model needs is checked before any request (<see cref="InputValidator"/>).</summary>
public sealed record GenerationInput
{
    /// <summary>Text prompt, 1–1000 characters where required.</summary>
    public string? Prompt { get; init; }

    /// <summary>Seed for reproducible output.</summary>
    public long? Seed { get; init; }

    /// <summary>Output resolution: <c>720p</c>, or <c>480p</c> where the model allows it.</summary>
    public string? Resolution { get; init; }

    /// <summary>Whether the service may enhance the prompt.</summary>
    public bool? EnhancePrompt { get; init; }

    /// <summary>The main input file (video or image).</summary>
    public FileInput? Data { get; init; }

    /// <summary>A reference image.</summary>
    public FileInput? ReferenceImage { get; init; }

    /// <summary>First frame (image to video).</summary>
    public FileInput? Start { get; init; }

    /// <summary>Last frame (first/last frame to video).</summary>
    public FileInput? End { get; init; }
}
