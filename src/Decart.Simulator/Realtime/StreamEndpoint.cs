using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using Decart.Simulator.Constraints;
using Decart.Simulator.Faults;
using Decart.Simulator.Hosting;
using Decart.Simulator.Rest;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;

namespace Decart.Simulator.Realtime;

/// <summary>
/// <c>GET /v1/stream</c>: the realtime endpoint. Refusals (a pending refuse fault, a rejected key, an unknown or
/// forbidden model, a forbidden origin) are sent as <c>{"type":"error"}</c> on the accepted WebSocket and closed,
/// as the service does, so browsers can read the reason.
/// </summary>
internal static class StreamEndpoint
{
    public static void Map(IEndpointRouteBuilder app) =>
        app.Map("/v1/stream", (HttpContext context, FaultSet faults, TokenStore tokens, SessionRegistry sessions, SessionFactory sessionFactory, ILogger<SimulatedSession> logger) =>
            HandleAsync(context, faults, tokens, sessions, sessionFactory, logger));

    private static async Task HandleAsync(HttpContext context, FaultSet faults, TokenStore tokens, SessionRegistry sessions, SessionFactory sessionFactory, ILogger logger)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsync("Expected a WebSocket upgrade.", context.RequestAborted).ConfigureAwait(false);
            return;
        }

        var query = context.Request.Query;
        string? key = query["api_key"];
        string? modelName = query["model"];
        string? userAgent = query["user_agent"];
        string? resolution = query["resolution"];
        string? origin = context.Request.Headers.Origin.Count > 0 ? context.Request.Headers.Origin.ToString() : null;
        using var ws = await context.WebSockets.AcceptWebSocketAsync().ConfigureAwait(false);

        string? refusal = null;
        if (faults.TryRefuse(out var refuseError))
        {
            refusal = refuseError;
        }
        else
        {
            var model = sessionFactory.Models.Find(ModelKind.Realtime, modelName);
            refusal = tokens.Check(key, modelName, origin, enforceOrigin: true) switch
            {
                KeyRejection.Unknown => string.IsNullOrEmpty(key) ? "Invalid API key: missing api_key" : "Invalid API key",
                KeyRejection.Expired => "Invalid API key: the client token has expired",
                KeyRejection.ModelNotAllowed when model is not null => $"Permission denied: this client token is not allowed to use model {modelName}",
                KeyRejection.OriginNotAllowed => $"Permission denied: origin {origin ?? "(none)"} is not allowed for this client token",
                _ => model is null ? $"Model {modelName} not found"
                    : resolution is not (null or "720p" or "1080p") ? $"Invalid resolution: {(resolution.Length > 16 ? resolution[..16] + "…" : resolution)} (720p or 1080p)"
                    : null,
            };

            if (refusal is null)
            {
                // The room server is this server: clients reach it the way they reached us.
                var roomBase = Uri.TryCreate($"ws://{context.Request.Host.Value}/", UriKind.Absolute, out var b) ? b : null;
                var session = sessionFactory.Create(model!, ws, tokens.Find(key), origin, userAgent, roomBase);
                session.Resolution = resolution;
                var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (var (name, value) in query.Where(q => q.Key != "api_key").Take(64))
                {
                    string text = value.ToString();
                    parameters.TryAdd(name.Length > 64 ? name[..64] : name, text.Length > 256 ? text[..256] : text);
                }

                session.QueryParameters = parameters;
                logger.LogInformation("session {Session}: accepted for {Model}", session.Id, model!.Name);
                sessions.OnStarted(session);
                await session.RunAsync(context.RequestAborted).ConfigureAwait(false);
                return;
            }
        }

        logger.LogInformation("realtime connection refused: {Reason}", refusal);
        sessions.OnRefused();
        await RefuseAsync(ws, refusal, context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task RefuseAsync(WebSocket ws, string error, CancellationToken aborted)
    {
        try
        {
            using var bound = CancellationTokenSource.CreateLinkedTokenSource(aborted);
            bound.CancelAfter(TimeSpan.FromSeconds(5));
            var text = new JsonObject { ["type"] = "error", ["error"] = error }.ToJsonString();
            await ws.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, bound.Token).ConfigureAwait(false);
            await ws.CloseOutputAsync(WebSocketCloseStatus.PolicyViolation, error.Length > 100 ? error[..100] : error, bound.Token).ConfigureAwait(false);

            // Drain until the client answers the close (or the bound expires).
            var buffer = new byte[1024];
            while (ws.State is WebSocketState.CloseSent)
            {
                var result = await ws.ReceiveAsync(buffer, bound.Token).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
        {
        }
    }
}
