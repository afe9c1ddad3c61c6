using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Decart.Rtc;
using Decart.Rtc.Sdp;
using Decart.Simulator.Constraints;
using Decart.Simulator.Faults;
using Decart.Simulator.Hosting;
using Decart.Simulator.Model;
using Decart.Simulator.Rest;
using Microsoft.Extensions.Logging;

namespace Decart.Simulator.Realtime;

/// <summary>
/// One realtime session on the simulator: the server side of PROTOCOL.md over one WebSocket and one ICE-lite
/// peer connection. It acknowledges prompts and images, answers the offer, echoes the received video as the
/// "model" output (after the processing latency, capped at the model's fps), ticks the billing clock, checks the
/// model's constraints and applies faults. Inspect it from tests; it stays listed after it ends.
/// </summary>
public sealed class SimulatedSession : IModelHost
{
    private const int MaxPromptLength = 1000;
    private const int FrameLogLength = 1024;
    private static readonly TimeSpan AckWaitLimit = TimeSpan.FromSeconds(1);
    private const int MaxBadInputLogged = 5;
    private const int MaxWarningsKept = 100;
    private readonly SimulatorState _sim;
    private readonly SimulatedModel _model;
    private readonly WebSocket _ws;
    private readonly IssuedToken? _token;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _life = new();
    private readonly Channel<Outgoing> _outgoing = Channel.CreateUnbounded<Outgoing>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Queue<FrameRecord> _frameLog = new();
    private readonly List<PendingAck> _pendingAcks = [];
    private readonly Random _latencyRandom = new();
    private ModelPipeline? _pipeline;
    private ModelMode? _modeOverride;
    private RenderState _render = new(0, null, true, null);
    private int _version;
    private readonly FaultInterceptor _interceptor;
    private readonly MediaConstraints _constraints;
    private readonly IvfRecorder? _recorder;
    private readonly object _frameLock = new();
    private readonly object _stateLock = new();
    private readonly List<AppliedState> _history = [];
    private readonly List<string> _warnings = [];
    private readonly HashSet<string> _actedFaults = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _faultFirstSeen = new(StringComparer.Ordinal);
    private readonly Queue<long> _recentUpdates = new();
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly long _startTimestamp;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private PeerConnection? _pc;
    private Task _writer = Task.CompletedTask;
    private bool _serverOffered;
    private int _phase;
    private long _framesIn;
    private long _framesOut;
    private long _framesDropped;
    private long _ignored;
    private long _malformed;
    private long _rejected;
    private long _generationSeconds;
    private int _frameWaiters;
    private int _badInputLogged;
    private int _ending;
    private string? _prompt;
    private bool _enhance = true;
    private string? _imageHash;
    private readonly Uri? _roomBase;
    private Rooms.Room? _room;

    internal SimulatedSession(SimulatorState sim, SimulatedModel model, WebSocket ws, IssuedToken? token, string? origin, string? userAgent, Uri? roomBase = null)
    {
        _roomBase = roomBase;
        _sim = sim;
        _model = model;
        _ws = ws;
        _token = token;
        Id = Guid.NewGuid().ToString("N");
        Origin = origin;
        UserAgent = userAgent;
        StartedAt = sim.Options.TimeProvider.GetUtcNow();
        _startTimestamp = sim.Options.TimeProvider.GetTimestamp();
        _logger = sim.Logger;
        _interceptor = new FaultInterceptor(sim.Faults, Id);
        _constraints = new MediaConstraints(model);
        if (sim.Options.RecordSessions || sim.Options.RecordDirectory is not null)
        {
            _recorder = new IvfRecorder();
        }
    }

    /// <summary>The session id (also sent in <c>session_id</c>).</summary>
    public string Id { get; }

    /// <summary>The model name the client asked for.</summary>
    public string Model => _model.Name;

    /// <summary>The WebSocket <c>Origin</c> header, if any.</summary>
    public string? Origin { get; }

    /// <summary>The client's <c>user_agent</c> query parameter, if any.</summary>
    public string? UserAgent { get; }

    /// <summary>When the session was accepted.</summary>
    public DateTimeOffset StartedAt { get; }

    /// <summary>When it ended.</summary>
    public DateTimeOffset? EndedAt { get; private set; }

    /// <summary>Why it ended (<c>client closed</c>, <c>dropped</c>, <c>session_time_limit</c>, …).</summary>
    public string? EndReason { get; private set; }

    /// <summary>The phase.</summary>
    public SessionPhase State => (SessionPhase)Volatile.Read(ref _phase);

    /// <summary>The current prompt (null: none).</summary>
    public string? Prompt
    {
        get
        {
            lock (_stateLock)
            {
                return _prompt;
            }
        }
    }

    /// <summary>Whether prompt enhancement is on.</summary>
    public bool Enhance
    {
        get
        {
            lock (_stateLock)
            {
                return _enhance;
            }
        }
    }

    /// <summary>SHA-256 (hex) of the current reference image, or null.</summary>
    public string? ImageHash
    {
        get
        {
            lock (_stateLock)
            {
                return _imageHash;
            }
        }
    }

    /// <summary>Every state applied, in order (the initial state first).</summary>
    public IReadOnlyList<AppliedState> History
    {
        get
        {
            lock (_stateLock)
            {
                return _history.ToArray();
            }
        }
    }

    /// <summary>Constraint warnings recorded (lenient mode).</summary>
    public IReadOnlyList<string> Warnings
    {
        get
        {
            lock (_stateLock)
            {
                return _warnings.ToArray();
            }
        }
    }

    /// <summary>The negotiated codec (<c>VP8</c>/<c>H264</c>) of the received video once the offer is answered.</summary>
    public string? Codec => InputVideo?.CodecName;

    /// <summary>What the client's camera was negotiated as (the section we receive on; else the only one).</summary>
    private NegotiatedVideo? InputVideo => _pc?.ReceiveVideo ?? _pc?.Video;

    /// <summary>
    /// The protocol generation the client spoke: <c>direct</c> (an SDP offer on this socket), <c>livekit</c>
    /// (<c>livekit_join</c>, media in a room), or <c>pending</c> until one of those arrives.
    /// </summary>
    public string Protocol => _room is not null ? "livekit" : _pc is not null ? "direct" : "pending";

    /// <summary>The LiveKit room of a <c>livekit</c> session, or null.</summary>
    public string? RoomName => _room?.Name;

    /// <summary>The client's <c>livekit_join</c> asked for passthrough (no initial state).</summary>
    public bool Passthrough { get; private set; }

    /// <summary>The client advertised <c>client_capabilities.frame_timing</c> in its <c>livekit_join</c>.</summary>
    public bool FrameTiming { get; private set; }

    /// <summary>The simulcast layer of the camera the model is fed from (LiveKit rooms), or null.</summary>
    public string? InputLayer => _pc?.ActiveLayer;

    /// <summary>The simulcast layers the camera sends (LiveKit rooms), lowest first.</summary>
    public IReadOnlyList<string> InputLayers => _pc?.ReceivedLayers ?? [];

    internal Rooms.Room? Room => _room;

    /// <summary>Frames received from the client.</summary>
    public long FramesIn => Interlocked.Read(ref _framesIn);

    /// <summary>Frames echoed back.</summary>
    public long FramesOut => Interlocked.Read(ref _framesOut);

    /// <summary>Input frames the model did not turn into output: superseded by a newer one (latest frame wins), a full queue, waiting for a keyframe, or stale after a stall.</summary>
    public long FramesDropped => Interlocked.Read(ref _framesDropped) + (_pipeline?.FramesDropped ?? 0);

    /// <summary>Keeps the drops of a pipeline that is replaced (a mode switch) in <see cref="FramesDropped"/>.</summary>
    private void KeepCounts(ModelPipeline old) => Interlocked.Add(ref _framesDropped, old.FramesDropped);

    /// <summary>Input frames the model could not decode (each followed by a keyframe request).</summary>
    public long DecodeErrors => _pipeline?.DecodeErrors ?? 0;

    /// <summary>
    /// The model mode: the session's own (<see cref="SetModelMode"/>) or the simulator's (<see cref="SimulatorOptions.ModelMode"/>).
    /// </summary>
    public ModelMode ModelMode => _modeOverride ?? _sim.Options.ModelMode;

    /// <summary>What the model is actually running once media flows (<c>transform</c>, or <c>echo</c> — also in transform mode when the codec's library is missing), else null.</summary>
    public string? EffectiveModelMode => _pipeline?.Mode;

    /// <summary>The state version: 0 until the first update is applied, then one more per acknowledged update.</summary>
    public int StateVersion
    {
        get
        {
            lock (_stateLock)
            {
                return _version;
            }
        }
    }

    /// <summary>The last <paramref name="last"/> output frames, oldest first: what each was made from and with which state.</summary>
    /// <param name="last">How many (at most the 1,024 kept).</param>
    /// <returns>The records.</returns>
    public IReadOnlyList<FrameRecord> Frames(int last = FrameLogLength)
    {
        lock (_frameLog)
        {
            return _frameLog.Skip(Math.Max(0, _frameLog.Count - Math.Max(0, last))).ToArray();
        }
    }

    /// <summary>Switches this session's model mode; the pipeline is rebuilt (and a keyframe requested) if media already flows.</summary>
    /// <param name="mode">The mode.</param>
    public void SetModelMode(ModelMode mode)
    {
        ModelPipeline? old;
        lock (_frameLock)
        {
            _modeOverride = mode;
            old = _pipeline;
            _pipeline = null; // the next frame builds the new one
        }

        if (old is not null)
        {
            KeepCounts(old);
            _ = old.DisposeAsync().AsTask();
            _pc?.RequestKeyframe();
        }
    }

    /// <summary>Unknown or out-of-order messages ignored.</summary>
    public long IgnoredMessages => Interlocked.Read(ref _ignored);

    /// <summary>Messages that were not JSON objects with a string <c>type</c>.</summary>
    public long MalformedMessages => Interlocked.Read(ref _malformed);

    /// <summary>Updates answered with <c>success:false</c>.</summary>
    public long RejectedUpdates => Interlocked.Read(ref _rejected);

    /// <summary>Generation seconds ticked.</summary>
    public long GenerationSeconds => Interlocked.Read(ref _generationSeconds);

    /// <summary>Media datagrams dropped by faults.</summary>
    public long PacketsDroppedByFaults => _interceptor.Dropped;

    /// <summary>Datagrams the ICE agent discarded (garbage, unknown senders).</summary>
    public long DatagramsDiscarded => _pc?.Ice.DroppedDatagrams ?? 0;

    /// <summary>The media port the session listens on (after the offer), for tests that poke it.</summary>
    public int? MediaPort => _pc?.Ice.LocalCandidates.FirstOrDefault()?.Port;

    /// <summary>The client's SDP offer as received (after its <c>CustomizeOffer</c>; in a LiveKit room the latest one), or null.</summary>
    public string? RemoteOffer { get; private set; }

    /// <summary>The received video as an IVF file (when recording is on), else null.</summary>
    public byte[]? Recording => _recorder?.ToArray();

    /// <summary>Completes when the session has ended.</summary>
    public Task Ended => _ended.Task;

    /// <summary>Raised after a state was applied and acknowledged.</summary>
    public event Action<SimulatedSession, AppliedState>? StateApplied;

    SimulatedModel IModelHost.Model => _model;

    TimeProvider IModelHost.Time => TimeProvider.System; // media runs on real time, whatever clock tokens and jobs use

    RenderState IModelHost.CurrentState()
    {
        lock (_stateLock)
        {
            return _render;
        }
    }

    TimeSpan IModelHost.SampleLatency()
    {
        var mean = _sim.Options.ProcessingLatency;
        var jitter = _sim.Options.ProcessingJitter;
        if (jitter <= TimeSpan.Zero)
        {
            return mean;
        }

        double offset;
        lock (_latencyRandom)
        {
            offset = (_latencyRandom.NextDouble() * 2) - 1;
        }

        var latency = mean + (jitter * offset);
        return latency < TimeSpan.Zero ? TimeSpan.Zero : latency;
    }

    bool IModelHost.Send(ReadOnlySpan<byte> frame, uint rtpTimestamp) => _pc is { } pc && State != SessionPhase.Ended && pc.SendFrame(frame, rtpTimestamp);

    void IModelHost.RequestInputKeyframe() => _pc?.RequestKeyframe();

    void IModelHost.OnOutput(FrameRecord record)
    {
        lock (_frameLog)
        {
            if (_frameLog.Count == FrameLogLength)
            {
                _frameLog.Dequeue();
            }

            _frameLog.Enqueue(record);
        }

        if (Interlocked.Increment(ref _framesOut) == 1)
        {
            SetPhase(SessionPhase.Generating);
            Send(new JsonObject { ["type"] = "generation_started" });
        }

        FlushAcks(record.Version);
        if (Volatile.Read(ref _frameWaiters) > 0)
        {
            Signal();
        }
    }

    /// <summary>A snapshot for the control API.</summary>
    /// <returns>The snapshot.</returns>
    public SessionInfo Describe()
    {
        var size = _constraints.FrameSize;
        lock (_stateLock)
        {
            return new SessionInfo(
                Id, Model, State, StartedAt, EndedAt, EndReason, Codec, FramesIn, FramesOut, FramesDropped, _prompt, _enhance, _imageHash,
                GenerationSeconds, size?.Width, size?.Height, _constraints.MeasuredFps, _warnings.ToArray(), IgnoredMessages, MalformedMessages,
                RejectedUpdates, _sim.Faults.For(Id))
            {
                Protocol = Protocol,
                RoomName = RoomName,
                InputLayer = InputLayer,
                ModelMode = ModelMode,
                EffectiveModelMode = EffectiveModelMode,
                StateVersion = _version,
                DecodeErrors = DecodeErrors,
            };
        }
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
    /// <param name="mode">WebSocket close, media black hole (the client's consent freshness fails), or both.</param>
    /// <returns>A task that completes when applied.</returns>
    public Task DropAsync(DropMode mode = DropMode.Both)
    {
        _logger.LogInformation("session {Session}: drop ({Mode})", Id, mode);
        if (mode == DropMode.Room && _room?.Publisher is { } participant)
        {
            EndReason ??= "dropped";
            return participant.LeaveAsync();
        }

        mode = mode == DropMode.Room ? DropMode.WebSocket : mode;
        if (mode is DropMode.Media or DropMode.Both)
        {
            _interceptor.BlackHole = true;
            if (_pc is { } pc)
            {
                pc.Ice.Silent = true;
            }
        }

        if (mode is DropMode.WebSocket or DropMode.Both)
        {
            EndReason ??= "dropped";
            _ws.Abort();
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
        _outgoing.Writer.TryWrite(new Outgoing(text, Stopwatch.GetTimestamp(), null));
    }

    /// <summary>Ends generation: <c>generation_ended</c> with the reason, then closes the session.</summary>
    /// <param name="reason">The reason, e.g. <c>insufficient_credits</c>.</param>
    /// <returns>A task that completes when the close is under way.</returns>
    public Task EndGenerationAsync(string reason)
    {
        Send(new JsonObject { ["type"] = "generation_ended", ["seconds"] = GenerationSeconds, ["reason"] = reason });
        return CloseAsync(reason);
    }

    /// <inheritdoc />
    public override string ToString() => $"SimulatedSession {{ Id = {Id}, Model = {Model}, State = {State} }}";

    /// <summary>Runs the session until the WebSocket closes.</summary>
    internal async Task RunAsync(CancellationToken aborted)
    {
        using var link = aborted.Register(() => _life.Cancel());
        var writer = _writer = Task.Run(WriteLoopAsync);
        var ticker = Task.Run(TickLoopAsync);
        try
        {
            if (_sim.Options.ServerOffers)
            {
                await SendServerOfferAsync().ConfigureAwait(false);
            }

            await ReceiveLoopAsync().ConfigureAwait(false);
            await EndAsync(EndReason ?? "client closed").ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
        {
            await EndAsync(EndReason ?? "connection lost").ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            _logger.LogError(ex, "session {Session}: unexpected failure", Id);
            await EndAsync("internal error").ConfigureAwait(false);
        }

        await Task.WhenAll(writer, ticker).ConfigureAwait(false);
        ModelPipeline? pipeline;
        lock (_frameLock)
        {
            pipeline = _pipeline;
            _pipeline = null;
        }

        if (pipeline is not null)
        {
            await pipeline.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Applies an immediate action (from a just-added fault).</summary>
    internal void Act(Fault fault)
    {
        if (!FaultSet.Matches(fault, Id) || State == SessionPhase.Ended || !FaultSet.Roll(fault))
        {
            return;
        }

        lock (_stateLock)
        {
            if (!_actedFaults.Add(fault.Id!))
            {
                return;
            }
        }

        _logger.LogInformation("session {Session}: fault {Fault} ({Type})", Id, fault.Id, fault.Type);
        switch (fault.Type)
        {
            case FaultType.Drop:
                _ = DropAsync(fault.Mode);
                break;
            case FaultType.Stall:
                _interceptor.StallFor(TimeSpan.FromSeconds(fault.StallSeconds));
                break;
            case FaultType.ServerError:
                SendError(fault.Error ?? "Internal server error");
                break;
            case FaultType.EndGeneration:
                _ = EndGenerationAsync(fault.Reason ?? "insufficient_credits");
                break;
        }
    }

    private async Task ReceiveLoopAsync()
    {
        int cap = _sim.Options.MaxMessageBytes;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            while (_ws.State == WebSocketState.Open)
            {
                var message = await WebSocketMessages.ReceiveAsync(_ws, buffer, cap, _life.Token).ConfigureAwait(false);
                buffer = message.Buffer;
                if (message.Type == WebSocketMessageType.Close)
                {
                    return;
                }

                if (message.TooLarge)
                {
                    // Read the rest of the message away (bounded) so the close is not turned into a reset that
                    // would swallow the error we are about to send.
                    long drained = 0;
                    using (var drain = CancellationTokenSource.CreateLinkedTokenSource(_life.Token))
                    {
                        drain.CancelAfter(TimeSpan.FromSeconds(5));
                        for (bool end = false; !end && drained < 16L * cap;)
                        {
                            var rest = await _ws.ReceiveAsync(buffer.AsMemory(), drain.Token).ConfigureAwait(false);
                            drained += rest.Count;
                            end = rest.EndOfMessage;
                        }
                    }

                    Interlocked.Increment(ref _malformed);
                    _logger.LogWarning("session {Session}: message over {Cap} bytes, closing", Id, cap);
                    SendError($"Message too large (limit {cap} bytes)");
                    await CloseAsync("message too large", WebSocketCloseStatus.MessageTooBig).ConfigureAwait(false);
                    return;
                }

                if (message.Type != WebSocketMessageType.Text)
                {
                    Interlocked.Increment(ref _ignored);
                    continue;
                }

                await DelaySignalingAsync(toClient: false).ConfigureAwait(false);
                await HandleMessageAsync(buffer.AsMemory(0, message.Length)).ConfigureAwait(false);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
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
                    HandlePrompt(root);
                    break;
                case "set_image":
                    HandleSetImage(root);
                    break;
                case "livekit_join":
                    HandleLiveKitJoin(root);
                    break;
                case "offer" when _room is not null:
                    Interlocked.Increment(ref _ignored); // a LiveKit session negotiates in its room
                    break;
                case "offer":
                    await HandleOfferAsync(root).ConfigureAwait(false);
                    break;
                case "answer":
                    await HandleAnswerAsync(root).ConfigureAwait(false);
                    break;
                case "ice-candidate":
                    await HandleCandidateAsync(root).ConfigureAwait(false);
                    break;
                default:
                    Interlocked.Increment(ref _ignored);
                    LogBadInput($"unknown message type '{(type.Length > 40 ? type[..40] : type)}' ignored");
                    break;
            }
        }
    }

    private void HandlePrompt(JsonElement root)
    {
        string? prompt = root.TryGetProperty("prompt", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;
        bool enhance = !root.TryGetProperty("enhance_prompt", out var e) || e.ValueKind != JsonValueKind.False;
        string? error = prompt is null ? "prompt must be a string"
            : prompt.Length is < 1 or > MaxPromptLength ? $"prompt must be 1-{MaxPromptLength} characters"
            : RateLimited() ? "Too many updates: debounce prompt changes" : null;
        int version = 0;
        if (error is null)
        {
            version = Apply(prompt, enhance, keepImage: true, imageHash: null, "prompt");
        }
        else
        {
            Interlocked.Increment(ref _rejected);
        }

        // A refused prompt is echoed only up to the limit: a 9 MB prompt must not come back as a 9 MB ack.
        string echoed = prompt is null ? string.Empty : prompt.Length > MaxPromptLength ? prompt[..MaxPromptLength] : prompt;
        SendAck(new JsonObject { ["type"] = "prompt_ack", ["prompt"] = echoed, ["success"] = error is null, ["error"] = error }, version);
    }

    private void HandleSetImage(JsonElement root)
    {
        string? error = null;
        string? hash = null;
        if (!root.TryGetProperty("image_data", out var image) || image.ValueKind == JsonValueKind.Null)
        {
            hash = null;
        }
        else if (image.ValueKind != JsonValueKind.String)
        {
            error = "image_data must be a base64 string or null";
        }
        else
        {
            error = CheckImage(image.GetString()!, out hash);
        }

        bool hasPrompt = root.TryGetProperty("prompt", out var p);
        string? prompt = null;
        if (error is null && hasPrompt)
        {
            if (p.ValueKind == JsonValueKind.String)
            {
                prompt = p.GetString();
                if (prompt!.Length is < 1 or > MaxPromptLength)
                {
                    error = $"prompt must be 1-{MaxPromptLength} characters";
                }
            }
            else if (p.ValueKind != JsonValueKind.Null)
            {
                error = "prompt must be a string or null";
            }
        }

        if (error is null && RateLimited())
        {
            error = "Too many updates: debounce prompt changes";
        }

        int version = 0;
        if (error is null)
        {
            bool? enhance = root.TryGetProperty("enhance_prompt", out var e) && e.ValueKind is JsonValueKind.True or JsonValueKind.False ? e.GetBoolean() : null;
            lock (_stateLock)
            {
                string? newPrompt = hasPrompt ? prompt : _prompt;
                version = Apply(newPrompt, enhance ?? (hasPrompt || _enhance), keepImage: false, hash, "set_image");
            }
        }
        else
        {
            Interlocked.Increment(ref _rejected);
        }

        SendAck(new JsonObject { ["type"] = "set_image_ack", ["success"] = error is null, ["error"] = error }, version);
    }

    private string? CheckImage(string base64, out string? hash)
    {
        hash = null;
        long decodedMax = (long)base64.Length * 3 / 4;
        if (decodedMax > _sim.Options.MaxImageBytes + 3)
        {
            return string.Create(CultureInfo.InvariantCulture, $"Image too large (about {decodedMax} bytes; limit {_sim.Options.MaxImageBytes})");
        }

        byte[] bytes = ArrayPool<byte>.Shared.Rent((int)decodedMax + 4);
        try
        {
            if (!Convert.TryFromBase64String(base64, bytes, out int n))
            {
                return "image_data is not valid base64";
            }

            var data = bytes.AsSpan(0, n);
            if (n > _sim.Options.MaxImageBytes)
            {
                return string.Create(CultureInfo.InvariantCulture, $"Image too large ({n} bytes; limit {_sim.Options.MaxImageBytes})");
            }

            bool png = data.StartsWith((ReadOnlySpan<byte>)[0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
            bool jpeg = data.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF]);
            bool webp = n >= 12 && data.StartsWith("RIFF"u8) && data.Slice(8, 4).SequenceEqual("WEBP"u8);
            if (!png && !jpeg && !webp)
            {
                return "Unsupported image format: expected PNG, JPEG or WebP";
            }

            hash = Convert.ToHexStringLower(SHA256.HashData(data));
            return null;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
        }
    }

    private bool RateLimited()
    {
        long now = Stopwatch.GetTimestamp();
        lock (_recentUpdates)
        {
            while (_recentUpdates.Count > 0 && now - _recentUpdates.Peek() > Stopwatch.Frequency)
            {
                _recentUpdates.Dequeue();
            }

            if (_recentUpdates.Count >= _sim.Options.MaxUpdatesPerSecond)
            {
                return true;
            }

            _recentUpdates.Enqueue(now);
            return false;
        }
    }

    private int Apply(string? prompt, bool enhance, bool keepImage, string? imageHash, string via)
    {
        AppliedState applied;
        lock (_stateLock)
        {
            _prompt = prompt;
            _enhance = enhance;
            if (!keepImage)
            {
                _imageHash = imageHash;
            }

            _version++;
            _render = new RenderState(_version, _prompt, _enhance, _imageHash);
            applied = new AppliedState(_prompt, _enhance, _imageHash, via, _sim.Options.TimeProvider.GetUtcNow()) { Version = _version };
            _history.Add(applied);
        }

        _logger.LogInformation("session {Session}: {Via} applied", Id, via);
        StateApplied?.Invoke(this, applied);
        _sim.Sessions.OnStateApplied(this, applied);
        Signal();
        return applied.Version;
    }

    /// <summary>
    /// <c>livekit_join</c>: the session's media goes through a room of the built-in room server. Answered at once with
    /// <c>livekit_room_info</c>; the initial state (if any) arrives as the next message and is acknowledged as usual.
    /// </summary>
    private void HandleLiveKitJoin(JsonElement root)
    {
        if (_room is not null || _pc is not null || _roomBase is null)
        {
            Interlocked.Increment(ref _ignored);
            SendError("livekit_join is accepted once, before any offer");
            return;
        }

        Passthrough = root.TryGetProperty("passthrough", out var p) && p.ValueKind == JsonValueKind.True;
        FrameTiming = root.TryGetProperty("client_capabilities", out var caps) && caps.ValueKind == JsonValueKind.Object
            && caps.TryGetProperty("frame_timing", out var ft) && ft.ValueKind == JsonValueKind.True;
        if (root.TryGetProperty("initial_state", out var initial) && initial.ValueKind == JsonValueKind.Object)
        {
            // JS SDK 0.1.6-0.1.7 bundled the initial state into the join.
            if (initial.TryGetProperty("image_data", out _) || initial.TryGetProperty("image_ref", out _))
            {
                HandleSetImage(initial);
            }
            else if (initial.TryGetProperty("prompt", out _))
            {
                HandlePrompt(initial);
            }
        }

        _room = _sim.Rooms.Create(this);
        _logger.LogInformation("session {Session}: livekit_join, room {Room}", Id, _room.Name);
        var queue = _sim.Faults.Snapshot.FirstOrDefault(f => f.Type == FaultType.Queue && FaultSet.Matches(f, Id) && FaultSet.Roll(f));
        if (queue is null)
        {
            SendRoomInfo(_room);
            return;
        }

        _ = QueueThenSendRoomInfoAsync(_room, queue.Count, TimeSpan.FromMilliseconds(queue.DelayMs > 0 ? queue.DelayMs : 500));
    }

    private async Task QueueThenSendRoomInfoAsync(Rooms.Room room, int length, TimeSpan step)
    {
        try
        {
            for (int position = length; position >= 1; position--)
            {
                Send(new JsonObject { ["type"] = "queue_position", ["position"] = position, ["queue_size"] = length });
                await Task.Delay(step, _life.Token).ConfigureAwait(false);
            }

            SendRoomInfo(room);
        }
        catch (OperationCanceledException)
        {
            // The session ended while queued.
        }
    }

    private void SendRoomInfo(Rooms.Room room)
    {
        Send(new JsonObject
        {
            ["type"] = "livekit_room_info",
            ["livekit_url"] = new Uri(_roomBase!, "lk").ToString(),
            ["token"] = room.Token,
            ["room_name"] = room.Name,
            ["session_id"] = Id,
        });
        Signal();
    }

    /// <summary>The peer connection of the room's participant (one per session; the room front negotiates it).</summary>
    internal PeerConnection CreateRoomPeerConnection(string streamId, string trackId, IReadOnlyList<string> codecs)
    {
        if (_pc is not null)
        {
            throw new InvalidOperationException("the session already has its media connection");
        }

        return CreatePeerConnection(iceLite: true, codecs, streamId, trackId);
    }

    /// <summary>Records the latest offer the room's participant sent (what <see cref="RemoteOffer"/> shows for a room).</summary>
    internal void RecordRoomOffer(string sdp) => RemoteOffer = sdp;

    /// <summary>The room's signal connection ended: the session ends with it.</summary>
    internal Task OnRoomLeftAsync(string reason)
    {
        if (State == SessionPhase.Ended)
        {
            return Task.CompletedTask;
        }

        return CloseAsync(reason);
    }

    private async Task HandleOfferAsync(JsonElement root)
    {
        if (_pc is not null)
        {
            Interlocked.Increment(ref _ignored);
            if (!_serverOffered)
            {
                SendError("Renegotiation is not supported");
            }

            return;
        }

        string? sdp = root.TryGetProperty("sdp", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
        if (!SessionDescription.TryParse(sdp, SdpType.Offer, out var offer, out var parseError, out int line))
        {
            Interlocked.Increment(ref _malformed);
            SendError(string.Create(CultureInfo.InvariantCulture, $"Invalid SDP offer: {parseError} (line {line})"));
            return;
        }

        if (!offer!.Media.Any(m => m.Kind == "video" && !m.IsRejected))
        {
            SendError("SDP offer has no video section");
            await CloseAsync("offer without video").ConfigureAwait(false);
            return;
        }

        // Like a browser answerer, honour the offerer's codec order among the codecs we handle.
        var offered = offer.Media.First(m => m.Kind == "video" && !m.IsRejected).Codecs
            .Select(c => c.Name.ToUpperInvariant()).Where(n => n is "VP8" or "H264").Distinct().ToArray();
        RemoteOffer = sdp;
        var pc = CreatePeerConnection(iceLite: true, offered.Length > 0 ? offered : null);
        try
        {
            await pc.SetRemoteDescriptionAsync(offer, _life.Token).ConfigureAwait(false);
            var answer = await pc.CreateAnswerAsync(_life.Token).ConfigureAwait(false);
            Send(new JsonObject { ["type"] = "answer", ["sdp"] = answer.ToString() });
        }
        catch (Exception ex) when (ex is InvalidOperationException or SdpException or ArgumentException)
        {
            _logger.LogWarning("session {Session}: offer rejected: {Reason}", Id, ex.Message);
            SendError($"Cannot answer the offer: {ex.Message}");
            await CloseAsync("offer rejected").ConfigureAwait(false);
            return;
        }

        AfterNegotiation(pc, offer);
    }

    private async Task SendServerOfferAsync()
    {
        var pc = CreatePeerConnection(iceLite: false);
        _serverOffered = true;
        var offer = await pc.CreateOfferAsync(false, _life.Token).ConfigureAwait(false);
        Send(new JsonObject { ["type"] = "offer", ["sdp"] = offer.ToString() });
    }

    private async Task HandleAnswerAsync(JsonElement root)
    {
        var pc = _pc;
        string? sdp = root.TryGetProperty("sdp", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
        if (pc is null || !_serverOffered || pc.Video is not null)
        {
            Interlocked.Increment(ref _ignored);
            return;
        }

        if (!SessionDescription.TryParse(sdp, SdpType.Answer, out var answer, out var parseError, out int line))
        {
            Interlocked.Increment(ref _malformed);
            SendError(string.Create(CultureInfo.InvariantCulture, $"Invalid SDP answer: {parseError} (line {line})"));
            return;
        }

        try
        {
            await pc.SetRemoteDescriptionAsync(answer!, _life.Token).ConfigureAwait(false);
        }
        catch (InvalidOperationException ex)
        {
            SendError($"Cannot apply the answer: {ex.Message}");
            await CloseAsync("answer rejected").ConfigureAwait(false);
            return;
        }

        AfterNegotiation(pc, answer!);
    }

    private PeerConnection CreatePeerConnection(bool iceLite, IReadOnlyList<string>? codecs = null, string? streamId = null, string? trackId = null)
    {
        var pc = new PeerConnection(new PeerConnectionOptions
        {
            IceLite = iceLite,
            ConsentTimeout = _sim.Options.ConsentTimeout,
            Interceptor = _interceptor,
            CodecPreference = codecs ?? ["VP8", "H264"],
            StreamId = streamId ?? "decart",
            TrackId = trackId ?? "video0",
            // An SFU tells a browser sender how much it may send, so its larger simulcast layers come up at once.
            ReceiveBitrateEstimate = streamId is null ? null : 8_000_000,
            SenderStartBitrateKbps = streamId is null ? null : 2500,
        });
        pc.FrameReceived += OnFrame;
        pc.KeyframeRequested += () =>
        {
            // The viewer's PLI: the model's encoder makes a keyframe; in echo mode it goes on to the sender.
            if (_pipeline is { } pipeline)
            {
                pipeline.OnKeyframeRequested();
            }
            else
            {
                pc.RequestKeyframe();
            }
        };
        pc.StateChanged += state =>
        {
            if (state == PeerConnectionState.Connected)
            {
                SetPhase(SessionPhase.Connected);
                _logger.LogInformation("session {Session}: media connected ({Codec})", Id, pc.Video?.CodecName);
            }
            else if (state == PeerConnectionState.Failed)
            {
                _logger.LogInformation("session {Session}: media failed", Id);
            }
        };
        if (_interceptor.BlackHole)
        {
            pc.Ice.Silent = true;
        }

        _pc = pc;
        return pc;
    }

    private void AfterNegotiation(PeerConnection pc, SessionDescription remote)
    {
        var video = pc.Video!;
        int index = remote.Media.ToList().FindIndex(m => m.Mid == video.Mid);
        var local = pc.Ice.LocalCandidates;
        foreach (var candidate in local)
        {
            Send(new JsonObject
            {
                ["type"] = "ice-candidate",
                ["candidate"] = new JsonObject { ["candidate"] = candidate.ToString(), ["sdpMid"] = video.Mid, ["sdpMLineIndex"] = Math.Max(0, index) },
            });
        }

        Send(new JsonObject { ["type"] = "ice-candidate", ["candidate"] = null });
        var announced = local.FirstOrDefault(c => c.EndPoint?.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork) ?? local.FirstOrDefault();
        Send(new JsonObject
        {
            ["type"] = "session_id",
            ["session_id"] = Id,
            ["server_ip"] = announced?.Address ?? "127.0.0.1",
            ["server_port"] = announced?.Port ?? 0,
        });
    }

    private async Task HandleCandidateAsync(JsonElement root)
    {
        var pc = _pc;
        if (!root.TryGetProperty("candidate", out var c) || c.ValueKind == JsonValueKind.Null)
        {
            return; // end of candidates
        }

        string? text = c.ValueKind == JsonValueKind.Object && c.TryGetProperty("candidate", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()
            : c.ValueKind == JsonValueKind.String ? c.GetString() : null;
        if (pc is null || text is null)
        {
            Interlocked.Increment(ref _ignored);
            return;
        }

        if (text.Length == 0)
        {
            return; // the browser's end-of-candidates marker
        }

        if (!await pc.AddRemoteCandidateAsync(text, _life.Token).ConfigureAwait(false))
        {
            Interlocked.Increment(ref _ignored);
        }
    }

    private void OnFrame(ReadOnlySpan<byte> frame, uint rtpTimestamp, bool isKeyframe)
    {
        if (InputVideo is not { } video || State == SessionPhase.Ended)
        {
            return;
        }

        long arrival = Stopwatch.GetTimestamp();
        long count = Interlocked.Increment(ref _framesIn);
        string? violation;
        lock (_frameLock)
        {
            violation = _constraints.Observe(frame, video.CodecName, isKeyframe, arrival);
            _recorder?.Append(frame, video.CodecName, rtpTimestamp, _constraints.FrameSize);
            if (_pipeline is null && State != SessionPhase.Ended)
            {
                _pipeline = ModelPipeline.Create(ModelMode, video.CodecName, this);
                _pipeline.Start();
            }

            _pipeline?.OnInput(frame, rtpTimestamp, isKeyframe, TimeProvider.System.GetTimestamp());
        }

        if (violation is not null)
        {
            OnViolation(violation);
        }

        CheckFrameFaults(count);
        if (Volatile.Read(ref _frameWaiters) > 0)
        {
            Signal();
        }
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
        if (_sim.Options.StrictConstraints)
        {
            _logger.LogWarning("session {Session}: {Violation}; closing (strict)", Id, violation);
            SendError(violation);
            _ = CloseAsync("constraint violated");
            return;
        }

        LogBadInput(violation);
        lock (_stateLock)
        {
            if (_warnings.Count < MaxWarningsKept)
            {
                _warnings.Add(violation);
            }
        }

        Signal();
    }

    private void CheckFrameFaults(long framesIn)
    {
        foreach (var fault in _sim.Faults.Snapshot)
        {
            if (fault.IsAction && fault.AfterFrames is { } n && framesIn >= n)
            {
                Act(fault); // checks the scope and acts once per session
            }
        }
    }

    private void CheckTimedFaults()
    {
        var time = _sim.Options.TimeProvider;
        long now = time.GetTimestamp();
        foreach (var fault in _sim.Faults.Snapshot)
        {
            if (!fault.IsAction || fault.AfterSeconds is not { } seconds || !FaultSet.Matches(fault, Id))
            {
                continue;
            }

            long since;
            lock (_stateLock)
            {
                if (_actedFaults.Contains(fault.Id!))
                {
                    continue;
                }

                if (!_faultFirstSeen.TryGetValue(fault.Id!, out since))
                {
                    since = now;
                    _faultFirstSeen[fault.Id!] = now;
                }
            }

            // "after N seconds" counts from the session's start, or from when the fault appeared if later.
            long from = Math.Max(since, _startTimestamp);
            if (time.GetElapsedTime(from, now).TotalSeconds >= seconds && (fault.AfterFrames is null || FramesIn >= fault.AfterFrames))
            {
                Act(fault);
            }
        }
    }

    private async Task TickLoopAsync()
    {
        var time = _sim.Options.TimeProvider;
        var check = TimeSpan.FromMilliseconds(100);
        var tickEvery = _sim.Options.TickInterval;
        long nextTick = 0;
        long generatingSince = -1;
        try
        {
            while (!_life.IsCancellationRequested)
            {
                await Task.Delay(check, time, _life.Token).ConfigureAwait(false);
                long now = time.GetTimestamp();
                CheckTimedFaults();
                FlushAcks(0); // the ones that waited too long for a frame
                if (_token?.MaxSessionDuration is { } max && time.GetElapsedTime(_startTimestamp, now) >= max)
                {
                    await EndGenerationAsync("session_time_limit").ConfigureAwait(false);
                    return;
                }

                if (State != SessionPhase.Generating)
                {
                    continue;
                }

                if (generatingSince < 0)
                {
                    generatingSince = now;
                    nextTick = 1;
                }

                if (time.GetElapsedTime(generatingSince, now) >= tickEvery * nextTick)
                {
                    // Whole seconds with the default 1 s interval; fractions when a test ticks faster.
                    double seconds = Math.Round((tickEvery * nextTick).TotalSeconds, 3);
                    Interlocked.Exchange(ref _generationSeconds, (long)seconds);
                    nextTick++;
                    Send(new JsonObject { ["type"] = "generation_tick", ["seconds"] = seconds });
                    Signal();
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>
    /// Acknowledges an update. While the model is generating, the ack of an applied update (version &gt; 0) waits for
    /// the first output frame made with that version — the ack means "applied to the next output frame" — or at most
    /// <see cref="AckWaitLimit"/> when no frame comes (a stalled stream).
    /// </summary>
    private void SendAck(JsonObject message, int version)
    {
        if (version > 0 && State == SessionPhase.Generating && _pipeline is not null)
        {
            lock (_pendingAcks)
            {
                _pendingAcks.Add(new PendingAck(version, message, Stopwatch.GetTimestamp() + (long)(AckWaitLimit.TotalSeconds * Stopwatch.Frequency)));
            }

            return;
        }

        DeliverAck(message);
    }

    /// <summary>Sends the acks waiting for a version up to <paramref name="version"/>, and any that waited too long.</summary>
    private void FlushAcks(int version)
    {
        List<JsonObject>? due = null;
        long now = Stopwatch.GetTimestamp();
        lock (_pendingAcks)
        {
            for (int i = 0; i < _pendingAcks.Count; i++)
            {
                var ack = _pendingAcks[i];
                if (ack.Version <= version || now >= ack.Deadline)
                {
                    (due ??= []).Add(ack.Message);
                    _pendingAcks.RemoveAt(i--);
                }
            }
        }

        foreach (var message in due ?? [])
        {
            DeliverAck(message);
        }
    }

    private void DeliverAck(JsonObject message)
    {
        var delay = TimeSpan.Zero;
        foreach (var fault in _sim.Faults.Snapshot)
        {
            if (fault.Type == FaultType.DelayAcks && FaultSet.Matches(fault, Id) && FaultSet.Roll(fault))
            {
                delay += TimeSpan.FromMilliseconds(fault.DelayMs);
            }
        }

        if (delay <= TimeSpan.Zero)
        {
            Send(message);
            return;
        }

        _ = Task.Delay(delay, _life.Token).ContinueWith(t => Send(message), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
    }

    /// <summary>Queues a message for the writer (after any signaling latency fault toward the client).</summary>
    private void Send(JsonObject message)
    {
        var delay = SignalingLatency(toClient: true);
        long due = Stopwatch.GetTimestamp() + (long)(delay.TotalSeconds * Stopwatch.Frequency);
        _outgoing.Writer.TryWrite(new Outgoing(message.ToJsonString(), due, null));
    }

    private TimeSpan SignalingLatency(bool toClient)
    {
        var delay = TimeSpan.Zero;
        foreach (var fault in _sim.Faults.Snapshot)
        {
            if (fault.Type == FaultType.Latency && fault.Target != FaultTarget.Media && FaultSet.Matches(fault, Id) && FaultSet.Matches(fault, toClient) && FaultSet.Roll(fault))
            {
                delay += FaultSet.DrawLatency(fault);
            }
        }

        return delay;
    }

    private async Task DelaySignalingAsync(bool toClient)
    {
        var delay = SignalingLatency(toClient);
        if (delay > TimeSpan.Zero)
        {
            await Task.Delay(delay, _life.Token).ConfigureAwait(false);
        }
    }

    private async Task WriteLoopAsync()
    {
        try
        {
            await foreach (var item in _outgoing.Reader.ReadAllAsync(_life.Token).ConfigureAwait(false))
            {
                var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), item.Due);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, _life.Token).ConfigureAwait(false);
                }

                if (item.Close is { } status)
                {
                    using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                    await _ws.CloseOutputAsync(status, item.Text, bound.Token).ConfigureAwait(false);
                    return;
                }

                if (_ws.State != WebSocketState.Open)
                {
                    return;
                }

                await _ws.SendAsync(Encoding.UTF8.GetBytes(item.Text), WebSocketMessageType.Text, true, _life.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException or IOException)
        {
        }
    }

    /// <summary>Closes gracefully after the queued messages (the client sees them, then the close).</summary>
    private Task CloseAsync(string reason, WebSocketCloseStatus status = WebSocketCloseStatus.NormalClosure)
    {
        EndReason ??= reason;
        _outgoing.Writer.TryWrite(new Outgoing(reason.Length > 100 ? reason[..100] : reason, Stopwatch.GetTimestamp(), status));
        _ = AbortLaterAsync();
        return Task.CompletedTask;
    }

    /// <summary>Gives the client a moment to answer a close; then cuts the connection.</summary>
    private async Task AbortLaterAsync()
    {
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(3), _life.Token).ConfigureAwait(false);
            _ws.Abort();
        }
        catch (OperationCanceledException)
        {
        }
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
        EndedAt = _sim.Options.TimeProvider.GetUtcNow();
        _outgoing.Writer.TryComplete();
        try
        {
            // Flush what is queued (an error, generation_ended, a close) before cutting the connection.
            await _writer.WaitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }

        await AwaitCloseReplyAsync().ConfigureAwait(false);
        _life.Cancel();
        if (_ws.State is not (WebSocketState.Closed or WebSocketState.Aborted))
        {
            _ws.Abort();
        }

        try
        {
            if (_room is { } room)
            {
                await _sim.Rooms.CloseAsync(room).ConfigureAwait(false);
            }

            if (_pc is { } pc)
            {
                await pc.DisposeAsync().ConfigureAwait(false);
            }

            if (_sim.Options.RecordDirectory is { } dir && _recorder is { Frames: > 0 })
            {
                Directory.CreateDirectory(dir);
                await File.WriteAllBytesAsync(Path.Combine(dir, Id + ".ivf"), _recorder.ToArray()).ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            // Whatever failed while tearing down, the session must still end and leave the open list.
            _logger.LogWarning("session {Session}: teardown: {Reason}", Id, ex.Message);
        }
        finally
        {
            _sim.Sessions.OnEnded(this);
            _ended.TrySetResult();
            Signal();
        }
    }

    /// <summary>
    /// When we sent a close and nobody reads any more, read until the client's close arrives (bounded): aborting with
    /// unread bytes would make the kernel send a reset, and the client would lose the messages before the close.
    /// </summary>
    private async Task AwaitCloseReplyAsync()
    {
        if (_ws.State != WebSocketState.CloseSent)
        {
            return;
        }

        var scratch = ArrayPool<byte>.Shared.Rent(4096);
        try
        {
            using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            while (_ws.State == WebSocketState.CloseSent)
            {
                var result = await _ws.ReceiveAsync(scratch.AsMemory(), bound.Token).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException or InvalidOperationException)
        {
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
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

    private readonly record struct Outgoing(string Text, long Due, WebSocketCloseStatus? Close);

    private readonly record struct PendingAck(int Version, JsonObject Message, long Deadline);
}
