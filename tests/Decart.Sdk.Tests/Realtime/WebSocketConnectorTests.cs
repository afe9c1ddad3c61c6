using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using Decart.Sdk.Realtime.Signaling;

namespace Decart.Sdk.Tests.Realtime;

/// <summary>
/// The SDK's own WebSocket opening handshake against a raw TCP server that answers whatever each test scripts:
/// a frame in the same segment as the 101, a wrong accept key, a refusal, silence, a hang-up, an endless head,
/// something that is not HTTP. (Kestrel's real upgrade and its refusals are covered in SignalingChannelTests.)
/// </summary>
public class WebSocketConnectorTests
{
    private static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(20);

    /// <summary>A one-connection TCP server on loopback: reads the request head, then runs the script.</summary>
    private sealed class RawServer : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);

        public RawServer(Func<NetworkStream, string, Task> script)
        {
            _listener.Start();
            Served = Task.Run(async () =>
            {
                using var client = await _listener.AcceptTcpClientAsync();
                var stream = client.GetStream();
                var head = new StringBuilder();
                var one = new byte[1];
                while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal) && await stream.ReadAsync(one) == 1)
                {
                    head.Append((char)one[0]);
                }

                Request = head.ToString();
                await script(stream, Request);
            });
        }

        public Uri Url => new($"ws://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/v1/stream?api_key=sk_secret_test_key_123");

        public string Request { get; private set; } = string.Empty;

        public Task Served { get; }

        public void Dispose() => _listener.Stop();

        public static string Accept(string request)
        {
            var key = request.Split("\r\n").First(l => l.StartsWith("Sec-WebSocket-Key:", StringComparison.OrdinalIgnoreCase))["Sec-WebSocket-Key:".Length..].Trim();
            return Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));
        }
    }

    [Fact]
    public async Task A_frame_sent_in_the_same_segment_as_the_101_is_the_first_message()
    {
        using var server = new RawServer(async (stream, request) =>
        {
            var head = Encoding.ASCII.GetBytes($"HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Accept: {RawServer.Accept(request)}\r\n\r\n");
            byte[] frame = [0x81, 5, (byte)'h', (byte)'e', (byte)'l', (byte)'l', (byte)'o']; // FIN + text, unmasked (server to client)
            await stream.WriteAsync(head.Concat(frame).ToArray());
            await Task.Delay(2000);
        });

        using var socket = await WebSocketConnector.ConnectAsync(server.Url, KeepAlive, CancellationToken.None);
        var buffer = new byte[64];
        var result = await socket.ReceiveAsync(buffer, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(WebSocketMessageType.Text, result.MessageType);
        Assert.Equal("hello", Encoding.UTF8.GetString(buffer, 0, result.Count));

        // What the client asked for: the path with its query, the upgrade headers, Host with the port.
        Assert.StartsWith("GET /v1/stream?api_key=sk_secret_test_key_123 HTTP/1.1\r\n", server.Request, StringComparison.Ordinal);
        Assert.Contains($"\r\nHost: 127.0.0.1:{server.Url.Port}\r\n", server.Request, StringComparison.Ordinal);
        Assert.Contains("\r\nSec-WebSocket-Version: 13\r\n", server.Request, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n", 101, "Sec-WebSocket-Accept")]
    [InlineData("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n", 101, "Upgrade")]
    [InlineData("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n", 401, "HTTP 401")]
    [InlineData("HTTP/1.1 404 Not Found\r\n\r\n", 404, "HTTP 404")]
    [InlineData("SSH-2.0-OpenSSH_9.2\r\n\r\n", 0, "not HTTP/1.1")]
    [InlineData("HTTP/1.1 abc Nope\r\n\r\n", 0, "not HTTP/1.1")]
    public async Task A_wrong_answer_is_a_typed_error_with_its_status(string answer, int status, string mentions)
    {
        using var server = new RawServer(async (stream, request) =>
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes(answer.Replace("{accept}", RawServer.Accept(request), StringComparison.Ordinal)));
            await Task.Delay(500);
        });

        var error = await Assert.ThrowsAsync<WebSocketOpenException>(() => WebSocketConnector.ConnectAsync(server.Url, KeepAlive, CancellationToken.None));
        Assert.Equal(status, error.StatusCode);
        Assert.Contains(mentions, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("sk_secret", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_server_that_hangs_up_before_answering_is_status_0()
    {
        using var server = new RawServer((stream, _) =>
        {
            stream.Close();
            return Task.CompletedTask;
        });

        var error = await Assert.ThrowsAsync<WebSocketOpenException>(() => WebSocketConnector.ConnectAsync(server.Url, KeepAlive, CancellationToken.None));
        Assert.Equal(0, error.StatusCode);
    }

    [Fact]
    public async Task A_response_head_that_never_ends_is_refused_at_the_limit()
    {
        using var server = new RawServer(async (stream, _) =>
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes("HTTP/1.1 101 Switching Protocols\r\n"));
            var header = Encoding.ASCII.GetBytes("X-Filler: " + new string('x', 1000) + "\r\n");
            try
            {
                for (int i = 0; i < 100; i++)
                {
                    await stream.WriteAsync(header); // 100 KB of headers, no blank line
                }
            }
            catch (IOException)
            {
                // the client gave up and closed: expected
            }
        });

        var error = await Assert.ThrowsAsync<WebSocketOpenException>(() => WebSocketConnector.ConnectAsync(server.Url, KeepAlive, CancellationToken.None));
        Assert.Equal(0, error.StatusCode);
        Assert.Contains($"{WebSocketConnector.MaxResponseHeadBytes} bytes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_silent_server_is_left_when_the_token_fires_and_its_connection_is_closed()
    {
        var serverSawClose = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var server = new RawServer(async (stream, _) =>
        {
            var buffer = new byte[16];
            try
            {
                serverSawClose.TrySetResult(await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(20)) == 0);
            }
            catch (Exception)
            {
                serverSawClose.TrySetResult(true); // reset by the client: closed too
            }
        });

        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => WebSocketConnector.ConnectAsync(server.Url, KeepAlive, cancel.Token));
        Assert.True(await serverSawClose.Task.WaitAsync(TimeSpan.FromSeconds(10)), "the client's side of the connection was closed, not leaked");
    }

    [Fact]
    public async Task Nothing_listening_is_status_0_with_the_cause_inside()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var error = await Assert.ThrowsAsync<WebSocketOpenException>(() => WebSocketConnector.ConnectAsync(new Uri($"ws://127.0.0.1:{port}/v1/stream?api_key=sk_secret_test_key_123"), KeepAlive, CancellationToken.None));
        Assert.Equal(0, error.StatusCode);
        Assert.IsType<SocketException>(error.InnerException);
    }
}
