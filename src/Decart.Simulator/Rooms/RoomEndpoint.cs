using Decart.Rtc.LiveKit;
using Decart.Simulator.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Decart.Simulator.Rooms;

/// <summary>
/// The built-in LiveKit room server's signal endpoints, under the <c>livekit_url</c> handed out in
/// <c>livekit_room_info</c> (<c>ws://host:port/lk</c>): <c>/lk/rtc/v1</c> (signal protocol 17, single peer
/// connection, the publisher offer in <c>join_request</c>) and <c>/lk/rtc/v1/validate</c>, which livekit-client
/// calls when the WebSocket fails, to learn why.
/// </summary>
internal static class RoomEndpoint
{
    public static void Map(IEndpointRouteBuilder app)
    {
        var services = app.ServiceProvider;
        var state = new RoomServices(
            services.GetRequiredService<RoomRegistry>(),
            services.GetRequiredService<Constraints.ModelCatalog>(),
            services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(RoomEndpoint)),
            services.GetRequiredService<ILoggerFactory>().CreateLogger<RoomParticipant>());
        app.MapGet("/lk/rtc/v1/validate", (HttpContext context) =>
        {
            var (room, problem, _) = Check(context, state);
            return room is null ? Results.Text(problem, statusCode: StatusCodes.Status401Unauthorized) : Results.Text("success");
        });
        app.Map("/lk/rtc/v1", (HttpContext context) => HandleAsync(context, state));
        var tokens = services.GetRequiredService<Rest.TokenStore>();
        app.MapPost("/watch-stream/{room}", (HttpContext context, string room) => WatchStream(context, state, tokens, room));
    }

    /// <summary>
    /// <c>POST /watch-stream/{room}</c> (header <c>x-api-key</c>): a viewer's credentials for a live session's room —
    /// <c>{livekit_url, token, room_name, session_id}</c>; the viewer joins receive-only and gets the model's track.
    /// </summary>
    private static IResult WatchStream(HttpContext context, RoomServices state, Rest.TokenStore tokens, string roomName)
    {
        var key = context.Request.Headers["X-API-KEY"].ToString();
        var rejection = string.IsNullOrEmpty(key) ? Rest.KeyRejection.Unknown : tokens.Check(key, null, origin: null, enforceOrigin: false);
        if (rejection != Rest.KeyRejection.None)
        {
            return Results.Json(new Dictionary<string, string> { ["error"] = string.IsNullOrEmpty(key) ? "Missing API key (x-api-key header)." : rejection == Rest.KeyRejection.Expired ? "Invalid API key: the client token has expired." : "Invalid API key." }, statusCode: StatusCodes.Status401Unauthorized);
        }

        var room = state.Rooms.FindByName(roomName);
        if (room is null || room.Session.State == Realtime.SessionPhase.Ended)
        {
            string shown = roomName.Length > 64 ? roomName[..64] + "…" : roomName;
            return Results.Json(new Dictionary<string, string> { ["error"] = $"Room {shown} not found (a room lives as long as its session)." }, statusCode: StatusCodes.Status404NotFound);
        }

        if (state.Rooms.GrantViewer(room) is not { } grant)
        {
            return Results.Json(new Dictionary<string, string> { ["error"] = "Too many viewers for this room." }, statusCode: StatusCodes.Status429TooManyRequests);
        }

        state.Logger.LogInformation("session {Session}: viewer {Viewer} granted", room.Session.Id, grant.Identity);
        return Results.Json(new Dictionary<string, string>
        {
            ["livekit_url"] = $"ws://{context.Request.Host.Value}/lk",
            ["token"] = grant.Token,
            ["room_name"] = room.Name,
            ["session_id"] = room.Session.Id,
        });
    }

    private static (Room? Room, string Problem, ViewerGrant? Viewer) Check(HttpContext context, RoomServices state)
    {
        // livekit-client puts the token in the query; LiveKit's Rust SDK (@livekit/rtc-node, the Python SDK) sends it
        // as "Authorization: Bearer …".
        string? token = context.Request.Query["access_token"];
        if (string.IsNullOrEmpty(token) && context.Request.Headers.Authorization.ToString() is { } authorization
            && authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            token = authorization["Bearer ".Length..].Trim();
        }

        var viewer = state.Rooms.FindViewer(token);
        var room = viewer?.Room ?? state.Rooms.FindByToken(token);
        if (room is null)
        {
            return (null, "invalid token: no such room (the token of livekit_room_info or /watch-stream is valid while its session lives)", null);
        }

        if (viewer is null && room.Publisher is not null)
        {
            return (null, "participant already joined this room", null);
        }

        var error = LiveKitSignal.TryDecodeJoinRequest(context.Request.Query["join_request"], out _);
        return error == LiveKitSignalError.None ? (room, string.Empty, viewer) : (null, $"invalid join_request: {error}", null);
    }

    private static async Task HandleAsync(HttpContext context, RoomServices state)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsync("Expected a WebSocket upgrade.", context.RequestAborted).ConfigureAwait(false);
            return;
        }

        var (room, problem, viewer) = Check(context, state);
        if (room is null || (viewer is not null && !state.Rooms.SpendViewer(viewer)))
        {
            state.Logger.LogInformation("room join refused: {Reason}", problem);
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            await context.Response.WriteAsync(room is null ? problem : "viewer token already used", context.RequestAborted).ConfigureAwait(false);
            return;
        }

        LiveKitSignal.TryDecodeJoinRequest(context.Request.Query["join_request"], out var join);
        using var ws = await context.WebSockets.AcceptWebSocketAsync().ConfigureAwait(false);
        var participant = new RoomParticipant(state.Models, state.ParticipantLogger, room, ws, join!, viewer);
        if (viewer is not null)
        {
            room.AddViewer(participant);
        }
        else if (!room.TryJoin(participant))
        {
            await ws.CloseOutputAsync(System.Net.WebSockets.WebSocketCloseStatus.PolicyViolation, "participant already joined", context.RequestAborted).ConfigureAwait(false);
            return;
        }

        await participant.RunAsync(context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>What the room front uses, taken from the container once when it is mapped.</summary>
    private sealed record RoomServices(RoomRegistry Rooms, Constraints.ModelCatalog Models, ILogger Logger, ILogger ParticipantLogger);
}
