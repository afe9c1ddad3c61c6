using Decart.Rtc;
using Decart.Rtc.Codecs;
using Decart.Rtc.LiveKit;
using Decart.Rtc.Sdp;
using Decart.Sdk.Media;
using Decart.Sdk.Realtime.LiveKit;
using Decart.Sdk.Realtime.Signaling;
using Decart.Sdk.Telemetry;
using Microsoft.Extensions.Logging;
using Decart.Sdk.Logging;

namespace Decart.Sdk.Realtime;

/// <summary>What a session reports to its client.</summary>
internal interface IRealtimeSessionHost
{
    void OnGenerationStarted(RealtimeSession session);

    void OnGenerationTick(RealtimeSession session, double seconds);

    void OnGenerationEnded(RealtimeSession session, double seconds, string? reason);

    void OnServerError(RealtimeSession session, DecartException error);

    void OnFrame(ReadOnlySpan<byte> frame, uint rtpTimestamp, bool isKeyframe, VideoCodec codec);

    void OnKeyframeRequested();

    void OnQueuePosition(RealtimeSession session, QueuePosition position);

    /// <summary>A received frame carried the capture time (epoch microseconds) of the input it was made from.</summary>
    void OnCaptureTime(ulong captureMicros);

    /// <summary>The camera's size and fps for publishing (the source's, else the model's).</summary>
    (int Width, int Height) PublishSize { get; }

    /// <summary>The source's simulcast layers, smallest first (empty: one stream).</summary>
    IReadOnlyList<SimulcastLayer> PublishLayers { get; }

    /// <summary>Transport-wide feedback on what this session sends arrived (on the receive loop).</summary>
    void OnTransportFeedback(RealtimeSession session, PeerConnection pc, Decart.Rtc.Interceptors.TransportFeedbackSummary feedback);
}

/// <summary>The state the server last acknowledged (restored after a reconnect).</summary>
/// <param name="Prompt">The prompt, or null.</param>
/// <param name="Enhance">Prompt enhancement.</param>
/// <param name="Image">The image, or null.</param>
internal sealed record AckedState(string? Prompt, bool Enhance, ImageInput? Image)
{
    public static AckedState Passthrough { get; } = new(null, true, null);
}

/// <summary>
/// One connection attempt and, when it succeeds, one live session: the signaling WebSocket, the peer connection,
/// the dispatch of server messages and the ack waiters. A reconnect makes a new one. <see cref="Lost"/> completes
/// when the session ends without being asked to.
/// </summary>
internal sealed class RealtimeSession : IAsyncDisposable
{
    private readonly IRealtimeSessionHost _host;
    private readonly RealtimeConnectOptions _options;
    private readonly VideoCodec _codec;
    private readonly ILogger _logger;
    private readonly object _lock = new();
    private readonly List<AckWaiter> _waiters = [];
    private readonly List<string> _earlyCandidates = [];
    private readonly TaskCompletionSource<DecartException> _failure = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<string> _answer = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<string> _serverOffer = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<LiveKitRoomInfoSignal> _roomInfo = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private CancellationTokenSource? _roomInfoTimer;
    private LiveKitRoomConnection? _room;
    private Task _initialAck = Task.CompletedTask;
    private readonly CancellationTokenSource _stop = new();
    private SignalingChannel? _signaling;
    private PeerConnection? _pc;
    private Task _dispatch = Task.CompletedTask;
    private readonly List<PeerConnection> _connections = [];
    private readonly object _trailerLock = new();
    private byte[] _withTrailer = [];
    private bool _connected;
    private int _disposed;

    public RealtimeSession(IRealtimeSessionHost host, RealtimeConnectOptions options, VideoCodec codec, ILogger logger)
    {
        _host = host;
        _options = options;
        _codec = codec;
        _logger = logger;
    }

    /// <summary>Completes (with the reason) when the connection is lost: WebSocket closed, ICE/consent or DTLS failure.</summary>
    public Task<DecartException> Lost => _failure.Task;

    /// <summary>The peer connection frames are sent on, once created.</summary>
    public PeerConnection? PeerConnection => _pc;

    /// <summary>Every peer connection of the session (two on LiveKit's older two-connection path).</summary>
    public IReadOnlyList<PeerConnection> Connections
    {
        get
        {
            lock (_lock)
            {
                return [.. _connections];
            }
        }
    }

    /// <summary>The server's session id.</summary>
    public string? SessionId { get; private set; }

    /// <summary>The LiveKit room of the session, once <c>livekit_room_info</c> named it (null on the direct transport).</summary>
    public string? RoomName => _roomInfo.Task.IsCompletedSuccessfully ? _roomInfo.Task.Result.RoomName : null;

    /// <summary>The server sent <c>generation_started</c>.</summary>
    public bool GenerationStarted { get; private set; }

    /// <summary>The server ended generation (no reconnect after that).</summary>
    public bool GenerationEnded { get; private set; }

    /// <summary>Signaling messages ignored (malformed or unknown), on the control socket and the room's signal connection.</summary>
    public int IgnoredMessages => (_signaling?.IgnoredMessages ?? 0) + (int)((_room?.MalformedMessages ?? 0) + (_room?.StaleAnswers ?? 0));

    /// <summary>The span of this connect attempt, parent of its phase spans (default: none).</summary>
    public System.Diagnostics.ActivityContext Trace { get; set; }

    /// <summary>Frames go out with their capture time in a packet trailer (LiveKit transport, <see cref="RealtimeConnectOptions.MeasureGlassToGlass"/>).</summary>
    public bool FrameTiming => _options.MeasureGlassToGlass && _options.Transport == RealtimeTransport.LiveKit;

    /// <summary>The LiveKit room connection (LiveKit transport), once joining.</summary>
    public LiveKitRoomConnection? Room => _room;

    /// <summary>Connects: WebSocket, initial state and its ack, offer/answer, ICE and DTLS.</summary>
    /// <exception cref="DecartException">The server's error when it sent one (a rejected key, an unknown model), else what failed.</exception>
    public async Task ConnectAsync(Uri url, AckedState initial, CancellationToken cancellationToken)
    {
        try
        {
            await ConnectCoreAsync(url, initial, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is DecartException or IOException or InvalidOperationException && !cancellationToken.IsCancellationRequested)
        {
            // A refusal arrives as an error message followed by a close; whichever the connect tripped over first,
            // report the server's reason.
            await Task.WhenAny(_failure.Task, Task.Delay(TimeSpan.FromSeconds(1), CancellationToken.None)).ConfigureAwait(false);
            if (_failure.Task.IsCompleted && _failure.Task.Result != ex && _failure.Task.Result.ServerMessage is not null)
            {
                throw _failure.Task.Result;
            }

            if (ex is DecartException)
            {
                throw;
            }

            throw new DecartException(DecartErrorCode.WebRtcError, $"the realtime connection failed: {SecretRedactor.Redact(ex.Message)}", ex) { Detail = WebRtcErrorDetail.WebSocket };
        }
    }

    private async Task ConnectCoreAsync(Uri url, AckedState initial, CancellationToken cancellationToken)
    {
        using (DecartTelemetry.Start("websocket-open", Trace))
        {
            _signaling = await SignalingChannel.ConnectAsync(url, _logger, SignalingChannel.DefaultMaxMessageBytes, cancellationToken).ConfigureAwait(false);
        }

        _dispatch = Task.Run(DispatchLoopAsync, CancellationToken.None);
        if (_options.Transport == RealtimeTransport.LiveKit)
        {
            await ConnectLiveKitAsync(initial, cancellationToken).ConfigureAwait(false);
            return;
        }

        using (DecartTelemetry.Start("initial-state-ack", Trace))
        {
            await SendStateAsync(initial, cancellationToken).ConfigureAwait(false);
        }

        using var handshake = DecartTelemetry.Start("webrtc-handshake", Trace);

        var pc = CreatePeerConnection(null);
        string mid;
        if (_serverOffer.Task.IsCompleted)
        {
            // The server offered first: answer it.
            var offer = ParseSdp(await _serverOffer.Task.ConfigureAwait(false), SdpType.Offer);
            await pc.SetRemoteDescriptionAsync(offer, cancellationToken).ConfigureAwait(false);
            var answer = await pc.CreateAnswerAsync(cancellationToken).ConfigureAwait(false);
            await _signaling.SendAsync(new SdpSignal("answer", answer.ToString()), cancellationToken).ConfigureAwait(false);
            mid = answer.Media.FirstOrDefault(m => m.Kind == "video" && !m.IsRejected)?.Mid ?? "0";
        }
        else
        {
            var offer = await pc.CreateOfferAsync(false, cancellationToken).ConfigureAwait(false);
            SdpNegotiation.PreferCodec(offer, CodecName(_codec));
            if (_options.CustomizeOffer is { } customize)
            {
                offer = await customize(offer, cancellationToken).ConfigureAwait(false)
                    ?? throw new DecartException(DecartErrorCode.InvalidOptions, "CustomizeOffer returned null.");
            }

            mid = offer.Media.FirstOrDefault(m => m.Kind == "video")?.Mid ?? "0";
            await _signaling.SendAsync(new SdpSignal("offer", offer.ToString()), cancellationToken).ConfigureAwait(false);
            var answerText = await RaceAsync(_answer.Task, cancellationToken).ConfigureAwait(false);
            await pc.SetRemoteDescriptionAsync(ParseSdp(answerText, SdpType.Answer), cancellationToken).ConfigureAwait(false);
        }

        foreach (var candidate in pc.Ice.LocalCandidates)
        {
            await _signaling.SendAsync(new IceCandidateSignal(new IceCandidateInit(candidate.ToString(), mid, 0)), cancellationToken).ConfigureAwait(false);
        }

        await _signaling.SendAsync(new IceCandidateSignal(null), cancellationToken).ConfigureAwait(false);
        string[] early;
        lock (_lock)
        {
            early = [.. _earlyCandidates];
            _earlyCandidates.Clear();
        }

        foreach (var candidate in early)
        {
            await pc.AddRemoteCandidateAsync(candidate, cancellationToken).ConfigureAwait(false);
        }

        if (pc.Video is { } video && video.CodecName != CodecName(_codec))
        {
            throw new DecartException(DecartErrorCode.InvalidOptions, $"the server chose {video.CodecName} but the source produces {CodecName(_codec)} frames; offer only {CodecName(_codec)} (CustomizeOffer) or use a {video.CodecName} source.");
        }

        try
        {
            await RaceAsync(pc.ConnectedAsync(cancellationToken), cancellationToken).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            throw new DecartException(DecartErrorCode.WebRtcError, $"the media connection could not be established: {ex.Message}", ex) { Detail = WebRtcErrorDetail.Ice };
        }

        _connected = true;
        if (pc.State != PeerConnectionState.Connected)
        {
            Fail(new DecartException(DecartErrorCode.WebRtcError, "the media connection closed while connecting.") { Detail = WebRtcErrorDetail.Ice });
        }
    }

    private PeerConnection CreatePeerConnection(string? trackId, bool simulcast = false)
    {
        // Simulcast goes to a room only: Decart's direct flow takes one stream (the largest layer is sent there).
        var layers = simulcast ? _host.PublishLayers : [];
        var pc = new PeerConnection(new PeerConnectionOptions
        {
            SendVideo = true,
            ConsentTimeout = _options.ConsentTimeout,
            TrackId = trackId ?? "video0",
            SendLayers = layers.Count > 1 ? [.. layers.Select(l => l.Rid)] : null,
        });
        pc.FrameReceived += (frame, ts, key) =>
        {
            if (_room is { } room)
            {
                if (!room.AcceptsFrames)
                {
                    return;
                }

                if (room.ReceiveHasTrailer)
                {
                    int payload = PacketTrailer.Read(frame, out ulong capture, out _);
                    frame = frame[..payload];
                    if (capture != 0)
                    {
                        _host.OnCaptureTime(capture);
                    }
                }
            }

            _host.OnFrame(frame, ts, key, CodecOf(pc));
        };
        pc.KeyframeRequested += _host.OnKeyframeRequested;
        pc.TransportFeedbackReceived += feedback => _host.OnTransportFeedback(this, pc, feedback);
        pc.StateChanged += state =>
        {
            if (_connected && state is PeerConnectionState.Failed or PeerConnectionState.Closed && Volatile.Read(ref _disposed) == 0)
            {
                Fail(new DecartException(DecartErrorCode.WebRtcError, $"the media connection was lost ({state}: ICE consent, DTLS close or failure).") { Detail = WebRtcErrorDetail.Ice });
            }
        };
        lock (_lock)
        {
            _pc = pc; // the connection frames are sent on: the last made (the publisher, on a two-connection room)
            _connections.Add(pc);
        }

        return pc;
    }

    /// <summary>
    /// Decart's current protocol: <c>livekit_join</c>, the initial state as the next frame (its ack awaited in the
    /// background: a late or failed ack raises <c>Error</c> and does not fail the connect), <c>livekit_room_info</c>
    /// within <see cref="RealtimeConnectOptions.RoomInfoTimeout"/> (the first <c>queue_position</c> stops that timer),
    /// then the room: join, publish the camera, receive the model's track.
    /// </summary>
    private async Task ConnectLiveKitAsync(AckedState initial, CancellationToken cancellationToken)
    {
        bool passthrough = initial.Prompt is null && initial.Image is null;
        using (var timer = new CancellationTokenSource(_options.RoomInfoTimeout, _options.TimeProvider))
        {
            lock (_lock)
            {
                _roomInfoTimer = timer;
            }

            await _signaling!.SendAsync(new LiveKitJoinSignal(passthrough, FrameTiming ? new ClientCapabilities(true) : null), cancellationToken).ConfigureAwait(false);
            if (!passthrough)
            {
                _initialAck = ObserveInitialAckAsync(SendStateAsync(initial, _stop.Token));
            }

            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timer.Token);
            using var waiting = DecartTelemetry.Start("room-info", Trace);
            try
            {
                var info = await RaceAsync(_roomInfo.Task, linked.Token).ConfigureAwait(false);
                SessionId = info.SessionId ?? SessionId;
            }
            catch (OperationCanceledException) when (timer.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                throw new DecartException(DecartErrorCode.WebRtcError, $"no livekit_room_info within {_options.RoomInfoTimeout.TotalSeconds:0.#} s (timeout).") { Detail = WebRtcErrorDetail.Timeout };
            }
            finally
            {
                lock (_lock)
                {
                    _roomInfoTimer = null;
                }
            }
        }

        var room = _roomInfo.Task.Result;
        if (!Uri.TryCreate(room.LivekitUrl, UriKind.Absolute, out var livekitUrl) || livekitUrl.Scheme is not ("ws" or "wss" or "http" or "https"))
        {
            throw new DecartException(DecartErrorCode.WebRtcError, "the server's livekit_url is not an absolute ws(s) URL.") { Detail = WebRtcErrorDetail.Signaling };
        }

        var pc = CreatePeerConnection("TR_" + Guid.NewGuid().ToString("N")[..12], simulcast: true);
        var connection = new LiveKitRoomConnection(pc, _options.RoomTimeouts, _options.TimeProvider, _logger, _options.CustomizeOffer, () => CreatePeerConnection("TR_" + Guid.NewGuid().ToString("N")[..12], simulcast: true));
        lock (_lock)
        {
            _room = connection;
        }

        var (width, height) = _host.PublishSize;
        using var joining = DecartTelemetry.Start("room-join", Trace);
        await RaceAsync(connection.ConnectAsync(livekitUrl, room.Token, new LiveKitPublication(CodecName(_codec), width, height, FrameTiming: FrameTiming) { Layers = _host.PublishLayers }, joining?.Context ?? default, cancellationToken), cancellationToken).ConfigureAwait(false);
        _ = connection.Lost.ContinueWith(t => Fail(t.Result), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        _connected = true;
        if (pc.State != PeerConnectionState.Connected)
        {
            Fail(new DecartException(DecartErrorCode.WebRtcError, "the media connection closed while connecting.") { Detail = WebRtcErrorDetail.Ice });
        }
    }

    /// <summary>The initial state's ack no longer gates the connect: a failure is reported as an error once connected.</summary>
    private async Task ObserveInitialAckAsync(Task ack)
    {
        try
        {
            await ack.ConfigureAwait(false);
        }
        catch (DecartException ex) when (Volatile.Read(ref _disposed) == 0 && !_failure.Task.IsCompleted)
        {
            _logger.LogWarning(DecartLog.InitialStateNotAcknowledged, "The initial state was not acknowledged: {Reason}", ex.Message);
            _host.OnServerError(this, ex);
        }
        catch (Exception ex) when (ex is DecartException or OperationCanceledException)
        {
            // The session failed or closed; that is reported on its own.
        }
    }

    /// <summary>Sends a whole state (initial or restored): <c>prompt</c> alone, or one atomic <c>set_image</c>.</summary>
    public Task SendStateAsync(AckedState state, CancellationToken cancellationToken) =>
        state.Image is null && state.Prompt is not null
            ? SendAndAwaitAckAsync(new PromptSignal(state.Prompt, state.Enhance), state.Prompt, _options.PromptTimeout, cancellationToken)
            : SendAndAwaitAckAsync(ImageSignals.SetState(state.Image, state.Prompt, state.Enhance), null, _options.StateTimeout, cancellationToken);

    /// <summary>Sends a prompt or image message and waits for its ack.</summary>
    /// <param name="message">The message.</param>
    /// <param name="prompt">For a <c>prompt</c>: its text (acks match by it); null for <c>set_image</c>.</param>
    /// <param name="timeout">How long to wait.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    public async Task SendAndAwaitAckAsync(OutgoingSignal message, string? prompt, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var signaling = _signaling ?? throw new DecartException(DecartErrorCode.WebRtcError, "not connected.");
        bool isPrompt = message is PromptSignal;
        var waiter = new AckWaiter(isPrompt, prompt);
        lock (_lock)
        {
            _waiters.Add(waiter);
        }

        try
        {
            await signaling.SendAsync(message, cancellationToken).ConfigureAwait(false);
            using var timeoutCts = new CancellationTokenSource(timeout, _options.TimeProvider);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutCts.Token);
            try
            {
                var error = await waiter.Done.Task.WaitAsync(linked.Token).ConfigureAwait(false);
                if (error is not null)
                {
                    throw new DecartException(DecartErrorCode.InvalidInput, $"the server rejected the {(isPrompt ? "prompt" : "image/state update")}: {error}", null, error);
                }
            }
            catch (OperationCanceledException) when (timeoutCts.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                throw new DecartException(DecartErrorCode.WebRtcError, $"no {(isPrompt ? "prompt_ack" : "set_image_ack")} within {timeout.TotalSeconds:0.#} s.") { Detail = WebRtcErrorDetail.Timeout };
            }
        }
        finally
        {
            lock (_lock)
            {
                _waiters.Remove(waiter);
            }
        }
    }

    /// <summary>Sends one encoded frame if the media connection is up.</summary>
    /// <param name="frame">The frame.</param>
    /// <param name="rtpTimestamp">Its RTP timestamp.</param>
    /// <param name="layer">Its simulcast layer, or null. Without simulcast on this connection only the largest layer is sent.</param>
    /// <returns>Whether it was sent.</returns>
    public bool SendFrame(ReadOnlySpan<byte> frame, uint rtpTimestamp, string? layer = null)
    {
        if (!_connected || _pc is not { } pc)
        {
            return false;
        }

        bool simulcast = pc.SendLayers.Count > 0;
        if (!simulcast && layer is not null && !IsTopLayer(layer))
        {
            return false; // a smaller layer, and this connection takes one stream
        }

        if (!FrameTiming || frame.IsEmpty)
        {
            return simulcast ? pc.SendFrame(frame, rtpTimestamp, layer) : pc.SendFrame(frame, rtpTimestamp);
        }

        // The capture time rides at the end of the frame (LKTS trailer); one reused buffer, nothing allocated per frame.
        lock (_trailerLock)
        {
            var stamped = PacketTrailer.Append(frame, PacketTrailer.Now(TimeProvider.System), ref _withTrailer);
            return simulcast ? pc.SendFrame(stamped, rtpTimestamp, layer) : pc.SendFrame(stamped, rtpTimestamp);
        }
    }

    /// <summary>Whether a layer is the source's largest (the one a single-stream connection sends).</summary>
    /// <param name="layer">The RID.</param>
    /// <returns>True for the largest.</returns>
    internal bool IsTopLayer(string layer) => string.Equals(_topLayer ??= _host.PublishLayers is { Count: > 0 } layers ? layers[^1].Rid : string.Empty, layer, StringComparison.Ordinal);

    private string? _topLayer;

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _stop.Cancel();
        Fail(new DecartException(DecartErrorCode.WebRtcError, "the session was closed.") { Detail = WebRtcErrorDetail.WebSocket });
        // The room first: its leave reaches the server before the control socket's close ends the session.
        if (_room is { } room)
        {
            await room.DisposeAsync().ConfigureAwait(false);
        }

        if (_signaling is { } signaling)
        {
            await signaling.DisposeAsync().ConfigureAwait(false);
        }

        PeerConnection[] connections;
        lock (_lock)
        {
            connections = [.. _connections];
        }

        foreach (var pc in connections)
        {
            await pc.DisposeAsync().ConfigureAwait(false);
        }

        await _initialAck.ConfigureAwait(false);

        try
        {
            await _dispatch.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    private static string CodecName(VideoCodec codec) => codec.ToRtp().Name;

    /// <summary>The codec of the video a peer connection receives (VP8 unless H.264 was negotiated).</summary>
    /// <param name="pc">The peer connection.</param>
    /// <returns>The codec.</returns>
    internal static VideoCodec CodecOf(PeerConnection pc) => ((pc.ReceiveVideo ?? pc.Video)?.Codec ?? RtpCodec.Vp8).ToVideoCodec();

    private static SessionDescription ParseSdp(string text, SdpType type) =>
        SessionDescription.TryParse(text, type, out var description, out var error, out int line)
            ? description!
            : throw new DecartException(DecartErrorCode.WebRtcError, $"the server's SDP {type.ToString().ToLowerInvariant()} is invalid: {error} at line {line}.") { Detail = WebRtcErrorDetail.Signaling };

    /// <summary>Awaits a task, failing early when the session fails (server error, WebSocket closed).</summary>
    private async Task<T> RaceAsync<T>(Task<T> task, CancellationToken cancellationToken)
    {
        var done = await Task.WhenAny(task, _failure.Task).WaitAsync(cancellationToken).ConfigureAwait(false);
        if (done == task)
        {
            return await task.ConfigureAwait(false);
        }

        throw await _failure.Task.ConfigureAwait(false);
    }

    private async Task RaceAsync(Task task, CancellationToken cancellationToken)
    {
        var done = await Task.WhenAny(task, _failure.Task).WaitAsync(cancellationToken).ConfigureAwait(false);
        if (done == task)
        {
            await task.ConfigureAwait(false);
            return;
        }

        throw await _failure.Task.ConfigureAwait(false);
    }

    private void Fail(DecartException reason)
    {
        if (!_failure.TrySetResult(reason))
        {
            return;
        }

        AckWaiter[] pending;
        lock (_lock)
        {
            pending = [.. _waiters];
        }

        foreach (var waiter in pending)
        {
            waiter.Done.TrySetException(reason);
        }
    }

    private async Task DispatchLoopAsync()
    {
        var signaling = _signaling!;
        try
        {
            await foreach (var signal in signaling.Incoming.ReadAllAsync(_stop.Token).ConfigureAwait(false))
            {
                try
                {
                    await HandleAsync(signal).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // Whatever the server sends, the loop goes on.
                    _logger.LogWarning(DecartLog.MessageNotHandled, "Realtime message {Type} could not be handled: {Reason}", signal.GetType().Name, SecretRedactor.Redact(ex.Message));
                }
            }
        }
        catch (OperationCanceledException)
        {
        }

        var closed = await signaling.Closed.ConfigureAwait(false);
        Fail(new DecartException(DecartErrorCode.WebRtcError, closed.Failure is not null
            ? $"the realtime WebSocket failed: {SecretRedactor.Redact(closed.Failure.Message)}"
            : $"the realtime WebSocket was closed ({closed.Status?.ToString() ?? "no status"}{(string.IsNullOrEmpty(closed.Description) ? string.Empty : ": " + SecretRedactor.Redact(closed.Description))}).") { Detail = WebRtcErrorDetail.WebSocket });
    }

    private async Task HandleAsync(IncomingSignal signal)
    {
        switch (signal)
        {
            case ErrorSignal error:
                var mapped = ServerErrors.Map(error.Error);
                _logger.LogWarning(DecartLog.ServerError, "Realtime server error: {Error}", mapped.ServerMessage);
                if (_connected)
                {
                    _host.OnServerError(this, mapped);
                }
                else
                {
                    Fail(mapped);
                }

                break;
            case SetImageAckSignal ack:
                Complete(w => !w.IsPrompt, ack.Success ? null : ack.Error ?? "Failed to set image");
                break;
            case PromptAckSignal ack:
                Complete(w => w.IsPrompt && (ack.Prompt is null || w.Prompt == ack.Prompt), ack.Success ? null : ack.Error ?? "Failed to send prompt");
                break;
            case SessionIdSignal id:
                if (_options.Transport == RealtimeTransport.Direct)
                {
                    SessionId = id.SessionId;
                }

                break;
            case LiveKitRoomInfoSignal info:
                if (_options.Transport != RealtimeTransport.LiveKit || !_roomInfo.TrySetResult(info))
                {
                    _logger.LogWarning(DecartLog.UnexpectedRoomInfo, "Ignored an unexpected livekit_room_info.");
                }

                break;
            case QueuePositionSignal queue:
                lock (_lock)
                {
                    // The first queue position stops the room-info timer for good: the wait is the queue's.
                    _roomInfoTimer?.CancelAfter(Timeout.InfiniteTimeSpan);
                }

                _host.OnQueuePosition(this, new QueuePosition(queue.Position, queue.QueueSize));
                break;
            case GenerationStartedSignal:
                GenerationStarted = true;
                _host.OnGenerationStarted(this);
                break;
            case GenerationTickSignal tick:
                _host.OnGenerationTick(this, tick.Seconds);
                break;
            case GenerationEndedSignal ended:
                GenerationEnded = true;
                _host.OnGenerationEnded(this, ended.Seconds, ended.Reason);
                break;
            case RemoteSdpSignal { Type: "answer" } answer:
                if (!_answer.TrySetResult(answer.Sdp))
                {
                    _logger.LogWarning(DecartLog.SecondAnswer, "Ignored a second SDP answer.");
                }

                break;
            case RemoteSdpSignal offer:
                if (_pc is not null || !_serverOffer.TrySetResult(offer.Sdp))
                {
                    _logger.LogWarning(DecartLog.LateServerOffer, "Ignored a server offer after negotiation (renegotiation is not supported).");
                }

                break;
            case RemoteCandidateSignal { Candidate: { } candidate }:
                PeerConnection? pc;
                lock (_lock)
                {
                    pc = _pc?.Video is not null ? _pc : null;
                    if (pc is null)
                    {
                        _earlyCandidates.Add(candidate.Candidate);
                    }
                }

                if (pc is not null && !await pc.AddRemoteCandidateAsync(candidate.Candidate, _stop.Token).ConfigureAwait(false))
                {
                    _logger.LogDebug(DecartLog.UnusableCandidate, "Ignored an unusable remote candidate.");
                }

                break;
        }
    }

    private void Complete(Func<AckWaiter, bool> match, string? error)
    {
        AckWaiter? waiter;
        lock (_lock)
        {
            waiter = _waiters.FirstOrDefault(w => match(w) && !w.Done.Task.IsCompleted);
        }

        if (waiter is null)
        {
            _logger.LogDebug(DecartLog.UnexpectedAck, "Ignored an ack nobody waits for.");
            return;
        }

        waiter.Done.TrySetResult(error);
    }

    private sealed class AckWaiter(bool isPrompt, string? prompt)
    {
        public bool IsPrompt { get; } = isPrompt;

        public string? Prompt { get; } = prompt;

        /// <summary>Null on success, else the server's reason.</summary>
        public TaskCompletionSource<string?> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
