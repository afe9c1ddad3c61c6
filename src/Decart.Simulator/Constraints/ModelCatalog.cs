using System.Collections.Frozen;

namespace Decart.Simulator.Constraints;

/// <summary>What kind of endpoint serves a model.</summary>
public enum ModelKind
{
    /// <summary>Streaming over <c>/v1/stream</c>.</summary>
    Realtime,

    /// <summary>Images: <c>/v1/generate/{name}</c> and <c>/v1/jobs/{name}</c>.</summary>
    Image,

    /// <summary>Videos: <c>/v1/jobs/{name}</c>.</summary>
    Video,
}

/// <summary>Which inputs a batch model requires (the server's own reading of the protocol).</summary>
public enum InputRule
{
    /// <summary>No batch inputs (realtime).</summary>
    None,

    /// <summary><c>prompt</c> (1–1000) and <c>data</c>.</summary>
    PromptAndData,

    /// <summary><c>data</c>; <c>prompt</c> optional (may be empty).</summary>
    DataOptionalPrompt,

    /// <summary><c>data</c> and exactly one of <c>prompt</c>/<c>reference_image</c>; <c>enhance_prompt</c> only with <c>prompt</c>.</summary>
    Restyle,

    /// <summary><c>prompt</c> only.</summary>
    PromptOnly,

    /// <summary><c>prompt</c> and a start image (<c>data</c> or <c>start</c>).</summary>
    PromptAndImage,

    /// <summary><c>data</c> (image); <c>prompt</c> optional.</summary>
    DataOnly,
}

/// <summary>A model the simulator serves.</summary>
/// <param name="Name">Model name.</param>
/// <param name="Kind">Endpoint kind.</param>
/// <param name="Fps">Ideal fps.</param>
/// <param name="MaxFps">Highest fps accepted on a realtime session.</param>
/// <param name="Width">Expected/produced width.</param>
/// <param name="Height">Expected/produced height.</param>
/// <param name="Inputs">Batch input rule.</param>
public sealed record SimulatedModel(string Name, ModelKind Kind, int Fps, int MaxFps, int Width, int Height, InputRule Inputs);

/// <summary>The simulator's own table of Decart models (written from the protocol, not shared with the SDK).</summary>
public sealed class ModelCatalog
{
    private readonly FrozenDictionary<(ModelKind, string), SimulatedModel> _models;

    /// <summary>Creates a catalog of the default models plus <paramref name="overrides"/> (which replace same-named ones).</summary>
    /// <param name="overrides">Extra or changed models.</param>
    public ModelCatalog(IEnumerable<SimulatedModel>? overrides = null)
    {
        var all = new Dictionary<(ModelKind, string), SimulatedModel>();
        foreach (var m in Defaults.Concat(overrides ?? []))
        {
            all[(m.Kind, m.Name)] = m;
        }

        _models = all.ToFrozenDictionary();
    }

    /// <summary>Decart's models as of JS SDK 0.1.20 (its realtime, image and video tables), plus the retired names older clients (JS SDK 0.0.46) use, still served for their tests.</summary>
    public static IReadOnlyList<SimulatedModel> Defaults { get; } =
    [
        Rt("lucy-2.1", 30, 1088, 624), Rt("lucy-2.5", 30, 1280, 720), Rt("lucy-vton-2", 30, 1088, 624), Rt("lucy-vton-3", 30, 1088, 624),
        Rt("lucy-2.1-vton-2", 30, 1088, 624), Rt("lucy-restyle-2", 30, 1280, 704), Rt("lucy-latest", 30, 1088, 624),
        Rt("lucy-vton-3.5", 30, 1280, 720), Rt("lucy-vton-latest", 30, 1280, 720), Rt("lucy-restyle-latest", 30, 1280, 704),
        Rt("mirage", 25, 1280, 704), Rt("mirage_v2", 22, 1280, 704), Rt("lucy_v2v_720p_rt", 25, 1280, 704),
        Rt("lucy_2_rt", 20, 1280, 720), Rt("live_avatar", 25, 1280, 720),
        new("lucy-image-2", ModelKind.Image, 0, 0, 1280, 704, InputRule.PromptAndData),
        new("lucy-image-latest", ModelKind.Image, 0, 0, 1280, 704, InputRule.PromptAndData),
        new("lucy-pro-i2i", ModelKind.Image, 0, 0, 1280, 704, InputRule.PromptAndData),
        new("lucy-pro-t2i", ModelKind.Image, 0, 0, 1280, 704, InputRule.PromptOnly),
        new("lucy-2.1", ModelKind.Video, 20, 20, 1088, 624, InputRule.DataOptionalPrompt),
        new("lucy-2.5", ModelKind.Video, 20, 20, 1280, 720, InputRule.DataOptionalPrompt),
        new("lucy-clip", ModelKind.Video, 25, 25, 1280, 704, InputRule.PromptAndData),
        new("lucy-clip-latest", ModelKind.Video, 25, 25, 1280, 704, InputRule.PromptAndData),
        new("lucy-latest", ModelKind.Video, 20, 20, 1088, 624, InputRule.DataOptionalPrompt),
        new("lucy-vton-2", ModelKind.Video, 20, 20, 1088, 624, InputRule.DataOptionalPrompt),
        new("lucy-vton-3", ModelKind.Video, 20, 20, 1088, 624, InputRule.DataOptionalPrompt),
        new("lucy-vton-3.5", ModelKind.Video, 20, 20, 1280, 720, InputRule.DataOptionalPrompt),
        new("lucy-vton-latest", ModelKind.Video, 20, 20, 1280, 720, InputRule.DataOptionalPrompt),
        new("lucy-2.1-vton-2", ModelKind.Video, 20, 20, 1088, 624, InputRule.DataOptionalPrompt),
        new("lucy-restyle-2", ModelKind.Video, 22, 22, 1280, 704, InputRule.Restyle),
        new("lucy-restyle-latest", ModelKind.Video, 22, 22, 1280, 704, InputRule.Restyle),
        new("lucy-pro-v2v", ModelKind.Video, 25, 25, 1280, 704, InputRule.PromptAndData),
        new("lucy-restyle-v2v", ModelKind.Video, 22, 22, 1280, 704, InputRule.Restyle),
        new("lucy-fast-v2v", ModelKind.Video, 25, 25, 1280, 720, InputRule.PromptAndData),
        new("lucy-pro-t2v", ModelKind.Video, 25, 25, 1280, 704, InputRule.PromptOnly),
        new("lucy-pro-i2v", ModelKind.Video, 25, 25, 1280, 704, InputRule.PromptAndImage),
        new("lucy-motion", ModelKind.Video, 25, 25, 1280, 704, InputRule.DataOnly),
    ];

    /// <summary>Finds a model of a kind.</summary>
    /// <param name="kind">The endpoint kind.</param>
    /// <param name="name">The name.</param>
    /// <returns>The model or null.</returns>
    public SimulatedModel? Find(ModelKind kind, string? name) =>
        name is not null && _models.TryGetValue((kind, name), out var model) ? model : null;

    private static SimulatedModel Rt(string name, int fps, int width, int height) => new(name, ModelKind.Realtime, fps, fps, width, height, InputRule.None);
}
