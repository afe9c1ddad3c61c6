using System.Buffers;
using System.Net.WebSockets;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Decart.Sdk.Logging;

namespace Decart.Sdk.Realtime.Signaling;

/// <summary>
/// The realtime WebSocket: sends <see cref="OutgoingSignal"/>s, and reads server messages on a background
/// loop into <see cref="Incoming"/>. Malformed or unknown messages are logged and counted, never thrown; an
/// oversized message closes the socket with <see cref="WebSocketCloseStatus.MessageTooBig"/>. The URL (which
/// carries the API key) is only ever logged redacted.
/// </summary>
internal sealed class SignalingChannel : IAsyncDisposable
{
    /// <summary>Default cap on one incoming message: 10 MiB (images travel as base64 on this socket).</summary>
    public const int DefaultMaxMessageBytes = 10 * 1024 * 1024;

    private readonly WebSocket _socket;
    private readonly ILogger _logger;
    private readonly int _maxMessageBytes;
    private readonly Channel<IncomingSignal> _incoming = Channel.CreateUnbounded<IncomingSignal>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource<SignalingClosed> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _receiveLoop = Task.CompletedTask;
    private int _disposed;

    private SignalingChannel(WebSocket socket, ILogger logger, int maxMessageBytes)
    {
        _socket = socket;
        _logger = logger;
        _maxMessageBytes = maxMessageBytes;
    }

    /// <summary>Messages from the server, in order. Completes when the socket closes.</summary>
    public ChannelReader<IncomingSignal> Incoming => _incoming.Reader;

    /// <summary>Completes when the socket is closed, by either side or by failure.</summary>
    public Task<SignalingClosed> Closed => _closed.Task;

    /// <summary>Messages that were not understood (malformed JSON, missing/unknown type, bad fields).</summary>
    public int IgnoredMessages => _ignored;

    private int _ignored;

    /// <summary>Opens the WebSocket.</summary>
    /// <param name="url">The full <c>/v1/stream</c> URL including <c>api_key</c>.</param>
    /// <param name="logger">Where to log (the URL is redacted).</param>
    /// <param name="maxMessageBytes">Cap on one incoming message.</param>
    /// <param name="cancellationToken">Cancels the connect.</param>
    /// <returns>An open channel whose receive loop is running.</returns>
    /// <exception cref="DecartException"><see cref="DecartErrorCode.InvalidApiKey"/> on an HTTP 401/403 upgrade refusal,
    /// <see cref="DecartErrorCode.WebRtcError"/> for any other failure to connect.</exception>
    public static async Task<SignalingChannel> ConnectAsync(Uri url, ILogger? logger, int maxMessageBytes, CancellationToken cancellationToken)
    {
        logger ??= NullLogger.Instance;
        WebSocket socket;
        try
        {
            socket = await WebSocketConnector.ConnectAsync(url, TimeSpan.FromSeconds(20), cancellationToken).ConfigureAwait(false);
        }
        catch (WebSocketOpenException ex)
        {
            int status = ex.StatusCode;
            // A refused key is permanent, and so is any other client error but a timeout or a rate limit: a wrong
            // URL (404, e.g. a base URL that already ends in /v1/stream) fails at once instead of being retried.
            var code = status switch
            {
                401 or 403 => DecartErrorCode.InvalidApiKey,
                >= 400 and < 500 and not 408 and not 429 => DecartErrorCode.InvalidBaseUrl,
                _ => DecartErrorCode.WebRtcError,
            };
            string where = SecretRedactor.Redact(url.GetLeftPart(UriPartial.Path));
            throw new DecartException(code, status != 0
                ? code == DecartErrorCode.InvalidBaseUrl
                    ? $"realtime WebSocket to {where} was refused with HTTP {status}: check RealtimeBaseUrl (the server's root, e.g. wss://api3.decart.ai or ws://127.0.0.1:PORT, without /v1/stream)."
                    : $"realtime WebSocket to {where} was refused with HTTP {status}."
                : $"realtime WebSocket to {SecretRedactor.Redact(url.GetLeftPart(UriPartial.Path))} could not be opened: {SecretRedactor.Redact(ex.Message)}", ex) { Detail = code == DecartErrorCode.WebRtcError ? WebRtcErrorDetail.WebSocket : WebRtcErrorDetail.None };
        }

        logger.LogDebug(DecartLog.WebSocketOpen, "Realtime WebSocket open: {Url} (query not logged: it carries the key and the caller's parameters)", SecretRedactor.Redact(url.GetLeftPart(UriPartial.Path)));
        var channel = new SignalingChannel(socket, logger, maxMessageBytes);
        channel._receiveLoop = Task.Run(channel.ReceiveLoopAsync, CancellationToken.None);
        return channel;
    }

    /// <summary>Sends one message. Concurrent sends are serialized.</summary>
    /// <param name="message">The message.</param>
    /// <param name="cancellationToken">Cancels the send.</param>
    /// <returns>A task that completes when the message is handed to the socket.</returns>
    /// <exception cref="DecartException"><see cref="DecartErrorCode.WebRtcError"/> when the socket is not open.</exception>
    public async Task SendAsync(OutgoingSignal message, CancellationToken cancellationToken)
    {
        var bytes = SignalingCodec.Serialize(message);
        await _sendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_socket.State != WebSocketState.Open)
            {
                throw new DecartException(DecartErrorCode.WebRtcError, $"realtime WebSocket is {_socket.State}; the message was not sent.") { Detail = WebRtcErrorDetail.WebSocket };
            }

            await _socket.SendAsync(bytes, WebSocketMessageType.Text, endOfMessage: true, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is WebSocketException or IOException or ObjectDisposedException)
        {
            throw new DecartException(DecartErrorCode.WebRtcError, "realtime WebSocket send failed.", ex) { Detail = WebRtcErrorDetail.WebSocket };
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>Closes the socket politely (close handshake, bounded by <paramref name="cancellationToken"/>).</summary>
    /// <param name="cancellationToken">Bounds the close handshake; the socket is aborted when it fires.</param>
    /// <returns>A task that completes when closed.</returns>
    public async Task CloseAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                bounded.CancelAfter(TimeSpan.FromSeconds(2));
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "client disconnect", bounded.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            _logger.LogDebug(DecartLog.CloseHandshakeIncomplete, ex, "Realtime WebSocket close handshake did not complete; aborting.");
        }
        finally
        {
            _stop.Cancel();
            _socket.Abort();
        }

        await _receiveLoop.ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await CloseAsync(CancellationToken.None).ConfigureAwait(false);
        _socket.Dispose();
        _stop.Dispose();
        _sendLock.Dispose();
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        var message = new ArrayBufferWriter<byte>(64 * 1024);
        SignalingClosed closed = new(null, null, null);
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var result = await _socket.ReceiveAsync(buffer.AsMemory(), _stop.Token).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    closed = new SignalingClosed(_socket.CloseStatus, _socket.CloseStatusDescription, null);
                    await AnswerCloseAsync().ConfigureAwait(false);
                    break;
                }

                if (message.WrittenCount + result.Count > _maxMessageBytes)
                {
                    _logger.LogWarning(DecartLog.MessageTooLarge, "Realtime message over {Limit} bytes; closing the WebSocket.", _maxMessageBytes);
                    closed = new SignalingClosed(WebSocketCloseStatus.MessageTooBig, "message too big", null);
                    await _socket.CloseOutputAsync(WebSocketCloseStatus.MessageTooBig, "message too big", CancellationToken.None).ConfigureAwait(false);
                    break;
                }

                message.Write(buffer.AsSpan(0, result.Count));
                if (!result.EndOfMessage)
                {
                    continue;
                }

                if (result.MessageType == WebSocketMessageType.Text)
                {
                    Dispatch(message.WrittenSpan);
                }
                else
                {
                    Interlocked.Increment(ref _ignored);
                    _logger.LogWarning(DecartLog.BinaryMessageIgnored, "Ignored a binary realtime message of {Length} bytes.", message.WrittenCount);
                }

                message.ResetWrittenCount();
            }
        }
        catch (OperationCanceledException)
        {
            closed = new SignalingClosed(null, "closed by client", null);
        }
        catch (Exception ex) when (ex is WebSocketException or IOException or ObjectDisposedException)
        {
            closed = new SignalingClosed(null, null, ex);
            _logger.LogDebug(DecartLog.ReceiveEnded, ex, "Realtime WebSocket receive ended.");
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            _incoming.Writer.TryComplete();
            _closed.TrySetResult(closed);
        }
    }

    /// <summary>Completes the close handshake the server started, so the server is not left waiting.</summary>
    private async Task AnswerCloseAsync()
    {
        try
        {
            if (_socket.State == WebSocketState.CloseReceived)
            {
                using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, bounded.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            _logger.LogDebug(DecartLog.CloseNotAnswered, ex, "Could not answer the server's close.");
        }
    }

    private void Dispatch(ReadOnlySpan<byte> utf8)
    {
        if (SignalingCodec.TryParse(utf8, out var signal, out var error, out var type))
        {
            _incoming.Writer.TryWrite(signal!);
            return;
        }

        Interlocked.Increment(ref _ignored);
        if (error == SignalParseError.UnknownType)
        {
            _logger.LogDebug(DecartLog.UnknownMessageType, "Ignored realtime message of unknown type {Type}.", type);
        }
        else
        {
            _logger.LogWarning(DecartLog.MessageIgnored, "Ignored a realtime message: {Error} (type {Type}, {Length} bytes).", error, type ?? "none", utf8.Length);
        }
    }
}

/// <summary>How the realtime WebSocket ended.</summary>
/// <param name="Status">The close status the server sent, if it sent one.</param>
/// <param name="Description">The close reason text, if any.</param>
/// <param name="Failure">The transport failure, when the socket broke instead of closing.</param>
internal sealed record SignalingClosed(WebSocketCloseStatus? Status, string? Description, Exception? Failure);
