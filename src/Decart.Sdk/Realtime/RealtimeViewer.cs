using Decart.Rtc.LiveKit;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading.Channels;
using Decart.Rtc;
using Decart.Sdk.Http;
using Decart.Sdk.Media;
using Decart.Sdk.Realtime.LiveKit;
using Microsoft.Extensions.Logging;
using Decart.Sdk.Logging;

namespace Decart.Sdk.Realtime;

/// <summary>Settings of a viewer (<see cref="RealtimeApi.SubscribeAsync"/>).</summary>
public sealed record SubscribeOptions
{
    /// <summary>Called on every state change of the viewer: <c>Connecting</c>, <c>Connected</c>, <c>Disconnected</c>.</summary>
    public Action<ConnectionState>? OnConnectionChanged { get; init; }

    /// <summary>Called when the viewer loses the room (the session ended, the server sent it away, the media failed).</summary>
    public Action<DecartException>? OnError { get; init; }

    /// <summary>Each received frame of the model's output, synchronously on the receive thread: copy what you keep.</summary>
    public ReceivedVideoFrameHandler? OnFrame { get; init; }

    /// <summary>Where the viewer logs; null for none. No key or token is ever logged.</summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>Server-side ICE consent: the media connection counts as lost after this long without an answer. Default 30 s.</summary>
    public TimeSpan ConsentTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The clock of the room's timeouts (JoinResponse 5 s, media 15 s, model participant 15 s).</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}

/// <summary>A synchronous view of one received frame (see <see cref="SubscribeOptions.OnFrame"/>).</summary>
/// <param name="frame">The frame; valid only during the call.</param>
public delegate void ReceivedVideoFrameHandler(ReceivedVideoFrame frame);

/// <summary>
/// A receive-only participant of another session's room: the model's output, as the session's own client gets it,
/// without sending anything. Made by <see cref="RealtimeApi.SubscribeAsync"/>; dispose it to leave. It does not
/// reconnect: when the room goes (the session ended or reconnected into a new room) it reports
/// <see cref="ConnectionState.Disconnected"/> and an error, and a new subscribe token is needed.
/// </summary>
public sealed class RealtimeViewer : IAsyncDisposable
{
    private const int PullCapacity = 64;
    private readonly SubscribeOptions _options;
    private readonly ILogger _logger;
    private readonly PeerConnection _pc;
    private readonly LiveKitRoomConnection _room;
    private readonly Channel<EncodedVideoFrame> _frames = Channel.CreateBounded<EncodedVideoFrame>(new BoundedChannelOptions(PullCapacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleWriter = true });
    private int _state = (int)ConnectionState.Connecting;
    private long _framesReceived;
    private long _firstRtp = -1;
    private int _disposed;

    private RealtimeViewer(SubscribeOptions options, ILogger logger, string roomName, string? sessionId)
    {
        _options = options;
        _logger = logger;
        RoomName = roomName;
        SessionId = sessionId;
        _pc = new PeerConnection(new PeerConnectionOptions { SendVideo = false, ConsentTimeout = options.ConsentTimeout, TrackId = "viewer" });
        _pc.FrameReceived += OnFrame;
        _pc.StateChanged += state =>
        {
            if (state is PeerConnectionState.Failed && State != ConnectionState.Connecting)
            {
                Lose(new DecartException(DecartErrorCode.WebRtcError, "the viewer's media connection was lost (ICE consent or DTLS).") { Detail = WebRtcErrorDetail.Ice });
            }
        };
        _room = new LiveKitRoomConnection(_pc, new LiveKitTimeouts(), options.TimeProvider, logger);
    }

    /// <summary>The room watched.</summary>
    public string RoomName { get; }

    /// <summary>The watched session's id, when the service said it.</summary>
    public string? SessionId { get; }

    /// <summary>The viewer's state.</summary>
    public ConnectionState State => (ConnectionState)Volatile.Read(ref _state);

    /// <summary>Frames of the model's output received.</summary>
    public long FramesReceived => Interlocked.Read(ref _framesReceived);

    /// <summary>Raised on every state change.</summary>
    public event EventHandler<ConnectionState>? ConnectionChanged;

    /// <summary>Raised when the room is lost.</summary>
    public event EventHandler<DecartException>? Error;

    /// <summary>The token for <paramref name="roomName"/>: base64 of <c>{"room_name":…}</c>, as Decart's JS SDK makes it.</summary>
    /// <param name="roomName">The room.</param>
    /// <returns>The token.</returns>
    public static string EncodeToken(string roomName)
    {
        ArgumentException.ThrowIfNullOrEmpty(roomName);
        return Convert.ToBase64String(JsonSerializer.SerializeToUtf8Bytes(new SubscribeTokenPayload(roomName), ViewerJsonContext.Default.SubscribeTokenPayload));
    }

    /// <summary>The room a subscribe token names. Accepts standard and URL-safe base64 (the Python SDK's form), with or without padding.</summary>
    /// <param name="token">The token.</param>
    /// <returns>The room's name.</returns>
    /// <exception cref="DecartException"><see cref="DecartErrorCode.InvalidInput"/> when it is not such a token (the old
    /// <c>{sid, ip, port}</c> form of the direct transport included).</exception>
    public static string DecodeToken(string token)
    {
        if (string.IsNullOrWhiteSpace(token) || token.Length > 4096)
        {
            throw new DecartException(DecartErrorCode.InvalidInput, "subscribe token: empty or too long.");
        }

        string normal = token.Trim().Replace('-', '+').Replace('_', '/');
        normal = normal.PadRight(normal.Length + ((4 - (normal.Length % 4)) % 4), '=');
        try
        {
            var payload = JsonSerializer.Deserialize(Convert.FromBase64String(normal), ViewerJsonContext.Default.SubscribeTokenPayload);
            if (payload?.RoomName is { Length: > 0 and <= 256 } room)
            {
                return room;
            }
        }
        catch (Exception ex) when (ex is FormatException or JsonException)
        {
        }

        throw new DecartException(DecartErrorCode.InvalidInput, "subscribe token: not a token from RealtimeClient.SubscribeToken (base64 of {\"room_name\":…}).");
    }

    /// <summary>The received frames as they arrive (copies; the oldest are dropped when you fall 64 frames behind). Ends when the viewer leaves.</summary>
    /// <param name="cancellationToken">Stops the enumeration.</param>
    /// <returns>The frames.</returns>
    public async IAsyncEnumerable<EncodedVideoFrame> ReadFramesAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var frame in _frames.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return frame;
        }
    }

    /// <summary>Leaves the room and closes the media connection.</summary>
    /// <returns>A task that completes when closed.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _room.DisposeAsync().ConfigureAwait(false);
        await _pc.DisposeAsync().ConfigureAwait(false);
        _frames.Writer.TryComplete();
        SetState(ConnectionState.Disconnected);
    }

    /// <inheritdoc />
    public override string ToString() => $"RealtimeViewer {{ RoomName = {RoomName}, State = {State} }}";

    internal static async Task<RealtimeViewer> ConnectAsync(DecartClient client, string subscribeToken, SubscribeOptions options, CancellationToken cancellationToken)
    {
        string roomName = DecodeToken(subscribeToken);
        var logger = (options.LoggerFactory ?? client.LoggerFactory).CreateLogger("Decart.Sdk.Realtime.Viewer");
        WatchStreamCredentials credentials;
        try
        {
            credentials = await client.Http.SendForJsonAsync(
                () => new HttpRequestMessage(HttpMethod.Post, client.Http.Url("/watch-stream/" + Uri.EscapeDataString(roomName))) { Content = new StringContent("{}", Encoding.UTF8, "application/json") },
                ViewerJsonContext.Default.WatchStreamCredentials,
                DecartErrorCode.WebRtcError,
                "watch a stream",
                cancellationToken).ConfigureAwait(false);
        }
        catch (DecartException ex) when (ex.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            throw new DecartException(DecartErrorCode.WebRtcError, $"watch a stream: room {roomName} not found (it lives as long as its session).", ex.StatusCode, null, ex) { Detail = WebRtcErrorDetail.Signaling };
        }

        if (string.IsNullOrEmpty(credentials.Token) || !Uri.TryCreate(credentials.LivekitUrl, UriKind.Absolute, out var livekitUrl) || livekitUrl.Scheme is not ("ws" or "wss" or "http" or "https"))
        {
            throw new DecartException(DecartErrorCode.WebRtcError, "watch a stream: the service's answer lacks a token or an absolute ws(s) livekit_url.") { Detail = WebRtcErrorDetail.Signaling };
        }

        var viewer = new RealtimeViewer(options, logger, credentials.RoomName ?? roomName, credentials.SessionId);
        viewer.SetState(ConnectionState.Connecting);
        try
        {
            await viewer._room.ConnectAsync(livekitUrl, credentials.Token, null, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await viewer.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        // Connected first, then watch for the loss: a room lost in between is seen by the continuation (Lost is a task
        // that stays completed), and a media connection that failed while connecting is checked once more.
        viewer.SetState(ConnectionState.Connected);
        _ = viewer._room.Lost.ContinueWith(t => viewer.Lose(t.Result), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        if (viewer._pc.State is PeerConnectionState.Failed or PeerConnectionState.Closed)
        {
            viewer.Lose(new DecartException(DecartErrorCode.WebRtcError, "the viewer's media connection failed while joining.") { Detail = WebRtcErrorDetail.Ice });
        }

        logger.LogInformation(DecartLog.Watching, "Watching room {Room}.", viewer.RoomName);
        return viewer;
    }

    private void OnFrame(ReadOnlySpan<byte> frame, uint rtpTimestamp, bool isKeyframe)
    {
        if (!_room.AcceptsFrames)
        {
            return;
        }

        if (_room.ReceiveHasTrailer)
        {
            frame = frame[..PacketTrailer.Read(frame, out _, out _)]; // the session's frame timing, not part of the bitstream
        }

        Interlocked.Increment(ref _framesReceived);
        var timestamp = RtpTimeline.Since(ref _firstRtp, rtpTimestamp);
        var codec = RealtimeSession.CodecOf(_pc);
        if (_options.OnFrame is { } onFrame)
        {
            try
            {
                onFrame(new ReceivedVideoFrame(frame, rtpTimestamp, timestamp, isKeyframe, codec));
            }
            catch (Exception ex)
            {
                _logger.LogWarning(DecartLog.ViewerFrameCallbackFailed, ex, "The viewer's OnFrame callback threw; the frame is skipped.");
            }
        }

        _frames.Writer.TryWrite(new EncodedVideoFrame(frame.ToArray(), timestamp, isKeyframe, codec));
    }

    private void Lose(DecartException reason)
    {
        // Only the first loss is reported (the media and the room may fail together), and only once connected.
        if (Volatile.Read(ref _disposed) == 1 || Interlocked.CompareExchange(ref _state, (int)ConnectionState.Disconnected, (int)ConnectionState.Connected) != (int)ConnectionState.Connected)
        {
            return;
        }

        _logger.LogInformation(DecartLog.ViewerLost, "The viewer lost room {Room}: {Reason}", RoomName, reason.Message);
        Raise(() => _options.OnConnectionChanged?.Invoke(ConnectionState.Disconnected));
        Raise(() => ConnectionChanged?.Invoke(this, ConnectionState.Disconnected));
        _frames.Writer.TryComplete();
        Raise(() => _options.OnError?.Invoke(reason));
        Raise(() => Error?.Invoke(this, reason));
    }

    private void SetState(ConnectionState state)
    {
        if (Interlocked.Exchange(ref _state, (int)state) == (int)state && state != ConnectionState.Connecting)
        {
            return;
        }

        Raise(() => _options.OnConnectionChanged?.Invoke(state));
        Raise(() => ConnectionChanged?.Invoke(this, state));
    }

    private void Raise(Action action)
    {
        try
        {
            action();
        }
        catch (Exception ex)
        {
            _logger.LogWarning(DecartLog.ViewerEventHandlerFailed, ex, "A viewer event handler threw.");
        }
    }
}

/// <summary>The subscribe token's JSON.</summary>
/// <param name="RoomName">The room.</param>
internal sealed record SubscribeTokenPayload([property: JsonPropertyName("room_name")] string? RoomName);

/// <summary>The answer of <c>POST /watch-stream/{room}</c>.</summary>
/// <param name="LivekitUrl">The room server.</param>
/// <param name="Token">The viewer's room token (never logged).</param>
/// <param name="RoomName">The room.</param>
/// <param name="SessionId">The watched session, when given.</param>
internal sealed record WatchStreamCredentials(
    [property: JsonPropertyName("livekit_url")] string? LivekitUrl,
    [property: JsonPropertyName("token")] string? Token,
    [property: JsonPropertyName("room_name")] string? RoomName,
    [property: JsonPropertyName("session_id")] string? SessionId)
{
    /// <inheritdoc />
    public override string ToString() => $"WatchStreamCredentials {{ RoomName = {RoomName}, SessionId = {SessionId}, Token = *** }}";
}

[JsonSerializable(typeof(SubscribeTokenPayload))]
[JsonSerializable(typeof(WatchStreamCredentials))]
internal sealed partial class ViewerJsonContext : JsonSerializerContext;
