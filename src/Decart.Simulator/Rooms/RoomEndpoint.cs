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
/// calls when the WebSocket fails, to learn why; and the older two-connection path <c>/lk/rtc</c> (plain query
/// parameters, the server offers the subscriber connection) with <c>/lk/rtc/validate</c>, which clients fall back to
/// when <c>/rtc/v1/validate</c> answers 404 (<see cref="SimulatorOptions.RoomSingleConnection"/> off).
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
            services.GetRequiredService<ILoggerFactory>().CreateLogger<RoomParticipant>(),
            services.GetRequiredService<SimulatorOptions>());
        app.MapGet("/lk/rtc/v1/validate", (HttpContext context) =>
        {
            if (!state.Options.RoomSingleConnection)
            {
                return Results.Text("404 page not found", statusCode: StatusCodes.Status404NotFound);
            }

            var (room, problem, _) = Check(context, state, twoConnections: false);
            return room is null ? Results.Text(problem, statusCode: StatusCodes.Status401Unauthorized) : Results.Text("success");
        });
        app.Map("/lk/rtc/v1", (HttpContext context) => state.Options.RoomSingleConnection ? HandleAsync(context, state, twoConnections: false) : NotFoundAsync(context));
        app.MapGet("/lk/rtc/validate", (HttpContext context) =>
        {
            var (room, problem, _) = Check(context, state, twoConnections: true);
            return room is null ? Results.Text(problem, statusCode: StatusCodes.Status401Unauthorized) : Results.Text("success");
        });
        app.Map("/lk/rtc", (HttpContext context) => HandleAsync(context, state, twoConnections: true));
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

    private static Task NotFoundAsync(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status404NotFound;
        return context.Response.WriteAsync("404 page not found", context.RequestAborted);
    }

    private static (Room? Room, string Problem, ViewerGrant? Viewer) Check(HttpContext context, RoomServices state, bool twoConnections)
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

        if (twoConnections)
        {
            return (room, string.Empty, viewer); // the older path carries the client's details as plain query parameters
        }

        var error = LiveKitSignal.TryDecodeJoinRequest(context.Request.Query["join_request"], out _);
        return error == LiveKitSignalError.None ? (room, string.Empty, viewer) : (null, $"invalid join_request: {error}", null);
    }

    /// <summary>The join of the two-connection path, from its query parameters (<c>sdk</c>, <c>version</c>, <c>protocol</c>, <c>auto_subscribe</c>).</summary>
    private static Decart.Rtc.LiveKit.Proto.JoinRequest JoinFromQuery(IQueryCollection query)
    {
        int.TryParse(query["protocol"], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int protocol);
        string version = query["version"].ToString();
        return new Decart.Rtc.LiveKit.Proto.JoinRequest
        {
            ClientInfo = new Decart.Rtc.LiveKit.Proto.ClientInfo
            {
                Sdk = query["sdk"].ToString() switch { "js" => Decart.Rtc.LiveKit.Proto.ClientInfo.Types.SDK.Js, "rust" => Decart.Rtc.LiveKit.Proto.ClientInfo.Types.SDK.Rust, _ => Decart.Rtc.LiveKit.Proto.ClientInfo.Types.SDK.Unknown },
                Version = version.Length > 64 ? version[..64] : version,
                Protocol = protocol,
            },
            ConnectionSettings = new Decart.Rtc.LiveKit.Proto.ConnectionSettings { AutoSubscribe = query["auto_subscribe"] != "0" },
        };
    }

    private static async Task HandleAsync(HttpContext context, RoomServices state, bool twoConnections)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsync("Expected a WebSocket upgrade.", context.RequestAborted).ConfigureAwait(false);
            return;
        }

        var (room, problem, viewer) = Check(context, state, twoConnections);
        if (room is null || (viewer is not null && !state.Rooms.SpendViewer(viewer)))
        {
            state.Logger.LogInformation("room join refused: {Reason}", problem);
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            await context.Response.WriteAsync(room is null ? problem : "viewer token already used", context.RequestAborted).ConfigureAwait(false);
            return;
        }

        Decart.Rtc.LiveKit.Proto.JoinRequest? join;
        if (twoConnections)
        {
            join = JoinFromQuery(context.Request.Query);
        }
        else
        {
            LiveKitSignal.TryDecodeJoinRequest(context.Request.Query["join_request"], out join);
        }

        using var ws = await context.WebSockets.AcceptWebSocketAsync().ConfigureAwait(false);
        var participant = new RoomParticipant(state.Models, state.ParticipantLogger, room, ws, join!, viewer, twoConnections);
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
    private sealed record RoomServices(RoomRegistry Rooms, Constraints.ModelCatalog Models, ILogger Logger, ILogger ParticipantLogger, SimulatorOptions Options);
}
