using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Decart.Simulator.Constraints;
using Decart.Simulator.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Decart.Simulator.Rest;

/// <summary>The REST half of the simulator: client tokens, synchronous generation and queued jobs, as PROTOCOL.md describes them.</summary>
internal static class RestEndpoints
{
    private const int MaxPromptLength = 1000;

    public static void Map(IEndpointRouteBuilder app)
    {
        var services = app.ServiceProvider;
        var state = new RestServices(
            services.GetRequiredService<SimulatorOptions>(),
            services.GetRequiredService<TokenStore>(),
            services.GetRequiredService<JobStore>(),
            services.GetRequiredService<Constraints.ModelCatalog>(),
            services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(RestEndpoints)));
        app.MapPost("/v1/client/tokens", (Delegate)((HttpContext context) => CreateTokenAsync(context, state)));
        app.MapPost("/v1/generate/{model}", (HttpContext context, string model) => GenerateAsync(context, state, model));
        app.MapPost("/v1/jobs/{model}", (HttpContext context, string model) => SubmitJobAsync(context, state, model));
        app.MapGet("/v1/jobs/{jobId}", (HttpContext context, string jobId) => JobStatus(context, state, jobId));
        app.MapGet("/v1/jobs/{jobId}/content", (HttpContext context, string jobId) => JobContent(context, state, jobId));
    }

    private static IResult Error(int status, string message, string? field = null) =>
        Results.Json(field is null ? new Dictionary<string, string> { ["error"] = message } : new Dictionary<string, string> { ["error"] = message, ["field"] = field }, statusCode: status);

    /// <summary>Checks <c>X-API-KEY</c>; returns an error result or null when accepted.</summary>
    private static IResult? Authorize(HttpContext context, RestServices state, string? model, bool permanentOnly)
    {
        var key = context.Request.Headers["X-API-KEY"].ToString();
        if (string.IsNullOrEmpty(key))
        {
            return Error(StatusCodes.Status401Unauthorized, "Missing API key (X-API-KEY header).");
        }

        if (permanentOnly)
        {
            return state.Tokens.IsPermanentKey(key) ? null : Error(StatusCodes.Status401Unauthorized, "Invalid API key: client tokens cannot create client tokens.");
        }

        return state.Tokens.Check(key, model, origin: null, enforceOrigin: false) switch
        {
            KeyRejection.None => null,
            KeyRejection.Expired => Error(StatusCodes.Status401Unauthorized, "Invalid API key: the client token has expired."),
            KeyRejection.ModelNotAllowed => Error(StatusCodes.Status403Forbidden, $"Permission denied: the client token is not allowed to use {model}."),
            _ => Error(StatusCodes.Status401Unauthorized, "Invalid API key."),
        };
    }

    private static async Task<IResult> CreateTokenAsync(HttpContext context, RestServices state)
    {
        if (Authorize(context, state, null, permanentOnly: true) is { } denied)
        {
            return denied;
        }

        int expiresIn = 60;
        List<string>? models = null, origins = null;
        int? maxSession = null;
        bool hasMetadata = false;
        if (context.Request.ContentLength is > 0 || context.Request.Headers.TransferEncoding.Count > 0)
        {
            JsonDocument body;
            try
            {
                body = await JsonDocument.ParseAsync(context.Request.Body, default, context.RequestAborted);
            }
            catch (JsonException)
            {
                return Error(400, "Request body is not valid JSON.");
            }

            using (body)
            {
                var root = body.RootElement;
                if (root.ValueKind != JsonValueKind.Object)
                {
                    return Error(400, "Request body must be a JSON object.");
                }

                if (root.TryGetProperty("expiresIn", out var e))
                {
                    if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt32(out expiresIn) || expiresIn is < 1 or > 3600)
                    {
                        return Error(400, "expiresIn must be an integer from 1 to 3600.", "expiresIn");
                    }
                }

                if (root.TryGetProperty("metadata", out var meta))
                {
                    if (meta.ValueKind != JsonValueKind.Object)
                    {
                        return Error(400, "metadata must be an object.", "metadata");
                    }

                    hasMetadata = true;
                }

                if (!TryStringList(root, "allowedModels", out models, out var modelsError))
                {
                    return Error(400, modelsError!, "allowedModels");
                }

                if (!TryStringList(root, "allowedOrigins", out origins, out var originsError))
                {
                    return Error(400, originsError!, "allowedOrigins");
                }

                foreach (var origin in origins ?? [])
                {
                    if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || !string.Equals(uri.GetLeftPart(UriPartial.Authority), origin, StringComparison.OrdinalIgnoreCase))
                    {
                        return Error(400, $"'{origin}' is not a full origin (scheme://host[:port]).", "allowedOrigins");
                    }
                }

                if (root.TryGetProperty("constraints", out var constraints) && constraints.ValueKind == JsonValueKind.Object
                    && constraints.TryGetProperty("realtime", out var rt) && rt.ValueKind == JsonValueKind.Object
                    && rt.TryGetProperty("maxSessionDuration", out var max))
                {
                    if (max.ValueKind != JsonValueKind.Number || !max.TryGetInt32(out int m) || m < 1)
                    {
                        return Error(400, "maxSessionDuration must be a positive integer.", "constraints.realtime.maxSessionDuration");
                    }

                    maxSession = m;
                }
            }
        }

        var token = state.Tokens.Issue(TimeSpan.FromSeconds(expiresIn), models, origins, maxSession is { } s ? TimeSpan.FromSeconds(s) : null);
        state.Logger.LogInformation("Issued a client token expiring at {ExpiresAt} (metadata: {HasMetadata}).", token.ExpiresAt, hasMetadata);
        var response = new Dictionary<string, object?>
        {
            ["apiKey"] = token.Key,
            ["expiresAt"] = token.ExpiresAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture),
        };
        if (models is not null || origins is not null)
        {
            response["permissions"] = new Dictionary<string, object?> { ["models"] = models, ["origins"] = origins };
        }

        if (maxSession is not null)
        {
            response["constraints"] = new Dictionary<string, object?> { ["realtime"] = new Dictionary<string, object?> { ["maxSessionDuration"] = maxSession } };
        }

        return Results.Json(response);
    }

    private static bool TryStringList(JsonElement root, string name, out List<string>? list, out string? error)
    {
        list = null;
        error = null;
        if (!root.TryGetProperty(name, out var value))
        {
            return true;
        }

        if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() > 20 || value.EnumerateArray().Any(v => v.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(v.GetString())))
        {
            error = $"{name} must be an array of at most 20 non-empty strings.";
            return false;
        }

        list = value.EnumerateArray().Select(v => v.GetString()!).ToList();
        return true;
    }

    private static async Task<IResult> GenerateAsync(HttpContext context, RestServices state, string modelName)
    {
        var (model, inputs, problem) = await AcceptGenerationAsync(context, state, modelName, state.Models.Find(ModelKind.Image, modelName));
        if (problem is not null)
        {
            return problem;
        }

        var png = PngImage.Gradient(model!.Width, model.Height, inputs!.Fingerprint);
        return Results.Bytes(png, "image/png");
    }

    private static async Task<IResult> SubmitJobAsync(HttpContext context, RestServices state, string modelName)
    {
        var (model, inputs, problem) = await AcceptGenerationAsync(context, state, modelName, state.Models.Find(ModelKind.Video, modelName) ?? state.Models.Find(ModelKind.Image, modelName));
        if (problem is not null)
        {
            return problem;
        }

        bool fails = state.Options.FailJobsForModels.Contains(model!.Name, StringComparer.Ordinal);
        var job = state.Jobs.Submit(model.Name, fails, ResultBytes(model, inputs!.Fingerprint));
        return Results.Json(new Dictionary<string, string> { ["job_id"] = job.Id, ["status"] = state.Jobs.StatusOf(job) });
    }

    /// <summary>The checks every generation request goes through, in order: key, model, inputs.</summary>
    private static async Task<(SimulatedModel? Model, Inputs? Inputs, IResult? Problem)> AcceptGenerationAsync(HttpContext context, RestServices state, string modelName, SimulatedModel? model)
    {
        if (Authorize(context, state, modelName, permanentOnly: false) is { } denied)
        {
            return (null, null, denied);
        }

        if (model is null)
        {
            return (null, null, Error(404, $"Model {modelName} not found"));
        }

        var (inputs, problem) = await ReadInputsAsync(context, model);
        return (model, inputs, problem);
    }

    private static IResult JobStatus(HttpContext context, RestServices state, string jobId)
    {
        if (Authorize(context, state, null, permanentOnly: false) is { } denied)
        {
            return denied;
        }

        var job = state.Jobs.Find(jobId);
        return job is null
            ? Error(404, $"Job {jobId} not found")
            : Results.Json(new Dictionary<string, string> { ["job_id"] = job.Id, ["status"] = state.Jobs.StatusOf(job) });
    }

    private static IResult JobContent(HttpContext context, RestServices state, string jobId)
    {
        if (Authorize(context, state, null, permanentOnly: false) is { } denied)
        {
            return denied;
        }

        var job = state.Jobs.Find(jobId);
        if (job is null)
        {
            return Error(404, $"Job {jobId} not found");
        }

        var status = state.Jobs.StatusOf(job);
        return status switch
        {
            "completed" => Results.Bytes(job.Result, "video/mp4"),
            "failed" => Error(409, $"Job {jobId} failed; it has no content."),
            _ => Error(409, $"Job {jobId} is {status}, not completed."),
        };
    }

    /// <summary>Deterministic "video" bytes: an ftyp-like header followed by bytes derived from the inputs.</summary>
    private static byte[] ResultBytes(SimulatedModel model, byte[] fingerprint)
    {
        var header = Encoding.ASCII.GetBytes($"\0\0\0\u0018ftypisom\0\0\u0002\0isomiso2decart-sim:{model.Name}:");
        var body = new byte[4096];
        for (int i = 0; i < body.Length; i += 32)
        {
            SHA256.HashData([.. fingerprint, (byte)(i >> 8), (byte)i]).CopyTo(body.AsSpan(i));
        }

        return [.. header, .. body];
    }

    private sealed record Inputs(byte[] Fingerprint);

    private static async Task<(Inputs? Inputs, IResult? Problem)> ReadInputsAsync(HttpContext context, SimulatedModel model)
    {
        if (!context.Request.HasFormContentType)
        {
            return (null, Error(400, "Request must be multipart/form-data.", "body"));
        }

        IFormCollection form;
        try
        {
            form = await context.Request.ReadFormAsync(context.RequestAborted);
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or BadHttpRequestException)
        {
            return (null, Error(ex is BadHttpRequestException { StatusCode: 413 } ? 413 : 400, "Malformed or oversized multipart body.", "body"));
        }

        string? prompt = form.TryGetValue("prompt", out var p) ? p.ToString() : null;
        var data = form.Files["data"];
        var reference = form.Files["reference_image"];
        var start = form.Files["start"];
        bool hasEnhance = form.ContainsKey("enhance_prompt");

        if (prompt is { Length: > MaxPromptLength })
        {
            return (null, Error(400, $"prompt must be at most {MaxPromptLength} characters.", "prompt"));
        }

        if (form.TryGetValue("seed", out var seed) && !long.TryParse(seed, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out _))
        {
            return (null, Error(400, "seed must be an integer.", "seed"));
        }

        if (form.TryGetValue("resolution", out var resolution) && resolution != "720p" && !(resolution == "480p" && model.Kind == ModelKind.Image))
        {
            return (null, Error(400, $"resolution '{resolution}' is not supported by {model.Name}.", "resolution"));
        }

        if (hasEnhance && form["enhance_prompt"] != "true" && form["enhance_prompt"] != "false")
        {
            return (null, Error(400, "enhance_prompt must be true or false.", "enhance_prompt"));
        }

        IResult? Missing(string field) => Error(400, $"{field} is required for {model.Name}.", field);
        bool hasPrompt = !string.IsNullOrWhiteSpace(prompt);
        IResult? problem = model.Inputs switch
        {
            InputRule.PromptAndData when !hasPrompt => Missing("prompt"),
            InputRule.PromptAndData when data is null => Missing("data"),
            InputRule.DataOptionalPrompt when data is null => Missing("data"),
            InputRule.Restyle when data is null => Missing("data"),
            InputRule.Restyle when (prompt is not null) == (reference is not null) => Error(400, "Provide exactly one of prompt or reference_image.", "prompt"),
            InputRule.Restyle when reference is not null && hasEnhance => Error(400, "enhance_prompt is only valid with prompt.", "enhance_prompt"),
            InputRule.Restyle when prompt is not null && !hasPrompt => Missing("prompt"),
            InputRule.PromptOnly when !hasPrompt => Missing("prompt"),
            InputRule.PromptAndImage when !hasPrompt => Missing("prompt"),
            InputRule.PromptAndImage when data is null && start is null => Missing("data"),
            InputRule.DataOnly when data is null => Missing("data"),
            _ => null,
        };
        if (problem is not null)
        {
            return (null, problem);
        }

        foreach (var file in form.Files)
        {
            if (file.Length == 0)
            {
                return (null, Error(400, $"{file.Name} is empty.", file.Name));
            }
        }

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes($"{model.Name}|{prompt}|{form["seed"]}|{form["resolution"]}|{form["enhance_prompt"]}"));
        foreach (var file in form.Files.OrderBy(f => f.Name, StringComparer.Ordinal))
        {
            await using var stream = file.OpenReadStream();
            var buffer = new byte[file.Length];
            await stream.ReadExactlyAsync(buffer, context.RequestAborted);
            hash.AppendData(Encoding.UTF8.GetBytes(file.Name));
            hash.AppendData(buffer);
        }

        return (new Inputs(hash.GetHashAndReset()), null);
    }

    /// <summary>What the REST endpoints use, taken from the container once when they are mapped.</summary>
    private sealed record RestServices(SimulatorOptions Options, TokenStore Tokens, JobStore Jobs, Constraints.ModelCatalog Models, ILogger Logger);
}
