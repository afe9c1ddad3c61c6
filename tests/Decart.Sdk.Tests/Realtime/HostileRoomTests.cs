using System.Net.WebSockets;
using System.Text;
using Decart.Rtc.LiveKit.Proto;
using Decart.Sdk.Models;
using Decart.Sdk.Realtime;
using Decart.Sdk.Realtime.LiveKit;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using static Decart.Sdk.Tests.Realtime.RealtimeTestKit;

namespace Decart.Sdk.Tests.Realtime;

/// <summary>
/// The LiveKit transport against a room server that misbehaves: a real Kestrel serving <c>/v1/stream</c> (which hands
/// out itself as the room) and a scripted <c>/lk/rtc/v1</c>. Bad input tried: garbage and truncated protobuf, an
/// over-large signal message, answers with a stale id, a refused token (401 with a reason), a missing endpoint (404).
/// Each ends in a typed error within the room's timeouts, with bounded logging, and nothing left running.
/// </summary>
public class HostileRoomTests
{
    private static readonly LiveKitTimeouts Short = new() { Join = TimeSpan.FromSeconds(1), PeerConnection = TimeSpan.FromSeconds(1), TrackPublished = TimeSpan.FromSeconds(1), ModelParticipant = TimeSpan.FromSeconds(1) };

    [Fact]
    public async Task Garbage_and_truncated_protobuf_are_counted_logged_five_times_at_most_and_the_missing_JoinResponse_times_out()
    {
        var join = new SignalResponse { Join = new JoinResponse { Room = new Room { Name = "r" } } }.ToByteArray();
        await using var server = await HostileRoomServer.StartAsync(async ws =>
        {
            for (int i = 0; i < 50; i++)
            {
                await ws.SendAsync(new byte[] { 0xFF, 0xFF, 0xFF, (byte)i }, WebSocketMessageType.Binary, true, CancellationToken.None); // garbage
                await ws.SendAsync(join.AsMemory(0, join.Length - 1), WebSocketMessageType.Binary, true, CancellationToken.None);        // truncated
            }

            await HoldAsync(ws);
        });
        var (error, lines) = await ConnectExpectingErrorAsync(server);
        Assert.Equal(DecartErrorCode.WebRtcError, error.Code);
        Assert.Contains("no JoinResponse from the room within 1 s", error.Message, StringComparison.Ordinal);
        Assert.Equal(WebRtcErrorDetail.Timeout, error.Detail); // the JS SDK's category
        Assert.InRange(lines.Count(l => l.Contains("malformed signal message", StringComparison.Ordinal)), 1, 5);
    }

    [Fact]
    public async Task An_over_large_signal_message_ends_the_attempt_with_a_typed_error()
    {
        await using var server = await HostileRoomServer.StartAsync(async ws =>
        {
            var chunk = new byte[64 * 1024];
            for (int i = 0; i < 20; i++)
            {
                await ws.SendAsync(chunk, WebSocketMessageType.Binary, endOfMessage: false, CancellationToken.None); // 1.25 MiB, never ending
            }

            await HoldAsync(ws);
        });
        var (error, _) = await ConnectExpectingErrorAsync(server);
        Assert.Contains("over 1024 KiB", error.Message, StringComparison.Ordinal);
        Assert.Equal(WebRtcErrorDetail.Signaling, error.Detail); // the JS SDK's category
    }

    [Fact]
    public async Task An_answer_with_a_stale_id_is_not_applied_and_the_wait_for_the_real_one_times_out()
    {
        await using var server = await HostileRoomServer.StartAsync(async ws =>
        {
            await ws.SendAsync(new SignalResponse { Join = new JoinResponse { Room = new Room { Name = "r" }, ServerInfo = new ServerInfo { Version = "1" } } }.ToByteArray(), WebSocketMessageType.Binary, true, CancellationToken.None);
            await ws.SendAsync(new SignalResponse { Answer = new Decart.Rtc.LiveKit.Proto.SessionDescription { Type = "answer", Sdp = "v=0", Id = 9 } }.ToByteArray(), WebSocketMessageType.Binary, true, CancellationToken.None);
            await HoldAsync(ws);
        });
        var (error, lines) = await ConnectExpectingErrorAsync(server);
        Assert.Contains("no answer to the join offer within 1 s", error.Message, StringComparison.Ordinal);
        Assert.Equal(WebRtcErrorDetail.Timeout, error.Detail); // the JS SDK's category
        Assert.Contains(lines, l => l.Contains("answer with id 9 that matches no pending offer", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_refused_room_token_is_reported_with_the_servers_reason_and_not_retried()
    {
        await using var server = await HostileRoomServer.StartAsync(refuseWith: (401, "invalid token: expired"));
        int retries = 0;
        var (error, lines) = await ConnectExpectingErrorAsync(server, ReconnectPolicy.Default, () => retries++);
        Assert.Contains("not allowed", error.Message, StringComparison.Ordinal);
        Assert.Contains("invalid token: expired", error.Message, StringComparison.Ordinal);
        Assert.Equal(WebRtcErrorDetail.Server, error.Detail); // the JS SDK's category
        Assert.Equal(0, retries);
        Assert.DoesNotContain(lines, l => l.Contains(HostileRoomServer.Token, StringComparison.Ordinal));
        Assert.DoesNotContain(HostileRoomServer.Token, error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_control_server_that_never_sends_room_info_times_out_after_RoomInfoTimeout()
    {
        await using var server = await HostileRoomServer.StartAsync(sendRoomInfo: false);
        var (error, _) = await ConnectExpectingErrorAsync(server, roomInfoTimeout: TimeSpan.FromMilliseconds(500));
        Assert.Equal(DecartErrorCode.WebRtcError, error.Code);
        Assert.Contains("no livekit_room_info within 0.5 s", error.Message, StringComparison.Ordinal);
        Assert.Equal(WebRtcErrorDetail.Timeout, error.Detail); // the JS SDK's category
    }

    [Fact]
    public async Task A_server_with_neither_room_path_is_a_clear_error_after_trying_both()
    {
        // 404 on /rtc/v1 (and its validate) makes the SDK try the older /rtc, as livekit-client does; 404 there too
        // is not a room server.
        await using var server = await HostileRoomServer.StartAsync(refuseWith: (404, "not found"));
        var (error, _) = await ConnectExpectingErrorAsync(server);
        Assert.Contains("has neither /rtc/v1 nor /rtc (HTTP 404)", error.Message, StringComparison.Ordinal);
        Assert.Equal(WebRtcErrorDetail.Signaling, error.Detail); // the JS SDK's category
    }

    private static async Task HoldAsync(WebSocket ws)
    {
        var buffer = new byte[4096];
        try
        {
            while (ws.State == WebSocketState.Open)
            {
                var result = await ws.ReceiveAsync(buffer, CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }
            }
        }
        catch (WebSocketException)
        {
        }
    }

    private static async Task<(DecartException Error, List<string> Lines)> ConnectExpectingErrorAsync(HostileRoomServer server, ReconnectPolicy? policy = null, Action? onRetry = null, TimeSpan? roomInfoTimeout = null)
    {
        var lines = new List<string>();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(new ListLoggerProvider(lines)).SetMinimumLevel(LogLevel.Trace));
        using var client = new DecartClient(new DecartClientOptions { ApiKey = "hostile-key-123", BaseUrl = server.BaseUrl, RealtimeBaseUrl = server.BaseUrl });
        await using var source = await SourceAsync();
        var options = new RealtimeConnectOptions
        {
            Model = RealtimeModels.Lucy21,
            Reconnect = policy ?? ReconnectPolicy.None,
            RoomTimeouts = Short,
            RoomInfoTimeout = roomInfoTimeout ?? TimeSpan.FromSeconds(5), // short only where the room-info timeout is the subject
            LoggerFactory = loggerFactory,
            OnRetry = (_, _, _) => onRetry?.Invoke(),
        };
        var connect = client.Realtime.ConnectAsync(source, options);
        var error = await Assert.ThrowsAsync<DecartException>(() => connect.WaitAsync(TimeSpan.FromSeconds(30)));
        lock (lines)
        {
            return (error, [.. lines]);
        }
    }

    /// <summary>A control endpoint that hands out itself as the room, and a room endpoint that runs a script.</summary>
    private sealed class HostileRoomServer : IAsyncDisposable
    {
        public const string Token = "room-token-secret-0123456789";
        private readonly WebApplication _app;

        private HostileRoomServer(WebApplication app, Uri baseUrl)
        {
            _app = app;
            BaseUrl = baseUrl;
        }

        public Uri BaseUrl { get; }

        public static async Task<HostileRoomServer> StartAsync(Func<WebSocket, Task>? room = null, (int Status, string Body)? refuseWith = null, bool sendRoomInfo = true)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            var app = builder.Build();
            app.UseWebSockets();
            Uri? self = null;
            app.Map("/v1/stream", async (HttpContext context) =>
            {
                using var ws = await context.WebSockets.AcceptWebSocketAsync();
                var buffer = new byte[64 * 1024];
                await ws.ReceiveAsync(buffer, context.RequestAborted); // livekit_join
                string info = $"{{\"type\":\"livekit_room_info\",\"livekit_url\":\"{new Uri(self!, "lk")}\",\"token\":\"{Token}\",\"room_name\":\"r\",\"session_id\":\"s1\"}}";
                if (sendRoomInfo)
                {
                    await ws.SendAsync(Encoding.UTF8.GetBytes(info), WebSocketMessageType.Text, true, context.RequestAborted);
                }

                await HoldAsync(ws);
            });
            app.MapGet("/lk/rtc/v1/validate", () => refuseWith is { } r ? Results.Text(r.Body, statusCode: r.Status) : Results.Text("success"));
            app.Map("/lk/rtc/v1", async (HttpContext context) =>
            {
                if (refuseWith is { } r)
                {
                    context.Response.StatusCode = r.Status;
                    await context.Response.WriteAsync(r.Body);
                    return;
                }

                using var ws = await context.WebSockets.AcceptWebSocketAsync();
                await room!(ws);
            });
            await app.StartAsync();
            var address = app.Urls.First();
            self = new Uri(address.EndsWith('/') ? address : address + "/");
            return new HostileRoomServer(app, self);
        }

        public async ValueTask DisposeAsync()
        {
            using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await _app.StopAsync(bound.Token);
            await _app.DisposeAsync();
        }
    }
}
