namespace Decart.Simulator.Rest;

/// <summary>Tells PNG, JPEG and WebP apart by their first bytes — the image formats Decart's models take.</summary>
internal static class ImageFormat
{
    /// <summary>The media type of an image, or null when the bytes are none of PNG, JPEG, WebP.</summary>
    /// <param name="data">The file's bytes (the first 12 suffice).</param>
    /// <returns><c>image/png</c>, <c>image/jpeg</c>, <c>image/webp</c> or null.</returns>
    public static string? Sniff(ReadOnlySpan<byte> data)
    {
        if (data.StartsWith((ReadOnlySpan<byte>)[0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
        {
            return "image/png";
        }

        if (data.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF]))
        {
            return "image/jpeg";
        }

        return data.Length >= 12 && data.StartsWith("RIFF"u8) && data.Slice(8, 4).SequenceEqual("WEBP"u8) ? "image/webp" : null;
    }
}
