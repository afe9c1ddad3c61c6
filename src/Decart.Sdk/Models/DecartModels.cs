using System.Collections.Frozen;

namespace Decart.Sdk.Models;

#pragma warning disable CS0618 // the lists below include the deprecated and retired names on purpose: they stay resolvable by name

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
    [Obsolete("A deprecated alias of lucy-vton-2; use LucyVton2.")]
    public static RealtimeModel Lucy21Vton2 { get; } = new("lucy-2.1-vton-2", 30, 30, 1088, 624) { Deprecation = "a deprecated alias of lucy-vton-2; use lucy-vton-2" };

    /// <summary><c>lucy-restyle-2</c> ("Lucy Restyle Live"): 30 fps, 1280 × 704.</summary>
    public static RealtimeModel LucyRestyle2 { get; } = new("lucy-restyle-2", 30, 30, 1280, 704);

    /// <summary><c>lucy-latest</c> (alias resolved by the service): 30 fps, 1088 × 624.</summary>
    public static RealtimeModel LucyLatest { get; } = new("lucy-latest", 30, 30, 1088, 624);

    /// <summary><c>lucy-vton-3.5</c>: virtual try-on, 30 fps, 1280 × 720 (new in Decart's JS SDK 0.1.20).</summary>
    public static RealtimeModel LucyVton35 { get; } = new("lucy-vton-3.5", 30, 30, 1280, 720);

    /// <summary><c>lucy-vton-latest</c> (alias, resolved by the service): 30 fps, 1280 × 720 as of JS SDK 0.1.20 (it was 1088 × 624 when it meant lucy-vton-3).</summary>
    public static RealtimeModel LucyVtonLatest { get; } = new("lucy-vton-latest", 30, 30, 1280, 720);

    /// <summary><c>lucy-restyle-latest</c> (alias): 30 fps, 1280 × 704.</summary>
    public static RealtimeModel LucyRestyleLatest { get; } = new("lucy-restyle-latest", 30, 30, 1280, 704);

    /// <summary>Legacy <c>mirage</c>: 25 fps, 1280 × 704.</summary>
    [Obsolete("Retired by Decart on 2026-05-10; use LucyRestyle2 (lucy-restyle-2).")]
    public static RealtimeModel Mirage { get; } = new("mirage", 25, 25, 1280, 704) { Deprecation = "retired by Decart on 2026-05-10; use lucy-restyle-2" };

    /// <summary>Legacy <c>mirage_v2</c>: 22 fps, 1280 × 704.</summary>
    [Obsolete("Retired by Decart on 2026-05-10; use LucyRestyle2 (lucy-restyle-2).")]
    public static RealtimeModel MirageV2 { get; } = new("mirage_v2", 22, 22, 1280, 704) { Deprecation = "retired by Decart on 2026-05-10; use lucy-restyle-2" };

    /// <summary>Legacy <c>lucy_v2v_720p_rt</c>: 25 fps, 1280 × 704.</summary>
    [Obsolete("Retired by Decart on 2026-05-10; use Lucy25 (lucy-2.5).")]
    public static RealtimeModel LucyV2v720pRt { get; } = new("lucy_v2v_720p_rt", 25, 25, 1280, 704) { Deprecation = "retired by Decart on 2026-05-10; use lucy-2.5" };

    /// <summary>Legacy <c>lucy_2_rt</c>: 20 fps, 1280 × 720.</summary>
    [Obsolete("Retired by Decart on 2026-04-29; use Lucy25 (lucy-2.5).")]
    public static RealtimeModel Lucy2Rt { get; } = new("lucy_2_rt", 20, 20, 1280, 720) { Deprecation = "retired by Decart on 2026-04-29; use lucy-2.5" };

    /// <summary>Legacy <c>live_avatar</c>: 25 fps, 1280 × 720.</summary>
    [Obsolete("Retired by Decart on 2026-05-10; use Lucy21 (lucy-2.1).")]
    public static RealtimeModel LiveAvatar { get; } = new("live_avatar", 25, 25, 1280, 720) { Deprecation = "retired by Decart on 2026-05-10; use lucy-2.1" };

    /// <summary>Every realtime model above.</summary>
    public static IReadOnlyList<RealtimeModel> All { get; } =
        [Lucy21, Lucy25, LucyVton2, LucyVton3, LucyVton35, Lucy21Vton2, LucyRestyle2, LucyLatest, LucyVtonLatest, LucyRestyleLatest, Mirage, MirageV2, LucyV2v720pRt, Lucy2Rt, LiveAvatar];
}

/// <summary>The catalog of Decart's image models (1280 × 704).</summary>
public static class ImageModels
{
    /// <summary><c>lucy-image-2</c>: image edit.</summary>
    public static ImageModel LucyImage2 { get; } = new("lucy-image-2", 1280, 704, GenerationKind.Edit);

    /// <summary><c>lucy-image-latest</c> (alias): image edit.</summary>
    public static ImageModel LucyImageLatest { get; } = new("lucy-image-latest", 1280, 704, GenerationKind.Edit);

    /// <summary><c>lucy-pro-i2i</c>: a deprecated alias of <c>lucy-image-2</c>.</summary>
    [Obsolete("A deprecated alias of lucy-image-2; use LucyImage2.")]
    public static ImageModel LucyProI2I { get; } = new("lucy-pro-i2i", 1280, 704, GenerationKind.Edit) { Deprecation = "a deprecated alias of lucy-image-2; use lucy-image-2" };

    /// <summary><c>lucy-pro-t2i</c>: text to image.</summary>
    [Obsolete("Retired by Decart on 2026-03-26; use LucyImage2 (lucy-image-2).")]
    public static ImageModel LucyProT2I { get; } = new("lucy-pro-t2i", 1280, 704, GenerationKind.TextTo) { Deprecation = "retired by Decart on 2026-03-26; use lucy-image-2" };

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

    /// <summary><c>lucy-clip-latest</c> (alias, resolved by the service): video edit, 25 fps, 1280 × 704.</summary>
    public static VideoModel LucyClipLatest { get; } = new("lucy-clip-latest", 25, 1280, 704, GenerationKind.Edit);

    /// <summary><c>lucy-latest</c> (alias): video edit, 20 fps, 1088 × 624.</summary>
    public static VideoModel LucyLatest { get; } = new("lucy-latest", 20, 1088, 624, GenerationKind.EditOptionalPrompt);

    /// <summary><c>lucy-vton-2</c>: virtual try-on, 20 fps, 1088 × 624.</summary>
    public static VideoModel LucyVton2 { get; } = new("lucy-vton-2", 20, 1088, 624, GenerationKind.EditOptionalPrompt);

    /// <summary><c>lucy-vton-3</c>: virtual try-on, 20 fps, 1088 × 624.</summary>
    public static VideoModel LucyVton3 { get; } = new("lucy-vton-3", 20, 1088, 624, GenerationKind.EditOptionalPrompt);

    /// <summary><c>lucy-vton-3.5</c>: virtual try-on, 20 fps, 1280 × 720.</summary>
    public static VideoModel LucyVton35 { get; } = new("lucy-vton-3.5", 20, 1280, 720, GenerationKind.EditOptionalPrompt);

    /// <summary><c>lucy-vton-latest</c> (alias): virtual try-on, 20 fps, 1280 × 720 (JS SDK 0.1.20).</summary>
    public static VideoModel LucyVtonLatest { get; } = new("lucy-vton-latest", 20, 1280, 720, GenerationKind.EditOptionalPrompt);

    /// <summary><c>lucy-2.1-vton-2</c>: a deprecated alias of <c>lucy-vton-2</c>.</summary>
    [Obsolete("A deprecated alias of lucy-vton-2; use LucyVton2.")]
    public static VideoModel Lucy21Vton2 { get; } = new("lucy-2.1-vton-2", 20, 1088, 624, GenerationKind.EditOptionalPrompt) { Deprecation = "a deprecated alias of lucy-vton-2; use lucy-vton-2" };

    /// <summary><c>lucy-restyle-2</c>: restyle a video by prompt or reference image, 22 fps, 1280 × 704.</summary>
    public static VideoModel LucyRestyle2 { get; } = new("lucy-restyle-2", 22, 1280, 704, GenerationKind.Restyle);

    /// <summary><c>lucy-restyle-latest</c> (alias): restyle, 22 fps, 1280 × 704.</summary>
    public static VideoModel LucyRestyleLatest { get; } = new("lucy-restyle-latest", 22, 1280, 704, GenerationKind.Restyle);

    /// <summary><c>lucy-pro-v2v</c>: a deprecated alias of <c>lucy-clip</c>.</summary>
    [Obsolete("A deprecated alias of lucy-clip; use LucyClip.")]
    public static VideoModel LucyProV2V { get; } = new("lucy-pro-v2v", 25, 1280, 704, GenerationKind.Edit) { Deprecation = "a deprecated alias of lucy-clip; use lucy-clip" };

    /// <summary><c>lucy-restyle-v2v</c>: a deprecated alias of <c>lucy-restyle-2</c>.</summary>
    [Obsolete("A deprecated alias of lucy-restyle-2; use LucyRestyle2.")]
    public static VideoModel LucyRestyleV2V { get; } = new("lucy-restyle-v2v", 22, 1280, 704, GenerationKind.Restyle) { Deprecation = "a deprecated alias of lucy-restyle-2; use lucy-restyle-2" };

    /// <summary><c>lucy-fast-v2v</c>: fast video to video, 25 fps, 1280 × 720.</summary>
    [Obsolete("Retired by Decart on 2026-03-26; use LucyClip (lucy-clip) or Lucy25 (lucy-2.5).")]
    public static VideoModel LucyFastV2V { get; } = new("lucy-fast-v2v", 25, 1280, 720, GenerationKind.Edit) { Deprecation = "retired by Decart on 2026-03-26; use lucy-clip or lucy-2.5" };

    /// <summary><c>lucy-pro-t2v</c>: text to video, 25 fps, 1280 × 704.</summary>
    [Obsolete("Retired by Decart on 2026-03-26; use LucyClip (lucy-clip) or Lucy25 (lucy-2.5).")]
    public static VideoModel LucyProT2V { get; } = new("lucy-pro-t2v", 25, 1280, 704, GenerationKind.TextTo) { Deprecation = "retired by Decart on 2026-03-26; use lucy-clip or lucy-2.5" };

    /// <summary><c>lucy-pro-i2v</c>: image to video, 25 fps, 1280 × 704.</summary>
    [Obsolete("Retired by Decart on 2026-03-26; use LucyClip (lucy-clip) or Lucy25 (lucy-2.5).")]
    public static VideoModel LucyProI2V { get; } = new("lucy-pro-i2v", 25, 1280, 704, GenerationKind.ImageTo) { Deprecation = "retired by Decart on 2026-03-26; use lucy-clip or lucy-2.5" };

    /// <summary><c>lucy-motion</c>: animate an image, 25 fps, 1280 × 704.</summary>
    [Obsolete("Retired by Decart on 2026-05-10; use LucyClip (lucy-clip) or Lucy25 (lucy-2.5).")]
    public static VideoModel LucyMotion { get; } = new("lucy-motion", 25, 1280, 704, GenerationKind.Motion) { Deprecation = "retired by Decart on 2026-05-10; use lucy-clip or lucy-2.5" };

    /// <summary>Every video model above.</summary>
    public static IReadOnlyList<VideoModel> All { get; } = [Lucy21, Lucy25, LucyClip, LucyClipLatest, LucyLatest, LucyVton2, LucyVton3, LucyVton35, LucyVtonLatest, Lucy21Vton2, LucyRestyle2, LucyRestyleLatest, LucyProV2V, LucyRestyleV2V, LucyFastV2V, LucyProT2V, LucyProI2V, LucyMotion];
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
