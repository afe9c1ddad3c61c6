using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Decart.Sdk.Http;
using Decart.Sdk.Media;
using Decart.Sdk.Realtime.Signaling;
using Decart.Sdk.Telemetry;
using Microsoft.Extensions.Logging;
using Decart.Sdk.Logging;

namespace Decart.Sdk.Realtime;

/// <summary>Starts realtime sessions: <c>client.Realtime.ConnectAsync(source, options)</c>.</summary>
public sealed class RealtimeApi
{
    private readonly DecartClient _client;

    internal RealtimeApi(DecartClient client) => _client = client;

    /// <summary>
    /// Connects a video source to a realtime model: opens the signaling WebSocket, sends the initial state and waits
    /// for its ack, negotiates the peer connection, and starts streaming. Transient failures are retried per
    /// <see cref="RealtimeConnectOptions.Reconnect"/>; permanent ones (a rejected key, an unknown model) are not.
    /// </summary>
    /// <param name="source">Encoded video to send (not disposed unless <see cref="RealtimeConnectOptions.OwnsSource"/>).</param>
    /// <param name="options">Model, state, hooks and policies.</param>
    /// <param name="cancellationToken">Cancels connecting.</param>
    /// <returns>The connected client; dispose it (or call <see cref="RealtimeClient.DisconnectAsync"/>) to stop.</returns>
    /// <exception cref="DecartException"><see cref="DecartErrorCode.InvalidApiKey"/>, <see cref="DecartErrorCode.ModelNotFound"/>,
    /// <see cref="DecartErrorCode.InvalidOptions"/>, <see cref="DecartErrorCode.InvalidInput"/> or <see cref="DecartErrorCode.WebRtcError"/>.</exception>
    public Task<RealtimeClient> ConnectAsync(IVideoSource source, RealtimeConnectOptions options, CancellationToken cancellationToken = default) =>
        RealtimeClient.ConnectAsync(_client, source, options, cancellationToken);

    /// <summary>
    /// Watches another session's output, receive-only: asks the service for a viewer's place in the session's room
    /// (<c>POST /watch-stream/{room}</c> with this client's key) and joins it. Sends nothing, changes nothing.
    /// </summary>
    /// <param name="subscribeToken">The session's <see cref="RealtimeClient.SubscribeToken"/> (or the JS SDK's <c>subscribeToken</c>).</param>
    /// <param name="options">Hooks and timeouts; null for defaults.</param>
    /// <param name="cancellationToken">Cancels joining.</param>
    /// <returns>The viewer; dispose it to leave the room.</returns>
    /// <exception cref="DecartException"><see cref="DecartErrorCode.InvalidInput"/> for a malformed token;
    /// <see cref="DecartErrorCode.InvalidApiKey"/>; <see cref="DecartErrorCode.WebRtcError"/> when the room is gone
    /// (HTTP 404) or cannot be joined in time.</exception>
    public Task<RealtimeViewer> SubscribeAsync(string subscribeToken, SubscribeOptions? options = null, CancellationToken cancellationToken = default) =>
        RealtimeViewer.ConnectAsync(_client, subscribeToken, options ?? new SubscribeOptions(), cancellationToken);

    /// <summary>
    /// Checks connectivity before connecting (Decart's JS SDK's <c>checkConnectivity</c>): by default a STUN probe —
    /// does UDP reach the internet, how long is the round trip (failed → critical; &gt; 300 ms poor; &gt; 150 ms fair);
    /// with <see cref="ConnectivityCheckOptions.Deep"/> and a model, a short real session whose time to first frame,
    /// glass-to-glass latency and upstream loss are judged with the in-session bands.
    /// </summary>
    /// <param name="options">What to probe (default: the STUN probe against Google's public server).</param>
    /// <param name="cancellationToken">Stops the check.</param>
    /// <returns>The verdict, what was measured, and why it is not good.</returns>
    /// <exception cref="DecartException"><see cref="DecartErrorCode.InvalidOptions"/> for a deep check without a model or out-of-range bounds.</exception>
    public Task<ConnectivityReport> CheckConnectivityAsync(ConnectivityCheckOptions? options = null, CancellationToken cancellationToken = default) =>
        Preflight.CheckAsync(_client, options ?? new ConnectivityCheckOptions(), cancellationToken);

    /// <inheritdoc />
    public override string ToString() => "RealtimeApi";
}

/// <summary>
/// A live realtime session: the source's video goes to the model, the transformed video comes back. Change the
/// style with <see cref="SetPromptAsync"/>, <see cref="SetImageAsync"/> or the atomic <see cref="SetAsync"/> (no
/// reconnecting). Drops are reconnected automatically and the last acknowledged state is restored. Always
/// dispose it.
/// </summary>
public sealed class RealtimeClient : IAsyncDisposable, IRealtimeSessionHost
{
    private const int MaxPromptLength = 1000;
    private IVideoSource _source;
    private CancellationTokenSource? _pumpStop;
    private readonly SemaphoreSlim _replacing = new(1, 1);
    private long _lastRtp = -1;
    private readonly RealtimeConnectOptions _options;
    private readonly ILogger _logger;
    private readonly Uri _url;
    private readonly ReconnectLoop _reconnect;
    private readonly CancellationTokenSource _life = new();
    private readonly object _lock = new();
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<string> _warnings = [];
    private RealtimeSession? _session;
    private RealtimeSession? _connecting;
    private AckedState _acked;
    private ConnectionState _state = ConnectionState.Disconnected;
    private Channel<EncodedVideoFrame>? _frames;
    private readonly Channel<EncodedVideoFrame>? _toDecode;
    private Task _decoder = Task.CompletedTask;
    private Task _supervisor = Task.CompletedTask;
    private Task _statsLoop = Task.CompletedTask;
    private System.Diagnostics.Activity? _firstFrameSpan;
    private readonly StatsSampler _sampler = new();
    private readonly ConnectionQualityEvaluator _quality = new();
    private RealtimeStats? _stats;
    private SendRateController? _rate;
    private readonly RtpSendTimes _sentRtp = new();
    private readonly object _rateLock = new();
    private DelayBasedRateController? _delayRate;
    private long _lastFeedbackMs = long.MinValue / 2;
    private long _lastRateAppliedMs;
    private long _reportsSeen;
    private long _lastKeyframeRequest;
    private long _keyframesSuppressed;
    private int _keyframeDeferred;
    private ConnectionQualityReport? _qualityReport;
    private Task _pump = Task.CompletedTask;
    private long _framesSent;
    private long _framesReceived;
    private const int DecodeQueueCapacity = 30;
    private long _framesDroppedBeforeDecode;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<VideoCodec, bool> _decoderFailures = new();
    private int _decodeResync;
    private long _decodeKeyframeAskedAt;
    private readonly GlassToGlassTracker _g2g = new(TimeProvider.System);
    private long _firstRtp = -1;
    private int _reconnects;
    private int _closing;
    private bool _eventsStopped;

    private RealtimeClient(IVideoSource source, RealtimeConnectOptions options, ILogger logger, Uri url)
    {
        _source = source;
        _options = options;
        _logger = logger;
        _url = url;
        _acked = options.InitialState is { } s ? new AckedState(s.Prompt, s.Enhance, s.Image) : AckedState.Passthrough;
        if (options.DecodedSink is not null)
        {
            // Bounded: a sink slower than the stream loses frames (until the next keyframe, which is asked for), not memory.
            _toDecode = Channel.CreateBounded<EncodedVideoFrame>(new BoundedChannelOptions(DecodeQueueCapacity) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });
        }
        _reconnect = options.Reconnect.BuildLoop(options.TimeProvider, (retry, delay, error) =>
        {
            var failure = error as DecartException ?? new DecartException(DecartErrorCode.WebRtcError, SecretRedactor.Redact(error?.Message) ?? "connection failed");
            _logger.LogInformation(DecartLog.ConnectAttemptFailed, "Realtime connection attempt failed ({Code}); retry {Retry} in {Delay}.", failure.CodeString, retry, delay);
            options.OnRetry?.Invoke(retry, delay, failure);
        });
    }

    /// <summary>The connection state.</summary>
    public ConnectionState State
    {
        get
        {
            lock (_lock)
            {
                return _state;
            }
        }
    }

    /// <summary>The server's session id (changes after a reconnect).</summary>
    public string? SessionId => _session?.SessionId;

    /// <summary>
    /// The token another client passes to <see cref="RealtimeApi.SubscribeAsync"/> to watch this session's output
    /// (base64 of <c>{"room_name":…}</c>, the form Decart's JS SDK hands out); null on the direct transport or before
    /// the room is known. It changes after a reconnect (a new session has a new room). It names a room, not a key:
    /// a viewer still needs its own API key or client token.
    /// </summary>
    public string? SubscribeToken => _session?.RoomName is { } room ? RealtimeViewer.EncodeToken(room) : null;

    /// <summary>The model.</summary>
    public Models.RealtimeModel Model => _options.Model;

    /// <summary>The live session (tests look into its room connection).</summary>
    internal RealtimeSession? CurrentSession => _session;

    /// <summary>Frames sent to the model.</summary>
    public long FramesSent => Interlocked.Read(ref _framesSent);

    /// <summary>Transformed frames received.</summary>
    public long FramesReceived => Interlocked.Read(ref _framesReceived);

    /// <summary>
    /// Frames not decoded because the <see cref="RealtimeConnectOptions.DecodedSink"/> fell more than 30 frames behind:
    /// the frames up to the next keyframe are skipped (a keyframe is asked for) so memory stays bounded.
    /// </summary>
    public long FramesDroppedBeforeDecode => Interlocked.Read(ref _framesDroppedBeforeDecode);

    /// <summary>
    /// Glass-to-glass latency of the current connection: the time to first frame always; the median and p90 of capture →
    /// receipt with <see cref="RealtimeConnectOptions.MeasureGlassToGlass"/> on the LiveKit transport.
    /// </summary>
    public GlassToGlassStats GlassToGlass => _g2g.Snapshot();

    /// <summary>Successful automatic reconnects so far.</summary>
    public int Reconnects => Volatile.Read(ref _reconnects);

    /// <summary>Warnings raised at connect (e.g. a frame size that differs from the model's).</summary>
    public IReadOnlyList<string> Warnings
    {
        get
        {
            lock (_lock)
            {
                return [.. _warnings];
            }
        }
    }

    /// <summary>The state last acknowledged by the server (what a reconnect restores).</summary>
    public RealtimeState AcknowledgedState
    {
        get
        {
            var a = Volatile.Read(ref _acked);
            return new RealtimeState { Prompt = a.Prompt, Enhance = a.Enhance, Image = a.Image };
        }
    }

    /// <summary>Signaling messages ignored in the current session (malformed or of unknown type).</summary>
    public int IgnoredMessages => _session?.IgnoredMessages ?? 0;

    /// <summary>Raised on every state change (from the media or signaling thread).</summary>
    public event EventHandler<ConnectionState>? ConnectionChanged;

    /// <summary>Raised for server errors, failed reconnects and source failures.</summary>
    public event EventHandler<DecartException>? Error;

    /// <summary>The service reported the session's place in its queue (LiveKit transport, while connecting).</summary>
    public event EventHandler<QueuePosition>? QueuePositionChanged;

    /// <summary>A stats sample, every <see cref="RealtimeConnectOptions.StatsInterval"/> (1 s) while connected (on a timer thread).</summary>
    public event EventHandler<RealtimeStats>? StatsUpdated;

    /// <summary>The connection-quality verdict changed (after its warm-up and hysteresis, as Decart's JS SDK judges it).</summary>
    public event EventHandler<ConnectionQualityReport>? ConnectionQualityChanged;

    /// <summary>The latest stats sample, or null before the first.</summary>
    public RealtimeStats? Stats => Volatile.Read(ref _stats);

    /// <summary>The latest connection-quality verdict (Decart's JS SDK's <c>getConnectionQuality()</c>), or null before the first sample.</summary>
    /// <returns>The report, or null.</returns>
    public ConnectionQualityReport? GetConnectionQuality() => Volatile.Read(ref _qualityReport);

    /// <summary>The billing clock: seconds of generation so far, about once a second.</summary>
    public event EventHandler<GenerationTick>? GenerationTick;

    /// <summary>The server ended generation (credits, time limit); the client then disconnects.</summary>
    public event EventHandler<GenerationEnded>? GenerationEnded;

    /// <summary>
    /// Sets the whole state at once — prompt, enhancement and image — in one atomic <c>set_image</c> message, and
    /// waits for its ack. A null prompt or image clears it.
    /// </summary>
    /// <param name="state">The new state.</param>
    /// <param name="cancellationToken">Stops waiting for the ack.</param>
    /// <returns>A task that completes when the server acknowledged.</returns>
    /// <exception cref="DecartException"><see cref="DecartErrorCode.InvalidInput"/> when rejected; <see cref="DecartErrorCode.WebRtcError"/> when not connected or no ack came.</exception>
    public async Task SetAsync(RealtimeState state, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Prompt is not null)
        {
            CheckPrompt(state.Prompt);
        }

        var session = RequireConnected();
        await session.SendAndAwaitAckAsync(ImageSignals.SetState(state.Image, state.Prompt, state.Enhance), null, _options.StateTimeout, cancellationToken).ConfigureAwait(false);
        Volatile.Write(ref _acked, new AckedState(state.Prompt, state.Enhance, state.Image));
    }

    /// <summary>Changes the prompt (keeping the image) and waits for its ack. Debounce typing (~300 ms) before calling.</summary>
    /// <param name="prompt">1–1000 characters.</param>
    /// <param name="enhance">Let the server enhance the prompt (recommended unless you need exact control).</param>
    /// <param name="cancellationToken">Stops waiting for the ack.</param>
    /// <returns>A task that completes when the server acknowledged.</returns>
    /// <exception cref="DecartException"><see cref="DecartErrorCode.InvalidInput"/> for a bad or rejected prompt; <see cref="DecartErrorCode.WebRtcError"/> when not connected or no ack came.</exception>
    public async Task SetPromptAsync(string prompt, bool enhance = true, CancellationToken cancellationToken = default)
    {
        CheckPrompt(prompt);
        var session = RequireConnected();
        await session.SendAndAwaitAckAsync(new PromptSignal(prompt, enhance), prompt, _options.PromptTimeout, cancellationToken).ConfigureAwait(false);
        var before = Volatile.Read(ref _acked);
        Volatile.Write(ref _acked, before with { Prompt = prompt, Enhance = enhance });
    }

    /// <summary>Sets or clears (null) the reference image, optionally with a prompt in the same message, and waits for its ack.</summary>
    /// <param name="image">The image (<see cref="ImageInput"/>: bytes, stream, file, data URL, or an uploaded file's id with <see cref="ImageInput.FromFileRef"/>), or null to clear it.</param>
    /// <param name="options">A prompt to send along, and its enhancement.</param>
    /// <param name="cancellationToken">Stops waiting for the ack.</param>
    /// <returns>A task that completes when the server acknowledged.</returns>
    /// <exception cref="DecartException"><see cref="DecartErrorCode.InvalidInput"/> when rejected; <see cref="DecartErrorCode.WebRtcError"/> when not connected or no ack came.</exception>
    public async Task SetImageAsync(ImageInput? image, SetImageOptions? options = null, CancellationToken cancellationToken = default)
    {
        if (options?.Prompt is { } p)
        {
            CheckPrompt(p);
        }

        var session = RequireConnected();
        await session.SendAndAwaitAckAsync(ImageSignals.SetImage(image, options?.Prompt, options?.Enhance), null, _options.StateTimeout, cancellationToken).ConfigureAwait(false);
        var before = Volatile.Read(ref _acked);
        Volatile.Write(ref _acked, new AckedState(options?.Prompt ?? before.Prompt, options?.Enhance ?? (options?.Prompt is not null || before.Enhance), image));
    }

    /// <summary>The transformed frames as they arrive (copies; the oldest are dropped when you fall 64 frames behind). Ends on disconnect.</summary>
    /// <param name="cancellationToken">Stops the enumeration.</param>
    /// <returns>The frames.</returns>
    public async IAsyncEnumerable<EncodedVideoFrame> ReadFramesAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var channel = Volatile.Read(ref _frames);
        if (channel is null)
        {
            var created = Channel.CreateBounded<EncodedVideoFrame>(new BoundedChannelOptions(64) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = false });
            channel = Interlocked.CompareExchange(ref _frames, created, null) ?? created;
            if (Volatile.Read(ref _closing) == 1)
            {
                channel.Writer.TryComplete();
            }
        }

        await foreach (var frame in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return frame;
        }
    }

    /// <summary>
    /// Switches the camera without reconnecting: the session, its room and its state stay; frames come from
    /// <paramref name="source"/> from now on, starting with a keyframe. The mirror follows <see cref="RealtimeConnectOptions.Mirror"/>
    /// for the new source (with <see cref="MirrorMode.Auto"/>, a front camera is mirrored and a back one is not). The size
    /// and fps are checked as at connect (a warning, or an error with <see cref="RealtimeConnectOptions.StrictFormat"/>).
    /// The previous source is stopped but not disposed unless <see cref="RealtimeConnectOptions.OwnsSource"/> is set
    /// (then the client owns the new one instead).
    /// </summary>
    /// <param name="source">The new source. It must produce the codec the session negotiated.</param>
    /// <param name="cancellationToken">Cancels waiting for another replacement in progress (the previous source is given 5 s to stop).</param>
    /// <returns>A task that completes when the new source feeds the session.</returns>
    /// <exception cref="DecartException"><see cref="DecartErrorCode.InvalidOptions"/> for another codec, a mirror the
    /// source cannot do, or (strict) another size or fps; the old source keeps feeding the session then.
    /// <see cref="DecartErrorCode.WebRtcError"/> after a disconnect.</exception>
    public async Task ReplaceSourceAsync(IVideoSource source, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        await _replacing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (Volatile.Read(ref _closing) == 1)
            {
                throw new DecartException(DecartErrorCode.WebRtcError, "the client is disconnected; connect again with the new source.");
            }

            var old = _source;
            if (ReferenceEquals(old, source))
            {
                return;
            }

            ApplyCodec(source, old.Codec); // a source that encodes itself follows the session's codec
            if (source.Codec != old.Codec)
            {
                throw new DecartException(DecartErrorCode.InvalidOptions, $"the new source produces {source.Codec} but the session sends {old.Codec}; use a source of the same codec or connect again.");
            }

            ApplyMirror(source, _options.Mirror);
            CheckFormat(source);

            // Stop the old pump, then start the new one: one source feeds the session at a time. A source that ignores
            // cancellation is waited for 5 s at most; a frame it yields later is not sent (the pump checks its token).
            _pumpStop?.Cancel();
            await StopPumpAsync(_pump).ConfigureAwait(false);
            _pumpStop?.Dispose();
            Volatile.Write(ref _source, source);
            if (Volatile.Read(ref _closing) == 1)
            {
                if (_options.OwnsSource)
                {
                    await DisposeQuietlyAsync(old).ConfigureAwait(false); // the disconnect disposes the new one
                }

                throw new DecartException(DecartErrorCode.WebRtcError, "the client disconnected while the source was being replaced.");
            }

            // From here the new source is live: what its code or the old one's throws is logged, not thrown.
            try
            {
                source.RequestKeyframe(); // before its first frame is read
            }
            catch (Exception ex)
            {
                _logger.LogWarning(DecartLog.NewSourceKeyframeFailed, ex, "The new source's RequestKeyframe threw.");
            }

            StartPump();
            _logger.LogInformation(DecartLog.SourceReplaced, "Realtime source replaced ({Codec}).", source.Codec);
            if (_options.OwnsSource)
            {
                await DisposeQuietlyAsync(old).ConfigureAwait(false);
            }
        }
        finally
        {
            _replacing.Release();
        }
    }

    /// <summary>Disconnects: cancels any reconnect, closes the WebSocket and the peer connection, stops the media pump. Idempotent.</summary>
    /// <param name="cancellationToken">Not used to abandon the cleanup (which is bounded); kept for the async convention.</param>
    /// <returns>A task that completes when everything is closed.</returns>
    public async Task DisconnectAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _closing, 1) == 1)
        {
            await _closed.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            return;
        }

        _logger.LogDebug(DecartLog.Disconnecting, "Realtime client disconnecting.");
        _life.Cancel();
        RealtimeSession? session;
        RealtimeSession? connecting;
        lock (_lock)
        {
            session = _session;
            connecting = _connecting;
            _session = null;
            _connecting = null;
        }

        if (session is not null)
        {
            DecartTelemetry.SessionsActive.Add(-1, DecartTelemetry.Transport(_options.Transport));
            await session.DisposeAsync().ConfigureAwait(false);
        }

        Interlocked.Exchange(ref _firstFrameSpan, null)?.Stop();
        if (connecting is not null)
        {
            await connecting.DisposeAsync().ConfigureAwait(false);
        }

        await IgnoreFailures(_supervisor).ConfigureAwait(false);
        await IgnoreFailures(_statsLoop).ConfigureAwait(false);
        await _replacing.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            await StopPumpAsync(_pump).ConfigureAwait(false); // the current source's pump, after any replacement in progress
        }
        finally
        {
            _replacing.Release();
        }

        Volatile.Read(ref _frames)?.Writer.TryComplete();
        _toDecode?.Writer.TryComplete();
        try
        {
            await IgnoreFailures(_decoder).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // A sink that does not return (it blocks on something that will not come) must not hold the disconnect:
            // its worker is left to finish on its own.
            _logger.LogWarning(DecartLog.SinkFailed, "The decoded-frame sink did not return within 5 s of the disconnect; not waiting for it.");
        }
        SetState(ConnectionState.Disconnected);
        lock (_lock)
        {
            _eventsStopped = true;
        }

        if (_options.OwnsSource)
        {
            await DisposeSourceAsync(_source).ConfigureAwait(false);
        }

        _life.Dispose();
        _closed.TrySetResult();
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync() => await DisconnectAsync().ConfigureAwait(false);

    private static async ValueTask DisposeSourceAsync(IVideoSource source)
    {
        if (source is IAsyncDisposable asyncDisposable)
        {
            await asyncDisposable.DisposeAsync().ConfigureAwait(false);
        }
        else if (source is IDisposable disposable)
        {
            disposable.Dispose();
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"RealtimeClient {{ Model = {_options.Model.Name}, State = {State}, SessionId = {SessionId ?? "none"} }}";

    void IRealtimeSessionHost.OnGenerationStarted(RealtimeSession session)
    {
        if (IsCurrent(session))
        {
            SetState(ConnectionState.Generating);
        }
    }

    void IRealtimeSessionHost.OnGenerationTick(RealtimeSession session, double seconds)
    {
        if (IsCurrent(session) || session == _connecting)
        {
            Raise(() => GenerationTick?.Invoke(this, new GenerationTick(seconds)));
        }
    }

    void IRealtimeSessionHost.OnGenerationEnded(RealtimeSession session, double seconds, string? reason)
    {
        _logger.LogInformation(DecartLog.GenerationEnded, "Realtime generation ended after {Seconds} s ({Reason}).", seconds, reason);
        Raise(() => GenerationEnded?.Invoke(this, new GenerationEnded(seconds, reason)));
    }

    void IRealtimeSessionHost.OnServerError(RealtimeSession session, DecartException error) => RaiseError(error);

    void IRealtimeSessionHost.OnFrame(ReadOnlySpan<byte> frame, uint rtpTimestamp, bool isKeyframe, VideoCodec codec)
    {
        Interlocked.Increment(ref _framesReceived);
        DecartTelemetry.FramesReceived.Add(1, DecartTelemetry.Transport(_options.Transport));
        if (Volatile.Read(ref _firstFrameSpan) is not null)
        {
            Interlocked.Exchange(ref _firstFrameSpan, null)?.Stop();
        }

        _g2g.OnFrame();
        if (MeasuresByRtpTimestamp && _sentRtp.TryTake(rtpTimestamp, out ulong sentMicros))
        {
            ((IRealtimeSessionHost)this).OnCaptureTime(sentMicros);
        }

        var timestamp = RtpTimeline.Since(ref _firstRtp, rtpTimestamp);
        if (_options.OnFrame is { } onFrame)
        {
            try
            {
                onFrame(new ReceivedVideoFrame(frame, rtpTimestamp, timestamp, isKeyframe, codec));
            }
            catch (Exception ex)
            {
                _logger.LogWarning(DecartLog.FrameCallbackFailed, ex, "The OnFrame callback threw; the frame is skipped.");
            }
        }

        // One copy serves both consumers (the frame record is immutable); none when nobody reads.
        var pull = Volatile.Read(ref _frames);
        var decode = _toDecode;
        if (pull is not null || decode is not null)
        {
            var copy = new EncodedVideoFrame(frame.ToArray(), timestamp, isKeyframe, codec);
            pull?.Writer.TryWrite(copy);
            if (decode is not null)
            {
                EnqueueForDecode(decode, copy);
            }
        }
    }

    /// <summary>
    /// Hands a frame to the decoder unless it is too far behind: then frames are skipped up to the next keyframe that
    /// fits (a frame that depends on a skipped one would not decode) and the model is asked for one (RTCP PLI, at most
    /// every 500 ms).
    /// </summary>
    private void EnqueueForDecode(Channel<EncodedVideoFrame> decode, EncodedVideoFrame frame)
    {
        if (Volatile.Read(ref _decodeResync) != 0 && !frame.IsKeyframe)
        {
            Interlocked.Increment(ref _framesDroppedBeforeDecode);
            return;
        }

        if (decode.Writer.TryWrite(frame))
        {
            Volatile.Write(ref _decodeResync, 0);
            return;
        }

        Interlocked.Increment(ref _framesDroppedBeforeDecode);
        Volatile.Write(ref _decodeResync, 1);
        long now = Environment.TickCount64;
        long asked = Interlocked.Read(ref _decodeKeyframeAskedAt);
        if (now - asked >= 500 && Interlocked.CompareExchange(ref _decodeKeyframeAskedAt, now, asked) == asked)
        {
            _logger.LogDebug(DecartLog.FrameNotDecoded, "The decoded-frame sink is {Frames} frames behind; frames are skipped until the next keyframe.", DecodeQueueCapacity);
            // The connection that receives the model's video (on LiveKit's two-connection path it is not the
            // publisher's); the others ignore the request.
            foreach (var connection in _session?.Connections ?? [])
            {
                connection.RequestKeyframe();
            }
        }
    }

    private async Task DecodeLoopAsync(IVideoSink sink)
    {
        // One decoder per codec, made when its first frame comes (a reconnect may negotiate the other codec).
        Media.Vpx.Vp8Decoder? vp8 = null;
        Media.OpenH264.H264Decoder? h264 = null;
        try
        {
            await DecodeFramesAsync(sink, codec => codec == VideoCodec.H264
                ? (h264 ??= new Media.OpenH264.H264Decoder()).Decode
                : (vp8 ??= new Media.Vpx.Vp8Decoder()).Decode).ConfigureAwait(false);
        }
        finally
        {
            vp8?.Dispose();
            h264?.Dispose();
        }
    }

    private delegate I420Frame? FrameDecoder(ReadOnlySpan<byte> data);

    private async Task DecodeFramesAsync(IVideoSink sink, Func<VideoCodec, FrameDecoder> decoderFor)
    {
        await foreach (var frame in _toDecode!.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            I420Frame? picture;
            try
            {
                picture = decoderFor(frame.Codec)(frame.Data.Span);
            }
            catch (DecartException ex)
            {
                _logger.LogDebug(DecartLog.FrameNotDecoded, "A received frame could not be decoded ({Reason}); the next keyframe resumes.", ex.Message);
                continue;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // A decoder that cannot be made (its native library is missing) or fails otherwise: the worker goes
                // on, so the queue keeps draining; said once per codec.
                if (_decoderFailures.TryAdd(frame.Codec, true))
                {
                    _logger.LogWarning(DecartLog.FrameNotDecoded, ex, "{Codec} frames cannot be decoded for the DecodedSink.", frame.Codec);
                }

                continue;
            }

            if (picture is null)
            {
                continue;
            }

            picture.Timestamp = frame.Timestamp;
            try
            {
                sink.OnFrame(picture);
            }
            catch (Exception ex)
            {
                _logger.LogWarning(DecartLog.SinkFailed, ex, "The video sink threw; the frame is skipped.");
            }
        }
    }

    void IRealtimeSessionHost.OnCaptureTime(ulong captureMicros)
    {
        ulong now = Rtc.LiveKit.PacketTrailer.Now(TimeProvider.System);
        _g2g.OnCaptureTime(captureMicros, now);
        if (DecartTelemetry.GlassToGlass.Enabled && now > captureMicros)
        {
            DecartTelemetry.GlassToGlass.Record((now - captureMicros) / 1000.0, DecartTelemetry.Transport(_options.Transport));
        }
    }

    void IRealtimeSessionHost.OnTransportFeedback(RealtimeSession session, Decart.Rtc.PeerConnection pc, Decart.Rtc.Interceptors.TransportFeedbackSummary feedback)
    {
        // The delay-based sender: every feedback (~50 ms) steps the target; a decrease applies at once, an increase at
        // most every 200 ms. While feedback flows, the once-a-second loss-based controller stands aside.
        if (!_options.AdaptBitrate || !IsSteering(session, pc, out var encoded))
        {
            return;
        }

        long now = Environment.TickCount64;
        Volatile.Write(ref _lastFeedbackMs, now);
        int probeKbps;
        lock (_rateLock)
        {
            _delayRate ??= new DelayBasedRateController(encoded.TargetBitrateKbps, _options.MinBitrateKbps, Math.Max(_options.MaxBitrateKbps, encoded.TargetBitrateKbps));
            _delayRate.ProbingAvailable = pc.CanProbe;
            int current = encoded.TargetBitrateKbps;
            int target = _delayRate.Update(feedback, pc.Stats.RemoteEstimate, now);
            ApplyTarget(encoded, current, target, now, feedback);
            if (!_delayRate.TryStartProbe(now, out probeKbps))
            {
                return;
            }
        }

        _ = ProbeAsync(session, pc, encoded, probeKbps);
    }

    /// <summary>Whether <paramref name="pc"/> is the current session's sending connection and the source is one the SDK encodes (whose bitrate it steers).</summary>
    private bool IsSteering(RealtimeSession session, Decart.Rtc.PeerConnection pc, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Media.IBitrateControllable? encoded)
    {
        encoded = Volatile.Read(ref _source) as Media.IBitrateControllable;
        return encoded is not null && ReferenceEquals(session, _session) && ReferenceEquals(pc, session.PeerConnection);
    }

    /// <summary>Sets the encoder's target when it moved enough: a decrease at once, an increase at most every 200 ms. Under <see cref="_rateLock"/>.</summary>
    private void ApplyTarget(Media.IBitrateControllable encoded, int current, int target, long now, Decart.Rtc.Interceptors.TransportFeedbackSummary? feedback)
    {
        bool down = target < current;
        if (Math.Abs(target - current) >= Math.Max(10, current / 33) && (down || now - _lastRateAppliedMs >= 200))
        {
            if (feedback is { } f)
            {
                _logger.LogDebug(DecartLog.BitrateChanged, "Camera bitrate {Old} -> {New} kbit/s (queueing {Queue} ms, loss {Loss:P1}).", current, target, (int)f.QueueDelay.TotalMilliseconds, f.LossFraction);
            }
            else
            {
                _logger.LogDebug(DecartLog.BitrateChanged, "Camera bitrate {Old} -> {New} kbit/s (a bandwidth probe).", current, target);
            }

            encoded.SetTargetBitrate(target);
            _lastRateAppliedMs = now;
        }
    }

    /// <summary>
    /// One bandwidth probe (20 ms at <paramref name="probeKbps"/>, padding on the RTX stream): its result steps the
    /// delay-based target. Never throws; a probe that measured nothing counts as such.
    /// </summary>
    private async Task ProbeAsync(RealtimeSession session, Decart.Rtc.PeerConnection pc, Media.IBitrateControllable encoded, int probeKbps)
    {
        Decart.Rtc.Interceptors.BandwidthProbeResult? result = null;
        try
        {
            await Task.Yield(); // not on the RTCP receive thread that delivered the feedback
            result = await pc.ProbeAsync(probeKbps, TimeSpan.FromMilliseconds(20), _life.Token).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // Whatever ended the probe, the controller must hear that it ended, or it never probes again.
            _logger.LogDebug(DecartLog.BitrateChanged, "A bandwidth probe ended without a result: {Error}.", ex.GetType().Name);
        }

        lock (_rateLock)
        {
            if (_delayRate is not { } rate)
            {
                return;
            }

            long now = Environment.TickCount64;
            int current = encoded.TargetBitrateKbps;
            bool isCurrent = IsSteering(session, pc, out var steered) && ReferenceEquals(steered, encoded);
            int target = rate.OnProbeResult(isCurrent ? result : null, now); // a probe of a connection since replaced teaches nothing
            if (isCurrent)
            {
                ApplyTarget(encoded, current, target, now, null);
            }
        }
    }

    void IRealtimeSessionHost.OnKeyframeRequested()
    {
        // At most one keyframe per 500 ms: under heavy loss a receiver asks again and again, and keyframe after
        // keyframe (each several times a delta frame) only makes the loss worse. A request inside the window is not
        // lost: the requests in it are coalesced into one at its end.
        long now = Environment.TickCount64;
        long last = Interlocked.Read(ref _lastKeyframeRequest);
        long wait = last + KeyframeSpacingMs - now;
        if (wait <= 0 && Interlocked.CompareExchange(ref _lastKeyframeRequest, now, last) == last)
        {
            Volatile.Read(ref _source).RequestKeyframe();
            return;
        }

        Interlocked.Increment(ref _keyframesSuppressed);
        if (Interlocked.Exchange(ref _keyframeDeferred, 1) == 0)
        {
            _ = Task.Delay(TimeSpan.FromMilliseconds(Math.Clamp(wait, 1, KeyframeSpacingMs)), CancellationToken.None).ContinueWith(
                _ =>
                {
                    Interlocked.Exchange(ref _lastKeyframeRequest, Environment.TickCount64);
                    Volatile.Write(ref _keyframeDeferred, 0);
                    try
                    {
                        if (Volatile.Read(ref _closing) == 0)
                        {
                            Volatile.Read(ref _source).RequestKeyframe();
                        }
                    }
                    catch (Exception ex)
                    {
                        _logger.LogWarning(DecartLog.KeyframeRequestFailed, ex, "The video source failed a keyframe request.");
                    }
                },
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
        }
    }

    private const long KeyframeSpacingMs = 500;

    /// <summary>Keyframe requests from the peer coalesced into a later one because one was made less than 500 ms before.</summary>
    public long KeyframeRequestsSuppressed => Interlocked.Read(ref _keyframesSuppressed);

    void IRealtimeSessionHost.OnQueuePosition(RealtimeSession session, QueuePosition position)
    {
        _logger.LogInformation(DecartLog.Queued, "Realtime session queued: position {Position} of {Size}.", position.Position, position.QueueSize);
        Raise(() => _options.OnQueuePosition?.Invoke(position));
        Raise(() => QueuePositionChanged?.Invoke(this, position));
    }

    /// <summary>Glass-to-glass on the direct transport: by the RTP timestamp the output carries (no packet trailer there).</summary>
    private bool MeasuresByRtpTimestamp => _options.MeasureGlassToGlass && _options.Transport == RealtimeTransport.Direct;

    IReadOnlyList<SimulcastLayer> IRealtimeSessionHost.PublishLayers => _source is ISimulcastVideoSource { Layers: { Count: > 1 } layers } ? layers : [];

    (int Width, int Height) IRealtimeSessionHost.PublishSize =>
        _source.Format is { Width: > 0, Height: > 0 } f ? (f.Width, f.Height) : (_options.Model.Width, _options.Model.Height);

    internal static async Task<RealtimeClient> ConnectAsync(DecartClient api, IVideoSource source, RealtimeConnectOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Model is null)
        {
            throw new DecartException(DecartErrorCode.InvalidOptions, "Model is required.");
        }

        options.Model.Validate();
        options.Reconnect.Validate();
        if (options.PromptTimeout <= TimeSpan.Zero || options.StateTimeout <= TimeSpan.Zero || options.ConnectTimeout <= TimeSpan.Zero || options.ConsentTimeout <= TimeSpan.Zero)
        {
            throw new DecartException(DecartErrorCode.InvalidOptions, "timeouts must be positive.");
        }

        if (options.MinBitrateKbps < 50 || options.MaxBitrateKbps < options.MinBitrateKbps || options.MaxBitrateKbps > 50_000)
        {
            throw new DecartException(DecartErrorCode.InvalidOptions, $"bitrate range {options.MinBitrateKbps}-{options.MaxBitrateKbps} kbit/s: at least 50, min ≤ max ≤ 50,000.");
        }

        if (options.StatsInterval < TimeSpan.FromMilliseconds(500))
        {
            throw new DecartException(DecartErrorCode.InvalidOptions, $"StatsInterval must be at least 500 ms (got {options.StatsInterval.TotalMilliseconds:0} ms).");
        }

        // The process's first connection pays for the DTLS certificate and the handshake's first compilation: start
        // them now on another thread, while the signaling socket opens and the room is assigned (once per process).
        _ = Decart.Rtc.RtcWarmUp.RunAsync(CancellationToken.None);
        ApplyMirror(source, options.Mirror);
        ApplyCodec(source, options.PreferredVideoCodec);

        if (options.InitialState?.Prompt is { } initialPrompt)
        {
            CheckPrompt(initialPrompt);
        }

        CheckQuery(options);

        var logger = (options.LoggerFactory ?? api.LoggerFactory).CreateLogger("Decart.Sdk.Realtime");
        var client = new RealtimeClient(source, options, logger, BuildUrl(api, options));
        client.CheckFormat(source);
        if (options.Model.Deprecation is { } deprecation)
        {
            client.Warn($"model {options.Model.Name}: {deprecation}.");
        }
        client.SetState(ConnectionState.Connecting);
        try
        {
            var session = await client.ConnectWithRetriesAsync(client._acked, cancellationToken).ConfigureAwait(false);
            if (!client.Install(session))
            {
                await session.DisposeAsync().ConfigureAwait(false);
                throw new OperationCanceledException("the client was disposed while connecting.");
            }

            client.StartPump();
            if (options.DecodedSink is { } sink)
            {
                client._decoder = Task.Run(() => client.DecodeLoopAsync(sink), CancellationToken.None);
            }

            client._supervisor = Task.Run(client.SuperviseAsync, CancellationToken.None);
            client._statsLoop = Task.Run(client.StatsLoopAsync, CancellationToken.None);
            return client;
        }
        catch
        {
            await client.DisconnectAsync(CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }

    private static void CheckPrompt(string prompt)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        if (prompt.Length is < 1 or > MaxPromptLength)
        {
            throw new DecartException(DecartErrorCode.InvalidInput, $"prompt must be 1-{MaxPromptLength} characters (got {prompt.Length}).");
        }
    }

    private static readonly string[] ReservedQueryKeys = ["api_key", "model", "resolution", "user_agent"];

    private static void CheckQuery(RealtimeConnectOptions options)
    {
        if (options.Resolution is not (null or "720p" or "1080p"))
        {
            throw new DecartException(DecartErrorCode.InvalidOptions, $"Resolution must be \"720p\" or \"1080p\" (or null for the model's own); got \"{(options.Resolution.Length > 16 ? options.Resolution[..16] + "…" : options.Resolution)}\".");
        }

        if (options.QueryParameters is not { } extra)
        {
            return;
        }

        if (extra.Count > 32)
        {
            throw new DecartException(DecartErrorCode.InvalidOptions, $"QueryParameters: at most 32 (got {extra.Count}).");
        }

        foreach (var (name, value) in extra)
        {
            if (string.IsNullOrWhiteSpace(name) || name.Length > 64 || value is null || value.Length > 1024)
            {
                throw new DecartException(DecartErrorCode.InvalidOptions, "QueryParameters: names must be 1-64 characters and values non-null and at most 1,024 characters.");
            }

            if (ReservedQueryKeys.Contains(name, StringComparer.OrdinalIgnoreCase))
            {
                throw new DecartException(DecartErrorCode.InvalidOptions, $"QueryParameters: '{name}' is set by the SDK (use ApiKey, Model or Resolution).");
            }
        }
    }

    private static Uri BuildUrl(DecartClient api, RealtimeConnectOptions options)
    {
        var model = options.Model;
        var builder = new UriBuilder(api.RealtimeBaseUrl);
        builder.Scheme = builder.Scheme switch { "http" => "ws", "https" => "wss", var s => s };
        builder.Port = api.RealtimeBaseUrl.IsDefaultPort ? -1 : api.RealtimeBaseUrl.Port;
        builder.Path = builder.Path.TrimEnd('/') + model.UrlPath;

        // As Decart's JS SDK orders them: the caller's parameters, the key and model, the resolution, the user agent last.
        var query = new System.Text.StringBuilder();
        foreach (var (name, value) in options.QueryParameters ?? new Dictionary<string, string>())
        {
            query.Append(Uri.EscapeDataString(name)).Append('=').Append(Uri.EscapeDataString(value)).Append('&');
        }

        query.Append("api_key=").Append(Uri.EscapeDataString(api.ApiKey)).Append("&model=").Append(Uri.EscapeDataString(model.Name));
        if (options.Resolution is { } resolution)
        {
            query.Append("&resolution=").Append(resolution);
        }

        query.Append("&user_agent=").Append(Uri.EscapeDataString(UserAgent.Build(api.Integration)));
        builder.Query = query.ToString();
        return builder.Uri;
    }

    private static void ApplyMirror(IVideoSource source, MirrorMode mode)
    {
        bool mirror = mode == MirrorMode.On || (mode == MirrorMode.Auto && source.Facing == FacingMode.User);
        if (source is IMirrorableVideoSource mirrorable)
        {
            mirrorable.Mirror = mirror; // flips the sent frames before encoding; the caller's preview is untouched
        }
        else if (mirror)
        {
            throw new DecartException(DecartErrorCode.InvalidOptions, $"Mirror = {mode} needs frames the SDK can flip, but {source.GetType().Name} produces encoded {source.Codec} frames; use a RawVideoSource, flip before encoding, or use Mirror = Off.");
        }
    }

    /// <summary>Makes the source produce <paramref name="codec"/> (a source that encodes itself is switched; an encoded one must already).</summary>
    private static void ApplyCodec(IVideoSource source, VideoCodec? codec)
    {
        if (codec is not { } wanted || source.Codec == wanted)
        {
            return;
        }

        if (wanted is not (VideoCodec.Vp8 or VideoCodec.H264))
        {
            throw new DecartException(DecartErrorCode.InvalidOptions, $"PreferredVideoCodec {wanted}: H264 or VP8.");
        }

        if (source is not Media.ICodecSelectable selectable || !selectable.TrySelectCodec(wanted))
        {
            throw new DecartException(DecartErrorCode.InvalidOptions, $"PreferredVideoCodec is {wanted} but {source.GetType().Name} produces encoded {source.Codec} frames; use a source of that codec, a RawVideoSource/SyntheticVideoSource (they encode to either), or leave PreferredVideoCodec unset.");
        }
    }

    private void CheckFormat(IVideoSource source)
    {
        var format = source.Format;
        var model = _options.Model;
        if (format.Width > 0 && format.Height > 0 && (format.Width != model.Width || format.Height != model.Height))
        {
            var message = $"the source produces {format.Width}x{format.Height} frames but {model.Name} expects {model.Width}x{model.Height}; capture at the model's size.";
            if (_options.StrictFormat)
            {
                throw new DecartException(DecartErrorCode.InvalidOptions, message);
            }

            Warn(message);
        }

        if (format.Fps > 0 && model.MaxFps > 0 && format.Fps > model.MaxFps)
        {
            var message = $"the source produces {format.Fps} fps but {model.Name} accepts at most {model.MaxFps}; capture at the model's fps ({model.Fps}).";
            if (_options.StrictFormat)
            {
                throw new DecartException(DecartErrorCode.InvalidOptions, message);
            }

            Warn(message);
        }
    }

    private void Warn(string message)
    {
        _logger.LogWarning(DecartLog.Warning, "{Warning}", message);
        lock (_lock)
        {
            _warnings.Add(message);
        }

        try
        {
            _options.OnWarning?.Invoke(message);
        }
        catch (Exception ex)
        {
            _logger.LogWarning(DecartLog.WarningCallbackFailed, ex, "The OnWarning callback threw.");
        }
    }

    private async Task<RealtimeSession> ConnectWithRetriesAsync(AckedState state, CancellationToken cancellationToken, System.Diagnostics.ActivityContext parent = default)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _life.Token);
        return await _reconnect.ExecuteAsync(
            async token =>
            {
                var session = new RealtimeSession(this, _options, _source.Codec, _logger);
                lock (_lock)
                {
                    if (_closing == 1)
                    {
                        throw new OperationCanceledException("the client is disconnecting.");
                    }

                    _connecting = session;
                }

                _g2g.BeginAttempt();
                using var attempt = new CancellationTokenSource(_options.ConnectTimeout, _options.TimeProvider);
                using var both = CancellationTokenSource.CreateLinkedTokenSource(token, attempt.Token);
                using var span = DecartTelemetry.Start("decart.realtime.connect", parent);
                session.Trace = span?.Context ?? default;
                span?.SetTag("decart.model", _options.Model.Name);
                span?.SetTag("decart.transport", _options.Transport == RealtimeTransport.LiveKit ? "livekit" : "direct");
                long started = TimeProvider.System.GetTimestamp();
                try
                {
                    await session.ConnectAsync(_url, state, both.Token).ConfigureAwait(false);
                    DecartTelemetry.Connects.Add(1, DecartTelemetry.Transport(_options.Transport), new("outcome", "success"));
                    DecartTelemetry.ConnectDuration.Record(TimeProvider.System.GetElapsedTime(started).TotalSeconds, DecartTelemetry.Transport(_options.Transport));
                    span?.SetTag("decart.session_id", session.SessionId);
                    if (span is not null)
                    {
                        // Ends when the model's first frame arrives (OnFrame), so the trace shows the whole wait.
                        var firstFrame = DecartTelemetry.Start("first-frame", span.Context, span.StartTimeUtc);
                        Interlocked.Exchange(ref _firstFrameSpan, firstFrame)?.Stop();
                    }

                    return session;
                }
                catch (Exception ex)
                {
                    DecartTelemetry.Connects.Add(1, DecartTelemetry.Transport(_options.Transport), new("outcome", "failure"));
                    span?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, ex is DecartException d ? d.CodeString : ex.GetType().Name);
                    await session.DisposeAsync().ConfigureAwait(false);
                    if (ex is OperationCanceledException && attempt.IsCancellationRequested && !token.IsCancellationRequested)
                    {
                        throw new DecartException(DecartErrorCode.WebRtcError, $"connecting took longer than {_options.ConnectTimeout}.", ex) { Detail = WebRtcErrorDetail.Timeout };
                    }

                    throw;
                }
                finally
                {
                    lock (_lock)
                    {
                        if (_connecting == session)
                        {
                            _connecting = null;
                        }
                    }
                }
            },
            linked.Token).ConfigureAwait(false);
    }

    /// <summary>Makes a connected session the live one; false (the caller disposes it) when the client is disconnecting.</summary>
    private bool Install(RealtimeSession session)
    {
        lock (_lock)
        {
            if (_closing == 1)
            {
                return false;
            }

            _session = session;
        }

        DecartTelemetry.SessionsActive.Add(1, DecartTelemetry.Transport(_options.Transport));
        _logger.LogInformation(DecartLog.Connected, "Realtime session {Session} connected.", session.SessionId);
        SetState(session.GenerationStarted ? ConnectionState.Generating : ConnectionState.Connected);
        _source.RequestKeyframe();
        return true;
    }

    private async Task SuperviseAsync()
    {
        var token = _life.Token;
        while (!token.IsCancellationRequested)
        {
            var session = _session;
            if (session is null)
            {
                return;
            }

            DecartException reason;
            try
            {
                reason = await session.Lost.WaitAsync(token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            if (token.IsCancellationRequested)
            {
                return;
            }

            lock (_lock)
            {
                if (!ReferenceEquals(_session, session))
                {
                    return; // DisconnectAsync took it (and counts it)
                }

                _session = null;
            }

            DecartTelemetry.SessionsActive.Add(-1, DecartTelemetry.Transport(_options.Transport));
            await session.DisposeAsync().ConfigureAwait(false);
            if (session.GenerationEnded)
            {
                SetState(ConnectionState.Disconnected);
                return;
            }

            if (_options.Reconnect.MaxRetries == 0 || ReconnectPolicy.IsPermanent(reason))
            {
                _logger.LogWarning(DecartLog.ConnectionLost, "Realtime connection lost ({Reason}); not reconnecting.", reason.Message);
                SetState(ConnectionState.Disconnected);
                RaiseError(reason);
                return;
            }

            _logger.LogInformation(DecartLog.Reconnecting, "Realtime connection lost ({Reason}); reconnecting.", reason.Message);
            SetState(ConnectionState.Reconnecting);
            using var span = DecartTelemetry.Start("decart.realtime.reconnect");
            span?.SetTag("decart.reason", reason.CodeString);
            try
            {
                var next = await ConnectWithRetriesAsync(Volatile.Read(ref _acked), token, span?.Context ?? default).ConfigureAwait(false);
                if (token.IsCancellationRequested || !Install(next))
                {
                    await next.DisposeAsync().ConfigureAwait(false);
                    return;
                }

                Interlocked.Increment(ref _reconnects);
                DecartTelemetry.Reconnects.Add(1, DecartTelemetry.Transport(_options.Transport), new("outcome", "success"));
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                DecartTelemetry.Reconnects.Add(1, DecartTelemetry.Transport(_options.Transport), new("outcome", "failure"));
                span?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, ex is DecartException d ? d.CodeString : ex.GetType().Name);
                var error = ex as DecartException ?? new DecartException(DecartErrorCode.WebRtcError, $"reconnecting failed: {SecretRedactor.Redact(ex.Message)}", ex);
                _logger.LogWarning(DecartLog.ReconnectGaveUp, "Realtime reconnect gave up: {Reason}", error.Message);
                SetState(ConnectionState.Disconnected);
                RaiseError(error);
                return;
            }
        }
    }

    private void StartPump()
    {
        var stop = CancellationTokenSource.CreateLinkedTokenSource(_life.Token);
        _pumpStop = stop;
        var source = _source;
        _pump = Task.Run(() => PumpAsync(source, stop.Token), CancellationToken.None);
    }

    private async Task PumpAsync(IVideoSource source, CancellationToken token)
    {
        // RTP timestamps continue across a source change: a new source's clock (often starting at 0 again) is shifted
        // to one frame after the last sent, so the receiver never sees time go backwards.
        long offset = 0;
        bool first = true;
        try
        {
            await foreach (var frame in source.ReadFramesAsync(token).ConfigureAwait(false))
            {
                if (token.IsCancellationRequested)
                {
                    break; // stopped (a source change or a disconnect): a frame yielded late is not sent
                }

                var session = _session;
                if (session is null)
                {
                    continue; // reconnecting: frames are dropped, not queued
                }

                long own = frame.Timestamp.Ticks * 9 / 1000;
                if (first)
                {
                    first = false;
                    long last = Interlocked.Read(ref _lastRtp);
                    int fps = source.Format.Fps > 0 ? source.Format.Fps : _options.Model.Fps;
                    offset = last < 0 ? 0 : last + (90_000 / Math.Max(1, fps)) - own;
                }

                long rtp = own + offset;
                Interlocked.Exchange(ref _lastRtp, rtp);
                // A simulcast source yields each capture once per layer: a frame counts once, on its largest layer.
                if (session.SendFrame(frame.Data.Span, unchecked((uint)rtp), frame.Layer) && (frame.Layer is null || session.IsTopLayer(frame.Layer)))
                {
                    if (MeasuresByRtpTimestamp)
                    {
                        _sentRtp.Record(unchecked((uint)rtp), Rtc.LiveKit.PacketTrailer.Now(TimeProvider.System));
                    }

                    Interlocked.Increment(ref _framesSent);
                    DecartTelemetry.FramesSent.Add(1, DecartTelemetry.Transport(_options.Transport));
                }
            }
        }
        catch (Exception) when (token.IsCancellationRequested)
        {
            // Stopped (disconnect or a source change); whatever the source threw while stopping does not matter.
        }
        catch (Exception ex)
        {
            RaiseError(new DecartException(DecartErrorCode.WebRtcError, $"the video source failed: {SecretRedactor.Redact(ex.Message)}", ex));
        }
    }

    private RealtimeSession RequireConnected()
    {
        lock (_lock)
        {
            if (_session is { } session && _state is ConnectionState.Connected or ConnectionState.Generating)
            {
                return session;
            }

            throw new DecartException(DecartErrorCode.WebRtcError, $"not connected (state {_state}); wait for Connected/Generating.");
        }
    }

    private bool IsCurrent(RealtimeSession session)
    {
        lock (_lock)
        {
            return _session == session;
        }
    }

    private void SetState(ConnectionState state)
    {
        lock (_lock)
        {
            if (_state == state || _eventsStopped)
            {
                return;
            }

            _state = state;
        }

        _logger.LogDebug(DecartLog.StateChanged, "Realtime state {State}.", state);
        Raise(() => _options.OnConnectionChanged?.Invoke(state));
        Raise(() => ConnectionChanged?.Invoke(this, state));
    }

    /// <summary>Once per <see cref="RealtimeConnectOptions.StatsInterval"/>: a stats sample, and the quality verdict from it (restarted with each new session: a new room).</summary>
    private async Task StatsLoopAsync()
    {
        var token = _life.Token;
        using var timer = new PeriodicTimer(_options.StatsInterval, _options.TimeProvider);
        RealtimeSession? judged = null;
        try
        {
            while (await timer.WaitForNextTickAsync(token).ConfigureAwait(false))
            {
                if (_session is not { } session)
                {
                    continue; // reconnecting: nothing to measure
                }

                var sample = _sampler.Sample(session, session.Connections, session.PeerConnection, FramesSent, FramesReceived, _options.TimeProvider, _source.Codec, _options.Transport, _g2g.Snapshot(), _options.StatsInterval / 2);
                if (sample is null)
                {
                    continue;
                }

                // Each of the peer's reports counts once (a stats tick faster than its reports would apply one twice,
                // and a peer that stopped reporting would keep steering with its last figure).
                long reports = session.PeerConnection?.Stats.RemoteReports ?? 0;
                double? freshLoss = reports != _reportsSeen ? sample.UpstreamLoss : null;
                _reportsSeen = reports;
                if (Volatile.Read(ref _source) is Media.IBitrateControllable encoded)
                {
                    bool delayBased = Environment.TickCount64 - Volatile.Read(ref _lastFeedbackMs) < 2000;
                    if (_options.AdaptBitrate && sample.Interval > TimeSpan.Zero && !delayBased)
                    {
                        _rate ??= new SendRateController(encoded.TargetBitrateKbps, _options.MinBitrateKbps, Math.Max(_options.MaxBitrateKbps, encoded.TargetBitrateKbps));
                        int target = _rate.Update(freshLoss, sample.AvailableUpstreamBitrate, freshLoss is null ? null : sample.RoundTripTime?.TotalMilliseconds);
                        if (Math.Abs(target - encoded.TargetBitrateKbps) >= Math.Max(10, encoded.TargetBitrateKbps / 33))
                        {
                            _logger.LogDebug(DecartLog.BitrateChanged, "Camera bitrate {Old} -> {New} kbit/s (upstream loss {Loss:P1}).", encoded.TargetBitrateKbps, target, sample.UpstreamLoss ?? 0);
                            encoded.SetTargetBitrate(target);
                        }
                    }

                    sample = sample with { TargetBitrateKbps = encoded.TargetBitrateKbps };
                }

                Volatile.Write(ref _stats, sample);
                var transportTag = DecartTelemetry.Transport(_options.Transport);
                if (sample.RoundTripTime is { } rtt)
                {
                    DecartTelemetry.RoundTripTime.Record(rtt.TotalMilliseconds, transportTag);
                }

                if (sample.UpstreamLoss is { } upstreamLoss)
                {
                    DecartTelemetry.UpstreamLoss.Record(upstreamLoss, transportTag);
                }

                if (sample.Interval > TimeSpan.Zero)
                {
                    DecartTelemetry.SendBitrate.Record(sample.SendBitrate, transportTag);
                    DecartTelemetry.ReceiveBitrate.Record(sample.ReceiveBitrate, transportTag);
                }

                Raise(() => StatsUpdated?.Invoke(this, sample));
                if (!ReferenceEquals(judged, session))
                {
                    _quality.Reset();
                    judged = session;
                }

                if (sample.Interval <= TimeSpan.Zero)
                {
                    continue; // the first sample of a session has no rates yet
                }

                var report = _quality.Update(new QualitySignals(
                    sample.RoundTripTime?.TotalMilliseconds,
                    sample.GlassToGlass.Median?.TotalMilliseconds,
                    sample.UpstreamLoss,
                    sample.AvailableUpstreamBitrate / 1000.0,
                    sample.GlassToGlass.TimeToFirstFrame is null ? null : sample.FramesPerSecondReceived)); // no frame yet: not a stall (the JS SDK has no inbound video then)
                Volatile.Write(ref _qualityReport, _quality.Current);
                if (report is not null)
                {
                    _logger.LogInformation(DecartLog.QualityChanged, "Realtime connection quality {Quality} (limiting factor {Factor}).", report.Quality, report.LimitingFactor);
                    Raise(() => _options.OnConnectionQuality?.Invoke(report));
                    Raise(() => ConnectionQualityChanged?.Invoke(this, report));
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void RaiseError(DecartException error)
    {
        Raise(() => Error?.Invoke(this, error));
        Raise(() => _options.OnError?.Invoke(error));
    }

    private void Raise(Action raise)
    {
        lock (_lock)
        {
            if (_eventsStopped)
            {
                return;
            }
        }

        try
        {
            raise();
        }
        catch (Exception ex)
        {
            _logger.LogWarning(DecartLog.EventHandlerFailed, ex, "A realtime event handler threw.");
        }
    }

    private async Task StopPumpAsync(Task pump)
    {
        try
        {
            await pump.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            _logger.LogWarning(DecartLog.SourceSlowToStop, "The video source did not stop within 5 s of its cancellation; going on without waiting.");
        }
        catch (Exception)
        {
            // Already reported through the Error event.
        }
    }

    private async ValueTask DisposeQuietlyAsync(IVideoSource source)
    {
        try
        {
            await DisposeSourceAsync(source).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            _logger.LogWarning(DecartLog.ReplacedSourceDisposeFailed, ex, "Disposing the replaced source threw.");
        }
    }

    private static async Task IgnoreFailures(Task task)
    {
        try
        {
            await task.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Already reported through the Error event.
        }
    }
}
