using System.Globalization;
using System.Net.Http.Headers;
using Decart.Sdk.Models;

namespace Decart.Sdk.Http;

/// <summary>Synchronous generation with image models: <c>POST /v1/generate/{model}</c>.</summary>
public sealed class ProcessClient
{
    private readonly DecartHttp _http;

    internal ProcessClient(DecartHttp http) => _http = http;

    /// <summary>Generates an image and waits for it.</summary>
    /// <param name="model">An image model, e.g. <see cref="ImageModels.LucyProI2I"/>.</param>
    /// <param name="input">The inputs; validated against the model before the request.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The image.</returns>
    /// <exception cref="DecartException"><see cref="DecartErrorCode.InvalidInput"/> for bad inputs, <see cref="DecartErrorCode.InvalidApiKey"/>,
    /// <see cref="DecartErrorCode.ModelNotFound"/>, or <see cref="DecartErrorCode.ProcessingError"/> for anything else.</exception>
    public async Task<ProcessResult> GenerateAsync(ImageModel model, GenerationInput input, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        InputValidator.Validate(model, input);
        _http.WarnIfDeprecated(model);
        var (body, type) = await _http.SendForBytesAsync(
            () => new HttpRequestMessage(HttpMethod.Post, _http.Url(model.UrlPath)) { Content = Multipart.Build(input) },
            DecartErrorCode.ProcessingError,
            $"generate with {model.Name}",
            cancellationToken).ConfigureAwait(false);
        return new ProcessResult(body, type);
    }
}

/// <summary>Builds the multipart form of a generation request.</summary>
internal static class Multipart
{
    public static MultipartFormDataContent Build(GenerationInput input)
    {
        var form = new MultipartFormDataContent();
        if (input.Prompt is not null)
        {
            form.Add(new StringContent(input.Prompt), "prompt");
        }

        if (input.Seed is { } seed)
        {
            form.Add(new StringContent(seed.ToString(CultureInfo.InvariantCulture)), "seed");
        }

        if (input.Resolution is not null)
        {
            form.Add(new StringContent(input.Resolution), "resolution");
        }

        if (input.EnhancePrompt is { } enhance)
        {
            form.Add(new StringContent(enhance ? "true" : "false"), "enhance_prompt");
        }

        AddFile(form, input.Data, "data");
        AddFile(form, input.ReferenceImage, "reference_image");
        AddFile(form, input.Start, "start");
        AddFile(form, input.End, "end");
        return form;
    }

    private static void AddFile(MultipartFormDataContent form, FileInput? file, string name)
    {
        if (file is null)
        {
            return;
        }

        var content = new ReadOnlyMemoryContent(file.Content);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(file.ContentType);
        form.Add(content, name, file.FileName);
    }
}
