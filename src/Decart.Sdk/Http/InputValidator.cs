using Decart.Sdk.Models;

namespace Decart.Sdk.Http;

/// <summary>Checks a <see cref="GenerationInput"/> against a model's rules before anything is sent.</summary>
internal static class InputValidator
{
    /// <summary>Longest prompt the service accepts.</summary>
    public const int MaxPromptLength = 1000;

    /// <summary>Throws when <paramref name="input"/> does not fit <paramref name="model"/>.</summary>
    /// <param name="model">The model.</param>
    /// <param name="input">The inputs.</param>
    /// <exception cref="DecartException"><see cref="DecartErrorCode.InvalidInput"/>; the message starts with the field's wire name.</exception>
    public static void Validate(ModelDefinition model, GenerationInput input)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(input);
        var kind = model switch
        {
            ImageModel image => image.Kind,
            VideoModel video => video.Kind,
            _ => throw new DecartException(DecartErrorCode.InvalidInput, $"model: '{model.Name}' is a realtime model; batch generation needs an image or video model."),
        };

        if (input.Prompt is { Length: > MaxPromptLength })
        {
            throw Invalid("prompt", $"must be at most {MaxPromptLength} characters (got {input.Prompt.Length}).");
        }

        if (input.Resolution is not null && input.Resolution != "720p" && !(input.Resolution == "480p" && model is ImageModel))
        {
            throw Invalid("resolution", $"must be {(model is ImageModel ? "'720p' or '480p'" : "'720p'")} (got '{input.Resolution}').");
        }

        if (input.Seed is < 0 or > uint.MaxValue)
        {
            throw Invalid("seed", $"must be between 0 and {uint.MaxValue}.");
        }

        switch (kind)
        {
            case GenerationKind.Edit:
                RequirePrompt(input);
                Require(input.Data, "data");
                break;
            case GenerationKind.EditOptionalPrompt:
                Require(input.Data, "data");
                break;
            case GenerationKind.Restyle:
                Require(input.Data, "data");
                bool hasPrompt = input.Prompt is not null;
                bool hasReference = input.ReferenceImage is not null;
                if (hasPrompt == hasReference)
                {
                    throw Invalid("prompt", "exactly one of 'prompt' or 'reference_image' must be given for this model.");
                }

                if (hasPrompt)
                {
                    RequirePrompt(input);
                }

                if (hasReference && input.EnhancePrompt is not null)
                {
                    throw Invalid("enhance_prompt", "is only valid with 'prompt', not with 'reference_image'.");
                }

                break;
            case GenerationKind.TextTo:
                RequirePrompt(input);
                if (input.Data is not null)
                {
                    throw Invalid("data", "is not accepted by a text-to-media model.");
                }

                break;
            case GenerationKind.ImageTo:
                RequirePrompt(input);
                Require(input.Data ?? input.Start, "data");
                break;
            case GenerationKind.Motion:
                Require(input.Data, "data");
                break;
        }

        foreach (var (file, field) in new[] { (input.Data, "data"), (input.ReferenceImage, "reference_image"), (input.Start, "start"), (input.End, "end") })
        {
            if (file is { Content.Length: 0 })
            {
                throw Invalid(field, "is empty.");
            }
        }
    }

    private static void RequirePrompt(GenerationInput input)
    {
        if (string.IsNullOrWhiteSpace(input.Prompt))
        {
            throw Invalid("prompt", $"is required (1–{MaxPromptLength} characters).");
        }
    }

    private static void Require(FileInput? file, string field)
    {
        if (file is null)
        {
            throw Invalid(field, "is required for this model.");
        }
    }

    private static DecartException Invalid(string field, string problem) => new(DecartErrorCode.InvalidInput, $"{field}: {problem}");
}
