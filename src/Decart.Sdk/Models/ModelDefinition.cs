namespace Decart.Sdk.Models;

/// <summary>A Decart model: its name, where it is served, and the video it expects or produces.</summary>
/// <param name="Name">The name the service knows it by, e.g. <c>lucy-2.1</c>.</param>
/// <param name="UrlPath">The path of its main endpoint: <c>/v1/stream</c> for realtime, <c>/v1/generate/{name}</c> for images, <c>/v1/jobs/{name}</c> for videos.</param>
/// <param name="Fps">The frame rate to capture or produce at (ideal); 0 for image models.</param>
/// <param name="Width">Frame width in pixels.</param>
/// <param name="Height">Frame height in pixels.</param>
public abstract record ModelDefinition(string Name, string UrlPath, int Fps, int Width, int Height)
{
    /// <summary>The name.</summary>
    /// <returns><see cref="Name"/>.</returns>
    public override string ToString() => Name;

    /// <summary>
    /// Set when Decart deprecated this name (an alias kept for old code) or retired the model: what to use instead, e.g.
    /// <c>retired by Decart on 2026-05-10; use lucy-restyle-2</c>. The SDK warns when it is used (a realtime
    /// warning, a REST log line); the simulator still serves these names for tests of older clients.
    /// </summary>
    public string? Deprecation { get; init; }

    /// <summary>Checks a custom definition.</summary>
    /// <exception cref="DecartException"><see cref="DecartErrorCode.InvalidOptions"/> when a field is empty or out of range.</exception>
    public virtual void Validate()
    {
        if (string.IsNullOrWhiteSpace(Name) || string.IsNullOrWhiteSpace(UrlPath) || !UrlPath.StartsWith('/'))
        {
            throw new DecartException(DecartErrorCode.InvalidOptions, $"model definition '{Name}' needs a name and an absolute URL path.");
        }

        if (Width is < 1 or > 8192 || Height is < 1 or > 8192 || Fps is < 0 or > 240)
        {
            throw new DecartException(DecartErrorCode.InvalidOptions, $"model '{Name}' has an invalid size {Width}x{Height} or fps {Fps}.");
        }
    }
}

/// <summary>A realtime (streaming) model, reached over <c>/v1/stream</c> and chosen by the <c>model</c> query parameter.</summary>
/// <param name="Name">Model name.</param>
/// <param name="Fps">Ideal capture rate.</param>
/// <param name="MaxFps">Highest rate the model accepts.</param>
/// <param name="Width">Frame width the model expects.</param>
/// <param name="Height">Frame height the model expects.</param>
public sealed record RealtimeModel(string Name, int Fps, int MaxFps, int Width, int Height)
    : ModelDefinition(Name, "/v1/stream", Fps, Width, Height)
{
    /// <inheritdoc />
    public override void Validate()
    {
        base.Validate();
        if (Fps < 1 || MaxFps < Fps)
        {
            throw new DecartException(DecartErrorCode.InvalidOptions, $"realtime model '{Name}' needs 1 <= fps ({Fps}) <= max fps ({MaxFps}).");
        }
    }

    /// <inheritdoc />
    public override string ToString() => Name;
}

/// <summary>An image model: synchronous <c>/v1/generate/{name}</c> and queued <c>/v1/jobs/{name}</c>.</summary>
/// <param name="Name">Model name.</param>
/// <param name="Width">Output width.</param>
/// <param name="Height">Output height.</param>
/// <param name="Kind">What inputs it takes.</param>
public sealed record ImageModel(string Name, int Width, int Height, GenerationKind Kind)
    : ModelDefinition(Name, $"/v1/generate/{Name}", 0, Width, Height)
{
    /// <summary>The queue path, <c>/v1/jobs/{name}</c>.</summary>
    public string QueueUrlPath => $"/v1/jobs/{Name}";

    /// <inheritdoc />
    public override string ToString() => Name;
}

/// <summary>A video model, run as a queued job on <c>/v1/jobs/{name}</c>.</summary>
/// <param name="Name">Model name.</param>
/// <param name="Fps">Output frame rate.</param>
/// <param name="Width">Output width.</param>
/// <param name="Height">Output height.</param>
/// <param name="Kind">What inputs it takes.</param>
public sealed record VideoModel(string Name, int Fps, int Width, int Height, GenerationKind Kind)
    : ModelDefinition(Name, $"/v1/jobs/{Name}", Fps, Width, Height)
{
    /// <inheritdoc />
    public override string ToString() => Name;
}

/// <summary>The input rules a batch model follows; <see cref="Http.InputValidator"/> checks them before any request.</summary>
public enum GenerationKind
{
    /// <summary>Edit a video or image: <c>prompt</c> (1–1000) and <c>data</c> required; <c>reference_image</c>, <c>seed</c>, <c>resolution</c>, <c>enhance_prompt</c> optional.</summary>
    Edit,

    /// <summary>Restyle (<c>lucy-restyle-*</c>): <c>data</c> required and exactly one of <c>prompt</c> or <c>reference_image</c>; <c>enhance_prompt</c> only with <c>prompt</c>.</summary>
    Restyle,

    /// <summary>Video edit 2 (<c>lucy-2.x</c>, vton): <c>data</c> required; <c>prompt</c> may be empty (up to 1000).</summary>
    EditOptionalPrompt,

    /// <summary>Text to image/video: <c>prompt</c> (1–1000) required; no <c>data</c>.</summary>
    TextTo,

    /// <summary>Image to video: <c>prompt</c> (1–1000) and <c>data</c> (the start image) required.</summary>
    ImageTo,

    /// <summary>Motion (<c>lucy-motion</c>): <c>data</c> (image) required; <c>prompt</c> optional.</summary>
    Motion,
}
