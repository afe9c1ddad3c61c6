using Decart.Rtc.Codecs;
using Decart.Rtc;
using Decart.Rtc.LiveKit;
using Decart.Rtc.Sdp;
using Decart.Simulator.Constraints;
using Decart.Simulator.Faults;
using Decart.Simulator.Hosting;
using Decart.Simulator.Model;

namespace Decart.Simulator.Realtime;

/// <summary>What the media side tells its session.</summary>
internal interface IMediaEvents
{
    /// <summary>The peer connection is up.</summary>
    void OnMediaConnected(string? codec);

    /// <summary>ICE or DTLS failed, or consent expired.</summary>
    void OnMediaFailed();

    /// <summary>A frame arrived (the count so far) and broke a constraint (or not).</summary>
    void OnFrameIn(long count, string? violation);

    /// <summary>A model frame went out.</summary>
    void OnOutput(FrameRecord record, bool first);

    /// <summary>Whether the session has ended (no new pipeline, no sends).</summary>
    bool Ended { get; }
}

/// <summary>
/// A session's media: the one peer connection (answering the direct flow's offer, or the room's), the received
/// frames — checked against the model's constraints, recorded, fed to the model — and the model's output back out.
/// Data flows one way: transport in → <see cref="ModelPipeline"/> → transport out; the state reaches the model only
/// through the render-state function it is given.
/// </summary>
internal sealed class SessionMedia : IModelHost
{
    private const int FrameLogLength = 1024;

    /// <summary>
    /// The media plane's clock: real time, whatever <see cref="SimulatorOptions.TimeProvider"/> the control plane (ticks,
    /// faults, tokens, acks) runs on — packets, codecs and the client's clocks do not stop for a test's fake clock.
    /// </summary>
    private static readonly TimeProvider MediaClock = TimeProvider.System;
    private readonly SimulatorOptions _options;
    private readonly SimulatedModel _model;
    private readonly FaultInterceptor _interceptor;
    private readonly Func<RenderState> _state;
    private readonly IMediaEvents _events;
    private readonly MediaConstraints _constraints;
    private readonly object _frameLock = new();
    private readonly Queue<FrameRecord> _frameLog = new();
    private readonly Random _latencyRandom = new();
    private ModelPipeline? _pipeline;
    private ModelMode? _modeOverride;
    private PeerConnection[] _viewers = [];
    private readonly object _trailerLock = new();
    private byte[] _withTrailer = new byte[64 * 1024];
    private long _framesIn;
    private long _framesOut;
    private long _trailersIn;
    private long _trailersOut;
    private long _droppedBefore;

    public SessionMedia(SimulatorOptions options, SimulatedModel model, FaultInterceptor interceptor, Func<RenderState> state, IMediaEvents events)
    {
        _options = options;
        _model = model;
        _interceptor = interceptor;
        _state = state;
        _events = events;
        _constraints = new MediaConstraints(model);
        if (options.RecordSessions || options.RecordDirectory is not null)
        {
            Recorder = new IvfRecorder();
        }
    }

    /// <summary>The peer connection, once negotiation began.</summary>
    public PeerConnection? Pc { get; private set; }

    /// <summary>What the client's camera was negotiated as (the section received on; else the only one).</summary>
    public NegotiatedVideo? InputVideo => Pc?.ReceiveVideo ?? Pc?.Video;

    public MediaConstraints Constraints => _constraints;

    public IvfRecorder? Recorder { get; }

    public long FramesIn => Interlocked.Read(ref _framesIn);

    /// <summary>Received frames that carried a packet trailer (stripped before the model saw them).</summary>
    public long TrailersIn => Interlocked.Read(ref _trailersIn);

    /// <summary>Output frames sent with the input's capture time in a packet trailer.</summary>
    public long TrailersOut => Interlocked.Read(ref _trailersOut);

    /// <summary>The client asked for frame timing (<c>client_capabilities.frame_timing</c>): outputs carry the capture time.</summary>
    public bool FrameTiming { get; set; }

    public long FramesOut => Interlocked.Read(ref _framesOut);

    public long FramesDropped => Interlocked.Read(ref _droppedBefore) + (_pipeline?.FramesDropped ?? 0);

    public long DecodeErrors => _pipeline?.DecodeErrors ?? 0;

    public ModelMode ModelMode => _modeOverride ?? _options.ModelMode;

    public string? EffectiveModelMode => _pipeline?.Mode;

    SimulatedModel IModelHost.Model => _model;

    TimeProvider IModelHost.Time => MediaClock;

    public IReadOnlyList<FrameRecord> Frames(int last)
    {
        lock (_frameLog)
        {
            return _frameLog.Skip(Math.Max(0, _frameLog.Count - Math.Max(0, last))).ToArray();
        }
    }

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
            Interlocked.Add(ref _droppedBefore, old.FramesDropped);
            _ = old.DisposeAsync().AsTask();
            Pc?.RequestKeyframe();
        }
    }

    /// <summary>Most viewers (<c>/watch-stream</c>) one session serves at once.</summary>
    public const int MaxViewers = 8;

    /// <summary>The viewers' peer connections (receive-only participants of the session's room).</summary>
    public IReadOnlyList<PeerConnection> Viewers => Volatile.Read(ref _viewers);

    /// <summary>The codec the model's output goes out in: the subscriber connection's (two-connection rooms), else the camera's once negotiated, else null.</summary>
    public RtpCodec? OutputCodec => Subscriber?.Video?.Codec ?? Pc?.Video?.Codec;

    /// <summary>
    /// The subscriber connection of a two-connection (LiveKit v0, <c>/rtc</c>) room: the server offers it and sends the
    /// model's output on it, while <see cref="Pc"/> (the publisher connection, which the client offers) brings the
    /// camera. Null in single-connection rooms and the direct flow.
    /// </summary>
    public PeerConnection? Subscriber { get; private set; }

    /// <summary>Creates the subscriber connection of a two-connection room (ICE-lite, offered by us; faults apply to it).</summary>
    public PeerConnection CreateSubscriber(IReadOnlyList<string> codecs, string streamId, string trackId)
    {
        if (Subscriber is not null)
        {
            throw new InvalidOperationException("the session already has its subscriber connection");
        }

        if (_events.Ended)
        {
            throw new InvalidOperationException("the session has ended");
        }

        Subscriber = SessionConnection(new PeerConnectionOptions
        {
            IceLite = true,
            Addresses = MediaAddresses(_options.Host),
            ConsentTimeout = _options.ConsentTimeout,
            Interceptor = _interceptor,
            CodecPreference = codecs,
            StreamId = streamId,
            TrackId = trackId,
            SenderStartBitrateKbps = 2500,
        });
        return Subscriber;
    }

    /// <summary>
    /// A viewer's peer connection: the model's output, in <paramref name="codec"/>, goes to it as well as to the
    /// session's own. Null when the session already has <see cref="MaxViewers"/> viewers or has ended.
    /// </summary>
    public PeerConnection? AddViewer(RtpCodec codec, string streamId, string trackId)
    {
        if (_events.Ended)
        {
            return null;
        }

        var pc = new PeerConnection(new PeerConnectionOptions
        {
            IceLite = true,
            Addresses = MediaAddresses(_options.Host),
            ConsentTimeout = _options.ConsentTimeout,
            CodecPreference = [codec.Name],
            StreamId = streamId,
            TrackId = trackId,
            SenderStartBitrateKbps = 2500,
        });
        pc.KeyframeRequested += RequestOutputKeyframe;
        pc.StateChanged += state =>
        {
            if (state == PeerConnectionState.Failed)
            {
                _ = RemoveViewerAsync(pc);
            }
        };
        while (true)
        {
            var current = Volatile.Read(ref _viewers);
            if (current.Length >= MaxViewers)
            {
                _ = pc.DisposeAsync().AsTask();
                return null;
            }

            if (Interlocked.CompareExchange(ref _viewers, [.. current, pc], current) == current)
            {
                return pc;
            }
        }
    }

    /// <summary>Stops sending to a viewer and closes its peer connection.</summary>
    public async Task RemoveViewerAsync(PeerConnection viewer)
    {
        while (true)
        {
            var current = Volatile.Read(ref _viewers);
            int index = Array.IndexOf(current, viewer);
            if (index < 0)
            {
                break;
            }

            if (Interlocked.CompareExchange(ref _viewers, [.. current[..index], .. current[(index + 1)..]], current) == current)
            {
                break;
            }
        }

        await viewer.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>A receiver (the client or a viewer) lost a frame: the model's encoder makes a keyframe; in echo mode the camera is asked.</summary>
    private void RequestOutputKeyframe()
    {
        if (_pipeline is { } pipeline)
        {
            pipeline.OnKeyframeRequested();
        }
        else
        {
            Pc?.RequestKeyframe();
        }
    }

    /// <summary>Creates the session's one peer connection.</summary>
    public PeerConnection Create(bool iceLite, IReadOnlyList<string>? codecs = null, string? streamId = null, string? trackId = null)
    {
        if (Pc is not null)
        {
            throw new InvalidOperationException("the session already has its media connection");
        }

        var pc = SessionConnection(new PeerConnectionOptions
        {
            IceLite = iceLite,
            Addresses = MediaAddresses(_options.Host),
            ConsentTimeout = _options.ConsentTimeout,
            Interceptor = _interceptor,
            CodecPreference = codecs ?? [.. RtpCodec.All.Select(c => c.Name)],
            StreamId = streamId ?? "decart",
            TrackId = trackId ?? "video0",
            // An SFU tells a browser sender how much it may send, so its larger simulcast layers come up at once.
            ReceiveBitrateEstimate = streamId is null ? null : 8_000_000,
            SenderStartBitrateKbps = streamId is null ? null : 2500,
        });
        pc.FrameReceived += OnFrame;
        pc.StateChanged += state =>
        {
            if (state == PeerConnectionState.Connected)
            {
                _events.OnMediaConnected(pc.Video?.CodecName);
            }
        };
        Pc = pc;
        return pc;
    }

    /// <summary>
    /// A peer connection of the session itself (the one connection, or a two-connection room's subscriber): the
    /// client's PLI makes an output keyframe, its failure is the session's, and a media black hole already in force
    /// silences it.
    /// </summary>
    private PeerConnection SessionConnection(PeerConnectionOptions options)
    {
        var pc = new PeerConnection(options);
        pc.KeyframeRequested += RequestOutputKeyframe;
        pc.StateChanged += state =>
        {
            if (state == PeerConnectionState.Failed)
            {
                _events.OnMediaFailed();
            }
        };
        return pc;
    }

    /// <summary>
    /// Where media sockets bind: the simulator's own address when it is bound to one (loopback by default — media
    /// stays as local as the WebSocket), loopback for <c>localhost</c>, every interface for a wildcard or a host name.
    /// </summary>
    internal static IReadOnlyList<System.Net.IPAddress>? MediaAddresses(string host)
    {
        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            return [System.Net.IPAddress.Loopback, System.Net.IPAddress.IPv6Loopback];
        }

        if (!System.Net.IPAddress.TryParse(host.Trim('[', ']'), out var address)
            || address.Equals(System.Net.IPAddress.Any) || address.Equals(System.Net.IPAddress.IPv6Any))
        {
            return null;
        }

        return [address];
    }

    /// <summary>
    /// Black-holes the media (a media drop): the fault interceptor sits below ICE on the session's connections, so the
    /// client's consent checks go unanswered along with everything else.
    /// </summary>
    public void BlackHole() => _interceptor.BlackHole = true;

    /// <summary>Stops the model and closes the peer connection.</summary>
    public async Task StopAsync()
    {
        ModelPipeline? pipeline;
        lock (_frameLock)
        {
            pipeline = _pipeline;
            _pipeline = null;
        }

        try
        {
            if (pipeline is not null)
            {
                Interlocked.Add(ref _droppedBefore, pipeline.FramesDropped);
                await pipeline.DisposeAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            foreach (var viewer in Interlocked.Exchange(ref _viewers, []))
            {
                await viewer.DisposeAsync().ConfigureAwait(false);
            }

            if (Pc is { } pc)
            {
                await pc.DisposeAsync().ConfigureAwait(false);
            }

            if (Subscriber is { } subscriber)
            {
                await subscriber.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    RenderState IModelHost.CurrentState() => _state();

    TimeSpan IModelHost.SampleLatency()
    {
        var mean = _options.ProcessingLatency;
        var jitter = _options.ProcessingJitter;
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

    bool IModelHost.Send(ReadOnlySpan<byte> frame, uint rtpTimestamp, ulong captureTimestamp)
    {
        if (Pc is not { } pc || _events.Ended)
        {
            return false;
        }

        if (FrameTiming && captureTimestamp != 0)
        {
            // Decart's frame timing: the input frame's capture time goes back on the output made from it (LKTS trailer).
            lock (_trailerLock)
            {
                Interlocked.Increment(ref _trailersOut);
                return SendToAll(pc, PacketTrailer.Append(frame, captureTimestamp, ref _withTrailer), rtpTimestamp);
            }
        }

        return SendToAll(pc, frame, rtpTimestamp);
    }

    private bool SendToAll(PeerConnection pc, ReadOnlySpan<byte> frame, uint rtpTimestamp)
    {
        foreach (var viewer in Volatile.Read(ref _viewers))
        {
            if (viewer.Video is { LocalDirection: MediaDirection.SendOnly or MediaDirection.SendRecv })
            {
                viewer.SendFrame(frame, rtpTimestamp);
            }
        }

        return (Subscriber ?? pc).SendFrame(frame, rtpTimestamp);
    }

    void IModelHost.RequestInputKeyframe() => Pc?.RequestKeyframe();

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

        _events.OnOutput(record, Interlocked.Increment(ref _framesOut) == 1);
    }

    private void OnFrame(ReadOnlySpan<byte> frame, uint rtpTimestamp, bool isKeyframe)
    {
        if (InputVideo is not { } video || _events.Ended)
        {
            return;
        }

        long arrival = MediaClock.GetTimestamp();
        long count = Interlocked.Increment(ref _framesIn);
        int payload = PacketTrailer.Read(frame, out ulong capture, out _);
        if (payload != frame.Length)
        {
            // The publisher's packet trailer (livekit-client's frame metadata) is not part of the bitstream.
            frame = frame[..payload];
            Interlocked.Increment(ref _trailersIn);
        }

        string? violation;
        lock (_frameLock)
        {
            violation = _constraints.Observe(frame, video.Codec, isKeyframe, arrival, rtpTimestamp);
            Recorder?.Append(frame, video.Codec, rtpTimestamp, _constraints.FrameSize);
            if (_pipeline is null && !_events.Ended)
            {
                _pipeline = ModelPipeline.Create(ModelMode, video.Codec, OutputCodec ?? video.Codec, this);
                _pipeline.Start();
            }

            _pipeline?.OnInput(frame, rtpTimestamp, isKeyframe, arrival, capture);
        }

        _events.OnFrameIn(count, violation);
    }
}
