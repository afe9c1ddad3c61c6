using System.Globalization;
using Decart.Simulator.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Decart.Simulator.Rest;

/// <summary>
/// The Files API as Decart's JS SDK 0.1.x calls it (<c>client.files</c>): <c>POST /v1/files</c> (multipart <c>file</c>,
/// optional <c>ttl_seconds</c> 60–2,592,000 or <c>persistent</c>; 24 h when absent), <c>GET /v1/files/{id}</c>,
/// <c>DELETE /v1/files/{id}</c>. Files are PNG, JPEG or WebP images up to the simulator's image limit; a session uses
/// one with <c>set_image</c>'s <c>image_ref</c>.
/// </summary>
internal static class FileEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        var services = app.ServiceProvider;
        var options = services.GetRequiredService<SimulatorOptions>();
        var tokens = services.GetRequiredService<TokenStore>();
        var files = services.GetRequiredService<FileStore>();
        app.MapPost("/v1/files", (Delegate)((HttpContext context) => UploadAsync(context, options, tokens, files)));
        app.MapGet("/v1/files/{id}", (HttpContext context, string id) => Get(context, tokens, files, id));
        app.MapDelete("/v1/files/{id}", (HttpContext context, string id) => Delete(context, tokens, files, id));
    }

    private static IResult Error(int status, string message, string? field = null) =>
        Results.Json(field is null ? new Dictionary<string, string> { ["error"] = message } : new Dictionary<string, string> { ["error"] = message, ["field"] = field }, statusCode: status);

    /// <summary>A permanent key or a live client token may use files (a browser uploads with its client token).</summary>
    private static IResult? Authorize(HttpContext context, TokenStore tokens)
    {
        var key = context.Request.Headers["X-API-KEY"].ToString();
        if (string.IsNullOrEmpty(key))
        {
            return Error(StatusCodes.Status401Unauthorized, "Missing API key (X-API-KEY header).");
        }

        return tokens.Check(key, null, origin: null, enforceOrigin: false) switch
        {
            KeyRejection.None => null,
            KeyRejection.Expired => Error(StatusCodes.Status401Unauthorized, "Invalid API key: the client token has expired."),
            _ => Error(StatusCodes.Status401Unauthorized, "Invalid API key."),
        };
    }

    private static async Task<IResult> UploadAsync(HttpContext context, SimulatorOptions options, TokenStore tokens, FileStore files)
    {
        if (Authorize(context, tokens) is { } denied)
        {
            return denied;
        }

        if (!context.Request.HasFormContentType)
        {
            return Error(400, "Expected a multipart/form-data body with a 'file' part.", "file");
        }

        IFormCollection form;
        try
        {
            form = await context.Request.ReadFormAsync(context.RequestAborted);
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or BadHttpRequestException)
        {
            return ex is BadHttpRequestException { StatusCode: 413 }
                ? Error(413, $"File too large (limit {options.MaxImageBytes} bytes).", "file")
                : Error(400, "Malformed multipart body.", "file");
        }

        TimeSpan? ttl = FileStore.DefaultTtl;
        if (form.TryGetValue("ttl_seconds", out var ttlText))
        {
            if (ttlText.ToString() == "persistent")
            {
                ttl = null;
            }
            else if (long.TryParse(ttlText, NumberStyles.None, CultureInfo.InvariantCulture, out long seconds)
                && seconds >= FileStore.MinTtl.TotalSeconds && seconds <= FileStore.MaxTtl.TotalSeconds)
            {
                ttl = TimeSpan.FromSeconds(seconds);
            }
            else
            {
                return Error(400, $"ttl_seconds must be an integer in [{FileStore.MinTtl.TotalSeconds:0}, {FileStore.MaxTtl.TotalSeconds:0}] or \"persistent\".", "ttl_seconds");
            }
        }

        var file = form.Files["file"];
        if (file is null)
        {
            return Error(400, "file is required.", "file");
        }

        if (file.Length == 0)
        {
            return Error(400, "file is empty.", "file");
        }

        if (file.Length > options.MaxImageBytes)
        {
            return Error(413, $"File too large ({file.Length} bytes; limit {options.MaxImageBytes}).", "file");
        }

        var bytes = new byte[file.Length];
        await using (var stream = file.OpenReadStream())
        {
            await stream.ReadExactlyAsync(bytes, context.RequestAborted);
        }

        if (ImageFormat.Sniff(bytes) is not { } mime)
        {
            return Error(415, "Unsupported file type: expected a PNG, JPEG or WebP image.", "file");
        }

        string? name = string.IsNullOrWhiteSpace(file.FileName) || file.FileName == "blob" ? null : Path.GetFileName(file.FileName);
        return Results.Json(Describe(files.Add(bytes, name, mime, ttl)));
    }

    private static IResult Get(HttpContext context, TokenStore tokens, FileStore files, string id)
    {
        if (Authorize(context, tokens) is { } denied)
        {
            return denied;
        }

        return files.Find(id, out var file) switch
        {
            FileLookup.Found => Results.Json(Describe(file!)),
            FileLookup.Expired => Error(StatusCodes.Status410Gone, $"File {id} has expired."),
            _ => Error(StatusCodes.Status404NotFound, $"File {Shorten(id)} not found."),
        };
    }

    private static IResult Delete(HttpContext context, TokenStore tokens, FileStore files, string id)
    {
        if (Authorize(context, tokens) is { } denied)
        {
            return denied;
        }

        return files.Delete(id) ? Results.NoContent() : Error(StatusCodes.Status404NotFound, $"File {Shorten(id)} not found.");
    }

    /// <summary>An id from the URL echoed in an error: cut, so a 4 KB path does not come back as a 4 KB message.</summary>
    private static string Shorten(string id) => id.Length > 64 ? id[..64] + "…" : id;

    /// <summary>The JSON Decart's JS SDK reads as a <c>FileReference</c>.</summary>
    private static Dictionary<string, object?> Describe(SimulatedFile file) => new()
    {
        ["id"] = file.Id,
        ["filename"] = file.FileName,
        ["mime_type"] = file.MimeType,
        ["size_bytes"] = file.SizeBytes,
        ["created_at"] = file.CreatedAt.ToString("O", CultureInfo.InvariantCulture),
        ["expires_at"] = file.ExpiresAt?.ToString("O", CultureInfo.InvariantCulture),
    };
}
