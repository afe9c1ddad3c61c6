using System.Collections.Frozen;

namespace Decart.Sdk.Models;

/// <summary>The catalog of Decart's realtime models. Capture at the model's <c>Fps</c>, <c>Width</c> and <c>Height</c>.</summary>
public static class RealtimeModels
{
    /// <summary><c>lucy-2.1</c>: 30 fps, 1088 × 624.</summary>
    public static RealtimeModel Lucy21 { get; } = new("lucy-2.1", 30, 30, 1088, 624);

    /// <summary><c>lucy-2.5</c>: 30 fps, 1280 × 720.</summary>
    public static RealtimeModel Lucy25 { get; } = new("lucy-2.5", 30, 30, 1280, 720);

    /// <summary><c>lucy-vton-2</c> (virtual try-on): 30 fps, 1088 × 624.</summary>
    public static RealtimeModel LucyVton2 { get; } = new("lucy-vton-2", 30, 30, 1088, 624);

    /// <summary><c>lucy-vton-3</c>: 30 fps, 1088 × 624.</summary>
    public static RealtimeModel LucyVton3 { get; } = new("lucy-vton-3", 30, 30, 1088, 624);

    /// <summary><c>lucy-2.1-vton-2</c>: 30 fps, 1088 × 624.</summary>
    public static RealtimeModel Lucy21Vton2 { get; } = new("lucy-2.1-vton-2", 30, 30, 1088, 624);

    /// <summary><c>lucy-restyle-2</c> ("Lucy Restyle Live"): 30 fps, 1280 × 704.</summary>
    public static RealtimeModel LucyRestyle2 { get; } = new("lucy-restyle-2", 30, 30, 1280, 704);

    /// <summary><c>lucy-latest</c> (alias resolved by the service): 30 fps, 1088 × 624.</summary>
    public static RealtimeModel LucyLatest { get; } = new("lucy-latest", 30, 30, 1088, 624);

    /// <summary><c>lucy-vton-latest</c> (alias): 30 fps, 1088 × 624.</summary>
    public static RealtimeModel LucyVtonLatest { get; } = new("lucy-vton-latest", 30, 30, 1088, 624);

    /// <summary><c>lucy-restyle-latest</c> (alias): 30 fps, 1280 × 704.</summary>
    public static RealtimeModel LucyRestyleLatest { get; } = new("lucy-restyle-latest", 30, 30, 1280, 704);

    /// <summary>Legacy <c>mirage</c>: 25 fps, 1280 × 704.</summary>
    public static RealtimeModel Mirage { get; } = new("mirage", 25, 25, 1280, 704);

    /// <summary>Legacy <c>mirage_v2</c>: 22 fps, 1280 × 704.</summary>
    public static RealtimeModel MirageV2 { get; } = new("mirage_v2", 22, 22, 1280, 704);

    /// <summary>Legacy <c>lucy_v2v_720p_rt</c>: 25 fps, 1280 × 704.</summary>
    public static RealtimeModel LucyV2v720pRt { get; } = new("lucy_v2v_720p_rt", 25, 25, 1280, 704);

    /// <summary>Legacy <c>lucy_2_rt</c>: 20 fps, 1280 × 720.</summary>
    public static RealtimeModel Lucy2Rt { get; } = new("lucy_2_rt", 20, 20, 1280, 720);

    /// <summary>Legacy <c>live_avatar</c>: 25 fps, 1280 × 720.</summary>
    public static RealtimeModel LiveAvatar { get; } = new("live_avatar", 25, 25, 1280, 720);

    /// <summary>Every realtime model above.</summary>
    public static IReadOnlyList<RealtimeModel> All { get; } =
        [Lucy21, Lucy25, LucyVton2, LucyVton3, Lucy21Vton2, LucyRestyle2, LucyLatest, LucyVtonLatest, LucyRestyleLatest, Mirage, MirageV2, LucyV2v720pRt, Lucy2Rt, LiveAvatar];
}

/// <summary>The catalog of Decart's image models (1280 × 704).</summary>
public static class ImageModels
{
    /// <summary><c>lucy-image-2</c>: image edit.</summary>
    public static ImageModel LucyImage2 { get; } = new("lucy-image-2", 1280, 704, GenerationKind.Edit);

    /// <summary><c>lucy-image-latest</c> (alias): image edit.</summary>
    public static ImageModel LucyImageLatest { get; } = new("lucy-image-latest", 1280, 704, GenerationKind.Edit);

    /// <summary><c>lucy-pro-i2i</c>: image to image.</summary>
    public static ImageModel LucyProI2I { get; } = new("lucy-pro-i2i", 1280, 704, GenerationKind.Edit);

    /// <summary><c>lucy-pro-t2i</c>: text to image.</summary>
    public static ImageModel LucyProT2I { get; } = new("lucy-pro-t2i", 1280, 704, GenerationKind.TextTo);

    /// <summary>Every image model above.</summary>
    public static IReadOnlyList<ImageModel> All { get; } = [LucyImage2, LucyImageLatest, LucyProI2I, LucyProT2I];
}

/// <summary>The catalog of Decart's video models, run as queued jobs.</summary>
public static class VideoModels
{
    /// <summary><c>lucy-2.1</c>: video edit, 20 fps, 1088 × 624.</summary>
    public static VideoModel Lucy21 { get; } = new("lucy-2.1", 20, 1088, 624, GenerationKind.EditOptionalPrompt);

    /// <summary><c>lucy-2.5</c>: video edit, 20 fps, 1280 × 720.</summary>
    public static VideoModel Lucy25 { get; } = new("lucy-2.5", 20, 1280, 720, GenerationKind.EditOptionalPrompt);

    /// <summary><c>lucy-clip</c>: video edit, 25 fps, 1280 × 704.</summary>
    public static VideoModel LucyClip { get; } = new("lucy-clip", 25, 1280, 704, GenerationKind.Edit);

    /// <summary><c>lucy-pro-v2v</c>: video to video, 25 fps, 1280 × 704.</summary>
    public static VideoModel LucyProV2V { get; } = new("lucy-pro-v2v", 25, 1280, 704, GenerationKind.Edit);

    /// <summary><c>lucy-restyle-v2v</c>: restyle a video by prompt or reference image, 22 fps, 1280 × 704.</summary>
    public static VideoModel LucyRestyleV2V { get; } = new("lucy-restyle-v2v", 22, 1280, 704, GenerationKind.Restyle);

    /// <summary><c>lucy-fast-v2v</c>: fast video to video, 25 fps, 1280 × 720.</summary>
    public static VideoModel LucyFastV2V { get; } = new("lucy-fast-v2v", 25, 1280, 720, GenerationKind.Edit);

    /// <summary><c>lucy-pro-t2v</c>: text to video, 25 fps, 1280 × 704.</summary>
    public static VideoModel LucyProT2V { get; } = new("lucy-pro-t2v", 25, 1280, 704, GenerationKind.TextTo);

    /// <summary><c>lucy-pro-i2v</c>: image to video, 25 fps, 1280 × 704.</summary>
    public static VideoModel LucyProI2V { get; } = new("lucy-pro-i2v", 25, 1280, 704, GenerationKind.ImageTo);

    /// <summary><c>lucy-motion</c>: animate an image, 25 fps, 1280 × 704.</summary>
    public static VideoModel LucyMotion { get; } = new("lucy-motion", 25, 1280, 704, GenerationKind.Motion);

    /// <summary>Every video model above.</summary>
    public static IReadOnlyList<VideoModel> All { get; } = [Lucy21, Lucy25, LucyClip, LucyProV2V, LucyRestyleV2V, LucyFastV2V, LucyProT2V, LucyProI2V, LucyMotion];
}

/// <summary>Looks models up by name.</summary>
public static class DecartModels
{
    private static readonly FrozenDictionary<string, RealtimeModel> RealtimeByName = RealtimeModels.All.ToFrozenDictionary(m => m.Name, StringComparer.Ordinal);
    private static readonly FrozenDictionary<string, ImageModel> ImageByName = ImageModels.All.ToFrozenDictionary(m => m.Name, StringComparer.Ordinal);
    private static readonly FrozenDictionary<string, VideoModel> VideoByName = VideoModels.All.ToFrozenDictionary(m => m.Name, StringComparer.Ordinal);

    /// <summary>The realtime model called <paramref name="name"/>.</summary>
    /// <param name="name">e.g. <c>lucy-latest</c>.</param>
    /// <returns>The model.</returns>
    /// <exception cref="DecartException"><see cref="DecartErrorCode.ModelNotFound"/> for an unknown name.</exception>
    public static RealtimeModel Realtime(string name) => Find(RealtimeByName, name, "realtime");

    /// <summary>The image model called <paramref name="name"/>.</summary>
    /// <param name="name">e.g. <c>lucy-pro-i2i</c>.</param>
    /// <returns>The model.</returns>
    /// <exception cref="DecartException"><see cref="DecartErrorCode.ModelNotFound"/> for an unknown name.</exception>
    public static ImageModel Image(string name) => Find(ImageByName, name, "image");

    /// <summary>The video model called <paramref name="name"/>.</summary>
    /// <param name="name">e.g. <c>lucy-pro-v2v</c>.</param>
    /// <returns>The model.</returns>
    /// <exception cref="DecartException"><see cref="DecartErrorCode.ModelNotFound"/> for an unknown name.</exception>
    public static VideoModel Video(string name) => Find(VideoByName, name, "video");

    /// <summary>Looks a realtime model up without throwing.</summary>
    /// <param name="name">The name.</param>
    /// <param name="model">The model, when known.</param>
    /// <returns>Whether it is known.</returns>
    public static bool TryGetRealtime(string? name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out RealtimeModel? model) =>
        RealtimeByName.TryGetValue(name ?? string.Empty, out model);

    private static T Find<T>(FrozenDictionary<string, T> table, string name, string kind)
    {
        if (name is not null && table.TryGetValue(name, out var model))
        {
            return model;
        }

        throw new DecartException(DecartErrorCode.ModelNotFound, $"unknown {kind} model '{name}'. Known: {string.Join(", ", table.Keys.Order(StringComparer.Ordinal))}.");
    }
}
