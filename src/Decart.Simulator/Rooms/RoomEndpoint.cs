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
            var (room, problem) = Check(context, state);
            return room is null ? Results.Text(problem, statusCode: StatusCodes.Status401Unauthorized) : Results.Text("success");
        });
        app.Map("/lk/rtc/v1", (HttpContext context) => HandleAsync(context, state));
    }

    private static (Room? Room, string Problem) Check(HttpContext context, RoomServices state)
    {
        var room = state.Rooms.FindByToken(context.Request.Query["access_token"]);
        if (room is null)
        {
            return (null, "invalid token: no such room (the token of livekit_room_info is valid while its session lives)");
        }

        if (room.Publisher is not null)
        {
            return (null, "participant already joined this room");
        }

        var error = LiveKitSignal.TryDecodeJoinRequest(context.Request.Query["join_request"], out _);
        return error == LiveKitSignalError.None ? (room, string.Empty) : (null, $"invalid join_request: {error}");
    }

    private static async Task HandleAsync(HttpContext context, RoomServices state)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsync("Expected a WebSocket upgrade.", context.RequestAborted).ConfigureAwait(false);
            return;
        }

        var (room, problem) = Check(context, state);
        if (room is null)
        {
            state.Logger.LogInformation("room join refused: {Reason}", problem);
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            await context.Response.WriteAsync(problem, context.RequestAborted).ConfigureAwait(false);
            return;
        }

        LiveKitSignal.TryDecodeJoinRequest(context.Request.Query["join_request"], out var join);
        using var ws = await context.WebSockets.AcceptWebSocketAsync().ConfigureAwait(false);
        var participant = new RoomParticipant(state.Models, state.ParticipantLogger, room, ws, join!);
        if (!room.TryJoin(participant))
        {
            await ws.CloseOutputAsync(System.Net.WebSockets.WebSocketCloseStatus.PolicyViolation, "participant already joined", context.RequestAborted).ConfigureAwait(false);
            return;
        }

        await participant.RunAsync(context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>What the room front uses, taken from the container once when it is mapped.</summary>
    private sealed record RoomServices(RoomRegistry Rooms, Constraints.ModelCatalog Models, ILogger Logger, ILogger ParticipantLogger);
}
