using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using Decart.Simulator.Faults;
using Decart.Simulator.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Decart.Simulator.Control;

/// <summary>
/// The control API under <c>/_sim</c>, for test code in any language: list sessions, drop one, add and remove
/// faults. Answers loopback clients only (403 otherwise), even when the simulator binds a wider address.
/// </summary>
internal static class ControlEndpoints
{
    /// <summary>How faults and sessions are written and read: camelCase, enums in snake case, unknown fields refused.</summary>
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static void Map(IEndpointRouteBuilder app)
    {
        var state = new ControlServices(app.ServiceProvider.GetRequiredService<Realtime.SessionRegistry>(), app.ServiceProvider.GetRequiredService<FaultSet>());
        var group = app.MapGroup("/_sim").AddEndpointFilter(async (context, next) =>
            IsLoopback(context.HttpContext) ? await next(context).ConfigureAwait(false) : Results.Json(new { error = "The control API answers loopback clients only." }, statusCode: 403));
        group.MapGet("/sessions", () => Results.Json(state.Sessions.Select(s => s.Describe()).ToArray(), Json));
        group.MapGet("/sessions/{id}", (string id) => state.Sessions.Find(id) is { } s ? Results.Json(s.Describe(), Json) : NotFound(id));
        group.MapPost("/sessions/{id}/drop", (HttpContext context, string id) => DropAsync(context, state, id));
        group.MapGet("/sessions/{id}/frames", (string id, string? last) => FramesOf(state, id, last));
        group.MapPost("/sessions/{id}/model", (HttpContext context, string id) => SetModelAsync(context, state, id));
        group.MapGet("/health", (string? collect) => Results.Json(Health(state, collect == "true"), Json));
        group.MapGet("/faults", () => Results.Json(state.Faults.All, Json));
        group.MapPost("/faults", (Delegate)((HttpContext context) => AddFaultAsync(context, state, null)));
        group.MapPost("/sessions/{id}/faults", (HttpContext context, string id) => AddFaultAsync(context, state, id));
        group.MapDelete("/faults/{id}", (string id) => state.Faults.Remove(id) ? Results.NoContent() : Results.Json(new { error = $"No fault {id}." }, statusCode: 404));
        group.MapDelete("/faults", () =>
        {
            state.Faults.Clear();
            return Results.NoContent();
        });
    }

    /// <summary>
    /// <c>GET /_sim/health[?collect=true]</c>: the process's own figures — what a soak watches for leaks. With
    /// <c>collect=true</c> a full blocking GC runs first, so <c>managedHeapBytes</c> is what is really alive.
    /// </summary>
    private static object Health(ControlServices state, bool collect)
    {
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        long heap = GC.GetTotalMemory(forceFullCollection: collect);
        var gc = GC.GetGCMemoryInfo();
        return new
        {
            openSessions = state.Sessions.Open.Count,
            listedSessions = state.Sessions.Count,
            managedHeapBytes = heap,
            heapSizeAfterLastGcBytes = gc.HeapSizeBytes,
            fragmentedBytes = gc.FragmentedBytes,
            gen2Collections = GC.CollectionCount(2),
            workingSetBytes = process.WorkingSet64,
            threads = process.Threads.Count,
        };
    }

    /// <summary>Whether the caller is on this machine: 127.0.0.0/8 and ::1, also when a dual-stack socket (<c>--host ::</c>) shows an IPv4 caller as <c>::ffff:127.x.y.z</c>.</summary>
    internal static bool IsLoopback(HttpContext context) => context.Connection.RemoteIpAddress is { } ip && IPAddress.IsLoopback(ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip);

    private static IResult NotFound(string id) => Results.Json(new { error = $"No session {id}." }, statusCode: 404);

    /// <summary><c>GET /_sim/sessions/{id}/frames?last=N</c>: the last N output frames (default 100, at most 1,024), oldest first.</summary>
    private static IResult FramesOf(ControlServices state, string id, string? last)
    {
        if (state.Sessions.Find(id) is not { } session)
        {
            return NotFound(id);
        }

        int count = 100;
        if (last is not null && (!int.TryParse(last, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out count) || count is < 1 or > 1024))
        {
            return Results.Json(new { error = "last must be a number from 1 to 1024." }, statusCode: 400);
        }

        return Results.Json(session.Frames(count), Json);
    }

    /// <summary><c>POST /_sim/sessions/{id}/model</c> with <c>{"mode":"echo"|"transform"}</c>: the session's model mode.</summary>
    private static async Task<IResult> SetModelAsync(HttpContext context, ControlServices state, string id)
    {
        if (state.Sessions.Find(id) is not { } session)
        {
            return NotFound(id);
        }

        ModelRequest? body;
        try
        {
            body = await JsonSerializer.DeserializeAsync<ModelRequest>(context.Request.Body, Json, context.RequestAborted).ConfigureAwait(false);
        }
        catch (JsonException ex)
        {
            return Results.Json(new { error = $"Invalid model request: {ex.Message}" }, statusCode: 400);
        }

        if (body?.Mode is not { } mode)
        {
            return Results.Json(new { error = "Invalid model request: mode is required (echo or transform)." }, statusCode: 400);
        }

        session.SetModelMode(mode);
        return Results.Json(new { session = id, mode }, Json);
    }

    private sealed record ModelRequest(Model.ModelMode? Mode);

    private static async Task<IResult> DropAsync(HttpContext context, ControlServices state, string id)
    {
        var session = state.Sessions.Find(id);
        if (session is null)
        {
            return NotFound(id);
        }

        var mode = DropMode.Both;
        if (context.Request.ContentLength is > 0 || context.Request.Headers.TransferEncoding.Count > 0)
        {
            try
            {
                var body = await JsonSerializer.DeserializeAsync<DropRequest>(context.Request.Body, Json, context.RequestAborted).ConfigureAwait(false);
                mode = body?.Mode ?? DropMode.Both;
            }
            catch (JsonException ex)
            {
                return Results.Json(new { error = $"Invalid drop request: {ex.Message}" }, statusCode: 400);
            }
        }

        await session.DropAsync(mode).ConfigureAwait(false);
        return Results.Json(new { dropped = id, mode }, Json);
    }

    private static async Task<IResult> AddFaultAsync(HttpContext context, ControlServices state, string? sessionId)
    {
        if (sessionId is not null && state.Sessions.Find(sessionId) is null)
        {
            return NotFound(sessionId);
        }

        Fault? fault;
        try
        {
            fault = await JsonSerializer.DeserializeAsync<Fault>(context.Request.Body, Json, context.RequestAborted).ConfigureAwait(false);
        }
        catch (JsonException ex)
        {
            return Results.Json(new { error = $"Invalid fault: {ex.Message}" }, statusCode: 400);
        }

        if (fault is null)
        {
            return Results.Json(new { error = "Invalid fault: empty body" }, statusCode: 400);
        }

        if (sessionId is not null)
        {
            fault = fault with { SessionId = sessionId };
        }

        try
        {
            var stored = state.Faults.Add(fault);
            return Results.Json(stored, Json, statusCode: 201);
        }
        catch (InvalidFaultException ex)
        {
            return Results.Json(new { error = $"Invalid fault: {ex.Message}" }, statusCode: 400);
        }
    }

    private sealed record DropRequest(DropMode? Mode);

    /// <summary>What the control API uses, taken from the container once when it is mapped.</summary>
    private sealed record ControlServices(Realtime.SessionRegistry Sessions, FaultSet Faults);
}
