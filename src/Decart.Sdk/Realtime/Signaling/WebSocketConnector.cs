using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;

namespace Decart.Sdk.Realtime.Signaling;

/// <summary>
/// Opens the SDK's WebSockets (Decart's <c>/v1/stream</c>, a LiveKit room's signal socket). Without a proxy it writes
/// the RFC 6455 opening handshake itself over a TCP (and, for <c>wss</c>, TLS) stream and hands the stream to
/// <see cref="WebSocket.CreateFromStream(Stream, WebSocketCreationOptions)"/>: a process's first WebSocket then costs
/// ~25 ms instead of ~55 ms on a 2-core machine, the difference being the first use of the runtime's HTTP handler.
/// Through a proxy (<see cref="HttpClient.DefaultProxy"/>, e.g. <c>HTTPS_PROXY</c>) it uses
/// <see cref="ClientWebSocket"/>, which speaks to proxies. Either way a refused upgrade comes back with its HTTP status.
/// </summary>
internal static class WebSocketConnector
{
    /// <summary>The longest response head we read before giving up (a server's 101 is a few hundred bytes).</summary>
    public const int MaxResponseHeadBytes = 16 * 1024;

    private const string AcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

    /// <summary>
    /// Opens a WebSocket to <paramref name="url"/> (<c>ws</c>/<c>wss</c>, or <c>http</c>/<c>https</c> taken as
    /// them). On failure <see cref="WebSocketOpenException"/> carries the HTTP status when the server answered
    /// (0 otherwise), with the cause as its inner exception.
    /// </summary>
    /// <param name="url">The WebSocket URL; its query is sent and never logged here.</param>
    /// <param name="keepAlive">Interval of the client's keep-alive pings.</param>
    /// <param name="cancellationToken">Cancels the connect; the socket is closed.</param>
    /// <returns>The open WebSocket.</returns>
    /// <exception cref="WebSocketOpenException">The upgrade was refused or the connection failed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired.</exception>
    public static Task<WebSocket> ConnectAsync(Uri url, TimeSpan keepAlive, CancellationToken cancellationToken)
    {
        bool secure = url.Scheme is "wss" or "https";
        var httpUrl = new UriBuilder(url) { Scheme = secure ? "https" : "http", Port = url.IsDefaultPort ? -1 : url.Port }.Uri;
        IWebProxy? proxy;
        try
        {
            proxy = HttpClient.DefaultProxy;
        }
        catch (Exception)
        {
            proxy = null; // a malformed proxy variable: the handler would not use it either
        }

        bool direct = proxy is null || proxy.IsBypassed(httpUrl) || proxy.GetProxy(httpUrl) is null;
        return direct ? ConnectDirectAsync(url, secure, keepAlive, cancellationToken) : ConnectThroughHandlerAsync(url, keepAlive, cancellationToken);
    }

    private static async Task<WebSocket> ConnectThroughHandlerAsync(Uri url, TimeSpan keepAlive, CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        socket.Options.KeepAliveInterval = keepAlive;
        try
        {
            await socket.ConnectAsync(url, cancellationToken).ConfigureAwait(false);
            return socket;
        }
        catch (Exception ex) when (ex is WebSocketException or HttpRequestException or IOException)
        {
            int status = (int)socket.HttpStatusCode;
            socket.Dispose();
            throw new WebSocketOpenException(status, ex.Message, ex);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static async Task<WebSocket> ConnectDirectAsync(Uri url, bool secure, TimeSpan keepAlive, CancellationToken cancellationToken)
    {
        string host = url.IdnHost;
        int port = url.IsDefaultPort ? (secure ? 443 : 80) : url.Port;
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        Stream? stream = null;
        try
        {
            await socket.ConnectAsync(new DnsEndPoint(host, port), cancellationToken).ConfigureAwait(false);
            stream = new NetworkStream(socket, ownsSocket: true);
            if (secure)
            {
                var tls = new SslStream(stream, leaveInnerStreamOpen: false);
                stream = tls;
                await tls.AuthenticateAsClientAsync(
                    new SslClientAuthenticationOptions { TargetHost = host, ApplicationProtocols = [SslApplicationProtocol.Http11] },
                    cancellationToken).ConfigureAwait(false);
            }

            // Cancellation closes the stream under a pending read or write; the catch below reports it as a cancel.
            var abort = cancellationToken.Register(static s => ((Stream)s!).Dispose(), stream);
            var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
            string hostField = url.HostNameType == UriHostNameType.IPv6 ? $"[{host}]" : host;
            string authority = url.IsDefaultPort ? hostField : $"{hostField}:{url.Port}";

            string request = $"GET {url.PathAndQuery} HTTP/1.1\r\nHost: {authority}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(request), cancellationToken).ConfigureAwait(false);
            await stream.FlushAsync(cancellationToken).ConfigureAwait(false);

            (string Text, byte[] Leftover) head;
            try
            {
                head = await ReadHeadAsync(stream, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                abort.Dispose(); // waits for a callback that is running: after it, the stream is either closed or ours
            }

            cancellationToken.ThrowIfCancellationRequested(); // a cancel that closed the stream after the head arrived
            CheckResponse(head.Text, key);
            var opened = head.Leftover.Length > 0 ? new PrefixedStream(head.Leftover, stream) : stream;
            return WebSocket.CreateFromStream(opened, new WebSocketCreationOptions { IsServer = false, KeepAliveInterval = keepAlive });
        }
        catch (Exception ex) when (cancellationToken.IsCancellationRequested && ex is not WebSocketOpenException { StatusCode: > 0 })
        {
            Close(stream, socket);
            throw new OperationCanceledException("the WebSocket connect was canceled.", ex, cancellationToken);
        }
        catch (WebSocketOpenException)
        {
            Close(stream, socket);
            throw;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Sockets, TLS, a closed stream, anything else: one typed failure the callers map, the socket closed.
            Close(stream, socket);
            throw new WebSocketOpenException(0, ex.Message, ex);
        }
        catch
        {
            Close(stream, socket);
            throw;
        }
    }

    private static void Close(Stream? stream, Socket socket)
    {
        if (stream is not null)
        {
            stream.Dispose();
        }
        else
        {
            socket.Dispose();
        }
    }

    /// <summary>Reads up to the blank line that ends the response head; what follows it belongs to the WebSocket.</summary>
    private static async Task<(string Text, byte[] Leftover)> ReadHeadAsync(Stream stream, CancellationToken cancellationToken)
    {
        var buffer = new byte[4096];
        int length = 0;
        while (true)
        {
            if (length == buffer.Length)
            {
                if (buffer.Length >= MaxResponseHeadBytes)
                {
                    throw new WebSocketOpenException(0, $"the server's response head exceeds {MaxResponseHeadBytes} bytes.");
                }

                Array.Resize(ref buffer, Math.Min(buffer.Length * 2, MaxResponseHeadBytes));
            }

            int read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                throw new WebSocketOpenException(0, "the server closed the connection before answering the WebSocket upgrade.");
            }

            int searchFrom = Math.Max(0, length - 3);
            length += read;
            int end = buffer.AsSpan(searchFrom, length - searchFrom).IndexOf("\r\n\r\n"u8);
            if (end >= 0)
            {
                end += searchFrom + 4;
                return (Encoding.Latin1.GetString(buffer, 0, end), buffer.AsSpan(end, length - end).ToArray());
            }
        }
    }

    /// <summary>The status line and the upgrade headers RFC 6455 §4.1 says a client must check.</summary>
    private static void CheckResponse(string head, string key)
    {
        var lines = head.Split("\r\n");
        var statusLine = lines[0].Split(' ', 3);
        if (statusLine.Length < 2 || !statusLine[0].StartsWith("HTTP/1.", StringComparison.Ordinal) || !int.TryParse(statusLine[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int status) || status is < 100 or > 999)
        {
            throw new WebSocketOpenException(0, "the server's answer to the WebSocket upgrade is not HTTP/1.1.");
        }

        if (status != 101)
        {
            throw new WebSocketOpenException(status, $"the server refused the WebSocket upgrade with HTTP {status}.");
        }

        string? upgrade = null, connection = null, accept = null;
        foreach (var line in lines.AsSpan(1))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                continue;
            }

            var name = line.AsSpan(0, colon).Trim();
            string value = line[(colon + 1)..].Trim();
            if (name.Equals("Upgrade", StringComparison.OrdinalIgnoreCase))
            {
                upgrade = value;
            }
            else if (name.Equals("Connection", StringComparison.OrdinalIgnoreCase))
            {
                connection = value;
            }
            else if (name.Equals("Sec-WebSocket-Accept", StringComparison.OrdinalIgnoreCase))
            {
                accept = value;
            }
        }

        string expected = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + AcceptGuid)));
        if (!string.Equals(upgrade, "websocket", StringComparison.OrdinalIgnoreCase)
            || connection is null || !connection.Split(',').Any(t => t.Trim().Equals("upgrade", StringComparison.OrdinalIgnoreCase))
            || !string.Equals(accept, expected, StringComparison.Ordinal))
        {
            throw new WebSocketOpenException(status, "the server's 101 answer is not a WebSocket upgrade (Upgrade, Connection or Sec-WebSocket-Accept is wrong).");
        }
    }

    /// <summary>A stream that first returns bytes already read past the response head (a frame the server sent at once).</summary>
    private sealed class PrefixedStream(byte[] prefix, Stream inner) : Stream
    {
        private int _offset;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (_offset < prefix.Length)
            {
                int n = Math.Min(buffer.Length, prefix.Length - _offset);
                prefix.AsSpan(_offset, n).CopyTo(buffer);
                _offset += n;
                return n;
            }

            return inner.Read(buffer);
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_offset < prefix.Length)
            {
                return new ValueTask<int>(Read(buffer.Span));
            }

            return inner.ReadAsync(buffer, cancellationToken);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

        public override void Write(ReadOnlySpan<byte> buffer) => inner.Write(buffer);

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => inner.WriteAsync(buffer, cancellationToken);

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.WriteAsync(buffer, offset, count, cancellationToken);

        public override void Flush() => inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}

/// <summary>A WebSocket could not be opened: <see cref="StatusCode"/> is the HTTP status the server answered, or 0.</summary>
internal sealed class WebSocketOpenException : IOException
{
    public WebSocketOpenException(int statusCode, string message, Exception? inner = null)
        : base(message, inner) => StatusCode = statusCode;

    /// <summary>The HTTP status of a refused upgrade; 0 when the server did not answer one.</summary>
    public int StatusCode { get; }
}
