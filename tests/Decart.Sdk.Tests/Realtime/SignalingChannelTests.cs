using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Threading.Channels;
using Decart.Sdk.Realtime.Signaling;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Decart.Sdk.Tests.Realtime;

/// <summary>A real Kestrel WebSocket endpoint on loopback whose behaviour each test scripts.</summary>
internal sealed class ScriptedWebSocketServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Channel<WebSocket> _accepted = Channel.CreateUnbounded<WebSocket>();

    private ScriptedWebSocketServer(WebApplication app) => _app = app;

    public Uri Url { get; private set; } = null!;

    public int RefuseWithStatus { get; set; }

    public List<string> RequestedQueries { get; } = [];

    public static async Task<ScriptedWebSocketServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new ScriptedWebSocketServer(app);
        app.UseWebSockets();
        app.Map("/v1/stream", async (HttpContext context) =>
        {
            server.RequestedQueries.Add(context.Request.QueryString.Value ?? string.Empty);
            if (server.RefuseWithStatus != 0)
            {
                context.Response.StatusCode = server.RefuseWithStatus;
                return;
            }

            var socket = await context.WebSockets.AcceptWebSocketAsync();
            var done = new TaskCompletionSource();
            server._accepted.Writer.TryWrite(new OwnedSocket(socket, done));
            await done.Task.WaitAsync(TimeSpan.FromSeconds(30)).ContinueWith(_ => { });
        });
        await app.StartAsync();
        var address = app.Urls.First().Replace("http://", "ws://", StringComparison.Ordinal);
        server.Url = new Uri($"{address}/v1/stream?api_key=sk_secret_test_key_123&model=lucy-2.1");
        return server;
    }

    public async Task<OwnedSocket> AcceptAsync() => (OwnedSocket)await _accepted.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    internal sealed class OwnedSocket(WebSocket socket, TaskCompletionSource done) : WebSocket
    {
        public WebSocket Inner => socket;

        public Task SendTextAsync(string text) => socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None);

        public async Task<string> ReceiveTextAsync()
        {
            var buffer = new byte[1 << 16];
            var result = await socket.ReceiveAsync(buffer, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
            return Encoding.UTF8.GetString(buffer, 0, result.Count);
        }

        public void Release() => done.TrySetResult();

        public override WebSocketCloseStatus? CloseStatus => socket.CloseStatus;

        public override string? CloseStatusDescription => socket.CloseStatusDescription;

        public override WebSocketState State => socket.State;

        public override string? SubProtocol => socket.SubProtocol;

        public override void Abort() => socket.Abort();

        public override Task CloseAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken) => socket.CloseAsync(closeStatus, statusDescription, cancellationToken);

        public override Task CloseOutputAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken) => socket.CloseOutputAsync(closeStatus, statusDescription, cancellationToken);

        public override void Dispose()
        {
            socket.Dispose();
            Release();
        }

        public override Task<WebSocketReceiveResult> ReceiveAsync(ArraySegment<byte> buffer, CancellationToken cancellationToken) => socket.ReceiveAsync(buffer, cancellationToken);

        public override Task SendAsync(ArraySegment<byte> buffer, WebSocketMessageType messageType, bool endOfMessage, CancellationToken cancellationToken) => socket.SendAsync(buffer, messageType, endOfMessage, cancellationToken);
    }
}

public class SignalingChannelTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Messages_flow_both_ways_and_bad_ones_are_ignored_and_counted()
    {
        await using var server = await ScriptedWebSocketServer.StartAsync();
        await using var channel = await SignalingChannel.ConnectAsync(server.Url, null, SignalingChannel.DefaultMaxMessageBytes, CancellationToken.None);
        var peer = await server.AcceptAsync();

        await channel.SendAsync(new PromptSignal("Anime", true), CancellationToken.None);
        Assert.Equal("""{"prompt":"Anime","enhance_prompt":true,"type":"prompt"}""", await peer.ReceiveTextAsync());

        // Bad input: malformed JSON, unknown type, missing fields, a binary frame — then a good message.
        await peer.SendTextAsync("{not json");
        await peer.SendTextAsync("""{"type":"hologram"}""");
        await peer.SendTextAsync("""{"type":"prompt_ack"}""");
        await peer.Inner.SendAsync(new byte[] { 1, 2, 3 }, WebSocketMessageType.Binary, true, CancellationToken.None);
        await peer.SendTextAsync("""{"type":"prompt_ack","prompt":"Anime","success":true,"error":null}""");

        var first = await channel.Incoming.ReadAsync().AsTask().WaitAsync(Bound);
        Assert.Equal(new PromptAckSignal("Anime", true, null), first);
        Assert.Equal(4, channel.IgnoredMessages);
        peer.Release();
    }

    [Fact]
    public async Task A_message_split_over_many_frames_is_reassembled()
    {
        await using var server = await ScriptedWebSocketServer.StartAsync();
        await using var channel = await SignalingChannel.ConnectAsync(server.Url, null, SignalingChannel.DefaultMaxMessageBytes, CancellationToken.None);
        var peer = await server.AcceptAsync();
        var sdp = new string('a', 200_000);
        var bytes = Encoding.UTF8.GetBytes($$"""{"type":"answer","sdp":"{{sdp}}"}""");
        for (int i = 0; i < bytes.Length; i += 7000)
        {
            int n = Math.Min(7000, bytes.Length - i);
            await peer.Inner.SendAsync(bytes.AsMemory(i, n), WebSocketMessageType.Text, i + n == bytes.Length, CancellationToken.None);
        }

        var message = await channel.Incoming.ReadAsync().AsTask().WaitAsync(Bound);
        Assert.Equal(sdp, Assert.IsType<RemoteSdpSignal>(message).Sdp);
        peer.Release();
    }

    [Fact]
    public async Task An_oversized_message_closes_the_socket_with_MessageTooBig()
    {
        await using var server = await ScriptedWebSocketServer.StartAsync();
        await using var channel = await SignalingChannel.ConnectAsync(server.Url, null, maxMessageBytes: 1024, CancellationToken.None);
        var peer = await server.AcceptAsync();
        await peer.SendTextAsync($$"""{"type":"answer","sdp":"{{new string('x', 5000)}}"}""");
        var closed = await channel.Closed.WaitAsync(Bound);
        Assert.Equal(WebSocketCloseStatus.MessageTooBig, closed.Status);
        Assert.False(await channel.Incoming.WaitToReadAsync().AsTask().WaitAsync(Bound)); // completed, nothing delivered
        var ex = await Assert.ThrowsAsync<DecartException>(() => channel.SendAsync(new PromptSignal("x", true), CancellationToken.None));
        Assert.Equal(DecartErrorCode.WebRtcError, ex.Code);
        peer.Release();
    }

    [Fact]
    public async Task Server_close_completes_Closed_and_Incoming()
    {
        await using var server = await ScriptedWebSocketServer.StartAsync();
        await using var channel = await SignalingChannel.ConnectAsync(server.Url, null, SignalingChannel.DefaultMaxMessageBytes, CancellationToken.None);
        var peer = await server.AcceptAsync();
        await peer.SendTextAsync("""{"type":"error","error":"Model nope not found"}""");
        await peer.Inner.CloseAsync(WebSocketCloseStatus.PolicyViolation, "bye", CancellationToken.None);
        Assert.Equal(new ErrorSignal("Model nope not found"), await channel.Incoming.ReadAsync().AsTask().WaitAsync(Bound));
        var closed = await channel.Closed.WaitAsync(Bound);
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, closed.Status);
        Assert.Equal("bye", closed.Description);
        peer.Release();
    }

    [Theory]
    [InlineData(401, DecartErrorCode.InvalidApiKey)]
    [InlineData(403, DecartErrorCode.InvalidApiKey)]
    [InlineData(500, DecartErrorCode.WebRtcError)]
    public async Task Refused_upgrades_map_to_typed_errors_without_the_key(int status, DecartErrorCode expected)
    {
        await using var server = await ScriptedWebSocketServer.StartAsync();
        server.RefuseWithStatus = status;
        var ex = await Assert.ThrowsAsync<DecartException>(() => SignalingChannel.ConnectAsync(server.Url, null, SignalingChannel.DefaultMaxMessageBytes, CancellationToken.None));
        Assert.Equal(expected, ex.Code);
        Assert.DoesNotContain("sk_secret_test_key_123", ex.ToString(), StringComparison.Ordinal);
        Assert.Contains(status.ToString(System.Globalization.CultureInfo.InvariantCulture), ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Nothing_listening_is_WebRtcError_and_the_key_is_not_in_the_message()
    {
        var port = FreePort();
        var url = new Uri($"ws://127.0.0.1:{port}/v1/stream?api_key=sk_secret_test_key_123&model=lucy-2.1");
        var ex = await Assert.ThrowsAsync<DecartException>(() => SignalingChannel.ConnectAsync(url, null, 1024, CancellationToken.None)).WaitAsync(Bound);
        Assert.Equal(DecartErrorCode.WebRtcError, ex.Code);
        Assert.DoesNotContain("sk_secret_test_key_123", ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Logged_urls_are_redacted()
    {
        var logs = new List<string>();
        using var factory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(new ListLoggerProvider(logs)));
        await using var server = await ScriptedWebSocketServer.StartAsync();
        await using (var channel = await SignalingChannel.ConnectAsync(server.Url, factory.CreateLogger("t"), 1024, CancellationToken.None))
        {
            var peer = await server.AcceptAsync();
            await channel.CloseAsync(CancellationToken.None).WaitAsync(Bound);
            peer.Release();
        }

        Assert.NotEmpty(logs);
        Assert.All(logs, line => Assert.DoesNotContain("sk_secret_test_key_123", line, StringComparison.Ordinal));
        Assert.Contains(logs, line => line.Contains("Realtime WebSocket open", StringComparison.Ordinal) && line.Contains("query not logged", StringComparison.Ordinal));
    }

    private static int FreePort()
    {
        using var l = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
