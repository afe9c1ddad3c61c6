using Decart.Rtc.Codecs;
using System.Net.WebSockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using Decart.Rtc;
using Decart.Simulator.Constraints;
using Decart.Simulator.Faults;
using Decart.Simulator.Hosting;
using Decart.Simulator.Model;
using Decart.Simulator.Rest;
using Microsoft.Extensions.Logging;

namespace Decart.Simulator.Realtime;

/// <summary>
/// One realtime session on the simulator, inspectable from tests (it stays listed after it ends). It is assembled
/// from parts with one job each — <see cref="ControlChannel"/> (the control WebSocket), <see cref="StateUpdates"/>
/// (prompts, images, versions, acks), <see cref="DirectNegotiation"/> and <see cref="LiveKitJoin"/> (the two protocol
/// generations), <see cref="SessionMedia"/> (the peer connection and the model pipeline), <see cref="SessionFaults"/>
/// and <see cref="BillingClock"/> — and itself only routes messages and runs the lifecycle.
/// </summary>
public sealed class SimulatedSession : ISignalingContext, IFaultTarget, IMediaEvents
{
    private const int MaxBadInputLogged = 5;
    private const int MaxWarningsKept = 100;
    private readonly SimulatorOptions _options;
    private readonly FaultSet _faultSet;
    private readonly Rooms.RoomRegistry _rooms;
    private readonly SessionRegistry _sessions;
    private readonly SimulatedModel _model;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _life = new();
    private readonly ControlChannel _channel;
    private readonly StateUpdates _state;
    private readonly SessionMedia _media;
    private readonly SessionFaults _faults;
    private readonly BillingClock _clock;
    private readonly DirectNegotiation _direct;
    private readonly LiveKitJoin _liveKit;
    private readonly SessionSlots _slots;
    private long _admittedAt;
    private readonly FaultInterceptor _interceptor;
    private readonly List<string> _warnings = [];
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _phase;
    private long _ignored;
    private long _malformed;
    private int _frameWaiters;
    private int _badInputLogged;
    private int _ending;
    private int _negotiationTimedOut;
    private string? _roomOffer;
    private readonly long _startTimestamp;

    internal SimulatedSession(SimulatorOptions options, FaultSet faults, Rooms.RoomRegistry rooms, SessionRegistry sessions, ILogger logger, SimulatedModel model, WebSocket ws, IssuedToken? token, string? origin, string? userAgent, Uri? roomBase = null, Rest.FileStore? files = null, SessionSlots? slots = null)
    {
        _options = options;
        _slots = slots ?? new SessionSlots(null);
        _faultSet = faults;
        _rooms = rooms;
        _sessions = sessions;
        _model = model;
        Id = Guid.NewGuid().ToString("N");
        Origin = origin;
        UserAgent = userAgent;
        var time = options.TimeProvider;
        StartedAt = time.GetUtcNow();
        long start = _startTimestamp = time.GetTimestamp();
        _logger = logger;
        _interceptor = new FaultInterceptor(faults, Id);
        _channel = new ControlChannel(ws, options.MaxMessageBytes, faults, Id, time, _life.Token);
        _state = new StateUpdates(options, files);
        _state.Applied += OnApplied;
        _media = new SessionMedia(options, model, _interceptor, () => _state.Render, this);
        _faults = new SessionFaults(faults, Id, time, start, this, fault => _logger.LogInformation("session {Session}: fault {Fault} ({Type})", Id, fault.Id, fault.Type));
        _clock = new BillingClock(time, options.TickInterval, token?.MaxSessionDuration, start);
        _direct = new DirectNegotiation(this, _media, _logger, _life.Token);
        _liveKit = new LiveKitJoin(this, rooms, _faults, _slots, roomBase, _logger, Signal, time, _life.Token);
    }

    /// <summary>The session id (also sent in <c>session_id</c>).</summary>
    public string Id { get; }

    /// <summary>The model name the client asked for.</summary>
    public string Model => _model.Name;

    /// <summary>The WebSocket <c>Origin</c> header, if any.</summary>
    public string? Origin { get; }

    /// <summary>The client's <c>user_agent</c> query parameter, if any.</summary>
    public string? UserAgent { get; }

    /// <summary>
    /// The <c>resolution</c> query parameter (<c>720p</c> or <c>1080p</c>; anything else is refused), or null. Recorded
    /// for assertions; the simulated model's output keeps the model's size (what the real service does with it is not
    /// documented).
    /// </summary>
    public string? Resolution { get; internal set; }

    /// <summary>The realtime URL's query parameters but the key (the first 64; values cut at 256 characters), for assertions.</summary>
    public IReadOnlyDictionary<string, string> QueryParameters { get; internal set; } = new Dictionary<string, string>();

    /// <summary>When the session was accepted.</summary>
    public DateTimeOffset StartedAt { get; }

    /// <summary>When it ended.</summary>
    public DateTimeOffset? EndedAt { get; private set; }

    /// <summary>Why it ended (<c>client closed</c>, <c>dropped</c>, <c>session_time_limit</c>, …).</summary>
    public string? EndReason { get; private set; }

    /// <summary>The phase.</summary>
    public SessionPhase State => (SessionPhase)Volatile.Read(ref _phase);

    /// <summary>The current prompt (null: none).</summary>
    public string? Prompt => _state.Prompt;

    /// <summary>Whether prompt enhancement is on.</summary>
    public bool Enhance => _state.Enhance;

    /// <summary>SHA-256 (hex) of the current reference image, or null.</summary>
    public string? ImageHash => _state.ImageHash;

    /// <summary>Every state applied, in order (the initial state first).</summary>
    public IReadOnlyList<AppliedState> History => _state.History;

    /// <summary>The state version: 0 until the first update is applied, then one more per acknowledged update.</summary>
    public int StateVersion => _state.Version;

    /// <summary>Constraint warnings recorded (lenient mode; the first 100).</summary>
    public IReadOnlyList<string> Warnings
    {
        get
        {
            lock (_warnings)
            {
                return _warnings.ToArray();
            }
        }
    }

    /// <summary>The negotiated codec (<c>VP8</c>/<c>H264</c>) of the received video once the offer is answered.</summary>
    public string? Codec => _media.InputVideo?.CodecName;

    /// <summary>The codec the model's output goes out in (the camera's, once negotiated).</summary>
    public string? OutputCodec => _media.OutputCodec?.Name;

    /// <summary>
    /// The protocol generation the client spoke: <c>direct</c> (an SDP offer on this socket), <c>livekit</c>
    /// (<c>livekit_join</c>, media in a room), or <c>pending</c> until one of those arrives.
    /// </summary>
    public string Protocol => _liveKit.Room is not null ? "livekit" : _media.Pc is not null ? "direct" : "pending";

    /// <summary>The LiveKit room of a <c>livekit</c> session, or null.</summary>
    public string? RoomName => _liveKit.Room?.Name;

    /// <summary>The session's place in the model's queue (1 = next) while it waits for a slot or a <c>queue</c> fault holds it; null otherwise.</summary>
    public int? QueuePosition => _slots.PositionOf(this) ?? _liveKit.FaultQueuePosition;

    /// <summary>The client's <c>livekit_join</c> asked for passthrough (no initial state).</summary>
    public bool Passthrough => _liveKit.Passthrough;

    /// <summary>The client advertised <c>client_capabilities.frame_timing</c> in its <c>livekit_join</c>.</summary>
    public bool FrameTiming => _liveKit.FrameTiming;

    /// <summary>Peer connections of the session's room participant: 1 on LiveKit's <c>/rtc/v1</c>, 2 on the older <c>/rtc</c>; null before the room join (and for direct sessions).</summary>
    public int? RoomPeerConnections => _liveKit.Room?.Publisher is { } participant ? (participant.TwoConnections ? 2 : 1) : null;

    /// <summary>Camera frames that carried livekit-client's packet trailer (LKTS), stripped before the model.</summary>
    public long TrailersIn => _media.TrailersIn;

    /// <summary>Output frames that carried the input's capture time back in a packet trailer (frame timing).</summary>
    public long TrailersOut => _media.TrailersOut;

    /// <summary>The simulcast layer of the camera the model is fed from (LiveKit rooms), or null.</summary>
    public string? InputLayer => _media.Pc?.ActiveLayer;

    /// <summary>The simulcast layers the camera sends (LiveKit rooms), lowest first.</summary>
    public IReadOnlyList<string> InputLayers => _media.Pc?.ReceivedLayers ?? [];

    internal Rooms.Room? Room => _liveKit.Room;

    /// <summary>Frames received from the client.</summary>
    public long FramesIn => _media.FramesIn;

    /// <summary>Frames the model sent back.</summary>
    public long FramesOut => _media.FramesOut;

    /// <summary>Input frames the model did not turn into output: superseded by a newer one (latest frame wins), a full queue, waiting for a keyframe, or stale after a stall.</summary>
    public long FramesDropped => _media.FramesDropped;

    /// <summary>Input frames the model could not decode (each followed by a keyframe request).</summary>
    public long DecodeErrors => _media.DecodeErrors;

    /// <summary>The model mode: the session's own (<see cref="SetModelMode"/>) or the simulator's (<see cref="SimulatorOptions.ModelMode"/>).</summary>
    public ModelMode ModelMode => _media.ModelMode;

    /// <summary>What the model is actually running once media flows (<c>transform</c>, or <c>echo</c> — also in transform mode when the codec's library is missing), else null.</summary>
    public string? EffectiveModelMode => _media.EffectiveModelMode;

    /// <summary>Unknown or out-of-order messages ignored.</summary>
    public long IgnoredMessages => Interlocked.Read(ref _ignored);

    /// <summary>Messages that were not JSON objects with a string <c>type</c>.</summary>
    public long MalformedMessages => Interlocked.Read(ref _malformed);

    /// <summary>Updates answered with <c>success:false</c>.</summary>
    public long RejectedUpdates => _state.Rejected;

    /// <summary>Generation seconds ticked.</summary>
    public long GenerationSeconds => _clock.Seconds;

    /// <summary>Media datagrams dropped by faults.</summary>
    public long PacketsDroppedByFaults => _interceptor.Dropped;

    /// <summary>Padding-only packets the client sent on its RTX stream (its bandwidth probes), counted in the transport-wide feedback and dropped.</summary>
    public long PaddingPacketsIn => _media.Pc?.Stats.PaddingReceived ?? 0;

    /// <summary>Datagrams the ICE agent discarded (garbage, unknown senders).</summary>
    public long DatagramsDiscarded => _media.Pc?.Ice.DroppedDatagrams ?? 0;

    /// <summary>The media port the session listens on (after the offer), for tests that poke it.</summary>
    public int? MediaPort => _media.Pc?.Ice.LocalCandidates.FirstOrDefault()?.Port;

    /// <summary>The client's SDP offer as received (after its <c>CustomizeOffer</c>; in a LiveKit room the latest one), or null.</summary>
    public string? RemoteOffer => _roomOffer ?? _direct.RemoteOffer;

    /// <summary>The received video as an IVF file (when recording is on), else null.</summary>
    public byte[]? Recording => _media.Recorder?.ToArray();

    /// <summary>Completes when the session has ended.</summary>
    public Task Ended => _ended.Task;

    bool IMediaEvents.Ended => State == SessionPhase.Ended;

    /// <summary>Raised after a state was applied and acknowledged.</summary>
    public event Action<SimulatedSession, AppliedState>? StateApplied;

    /// <summary>The last <paramref name="last"/> output frames, oldest first: what each was made from and with which state.</summary>
    /// <param name="last">How many (at most the 1,024 kept).</param>
    /// <returns>The records.</returns>
    public IReadOnlyList<FrameRecord> Frames(int last = 1024) => _media.Frames(last);

    /// <summary>Switches this session's model mode; the pipeline is rebuilt (and a keyframe requested) if media already flows.</summary>
    /// <param name="mode">The mode.</param>
    public void SetModelMode(ModelMode mode) => _media.SetModelMode(mode);

    /// <summary>A snapshot for the control API.</summary>
    /// <returns>The snapshot.</returns>
    public SessionInfo Describe()
    {
        var size = _media.Constraints.FrameSize;
        return new SessionInfo(
            Id, Model, State, StartedAt, EndedAt, EndReason, Codec, FramesIn, FramesOut, FramesDropped, Prompt, Enhance, ImageHash,
            GenerationSeconds, size?.Width, size?.Height, _media.Constraints.MeasuredFps, Warnings, IgnoredMessages, MalformedMessages,
            RejectedUpdates, _faultSet.For(Id))
        {
            Protocol = Protocol,
            RoomName = RoomName,
            QueuePosition = QueuePosition,
            Resolution = Resolution,
            Viewers = Viewers,
            InputLayer = InputLayer,
            ModelMode = ModelMode,
            EffectiveModelMode = EffectiveModelMode,
            StateVersion = StateVersion,
            DecodeErrors = DecodeErrors,
            PaddingPacketsIn = PaddingPacketsIn,
        };
    }

    /// <summary>Waits until a condition on the session holds (checked on every state, phase and frame change).</summary>
    /// <param name="condition">The condition.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>A task that completes when it holds.</returns>
    public async Task WaitUntilAsync(Func<SimulatedSession, bool> condition, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(condition);
        Interlocked.Increment(ref _frameWaiters);
        try
        {
            while (true)
            {
                var changed = Volatile.Read(ref _changed).Task;
                if (condition(this))
                {
                    return;
                }

                await changed.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            Interlocked.Decrement(ref _frameWaiters);
        }
    }

    /// <summary>Waits until a state with this prompt has been applied (now or before).</summary>
    /// <param name="prompt">The prompt.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The applied state.</returns>
    public async Task<AppliedState> WaitForPromptAsync(string prompt, CancellationToken cancellationToken = default)
    {
        AppliedState? found = null;
        await WaitUntilAsync(s => (found = s.History.LastOrDefault(h => h.Prompt == prompt)) is not null, cancellationToken).ConfigureAwait(false);
        return found!;
    }

    /// <summary>Drops the session as a network failure would.</summary>
    /// <param name="mode">WebSocket close, media black hole (the client's consent freshness fails), both, or a room <c>leave</c>.</param>
    /// <param name="cancellationToken">Stops waiting for the drop to complete (the drop itself is under way).</param>
    /// <returns>A task that completes when applied.</returns>
    public Task DropAsync(DropMode mode = DropMode.Both, CancellationToken cancellationToken = default) => Drop(mode).WaitAsync(cancellationToken);

    private Task Drop(DropMode mode)
    {
        _logger.LogInformation("session {Session}: drop ({Mode})", Id, mode);
        if (mode is DropMode.Room or DropMode.RoomReconnect or DropMode.RoomResume && _liveKit.Room?.Publisher is { } participant)
        {
            EndReason ??= "dropped";
            var action = mode switch
            {
                DropMode.RoomReconnect => Decart.Rtc.LiveKit.Proto.LeaveRequest.Types.Action.Reconnect,
                DropMode.RoomResume => Decart.Rtc.LiveKit.Proto.LeaveRequest.Types.Action.Resume,
                _ => Decart.Rtc.LiveKit.Proto.LeaveRequest.Types.Action.Disconnect,
            };
            return participant.LeaveAsync(action);
        }

        mode = mode is DropMode.Room or DropMode.RoomReconnect or DropMode.RoomResume ? DropMode.WebSocket : mode;
        if (mode is DropMode.Media or DropMode.Both)
        {
            _media.BlackHole();
        }

        if (mode is DropMode.WebSocket or DropMode.Both)
        {
            EndReason ??= "dropped";
            _channel.Abort();
            return EndAsync("dropped");
        }

        return Task.CompletedTask;
    }

    /// <summary>Sends a server <c>error</c> message (the session stays open).</summary>
    /// <param name="error">The text.</param>
    public void SendError(string error) => Send(new JsonObject { ["type"] = "error", ["error"] = error });

    /// <summary>Sends any text as a WebSocket message, unchecked: for testing how a client copes with malformed or unknown messages.</summary>
    /// <param name="text">The message.</param>
    public void SendRaw(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        _channel.SendRaw(text);
    }

    /// <summary>Ends generation: <c>generation_ended</c> with the reason, then closes the session.</summary>
    /// <param name="reason">The reason, e.g. <c>insufficient_credits</c>.</param>
    /// <param name="cancellationToken">Stops waiting for the close (the close itself is under way).</param>
    /// <returns>A task that completes when the close is under way.</returns>
    public Task EndGenerationAsync(string reason, CancellationToken cancellationToken = default)
    {
        Send(new JsonObject { ["type"] = "generation_ended", ["seconds"] = GenerationSeconds, ["reason"] = reason });
        return CloseAsync(reason).WaitAsync(cancellationToken);
    }

    /// <inheritdoc />
    public override string ToString() => $"SimulatedSession {{ Id = {Id}, Model = {Model}, State = {State} }}";

    /// <summary>Runs the session until the WebSocket closes.</summary>
    internal async Task RunAsync(CancellationToken aborted)
    {
        using var link = aborted.Register(() => _life.Cancel());
        _channel.Start();
        var ticker = Task.Run(() => _clock.RunAsync(
            () => State == SessionPhase.Generating,
            () =>
            {
                _faults.OnTick(FramesIn, State == SessionPhase.Ended);
                DeliverDueAcks(0); // the ones that waited too long for a frame
                CheckNegotiationTimeout();
            },
            seconds =>
            {
                Send(new JsonObject { ["type"] = "generation_tick", ["seconds"] = seconds });
                Signal();
            },
            () => EndGenerationAsync("session_time_limit"),
            _life.Token));
        try
        {
            if (_options.ServerOffers)
            {
                await AdmitDirectAsync().ConfigureAwait(false);
                await _direct.SendOfferAsync().ConfigureAwait(false);
            }

            await _channel.ReceiveAsync(HandleMessageAsync, () => Interlocked.Increment(ref _ignored), OnTooLarge).ConfigureAwait(false);
            await EndAsync(EndReason ?? "client closed").ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
        {
            await EndAsync(EndReason ?? (_channel.Overflowed ? "client not reading" : "connection lost")).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            _logger.LogError(ex, "session {Session}: unexpected failure", Id);
            await EndAsync("internal error").ConfigureAwait(false);
        }

        await Task.WhenAll(_channel.Stopped, ticker).ConfigureAwait(false);
    }

    /// <summary>Ends the session because the simulator is stopping: an <c>error</c>, then a close 1001 ("going away").</summary>
    /// <returns>A task that completes when the session has ended.</returns>
    internal Task ShutdownAsync()
    {
        if (State != SessionPhase.Ended)
        {
            SendError("Server shutting down");
            _ = CloseAsync("server shutting down", WebSocketCloseStatus.EndpointUnavailable);
        }

        return Ended;
    }

    /// <summary>Applies an immediate action (from a just-added fault).</summary>
    internal void Act(Fault fault) => _faults.Act(fault, State == SessionPhase.Ended);

    /// <summary>The peer connection of the room's participant (one per session; the room front negotiates it).</summary>
    internal PeerConnection CreateRoomPeerConnection(string streamId, string trackId, IReadOnlyList<string> codecs) =>
        _media.Create(iceLite: true, codecs, streamId, trackId);

    /// <summary>The subscriber connection of a two-connection room (LiveKit v0): we offer it, the model's output goes out on it.</summary>
    internal PeerConnection CreateRoomSubscriber(string streamId, string trackId, IReadOnlyList<string> codecs) =>
        _media.CreateSubscriber(codecs, streamId, trackId);

    /// <summary>A viewer's peer connection, sent the model's output in the session's codec; null when there are too many viewers or the session ended.</summary>
    internal PeerConnection? AddViewerPeerConnection(string streamId, string trackId) =>
        _media.AddViewer(_media.OutputCodec ?? RtpCodec.H264, streamId, trackId);

    /// <summary>A viewer left: its peer connection is closed.</summary>
    internal Task RemoveViewerAsync(PeerConnection viewer) => _media.RemoveViewerAsync(viewer);

    /// <summary>Viewers watching now (<c>/watch-stream</c>).</summary>
    public int Viewers => _media.Viewers.Count;

    /// <summary>Records the latest offer the room's participant sent (what <see cref="RemoteOffer"/> shows for a room).</summary>
    internal void RecordRoomOffer(string sdp) => _roomOffer = sdp;

    /// <summary>The delay a signalling <c>latency</c> fault puts on one message of this session's room signal socket.</summary>
    /// <param name="toClient">The direction.</param>
    /// <returns>The delay (zero without such a fault).</returns>
    internal TimeSpan RoomSignalingLatency(bool toClient) => _channel.SignalingLatency(toClient);

    /// <summary>The session's clock (the simulator's <see cref="SimulatorOptions.TimeProvider"/>).</summary>
    internal TimeProvider Time => _options.TimeProvider;

    /// <summary>The room's signal connection ended: the session ends with it.</summary>
    internal Task OnRoomLeftAsync(string reason) => State == SessionPhase.Ended ? Task.CompletedTask : CloseAsync(reason);

    void ISignalingContext.Send(JsonObject message) => Send(message);

    void ISignalingContext.Ignored() => Interlocked.Increment(ref _ignored);

    void ISignalingContext.Malformed() => Interlocked.Increment(ref _malformed);

    Task ISignalingContext.CloseAsync(string reason) => CloseAsync(reason);

    Task IFaultTarget.DropAsync(DropMode mode) => DropAsync(mode);

    Task IFaultTarget.EndGenerationAsync(string reason) => EndGenerationAsync(reason);

    void IFaultTarget.Stall(TimeSpan duration) => _interceptor.StallFor(duration);

    void IMediaEvents.OnMediaConnected(string? codec)
    {
        SetPhase(SessionPhase.Connected);
        _logger.LogInformation("session {Session}: media connected ({Codec})", Id, codec);
    }

    void IMediaEvents.OnMediaFailed()
    {
        // ICE consent lost (or DTLS failed): the media is gone for good, so the session ends instead of lingering.
        _logger.LogInformation("session {Session}: media failed; ending", Id);
        if (State != SessionPhase.Ended)
        {
            SendError("Media connection lost (ICE consent expired)");
            _ = CloseAsync("media failed");
        }
    }

    void IMediaEvents.OnFrameIn(long count, string? violation)
    {
        if (violation is not null)
        {
            OnViolation(violation);
        }

        _faults.OnFrame(count, State == SessionPhase.Ended);
        if (Volatile.Read(ref _frameWaiters) > 0)
        {
            Signal();
        }
    }

    void IMediaEvents.OnOutput(FrameRecord record, bool first)
    {
        if (first)
        {
            SetPhase(SessionPhase.Generating);
            Send(new JsonObject { ["type"] = "generation_started" });
        }

        DeliverDueAcks(record.Version);
        if (Volatile.Read(ref _frameWaiters) > 0)
        {
            Signal();
        }
    }

    private async Task HandleMessageAsync(ReadOnlyMemory<byte> utf8)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8, new JsonDocumentOptions { MaxDepth = 32 });
        }
        catch (JsonException)
        {
            Interlocked.Increment(ref _malformed);
            LogBadInput("malformed JSON ignored");
            SendError("Invalid message: not valid JSON");
            return;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("type", out var typeElement) || typeElement.ValueKind != JsonValueKind.String)
            {
                Interlocked.Increment(ref _malformed);
                LogBadInput("message without a type ignored");
                SendError("Invalid message: expected a JSON object with a string \"type\"");
                return;
            }

            string type = typeElement.GetString()!;
            switch (type)
            {
                case "prompt":
                    Acknowledge(_state.ApplyPrompt(root));
                    break;
                case "set_image":
                    Acknowledge(_state.ApplySetImage(root));
                    break;
                case "livekit_join":
                    _liveKit.Join(root, this, _media.Pc is not null, (initial, image) => Acknowledge(image ? _state.ApplySetImage(initial) : _state.ApplyPrompt(initial)));
                    _media.FrameTiming = _liveKit.FrameTiming;
                    break;
                case "offer" when _liveKit.Room is not null:
                    Interlocked.Increment(ref _ignored); // a LiveKit session negotiates in its room
                    break;
                case "offer":
                    await AdmitDirectAsync().ConfigureAwait(false);
                    await _direct.OfferAsync(root).ConfigureAwait(false);
                    break;
                case "answer":
                    await _direct.AnswerAsync(root).ConfigureAwait(false);
                    break;
                case "ice-candidate":
                    await _direct.CandidateAsync(root).ConfigureAwait(false);
                    break;
                default:
                    Interlocked.Increment(ref _ignored);
                    LogBadInput($"unknown message type '{(type.Length > 40 ? type[..40] : type)}' ignored");
                    break;
            }
        }
    }

    /// <summary>
    /// A direct session takes a model slot before its media is negotiated, waiting its turn when the simulator is at
    /// <see cref="SimulatorOptions.MaxConcurrentSessions"/> — silently: the direct protocol has no <c>queue_position</c>
    /// (JS SDK 0.0.x would not know it). Its messages wait with it.
    /// </summary>
    private async Task AdmitDirectAsync()
    {
        if (_slots.PositionOf(this) is null && _slots.Capacity is { } capacity && _slots.InUse >= capacity)
        {
            _logger.LogInformation("session {Session}: at capacity ({Capacity}); the direct session waits for a slot", Id, capacity);
        }

        await _slots.AcquireAsync(this, null, _life.Token).ConfigureAwait(false);
        Interlocked.CompareExchange(ref _admittedAt, _options.TimeProvider.GetTimestamp(), 0);
    }

    /// <summary>
    /// A session whose media never connects is ended after <see cref="SimulatorOptions.NegotiationTimeout"/> — counted from
    /// its start, or from when its room was handed out after a queue — so an authenticated socket that never negotiates
    /// does not stay a session for as long as TCP lives.
    /// </summary>
    private void CheckNegotiationTimeout()
    {
        var limit = _options.NegotiationTimeout;
        if (limit <= TimeSpan.Zero || State != SessionPhase.Connecting || Volatile.Read(ref _ending) == 1
            || (_liveKit.Room is not null && _liveKit.RoomInfoSentAt == 0) || _slots.PositionOf(this) is not null)
        {
            return; // not while waiting in a queue: the clock starts when the room is handed out (or the slot granted)
        }

        long since = Math.Max(Math.Max(_startTimestamp, _liveKit.RoomInfoSentAt), Interlocked.Read(ref _admittedAt));
        if (_options.TimeProvider.GetElapsedTime(since) >= limit && Interlocked.Exchange(ref _negotiationTimedOut, 1) == 0)
        {
            _logger.LogInformation("session {Session}: no media within {Limit} s; ending", Id, limit.TotalSeconds);
            SendError(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"Negotiation timed out: no media connection within {limit.TotalSeconds:0.#} s"));
            _ = CloseAsync("negotiation timeout");
        }
    }

    private void OnTooLarge(int cap)
    {
        Interlocked.Increment(ref _malformed);
        _logger.LogWarning("session {Session}: message over {Cap} bytes, closing", Id, cap);
        SendError($"Message too large (limit {cap} bytes)");
        _ = CloseAsync("message too large", WebSocketCloseStatus.MessageTooBig);
    }

    private void OnApplied(AppliedState applied)
    {
        _logger.LogInformation("session {Session}: {Via} applied", Id, applied.Via);
        StateApplied?.Invoke(this, applied);
        _sessions.OnStateApplied(this, applied);
        Signal();
    }

    /// <summary>
    /// Acknowledges an update. While the model is generating, the ack of an applied update waits for the first output
    /// frame made with its version — the ack means "applied to the next output frame" — or at most
    /// <see cref="StateUpdates.AckWaitLimit"/> when no frame comes (a stalled stream).
    /// </summary>
    private void Acknowledge((JsonObject Ack, int Version) result)
    {
        if (result.Version > 0 && State == SessionPhase.Generating && _media.EffectiveModelMode is not null)
        {
            _state.Defer(result.Ack, result.Version);
            return;
        }

        if (_state.LastDeferredVersion is { } waiting)
        {
            // A refusal after an accepted update still waiting for its frame goes out after it: acks keep their order.
            _state.Defer(result.Ack, waiting);
            return;
        }

        DeliverAck(result.Ack);
    }

    private void DeliverDueAcks(int shown)
    {
        foreach (var ack in _state.TakeDueAcks(shown) ?? [])
        {
            DeliverAck(ack);
        }
    }

    private void DeliverAck(JsonObject message)
    {
        var delay = _faults.AckDelay();
        if (delay <= TimeSpan.Zero)
        {
            Send(message);
            return;
        }

        _ = Task.Delay(delay, _options.TimeProvider, _life.Token).ContinueWith(t => Send(message), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
    }

    /// <summary>
    /// Logs bad input from the client — the first few per session; after that one line says the rest are only
    /// counted (<see cref="MalformedMessages"/>, <see cref="IgnoredMessages"/>, <see cref="Warnings"/>), so a flood of
    /// bad messages or frames cannot flood the log.
    /// </summary>
    private void LogBadInput(string message)
    {
        int n = Interlocked.Increment(ref _badInputLogged);
        if (n <= MaxBadInputLogged)
        {
            _logger.LogWarning("session {Session}: {Message}", Id, message);
        }
        else if (n == MaxBadInputLogged + 1)
        {
            _logger.LogWarning("session {Session}: more bad input; counted, no longer logged", Id);
        }
    }

    private void OnViolation(string violation)
    {
        if (_options.StrictConstraints)
        {
            _logger.LogWarning("session {Session}: {Violation}; closing (strict)", Id, violation);
            SendError(violation);
            _ = CloseAsync("constraint violated");
            return;
        }

        LogBadInput(violation);
        lock (_warnings)
        {
            if (_warnings.Count < MaxWarningsKept)
            {
                _warnings.Add(violation);
            }
        }

        Signal();
    }

    private void Send(JsonObject message) => _channel.Send(message);

    /// <summary>Closes gracefully after the queued messages (the client sees them, then the close).</summary>
    private Task CloseAsync(string reason, WebSocketCloseStatus status = WebSocketCloseStatus.NormalClosure)
    {
        EndReason ??= reason;
        _channel.Close(reason, status);
        return Task.CompletedTask;
    }

    private async Task EndAsync(string reason)
    {
        if (Interlocked.Exchange(ref _ending, 1) == 1)
        {
            await _ended.Task.ConfigureAwait(false);
            return;
        }

        EndReason ??= reason;
        _logger.LogInformation("session {Session}: ended ({Reason})", Id, EndReason);
        SetPhase(SessionPhase.Ended);
        EndedAt = _options.TimeProvider.GetUtcNow();
        await _channel.FlushAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        await _channel.FinishAsync().ConfigureAwait(false);
        _life.Cancel();
        _channel.AbortIfOpen();
        try
        {
            if (_liveKit.Room is { } room)
            {
                await _rooms.CloseAsync(room).ConfigureAwait(false);
            }

            await _media.StopAsync().ConfigureAwait(false);
            if (_options.RecordDirectory is { } dir && _media.Recorder is { Frames: > 0 } recorder)
            {
                Directory.CreateDirectory(dir);
                await File.WriteAllBytesAsync(Path.Combine(dir, Id + ".ivf"), recorder.ToArray()).ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            // Whatever failed while tearing down, the session must still end and leave the open list.
            _logger.LogWarning("session {Session}: teardown: {Reason}", Id, ex.Message);
        }
        finally
        {
            _slots.Release(this);
            _sessions.OnEnded(this);
            _ended.TrySetResult();
            Signal();
        }
    }

    private void SetPhase(SessionPhase phase)
    {
        while (true)
        {
            int current = Volatile.Read(ref _phase);
            if (current == (int)SessionPhase.Ended || current == (int)phase || (phase == SessionPhase.Connected && current == (int)SessionPhase.Generating))
            {
                return;
            }

            if (Interlocked.CompareExchange(ref _phase, (int)phase, current) == current)
            {
                Signal();
                return;
            }
        }
    }

    private void Signal() => Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
}
