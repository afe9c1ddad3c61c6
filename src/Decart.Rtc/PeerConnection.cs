using System.Diagnostics.CodeAnalysis;
using System.Net;
using Decart.Rtc.Codecs;
using Decart.Rtc.Dtls;
using Decart.Rtc.Ice;
using Decart.Rtc.Interceptors;
using Decart.Rtc.Rtcp;
using Decart.Rtc.Rtp;
using Decart.Rtc.Sdp;
using Decart.Rtc.Srtp;
using Decart.Rtc.Transport;

namespace Decart.Rtc;

/// <summary>State of a <see cref="PeerConnection"/> (as RTCPeerConnection.connectionState).</summary>
public enum PeerConnectionState
{
    /// <summary>Created.</summary>
    New,

    /// <summary>ICE checks and the DTLS handshake are running.</summary>
    Connecting,

    /// <summary>Media can flow.</summary>
    Connected,

    /// <summary>ICE consent or DTLS failed.</summary>
    Failed,

    /// <summary>Closed.</summary>
    Closed,
}

/// <summary>Settings of a <see cref="PeerConnection"/>.</summary>
public sealed record PeerConnectionOptions
{
    /// <summary>ICE-lite answerer (the server side). Default false: full ICE.</summary>
    public bool IceLite { get; init; }

    /// <summary>Addresses to gather on (default: every usable interface, loopback included).</summary>
    public IReadOnlyList<IPAddress>? Addresses { get; init; }

    /// <summary>Codec names in our order of preference when answering. Default VP8, H264.</summary>
    public IReadOnlyList<string>? CodecPreference { get; init; }

    /// <summary>Whether this side sends video. Default true.</summary>
    public bool SendVideo { get; init; } = true;

    /// <summary>ICE consent timeout. Default 30 s.</summary>
    public TimeSpan ConsentTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>DTLS certificate (default: the process-wide one).</summary>
    public DtlsCertificate? Certificate { get; init; }

    /// <summary>
    /// The impairment hook, if any: it sits below ICE and sees every datagram of the connection (STUN, DTLS, SRTP), so
    /// dropping them all is a real black hole — consent freshness fails and both peers report Failed.
    /// </summary>
    public IPacketInterceptor? Interceptor { get; init; }

    /// <summary>The receive buffer asked for on each UDP socket, bytes (see <see cref="IceOptions.ReceiveBufferSize"/>). Default 4 MiB; zero or less: the system's default.</summary>
    public int ReceiveBufferSize { get; init; } = IceOptions.DefaultReceiveBufferSize;

    /// <summary>Largest RTP payload sent. Default 1,100 bytes (fits SRTP and common MTUs).</summary>
    public int MaxPayloadSize { get; init; } = 1100;

    /// <summary>
    /// A receive-bandwidth estimate (bits/s) announced to the sender with RTCP REMB once a second, so a browser
    /// sender enables its larger simulcast layers; null (default) sends none.
    /// </summary>
    public ulong? ReceiveBitrateEstimate { get; init; }

    /// <summary>
    /// Start bitrate (kbit/s) suggested to a browser sender through <c>x-google-start-bitrate</c> on the sections we
    /// receive on; null (default) suggests none.
    /// </summary>
    public int? SenderStartBitrateKbps { get; init; }

    /// <summary>The MediaStream id of our track in <c>a=msid</c> (a LiveKit server writes <c>{participantSid}|{trackSid}</c>). Default <c>decart</c>.</summary>
    public string StreamId { get; init; } = "decart";

    /// <summary>The track id of our track in <c>a=msid</c>. Default <c>video0</c>.</summary>
    public string TrackId { get; init; } = "video0";

    /// <summary>
    /// Simulcast layers to send (RIDs, smallest first, e.g. <c>q</c>, <c>h</c>, <c>f</c>), each its own RTP stream fed by
    /// <see cref="PeerConnection.SendFrame(ReadOnlySpan{byte}, uint, string?)"/>; offered on the send section of an offer
    /// with <see cref="OfferOptions.SeparateSections"/>. Null (default): one stream.
    /// </summary>
    public IReadOnlyList<string>? SendLayers { get; init; }
}

/// <summary>Counters of a <see cref="PeerConnection"/>.</summary>
public sealed class PeerConnectionStats
{
    private long _packetsSent, _bytesSent, _packetsReceived, _bytesReceived, _nacksSent, _nacksReceived, _retransmissions, _plisSent, _plisReceived, _framesSent, _framesReceived, _decryptFailures;

    /// <summary>RTP packets sent (retransmissions included).</summary>
    public long PacketsSent => Interlocked.Read(ref _packetsSent);

    /// <summary>SRTP bytes sent.</summary>
    public long BytesSent => Interlocked.Read(ref _bytesSent);

    /// <summary>RTP packets received and authenticated.</summary>
    public long PacketsReceived => Interlocked.Read(ref _packetsReceived);

    /// <summary>SRTP bytes received.</summary>
    public long BytesReceived => Interlocked.Read(ref _bytesReceived);

    /// <summary>Sequence numbers NACKed by us.</summary>
    public long NacksSent => Interlocked.Read(ref _nacksSent);

    /// <summary>Sequence numbers NACKed by the peer.</summary>
    public long NacksReceived => Interlocked.Read(ref _nacksReceived);

    /// <summary>Packets sent again for NACKs.</summary>
    public long Retransmissions => Interlocked.Read(ref _retransmissions);

    /// <summary>PLIs sent.</summary>
    public long PlisSent => Interlocked.Read(ref _plisSent);

    /// <summary>PLIs/FIRs received.</summary>
    public long PlisReceived => Interlocked.Read(ref _plisReceived);

    /// <summary>Frames sent.</summary>
    public long FramesSent => Interlocked.Read(ref _framesSent);

    /// <summary>Frames received complete.</summary>
    public long FramesReceived => Interlocked.Read(ref _framesReceived);

    /// <summary>Why the latest datagram counted in <see cref="DecryptFailures"/> failed (<c>SRTP ReplayDetected</c>, <c>RTP BadPadding</c>, …), or null.</summary>
    public string? LastReceiveFailure { get; internal set; }

    /// <summary>Datagrams that failed SRTP authentication or replay checks, or RTP parsing after them.</summary>
    public long DecryptFailures => Interlocked.Read(ref _decryptFailures);

    /// <summary>Frames dropped incomplete by the assembler.</summary>
    public long FramesDropped { get; internal set; }

    /// <summary>Latest round-trip time from RTCP, if known.</summary>
    public TimeSpan? RoundTripTime { get; internal set; }

    /// <summary>Packets of the remote stream never received (expected minus received, RFC 3550 A.3).</summary>
    public long PacketsLost { get; internal set; }

    /// <summary>Interarrival jitter of the remote stream (RFC 3550 A.8).</summary>
    public TimeSpan Jitter { get; internal set; }

    /// <summary>Retransmissions received on the RTX stream.</summary>
    public long RtxReceived { get; internal set; }

    /// <summary>SRTP packets that arrived before this side's keys were ready and were processed once they were.</summary>
    public long EarlyPacketsReplayed { get; internal set; }

    /// <summary>Authenticated RTP packets no receiving section claims (another mid, an unknown RID or payload type, too many streams).</summary>
    public long PacketsUnroutable { get; internal set; }

    /// <summary>Changes of the simulcast layer whose frames <see cref="PeerConnection.FrameReceived"/> delivers.</summary>
    public long LayerSwitches { get; internal set; }

    /// <summary>The fraction of our packets the peer last reported lost (0–1, from its reception report on our stream), if any.</summary>
    public double? RemoteFractionLost { get; internal set; }

    /// <summary>Reception reports on our stream received so far (a new one: fresh <see cref="RemoteFractionLost"/>).</summary>
    public long RemoteReports { get; internal set; }

    /// <summary>The interarrival jitter the peer last reported on our stream (90 kHz clock), if any.</summary>
    public TimeSpan? RemoteJitter { get; internal set; }

    /// <summary>The bandwidth the peer last told us we may send (RTCP REMB), bits/s, if it sent one; clamped to 10 Gbit/s.</summary>
    public long? RemoteEstimate { get; internal set; }

    /// <summary>NACKed packets not sent again: already resent within a round trip, or past the retransmission budget (half the media rate).</summary>
    public long RetransmissionsSuppressed { get; internal set; }

    /// <summary>RTCP values out of any plausible range (a REMB over 10 Gbit/s, a jitter over a minute) that were clamped.</summary>
    public long RtcpClamped { get; internal set; }

    /// <summary>What the peer's transport-wide congestion control feedback said last (loss, queueing delay, acknowledged bitrate), if it sends any.</summary>
    public Interceptors.TransportFeedbackSummary? TransportFeedback
    {
        get
        {
            lock (_feedbackGate)
            {
                return _feedback;
            }
        }

        internal set
        {
            lock (_feedbackGate)
            {
                _feedback = value; // 40 bytes: written and read whole
            }
        }
    }

    private readonly object _feedbackGate = new();
    private Interceptors.TransportFeedbackSummary? _feedback;

    /// <summary>Transport-wide feedback packets from the peer that could not be read (truncated, reserved symbols, absurd counts).</summary>
    public long TransportFeedbackMalformed { get; internal set; }

    /// <summary>Transport-wide feedback packets we sent about what we receive.</summary>
    public long TransportFeedbacksSent { get; internal set; }

    /// <summary>Padding-only packets we sent on the RTX stream (bandwidth probes).</summary>
    public long PaddingPacketsSent => Interlocked.Read(ref _paddingSent);

    /// <summary>Bandwidth probes sent (<see cref="PeerConnection.ProbeAsync"/>).</summary>
    public long ProbesSent => Interlocked.Read(ref _probesSent);

    /// <summary>Padding-only packets received on the peer's RTX stream (its bandwidth probes).</summary>
    public long PaddingReceived { get; internal set; }

    private long _paddingSent, _probesSent;

    internal void PaddingSent() => Interlocked.Increment(ref _paddingSent);

    internal void ProbeSent() => Interlocked.Increment(ref _probesSent);

    internal void Sent(int bytes)
    {
        Interlocked.Increment(ref _packetsSent);
        Interlocked.Add(ref _bytesSent, bytes);
    }

    internal void Received(int bytes)
    {
        Interlocked.Increment(ref _packetsReceived);
        Interlocked.Add(ref _bytesReceived, bytes);
    }

    internal void NackSent(int n) => Interlocked.Add(ref _nacksSent, n);

    internal void NackReceived(int n) => Interlocked.Add(ref _nacksReceived, n);

    internal void Retransmitted() => Interlocked.Increment(ref _retransmissions);

    internal void PliSent() => Interlocked.Increment(ref _plisSent);

    internal void PliReceived() => Interlocked.Increment(ref _plisReceived);

    internal void FrameSent() => Interlocked.Increment(ref _framesSent);

    internal void FrameReceived() => Interlocked.Increment(ref _framesReceived);

    internal void DecryptFailed() => Interlocked.Increment(ref _decryptFailures);
}

/// <summary>
/// One video peer connection: ICE, DTLS-SRTP, RTP/RTCP and VP8/H.264 payloading behind an RTCPeerConnection-like
/// surface. Offer/answer uses <see cref="SessionDescription"/>; candidates trickle through
/// <see cref="LocalCandidateGathered"/> and <see cref="AddRemoteCandidateAsync"/>; encoded frames go in through
/// <see cref="SendFrame(ReadOnlySpan{byte}, uint)"/> and come out of <see cref="FrameReceived"/>. NACKs are answered from a send buffer,
/// lost frames trigger PLIs, and <see cref="Close"/> releases every socket, thread and timer.
/// </summary>
public sealed class PeerConnection : IAsyncDisposable
{
    private readonly PeerConnectionOptions _options;
    private readonly IceAgent _ice;
    private readonly DtlsCertificate _certificate;
    private readonly TwccSender _twccSender = new();
    private readonly TwccReceiver _twccReceiver;
    private readonly NackRequester _nackRequester;
    private readonly ReceiverStatistics _receiverStatistics = new();

    // What we send: one stream, or one per simulcast layer (smallest first); the first one's SSRC is also our RTCP SSRC.
    private readonly SendStream[] _sendStreams;
    private byte[]? _sendMid;
    private const int MaxStreams = 8;
    private readonly ReceiveStream?[] _streams = new ReceiveStream?[MaxStreams];
    private int _streamCount;
    private ReceiveStream? _active;
    private long _firstStreamAt;
    private static readonly TimeSpan TopLayerGrace = TimeSpan.FromMilliseconds(700);
    private string? _targetRid;
    private byte[]? _receiveMid;
    private byte[][] _rids = [];
    private string[] _ridNames = [];
    private NegotiatedVideo? _receive;
    private IReadOnlyList<TransceiverDescription> _transceivers = [];
    private Action<ReceiveStream>? _onStreamKeyframeNeeded;
    private readonly object _sendLock = new();
    private readonly object _receiveLock = new();
    // SRTP packets that arrive before this side has derived its keys — the peer finished its handshake first (the DTLS
    // server is done one flight before the client) and started sending — are kept and processed once the keys are in
    // place. Dropping them would lose the stream's first keyframe and stall it until the sender's next one.
    private const int EarlyPacketLimit = 256;
    private readonly Queue<byte[]> _early = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly uint _ssrc = (uint)Random.Shared.NextInt64(1, uint.MaxValue);
    private readonly uint _rtxSsrc = (uint)Random.Shared.NextInt64(1, uint.MaxValue);
    private readonly byte[] _sendPayload = new byte[1500];
    private readonly byte[] _sendPacket = new byte[1600];

    /// <summary>
    /// A frame's protected packets, sent in batches as the frame is packetized: a full batch is a later batch's worth
    /// (under the send lock; freed under it at disposal).
    /// </summary>
    private readonly DatagramBatch _sendBatch = new(DatagramBatch.FrameLaterBatch);

    /// <summary>Whether the frame being sent has had its first batch sent (under the send lock).</summary>
    private bool _frameBatchSent;
    private DtlsTransport? _dtls;
    private SrtpSession? _srtp;
    private NegotiatedVideo? _video;
    private SessionDescription? _localDescription;
    private long _lastPliTicks;
    private Task? _rtcpLoop;
    private readonly StateMachine<PeerConnectionState> _state = new(PeerConnectionState.New, PeerConnectionState.Failed, PeerConnectionState.Closed);

    /// <summary>Creates a peer connection.</summary>
    /// <param name="options">Settings.</param>
    public PeerConnection(PeerConnectionOptions? options = null)
    {
        _options = options ?? new PeerConnectionOptions();
        _certificate = _options.Certificate ?? DtlsCertificate.Default;
        _ice = new IceAgent(new IceOptions { Lite = _options.IceLite, Addresses = _options.Addresses, ConsentTimeout = _options.ConsentTimeout, Interceptor = _options.Interceptor, ReceiveBufferSize = _options.ReceiveBufferSize });
        _demux = new PacketDemux(_ice);
        _demux.MediaReceived += OnRtp;
        _twccReceiver = new TwccReceiver(_ssrc);
        _nackRequester = new NackRequester(_ssrc, Stats);
        _twccSender.FeedbackReceived += summary =>
        {
            Stats.TransportFeedback = summary;
            TransportFeedbackReceived?.Invoke(summary);
        };
        string?[] layers = _options.SendLayers is { Count: > 1 } l ? [.. l] : [null];
        _sendStreams = layers.Select((rid, i) => new SendStream(
            rid,
            i == 0 ? _ssrc : (uint)Random.Shared.NextInt64(1, uint.MaxValue),
            i == 0 ? _rtxSsrc : (uint)Random.Shared.NextInt64(1, uint.MaxValue),
            Stats,
            () => Stats.RoundTripTime,
            Retransmit,
            _twccSender)).ToArray();
        _ice.LocalCandidateGathered += c => LocalCandidateGathered?.Invoke(c);
        _ice.StateChanged += OnIceState;
    }

    /// <summary>A gathered local candidate to trickle to the peer.</summary>
    public event Action<IceCandidate>? LocalCandidateGathered;

    /// <summary>State changes.</summary>
    public event Action<PeerConnectionState>? StateChanged;

    /// <summary>A complete received frame (VP8 frame or H.264 access unit); only valid during the call.</summary>
    public event AssembledFrameHandler? FrameReceived;

    /// <summary>The peer asked for a keyframe (PLI or FIR).</summary>
    public event Action? KeyframeRequested;

    /// <summary>The peer's transport-wide congestion control feedback was read (every ~50 ms while it sends it): loss, queueing delay, acknowledged bitrate. Raised on the receive loop: keep it short.</summary>
    public event Action<TransportFeedbackSummary>? TransportFeedbackReceived;

    /// <summary>The state.</summary>
    public PeerConnectionState State => _state.Current;

    /// <summary>What offer/answer settled for video: the section we send on, else the one we receive on.</summary>
    public NegotiatedVideo? Video => _video ?? _receive;

    /// <summary>The section we receive video on (with its simulcast RIDs), or null.</summary>
    public NegotiatedVideo? ReceiveVideo => _receive;

    /// <summary>Every section of the latest offer/answer, in order.</summary>
    public IReadOnlyList<TransceiverDescription> Transceivers => _transceivers;

    /// <summary>The simulcast layer (RID) whose frames <see cref="FrameReceived"/> delivers, or null (no simulcast, or none yet).</summary>
    public string? ActiveLayer => _active?.Rid;

    /// <summary>The simulcast layers (RIDs) media has arrived on, lowest first.</summary>
    public IReadOnlyList<string> ReceivedLayers
    {
        get
        {
            lock (_receiveLock)
            {
                return _streams.Take(_streamCount).Where(x => x!.Rid is not null && x.HasMedia).OrderBy(x => x!.Layer).Select(x => x!.Rid!).ToArray();
            }
        }
    }

    /// <summary>Warnings of the latest negotiation (what was offered and not honoured).</summary>
    public IReadOnlyList<string> NegotiationWarnings { get; private set; } = [];

    /// <summary>Counters.</summary>
    public PeerConnectionStats Stats { get; } = new();

    /// <summary>Our SDP (after <see cref="CreateOfferAsync(bool, CancellationToken)"/> or <see cref="CreateAnswerAsync(CancellationToken)"/>).</summary>
    public SessionDescription? LocalDescription => _localDescription;

    /// <summary>The id of the track we send (<c>a=msid</c>), e.g. the <c>cid</c> a LiveKit room matches its <c>add_track</c> by.</summary>
    public string LocalTrackId => _options.TrackId;

    /// <summary>The ICE agent (for its candidates and state).</summary>
    public IceAgent Ice => _ice;

    /// <summary>Creates our offer (we become the ICE controlling agent) after gathering host candidates.</summary>
    /// <param name="includeAudioReceive">Add a recvonly audio section, as browsers do.</param>
    /// <param name="cancellationToken">Cancels gathering.</param>
    /// <returns>The offer; candidates are also trickled.</returns>
    public async Task<SessionDescription> CreateOfferAsync(bool includeAudioReceive = false, CancellationToken cancellationToken = default)
    {
        await EnsureStartedAsync(true, cancellationToken).ConfigureAwait(false);
        _localDescription = SdpNegotiation.CreateOffer(LocalParameters(), _options.SendVideo ? MediaDirection.SendRecv : MediaDirection.RecvOnly, includeAudioReceive);
        return _localDescription;
    }

    /// <summary>
    /// Creates our offer from <paramref name="options"/> (we become the ICE controlling agent); on a connected peer it
    /// is a renegotiation that keeps ICE and DTLS, e.g. to add the send section once a room accepted the track.
    /// </summary>
    /// <param name="options">The sections to offer.</param>
    /// <param name="cancellationToken">Cancels gathering.</param>
    /// <returns>The offer.</returns>
    public async Task<SessionDescription> CreateOfferAsync(OfferOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        // An ICE-lite agent may offer too (an SFU offering its subscriber connection); it stays the controlled agent
        // and says so in the offer, so the full agent on the other side controls (RFC 8445 §6.1.1).
        await EnsureStartedAsync(!_options.IceLite, cancellationToken).ConfigureAwait(false);
        _localDescription = SdpNegotiation.CreateOffer(LocalParameters(), options with { Send = options.Send && _options.SendVideo, SendLayers = _options.SendLayers });
        _localDescription.IceLite = _options.IceLite;
        return _localDescription;
    }

    /// <summary>
    /// Applies the peer's description: an answer to our offer, or an offer we will answer. A later offer on a connected
    /// peer is a renegotiation: ICE and DTLS are kept, the sections are answered again.
    /// </summary>
    /// <param name="remote">The description.</param>
    /// <param name="cancellationToken">Cancels candidate resolution.</param>
    /// <returns>A task that completes when applied.</returns>
    /// <exception cref="InvalidOperationException">When the description has no usable video or no ICE credentials.</exception>
    /// <exception cref="NegotiationException">When the description changes the ICE credentials (an ICE restart, not supported).</exception>
    public async Task SetRemoteDescriptionAsync(SessionDescription remote, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(remote);
        if (!remote.Media.Exists(m => m.Kind == "video" && !m.IsRejected))
        {
            throw new InvalidOperationException("the remote description has no video section");
        }

        var media = remote.Media.FirstOrDefault(m => !m.IsRejected && m.IceUfrag is not null && m.IcePwd is not null && m.Fingerprint is not null)
            ?? throw new NegotiationException(NegotiationError.MissingCredentials, "the remote description lacks ICE credentials or a DTLS fingerprint");
        bool renegotiation = _dtls is not null;
        if (renegotiation)
        {
            // A section new in this offer may carry fresh credentials (Chromium gives them to a transceiver that
            // recycles a rejected slot); the bundle's transport is the one whose credentials did not change.
            media = remote.Media.FirstOrDefault(m => !m.IsRejected && m.IceUfrag == _remoteUfrag && m.Fingerprint is not null) ?? media;
        }

        if (renegotiation && (media.IceUfrag != _remoteUfrag || media.Fingerprint != _remoteFingerprint))
        {
            throw new NegotiationException(NegotiationError.MissingCredentials, $"the remote description changes the ICE credentials or the DTLS fingerprint (ICE restart is not supported): ufrag {_remoteUfrag} -> {media.IceUfrag}, fingerprint {(media.Fingerprint == _remoteFingerprint ? "same" : "changed")}");
        }

        if (remote.Type == SdpType.Answer)
        {
            // Every video section may be inactive for now (a room answers its placeholders so until it has a track).
            var (send, receive, transceivers) = SdpNegotiation.ReadAnswerSections(remote);
            SetSend(send);
            SetReceive(receive);
            _transceivers = transceivers;
            if (!renegotiation)
            {
                _ice.SetRemoteCredentials(media.IceUfrag!, media.IcePwd!);
                _remoteUfrag = media.IceUfrag;
                _remoteFingerprint = media.Fingerprint;
                // The answerer's setup decides the DTLS roles: passive/omitted → we are the client.
                var role = media.Setup == "active" ? DtlsRole.Server : DtlsRole.Client;
                StartDtls(role, media.Fingerprint!);
            }
        }
        else
        {
            await EnsureStartedAsync(false, cancellationToken).ConfigureAwait(false);
            _remoteOffer = remote;
            if (!renegotiation)
            {
                _ice.SetRemoteCredentials(media.IceUfrag!, media.IcePwd!);
                _remoteUfrag = media.IceUfrag;
                _remoteFingerprint = media.Fingerprint;
            }
        }

        foreach (var candidate in remote.Media.SelectMany(m => m.Candidates).Take(64))
        {
            await AddRemoteCandidateAsync(candidate, cancellationToken).ConfigureAwait(false);
        }
    }

    private SessionDescription? _remoteOffer;
    private string? _remoteFingerprint;
    private string? _remoteUfrag;

    /// <summary>Answers the offer given to <see cref="SetRemoteDescriptionAsync"/>. As the answerer we are the DTLS server (<c>setup:passive</c>).</summary>
    /// <param name="cancellationToken">Not used beyond argument checks; kept for symmetry.</param>
    /// <returns>The answer.</returns>
    public Task<SessionDescription> CreateAnswerAsync(CancellationToken cancellationToken = default) =>
        CreateAnswerAsync(new AnswerOptions { Send = _options.SendVideo }, cancellationToken);

    /// <summary>
    /// Answers the offer given to <see cref="SetRemoteDescriptionAsync"/> with any number of sections (see
    /// <see cref="TransceiverNegotiation"/>); on a renegotiation the earlier send and receive sections keep their
    /// bindings. As the answerer we are the DTLS server (<c>setup:passive</c>).
    /// </summary>
    /// <param name="options">What to send and receive; codec preferences default to the peer's options.</param>
    /// <param name="cancellationToken">Not used beyond argument checks.</param>
    /// <returns>The answer.</returns>
    /// <exception cref="NegotiationException">Duplicate mids, or no video section we can accept.</exception>
    public Task<SessionDescription> CreateAnswerAsync(AnswerOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        cancellationToken.ThrowIfCancellationRequested();
        var offer = _remoteOffer ?? throw new InvalidOperationException("set the remote offer first");
        var result = TransceiverNegotiation.Answer(offer, LocalParameters(), "passive", _options.IceLite, options with
        {
            CodecPreference = options.CodecPreference ?? _options.CodecPreference,
            Send = options.Send && _options.SendVideo,
            PreviousSend = options.PreviousSend ?? _video,
            PreviousReceive = options.PreviousReceive ?? _receive,
        });
        if (!result.Transceivers.Any(t => t.Kind == "video" && !t.Rejected))
        {
            throw new NegotiationException(NegotiationError.NoVideo, "the offer has no video codec we support");
        }

        if (_options.SenderStartBitrateKbps is int kbps && result.Receive is { } receiving)
        {
            var section = result.Answer.Media.First(m => m.Mid == receiving.Mid);
            int index = section.Attributes.FindIndex(a => a.Name == "fmtp" && a.Value?.StartsWith(receiving.PayloadType.ToString(System.Globalization.CultureInfo.InvariantCulture) + " ", StringComparison.Ordinal) == true);
            string extra = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"x-google-start-bitrate={kbps}");
            if (index >= 0)
            {
                section.Attributes[index] = new SdpAttribute("fmtp", section.Attributes[index].Value + ";" + extra);
            }
            else
            {
                section.Attributes.Add(new SdpAttribute("fmtp", string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{receiving.PayloadType} {extra}")));
            }
        }

        _localDescription = result.Answer;
        _transceivers = result.Transceivers;
        NegotiationWarnings = result.Warnings;
        SetSend(result.Send);
        SetReceive(result.Receive);
        if (_dtls is null)
        {
            StartDtls(DtlsRole.Server, _remoteFingerprint!);
        }

        return Task.FromResult(_localDescription);
    }

    /// <summary>
    /// Chooses the simulcast layer whose frames <see cref="FrameReceived"/> delivers: a RID of
    /// <see cref="ReceiveVideo"/>, or null for the highest layer that is flowing (the default). The switch happens at
    /// that layer's next keyframe, which is requested at once.
    /// </summary>
    /// <param name="rid">The RID, or null for automatic.</param>
    /// <exception cref="ArgumentException">When the RID was not negotiated.</exception>
    public void SelectLayer(string? rid)
    {
        if (rid is not null && !(_receive?.Rids.Contains(rid) ?? false))
        {
            throw new ArgumentException($"layer '{(rid.Length > 16 ? rid[..16] : rid)}' was not negotiated", nameof(rid));
        }

        _targetRid = rid;
        ReceiveStream? target;
        lock (_receiveLock)
        {
            target = rid is null ? Highest() : Find(rid);
        }

        if (target is not null)
        {
            SendPli(target.Ssrc);
        }
    }

    private void SetSend(NegotiatedVideo? send)
    {
        lock (_sendLock)
        {
            _video = send;
            _acceptedLayers = send is not null && _sendStreams.Length > 1 ? [.. _sendStreams.Select(s => s.Rid!).Where(send.Rids.Contains)] : [];
            _sendMid = send is { Mid.Length: >= 1 and <= 16 } ? System.Text.Encoding.ASCII.GetBytes(send.Mid) : null;
            foreach (var stream in _sendStreams)
            {
                stream.Nack.RtxPayloadType = send?.RtxPayloadType;
            }

            _twccSender.ExtensionId = send?.Extensions.TransportCc is int id and >= 1 and <= 14 ? id : 0;
        }
    }

    private void SetReceive(NegotiatedVideo? receive)
    {
        lock (_receiveLock)
        {
            var previous = _receive;
            _receive = receive;
            if (receive is null || previous is null || previous.Mid != receive.Mid || previous.CodecName != receive.CodecName || !previous.Rids.SequenceEqual(receive.Rids))
            {
                Array.Clear(_streams);
                _streamCount = 0;
                _active = null;
            }

            _twccReceiver.ExtensionId = receive?.Extensions.TransportCc ?? 0;
            _receiveMid = receive is { Extensions.Mid: > 0 } ? System.Text.Encoding.UTF8.GetBytes(receive.Mid) : null;
            _ridNames = [.. LayerOrder(receive?.Rids ?? [])];
            _rids = _ridNames.Select(r => System.Text.Encoding.UTF8.GetBytes(r)).ToArray();
        }
    }

    /// <summary>
    /// The received simulcast layers from the smallest to the largest (a layer's index is its rank). LiveKit's names
    /// say it outright — <c>q</c> &lt; <c>h</c> &lt; <c>f</c> — whatever order the offer lists them in (livekit-client
    /// offers <c>q;h;f</c>, LiveKit's Rust SDK <c>f;h;q</c>); other names keep the offer's order.
    /// </summary>
    /// <param name="rids">The RIDs as negotiated.</param>
    /// <returns>The RIDs by rank.</returns>
    internal static IReadOnlyList<string> LayerOrder(IReadOnlyList<string> rids)
    {
        static int Rank(string rid) => rid switch { "q" => 0, "h" => 1, "f" => 2, _ => -1 };
        return rids.Count > 1 && rids.All(r => Rank(r) >= 0) ? rids.OrderBy(Rank).ToArray() : rids;
    }

    /// <summary>Adds a trickled remote candidate (<c>candidate:…</c>); unusable ones are ignored.</summary>
    /// <param name="candidate">The candidate string.</param>
    /// <param name="cancellationToken">Cancels mDNS resolution.</param>
    /// <returns>Whether it was added.</returns>
    public async Task<bool> AddRemoteCandidateAsync(string candidate, CancellationToken cancellationToken = default) =>
        IceCandidate.TryParse(candidate, out var parsed) && await _ice.AddRemoteCandidateAsync(parsed!, cancellationToken).ConfigureAwait(false);

    /// <summary>Waits until media can flow.</summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>A task that completes when connected.</returns>
    /// <exception cref="IOException">When ICE or DTLS fails.</exception>
    public Task ConnectedAsync(CancellationToken cancellationToken = default) => _connected.Task.WaitAsync(cancellationToken);

    private readonly TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Packetizes, protects and sends one encoded frame.</summary>
    /// <param name="frame">A VP8 frame or H.264 Annex B access unit, in the negotiated codec.</param>
    /// <param name="rtpTimestamp">Its RTP timestamp (90 kHz).</param>
    /// <returns>False when not connected or not sending.</returns>
    public bool SendFrame(ReadOnlySpan<byte> frame, uint rtpTimestamp) => SendFrame(frame, rtpTimestamp, null);

    /// <summary>
    /// Packetizes, protects and sends one encoded frame of a simulcast layer (<see cref="PeerConnectionOptions.SendLayers"/>):
    /// each layer is its own RTP stream, told apart by its RID. Without simulcast the RID must be null; with it, null
    /// sends on the largest layer.
    /// </summary>
    /// <param name="frame">A VP8 frame or H.264 Annex B access unit, in the negotiated codec.</param>
    /// <param name="rtpTimestamp">Its RTP timestamp (90 kHz; the same capture instant has the same timestamp on every layer).</param>
    /// <param name="rid">The layer, or null.</param>
    /// <returns>False when not connected, not sending, or the layer is not one the answer accepted.</returns>
    public bool SendFrame(ReadOnlySpan<byte> frame, uint rtpTimestamp, string? rid)
    {
        var video = _video;
        var srtp = _srtp;
        if (State != PeerConnectionState.Connected || video is null || srtp is null || video.LocalDirection is MediaDirection.RecvOnly or MediaDirection.Inactive || frame.IsEmpty)
        {
            return false;
        }

        var stream = SendStreamFor(video, rid);
        if (stream is null)
        {
            return false;
        }

        lock (_sendLock)
        {
            if (_sendBatch.IsDisposed)
            {
                return false; // closed while we waited for the lock
            }

            int max = _options.MaxPayloadSize;
            byte pt = (byte)video.PayloadType;
            try
            {
                if (video.Codec == RtpCodec.H264)
                {
                    var packetizer = new H264Packetizer(frame, max);
                    while (packetizer.TryWriteNext(_sendPayload, out int n, out bool last))
                    {
                        SendRtp(srtp, stream, video, pt, rtpTimestamp, last, _sendPayload.AsSpan(0, n));
                    }
                }
                else
                {
                    var packetizer = new Vp8Packetizer(frame, max, stream.PictureId++);
                    while (packetizer.TryWriteNext(_sendPayload, out int n, out bool last))
                    {
                        SendRtp(srtp, stream, video, pt, rtpTimestamp, last, _sendPayload.AsSpan(0, n));
                    }
                }
            }
            finally
            {
                // What is left of the frame leaves now, also when packetizing failed halfway: nothing waits for the next frame.
                _frameBatchSent = false;
                _ice.Send(_sendBatch);
            }
        }

        Stats.FrameSent();
        return true;
    }

    /// <summary>The simulcast layers we send (RIDs, smallest first) that the answer accepted; empty without simulcast.</summary>
    public IReadOnlyList<string> SendLayers => _acceptedLayers;

    private string[] _acceptedLayers = [];

    private SendStream? SendStreamFor(NegotiatedVideo video, string? rid)
    {
        if (_sendStreams.Length == 1)
        {
            return rid is null ? _sendStreams[0] : null;
        }

        if (_acceptedLayers.Length == 0)
        {
            // The answer took no simulcast (no a=simulcast:recv, or no RID extension): one stream, the largest layer,
            // without RIDs (RFC 8853 §5.3: the offerer falls back to a single stream).
            var top = _sendStreams[^1];
            return rid is null || string.Equals(rid, top.Rid, StringComparison.Ordinal) ? top : null;
        }

        for (int i = _sendStreams.Length - 1; i >= 0; i--)
        {
            var stream = _sendStreams[i];
            if ((rid is null || string.Equals(stream.Rid, rid, StringComparison.Ordinal)) && video.Rids.Contains(stream.Rid!))
            {
                return stream;
            }
        }

        return null;
    }

    /// <summary>Asks the peer for a keyframe (RTCP PLI).</summary>
    public void RequestKeyframe()
    {
        var receive = _receive;
        if (_srtp is null || receive is null)
        {
            return;
        }

        SendPli(_active?.Ssrc ?? receive.RemoteSsrc ?? 0);
    }

    private void AskForKeyframe(ReceiveStream stream)
    {
        long now = System.Diagnostics.Stopwatch.GetTimestamp();
        if (now - stream.KeyframeAskedAt > System.Diagnostics.Stopwatch.Frequency / 2)
        {
            stream.KeyframeAskedAt = now;
            SendPli(stream.Ssrc);
        }
    }

    private void SendPli(uint mediaSsrc)
    {
        if (_srtp is null)
        {
            return;
        }

        Span<byte> rtcp = stackalloc byte[64];
        int n = RtcpWriter.WritePli(rtcp, _ssrc, mediaSsrc);
        SendRtcp(rtcp, n);
        Stats.PliSent();
    }

    /// <summary>Closes everything: DTLS (close_notify), ICE sockets, the RTCP timer.</summary>
    /// <returns>A task that completes when closed.</returns>
    public async Task Close()
    {
        if (!_state.TryMove(PeerConnectionState.Closed))
        {
            return;
        }

        StateChanged?.Invoke(PeerConnectionState.Closed);
        _stop.Cancel();
        if (_rtcpLoop is not null)
        {
            try
            {
                await _rtcpLoop.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        if (_dtls is not null)
        {
            await _dtls.DisposeAsync().ConfigureAwait(false);
        }

        _demux.Dispose();
        await _ice.DisposeAsync().ConfigureAwait(false);
        _srtp?.Dispose();
        lock (_sendLock)
        {
            _sendBatch.Dispose(); // native memory: never freed while a sender holds the lock and writes into it
        }

        _connected.TrySetException(new IOException("peer connection closed"));
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await Close().ConfigureAwait(false);
        _stop.Dispose();
    }

    private async Task EnsureStartedAsync(bool controlling, CancellationToken cancellationToken)
    {
        if (_ice.LocalCandidates.Count > 0)
        {
            return;
        }

        _ice.SetRole(controlling);
        await _ice.StartAsync(cancellationToken).ConfigureAwait(false);
        SetState(PeerConnectionState.Connecting);
    }

    private LocalMediaParameters LocalParameters() => new()
    {
        IceUfrag = _ice.LocalUfrag,
        IcePwd = _ice.LocalPassword,
        Fingerprint = _certificate.Fingerprint,
        Ssrc = _options.SendVideo ? _ssrc : 0,
        RtxSsrc = _options.SendVideo ? _rtxSsrc : 0,
        StreamId = _options.StreamId,
        TrackId = _options.TrackId,
        Candidates = _ice.LocalCandidates.Select(c => c.ToString()).ToArray(),
    };

    private void StartDtls(DtlsRole role, string remoteFingerprint)
    {
        _dtls = new DtlsTransport(_demux.Dtls, role, remoteFingerprint, _certificate);
        _dtls.StateChanged += s =>
        {
            if (s is DtlsState.Failed or DtlsState.Closed && State == PeerConnectionState.Connected)
            {
                SetState(PeerConnectionState.Failed);
            }
        };
        _ = Task.Run(async () =>
        {
            try
            {
                await _ice.ConnectedAsync(_stop.Token).ConfigureAwait(false);
                var keys = await _dtls.HandshakeAsync(_stop.Token).ConfigureAwait(false);
                byte[][] early;
                lock (_early)
                {
                    _srtp = new SrtpSession(keys);
                    early = [.. _early];
                    _early.Clear();
                }

                Stats.EarlyPacketsReplayed = early.Length;
                foreach (var packet in early)
                {
                    OnRtp(packet);
                }
                SetState(PeerConnectionState.Connected);
                _rtcpLoop = Task.Run(RtcpLoopAsync);
                _connected.TrySetResult();
            }
            catch (Exception ex) when (ex is IOException or DtlsHandshakeException or OperationCanceledException or ObjectDisposedException)
            {
                SetState(PeerConnectionState.Failed);
                _connected.TrySetException(new IOException($"peer connection failed: {ex.Message}", ex));
            }
        });
    }

    private void SendRtp(SrtpSession srtp, SendStream stream, NegotiatedVideo video, byte payloadType, uint timestamp, bool marker, ReadOnlySpan<byte> payload)
    {
        stream.LastTimestamp = timestamp;
        if (_sendBatch.IsFull || (!_frameBatchSent && _sendBatch.Count == DatagramBatch.FrameFirstBatch))
        {
            _ice.Send(_sendBatch);
            _frameBatchSent = true;
        }

        var slot = _sendBatch.NextSlot;
        var writer = new RtpWriter(slot, payloadType, stream.Sequence++, timestamp, stream.Ssrc, marker);
        if (_twccSender.ExtensionId > 0)
        {
            writer.AddExtension(_twccSender.ExtensionId, [0, 0]); // the TWCC interceptor writes the number
        }

        // Which section (RFC 8843) and, for a simulcast layer, which layer (RFC 8852) a packet belongs to: a receiver
        // routes by them when the SDP names no SSRCs (simulcast never does; an SFU may not).
        if (video.Extensions.Mid is >= 1 and <= 14 && _sendMid is { } mid)
        {
            writer.AddExtension(video.Extensions.Mid, mid);
        }

        if (stream.RidBytes is { } rid && video.Extensions.Rid is >= 1 and <= 14 && _acceptedLayers.Length > 0)
        {
            writer.AddExtension(video.Extensions.Rid, rid);
        }

        int length = writer.WritePayload(payload);
        var packet = slot[..length];
        if (!RtpHeader.TryParse(packet, out var header, out _))
        {
            return;
        }

        long now = RtpClock.Now;
        foreach (var interceptor in stream.Interceptors)
        {
            interceptor.OnRtpSending(packet, header, now);
        }

        if (srtp.Outbound.ProtectRtp(slot, length, out int protectedLength) == SrtpError.None)
        {
            _sendBatch.Commit(protectedLength);
            Stats.Sent(protectedLength);
        }
    }

    /// <summary>
    /// Probes the path's bandwidth: for <paramref name="duration"/> everything sent — media and padding-only packets on
    /// the RTX stream (RFC 4588), which a receiver counts in its transport-wide feedback and otherwise drops — is paced
    /// to <paramref name="bitrateKbps"/>, and the peer's feedback says at what rate it arrived. A sender held below a
    /// path's capacity learns this way, without sending media it may lose, whether the path has room for more.
    /// </summary>
    /// <param name="bitrateKbps">The rate to probe at, kbit/s (1–100,000).</param>
    /// <param name="duration">How long to send at it (5 ms–1 s; 15–50 ms is typical).</param>
    /// <param name="cancellationToken">Stops probing and waiting; the result is then null.</param>
    /// <returns>
    /// What the probe measured, or null when nothing could be measured: not connected or not sending, no RTX or
    /// transport-wide feedback negotiated, another probe still running, cancelled, or too little feedback within a
    /// second after the probe (at most one probe runs at a time).
    /// </returns>
    public async Task<BandwidthProbeResult?> ProbeAsync(int bitrateKbps, TimeSpan duration, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bitrateKbps, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bitrateKbps, 100_000);
        if (duration < TimeSpan.FromMilliseconds(5) || duration > TimeSpan.FromSeconds(1))
        {
            throw new ArgumentOutOfRangeException(nameof(duration), duration, "a probe lasts 5 ms to 1 s");
        }

        if (!TryGetProbeStream(out _, out var stream, out _, out _))
        {
            return null;
        }

        var probe = _twccSender.BeginProbe();
        if (probe is null)
        {
            return null;
        }

        bool measured = false;
        BandwidthProbeResult? result = null;
        try
        {
            double bytesPerSecond = bitrateKbps * 125.0;
            long total = (long)(bytesPerSecond * duration.TotalSeconds);
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            bool sent = false;
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(start);
                bool over = elapsed >= duration;

                // What the cluster should have sent by the end of this 5 ms tick, less what it did (media included). Once
                // the span is over, all of it: a timer that fired late (a busy machine) must not cut the probe short, so a
                // probe always carries its whole volume and enough packets to measure — its send rate is measured from
                // when they actually left, so that last burst reports itself honestly.
                long due = over ? total : (long)(bytesPerSecond * Math.Min(duration.TotalSeconds, elapsed.TotalSeconds + 0.005));
                long deficit = due - _twccSender.ProbeBytesSent(probe);
                while (deficit > 0)
                {
                    // At most 64 KiB a call: the send lock is taken per call, so media interleaves with a big burst.
                    if (!SendPadding(stream, (int)Math.Min(deficit, 64 * 1024)))
                    {
                        return null; // closed, or no longer sending: nothing to measure, and no feedback to wait for
                    }

                    sent = true;
                    deficit = over ? due - _twccSender.ProbeBytesSent(probe) : 0; // a tick sends one call's worth; the end, all
                }

                if (over)
                {
                    break;
                }

                await Task.Delay(5, cancellationToken).ConfigureAwait(false);
            }

            _twccSender.EndProbeSending(probe);
            if (sent)
            {
                Stats.ProbeSent();
            }

            var wait = TimeSpan.FromSeconds(1) + (Stats.RoundTripTime ?? TimeSpan.Zero);
            try
            {
                await probe.AllReported.WaitAsync(wait, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // Some packets were never reported: measure what was.
            }

            measured = true;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Cancelled: nothing measured.
        }
        finally
        {
            // Always released, whatever ended the probe: a probe left registered would refuse every later one.
            result = _twccSender.FinishProbe(probe);
        }

        return measured ? result : null;
    }

    /// <summary>
    /// Whether <see cref="ProbeAsync"/> can measure anything now: connected and sending, with RTX (where the padding
    /// goes) and transport-wide feedback (what measures it) negotiated.
    /// </summary>
    public bool CanProbe => TryGetProbeStream(out _, out _, out _, out _);

    /// <summary>What a probe sends on, when it can: the section, its stream, the RTX payload type and the transport-cc id (one-byte form).</summary>
    private bool TryGetProbeStream([NotNullWhen(true)] out NegotiatedVideo? video, [NotNullWhen(true)] out SendStream? stream, out int rtxPayloadType, out int transportCc)
    {
        video = _video;
        stream = video is null ? null : SendStreamFor(video, null);
        rtxPayloadType = stream?.Nack.RtxPayloadType ?? 0;
        transportCc = _twccSender.ExtensionId;
        return State == PeerConnectionState.Connected && video is not null && stream is not null && _srtp is not null && transportCc is >= 1 and <= 14
            && stream.Nack.RtxPayloadType is not null && video.LocalDirection is not (MediaDirection.RecvOnly or MediaDirection.Inactive);
    }

    /// <summary>Sends <paramref name="bytes"/> of padding-only RTX packets (up to 255 padding bytes each) on <paramref name="stream"/>.</summary>
    private bool SendPadding(SendStream stream, int bytes)
    {
        lock (_sendLock)
        {
            var srtp = _srtp;
            if (srtp is null || !TryGetProbeStream(out var video, out _, out int rtxPt, out int twcc))
            {
                return false; // re-checked under the lock: a renegotiation may have changed any of it since the probe began
            }

            while (bytes > 0)
            {
                var writer = new RtpWriter(_sendPacket, (byte)rtxPt, stream.Nack.NextRtxSequence(), stream.LastTimestamp, stream.Nack.RtxSsrc, false);
                writer.AddExtension(twcc, [0, 0]);
                if (video.Extensions.Mid is >= 1 and <= 14 && _sendMid is { } mid)
                {
                    writer.AddExtension(video.Extensions.Mid, mid);
                }

                if (stream.RidBytes is { } rid && video.Extensions.RepairedRid is >= 1 and <= 14 && _acceptedLayers.Length > 0)
                {
                    writer.AddExtension(video.Extensions.RepairedRid, rid);
                }

                int length = writer.WritePadding(255);
                var packet = _sendPacket.AsSpan(0, length);
                if (!RtpHeader.TryParse(packet, out var header, out _))
                {
                    return false;
                }

                _twccSender.OnRtpSending(packet, header, RtpClock.Now);
                if (srtp.Outbound.ProtectRtp(_sendPacket, length, out int protectedLength) == SrtpError.None)
                {
                    _ice.Send(_sendPacket.AsSpan(0, protectedLength));
                    Stats.Sent(protectedLength);
                    Stats.PaddingSent();
                }

                bytes -= length;
            }

            return true;
        }
    }

    /// <summary>
    /// Sends a NACK responder's copy (under the send lock): a simulcast layer's RID element becomes the
    /// repaired-RID (RFC 8852), then a fresh transport-wide number, then SRTP.
    /// </summary>
    private void Retransmit(SendStream stream, Span<byte> buffer, int length)
    {
        var srtp = _srtp;
        if (srtp is null || !RtpHeader.TryParse(buffer[..length], out var header, out _))
        {
            return;
        }

        if (stream.Rid is not null && stream.Nack.RtxPayloadType is not null && _video?.Extensions is { Rid: >= 1 and <= 14, RepairedRid: >= 1 and <= 14 } ids
            && header.TryFindExtension(buffer[..length], ids.Rid, out int offset, out int ridLength) && header.ExtensionProfile == (ushort)RtpExtensionProfile.OneByte)
        {
            buffer[offset - 1] = (byte)((ids.RepairedRid << 4) | (ridLength - 1));
        }

        _twccSender.OnRtpSending(buffer[..length], header, RtpClock.Now);
        if (srtp.Outbound.ProtectRtp(buffer, length, out int p) == SrtpError.None)
        {
            _ice.Send(buffer[..p]);
            Stats.Sent(p);
        }
    }

    private readonly PacketDemux _demux;

    private void SendRtcp(ReadOnlySpan<byte> packet, int length)
    {
        var srtp = _srtp;
        if (srtp is null)
        {
            return;
        }

        Span<byte> buffer = stackalloc byte[1500];
        packet[..length].CopyTo(buffer);
        lock (_sendLock)
        {
            if (srtp.Outbound.ProtectRtcp(buffer, length, out int n) == SrtpError.None)
            {
                _ice.Send(buffer[..n]);
            }
        }
    }

    [System.Runtime.CompilerServices.SkipLocalsInit] // its two 1,600-byte buffers are written before they are read: not zeroed per packet
    private void OnRtp(ReadOnlySpan<byte> datagram)
    {
        var srtp = _srtp;
        if (srtp is null)
        {
            lock (_early)
            {
                srtp = _srtp;
                if (srtp is null)
                {
                    if (_early.Count < EarlyPacketLimit)
                    {
                        _early.Enqueue(datagram.ToArray());
                    }

                    return;
                }
            }
        }

        Span<byte> buffer = stackalloc byte[1600];
        if (datagram.Length > buffer.Length)
        {
            return;
        }

        datagram.CopyTo(buffer);
        if (RtpHeader.IsRtcp(datagram))
        {
            // Under the receive lock like RTP: the inbound context (its SRTCP replay window and HMAC state) is used
            // by one thread at a time, also while packets kept before the keys were ready are replayed.
            lock (_receiveLock)
            {
                var rtcpError = srtp.Inbound.UnprotectRtcp(buffer, datagram.Length, out int n);
                if (rtcpError == SrtpError.None)
                {
                    HandleRtcp(buffer[..n]);
                }
                else
                {
                    Stats.DecryptFailed();
                    Stats.LastReceiveFailure = "SRTCP " + rtcpError;
                }
            }

            return;
        }

        lock (_receiveLock)
        {
            var rtpError = srtp.Inbound.UnprotectRtp(buffer, datagram.Length, out int n);
            var parseError = RtpParseError.None;
            if (rtpError != SrtpError.None || !RtpHeader.TryParse(buffer[..n], out var header, out parseError))
            {
                Stats.DecryptFailed();
                Stats.LastReceiveFailure = rtpError != SrtpError.None ? "SRTP " + rtpError : "RTP " + parseError;
                return;
            }

            Stats.Received(datagram.Length);
            var receive = _receive;
            var packet = buffer[..n];
            long now = RtpClock.Now;
            bool repaired = false;
            _twccReceiver.OnRtpReceived(packet, header, now); // every packet of the bundle, RTX included
            if (receive is null || !RoutesHere(receive, header, packet))
            {
                Stats.PacketsUnroutable++;
                return;
            }

            ReceiveStream? stream;
            Span<byte> restored = stackalloc byte[1600];
            if (receive.RtxPayloadType is { } rtxPt && header.PayloadType == rtxPt)
            {
                if (header.PayloadLength == 0)
                {
                    Stats.PaddingReceived++; // a sender's bandwidth probe: counted in the transport-wide feedback above, nothing more
                    return;
                }

                stream = RtxStream(receive, header, packet);
                // RFC 4588: restore the original packet (OSN first in the payload) on the media SSRC.
                int m = stream is null ? 0 : Rtx.Unwrap(restored, packet, (byte)receive.PayloadType, stream.Ssrc);
                if (m == 0 || !RtpHeader.TryParse(restored[..m], out header, out _))
                {
                    Stats.PacketsUnroutable++;
                    return;
                }

                packet = restored[..m];
                repaired = true;
                Stats.RtxReceived++;
            }
            else if (header.PayloadType != receive.PayloadType)
            {
                Stats.PacketsUnroutable++; // unknown payload types (e.g. audio on an inactive section) are ignored
                return;
            }
            else
            {
                stream = MediaStream(receive, header, packet);
                if (stream is null)
                {
                    Stats.PacketsUnroutable++;
                    return;
                }

                stream.OnMediaPacket();
                _receiverStatistics.OnMediaReceived(header, false, now);
                if ((stream == _active || _active is null) && _receiverStatistics.Of(stream.Ssrc) is { } counters)
                {
                    Stats.PacketsLost = counters.Lost;
                    Stats.Jitter = counters.Jitter;
                }
            }

            _nackRequester.OnMediaReceived(header, repaired, now);
            stream!.Assembler.Push(header.SequenceNumber, header.Timestamp, header.Marker, header.Payload(packet), stream.OnFrame!);
            Stats.FramesDropped = stream.Assembler.FramesDropped;
        }
    }

    /// <summary>Whether a packet belongs to the section we receive on: by the <c>sdes:mid</c> extension when present.</summary>
    private bool RoutesHere(NegotiatedVideo receive, in RtpHeader header, ReadOnlySpan<byte> packet) =>
        _receiveMid is not { } mid || !header.TryGetExtension(packet, receive.Extensions.Mid, out var value) || value.SequenceEqual(mid);

    /// <summary>The stream of a media packet: by SSRC, else by its RID (simulcast), else the one stream of a plain section.</summary>
    private ReceiveStream? MediaStream(NegotiatedVideo receive, in RtpHeader header, ReadOnlySpan<byte> packet)
    {
        for (int i = 0; i < _streamCount; i++)
        {
            if (_streams[i]!.Ssrc == header.Ssrc)
            {
                return _streams[i];
            }
        }

        if (_rids.Length == 0)
        {
            if (_streamCount == 1)
            {
                // Without simulcast a new SSRC replaces the old one (a sender restarting its stream).
                _streams[0]!.Ssrc = header.Ssrc;
                return _streams[0];
            }

            return AddStream(header.Ssrc, null, 0, receive);
        }

        if (receive.Extensions.Rid == 0 || !header.TryGetExtension(packet, receive.Extensions.Rid, out var rid))
        {
            return null; // an SSRC we have not seen with its RID yet
        }

        int layer = LayerOf(rid);
        if (layer < 0)
        {
            return null; // a RID that was not negotiated
        }

        var existing = Find(_ridNames[layer]);
        if (existing is not null)
        {
            existing.Ssrc = header.Ssrc; // the layer's sender restarted with a new SSRC
            return existing;
        }

        return AddStream(header.Ssrc, _ridNames[layer], layer, receive);
    }

    /// <summary>The stream an RTX packet repairs: by RTX SSRC, else by its repaired RID, else the one stream of a plain section.</summary>
    private ReceiveStream? RtxStream(NegotiatedVideo receive, in RtpHeader header, ReadOnlySpan<byte> packet)
    {
        for (int i = 0; i < _streamCount; i++)
        {
            if (_streams[i]!.RtxSsrc == header.Ssrc)
            {
                return _streams[i];
            }
        }

        ReceiveStream? stream = null;
        if (_rids.Length == 0)
        {
            stream = _streamCount == 1 ? _streams[0] : null;
        }
        else if (receive.Extensions.RepairedRid != 0 && header.TryGetExtension(packet, receive.Extensions.RepairedRid, out var rid) && LayerOf(rid) is int layer and >= 0)
        {
            stream = Find(_ridNames[layer]);
        }

        if (stream is not null)
        {
            stream.RtxSsrc = header.Ssrc;
        }

        return stream;
    }

    private int LayerOf(ReadOnlySpan<byte> rid)
    {
        for (int i = 0; i < _rids.Length; i++)
        {
            if (rid.SequenceEqual(_rids[i]))
            {
                return i;
            }
        }

        return -1;
    }

    private ReceiveStream? Find(string rid)
    {
        for (int i = 0; i < _streamCount; i++)
        {
            if (_streams[i]!.Rid == rid)
            {
                return _streams[i];
            }
        }

        return null;
    }

    private ReceiveStream? Highest()
    {
        ReceiveStream? best = null;
        for (int i = 0; i < _streamCount; i++)
        {
            var s = _streams[i]!;
            if (s.HasMedia && !IsStale(s) && (best is null || s.Layer > best.Layer))
            {
                best = s;
            }
        }

        return best;
    }

    private static bool IsStale(ReceiveStream stream) => System.Diagnostics.Stopwatch.GetElapsedTime(stream.LastPacket) > TimeSpan.FromSeconds(1.5);

    private ReceiveStream? AddStream(uint ssrc, string? rid, int layer, NegotiatedVideo receive)
    {
        if (_streamCount >= MaxStreams)
        {
            return null;
        }

        var stream = new ReceiveStream(ssrc, rid, layer, receive.Codec, _onStreamKeyframeNeeded ??= OnKeyframeNeeded);
        stream.OnFrame = (frame, timestamp, keyframe) => OnFrame(stream, frame, timestamp, keyframe);
        if (receive.RemoteRtxSsrc is { } rtx && rid is null)
        {
            stream.RtxSsrc = rtx;
        }

        if (_streamCount == 0)
        {
            _firstStreamAt = System.Diagnostics.Stopwatch.GetTimestamp();
        }

        _streams[_streamCount++] = stream;
        return stream;
    }

    private void OnFrame(ReceiveStream stream, ReadOnlySpan<byte> frame, uint timestamp, bool keyframe)
    {
        if (keyframe)
        {
            stream.Keyframes++;
        }

        if (stream != _active)
        {
            // Automatic selection waits a moment for the top layer before settling for a lower one, so a receiver
            // that wants the full size does not start on the smallest layer whose keyframe happened to come first.
            if (_targetRid is null && _active is null && _rids.Length > 1 && stream.Layer < _rids.Length - 1
                && System.Diagnostics.Stopwatch.GetElapsedTime(_firstStreamAt) < TopLayerGrace)
            {
                return;
            }

            // Switch at a keyframe: to the chosen layer, or (automatic) to a higher layer, or away from one gone quiet.
            bool better = _targetRid is { } target
                ? stream.Rid == target || (_active is not null && _active.Rid != target && IsStale(_active))
                : _active is null || stream.Layer > _active.Layer || IsStale(_active);
            if (!keyframe || !better)
            {
                if (better)
                {
                    // The stream we want has frames but no keyframe yet (the first one was lost or incomplete): ask
                    // for one — at most twice a second — instead of waiting for the sender's next on its own.
                    AskForKeyframe(stream);
                }

                return;
            }

            if (_active is not null)
            {
                Stats.LayerSwitches++;
            }

            _active = stream;
        }

        Stats.FrameReceived();
        FrameReceived?.Invoke(frame, timestamp, keyframe);
    }

    private void HandleRtcp(ReadOnlySpan<byte> compound)
    {
        var rest = compound;
        long now = RtpClock.Now;
        while (RtcpPacket.TryReadNext(ref rest, out var packet, out _))
        {
            if (packet.IsNack)
            {
                uint media = packet.Bytes.Length >= 12 ? System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(packet.Bytes[8..]) : 0;
                lock (_sendLock)
                {
                    foreach (var stream in _sendStreams)
                    {
                        if (stream.Ssrc == media || _sendStreams.Length == 1)
                        {
                            stream.Nack.OnRtcpReceived(packet, now);
                            break;
                        }
                    }
                }
            }
            else if (TransportFeedback.Is(packet))
            {
                _twccSender.OnRtcpReceived(packet, now);
                Stats.TransportFeedbackMalformed = _twccSender.Malformed;
            }
            else if (packet.IsPli || packet.IsFir)
            {
                Stats.PliReceived();
                KeyframeRequested?.Invoke();
            }
            else if (packet.TryGetRemb(out ulong remb))
            {
                const ulong MaxRemb = 10_000_000_000;
                if (remb > MaxRemb)
                {
                    Stats.RtcpClamped++;
                }

                Stats.RemoteEstimate = (long)Math.Min(remb, MaxRemb);
            }
            else if (packet.Type is RtcpPacketType.ReceiverReport or RtcpPacketType.SenderReport)
            {
                _receiverStatistics.OnRtcpReceived(packet, now);

                for (int i = 0; packet.TryGetReceptionReport(i, out var report); i++)
                {
                    if (IsOurs(report.Ssrc))
                    {
                        Stats.RoundTripTime = RtcpTiming.RoundTripTime(report, (uint)(RtcpTiming.ToNtp(DateTime.UtcNow) >> 16)) ?? Stats.RoundTripTime;
                        Stats.RemoteFractionLost = report.FractionLost / 256.0; // a byte: never past 255/256
                        Stats.RemoteReports++;
                        const uint MaxJitter = 90_000 * 60;
                        if (report.Jitter > MaxJitter)
                        {
                            Stats.RtcpClamped++;
                        }

                        Stats.RemoteJitter = TimeSpan.FromTicks(Math.Min(report.Jitter, MaxJitter) * TimeSpan.TicksPerSecond / 90_000);
                    }
                }
            }
        }
    }

    private bool IsOurs(uint ssrc)
    {
        foreach (var stream in _sendStreams)
        {
            if (stream.Ssrc == ssrc)
            {
                return true;
            }
        }

        return false;
    }

    private void OnKeyframeNeeded(ReceiveStream stream)
    {
        long now = Environment.TickCount64;
        if ((stream == _active || _active is null) && now - Interlocked.Read(ref _lastPliTicks) >= 300)
        {
            Interlocked.Exchange(ref _lastPliTicks, now);
            SendPli(stream.Ssrc);
        }
    }

    private const int RtcpBudget = 1200;

    private async Task RtcpLoopAsync()
    {
        var buffer = new byte[1500];
        var blocks = new ReceptionReport[31];
        int tick = 0;
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(20, _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            // At most 1,200 bytes of RTCP per datagram: SRTCP adds its index and tag, and the datagram must not fragment.
            int nacks = _nackRequester.WriteRtcp(buffer.AsSpan(0, RtcpBudget), RtpClock.Now);
            if (nacks > 0)
            {
                SendRtcp(buffer, nacks);
            }

            int feedback = _twccReceiver.WriteRtcp(buffer.AsSpan(0, RtcpBudget), RtpClock.Now);
            if (feedback > 0)
            {
                SendRtcp(buffer, feedback);
                Stats.TransportFeedbacksSent = _twccReceiver.Reports;
            }

            if (tick % 5 == 0)
            {
                ReleaseStalledFrames();
            }

            if (++tick % 50 == 0)
            {
                // Once a second: a sender report (with our stream) or a receiver report, plus CNAME; REMB when asked.
                uint firstRemote = 0;
                lock (_receiveLock)
                {
                    firstRemote = _streamCount > 0 ? _streams[0]!.Ssrc : 0;
                }

                int blockCount = _receiverStatistics.ReportBlocks(blocks, RtpClock.Now);

                bool sending = _video is { LocalDirection: MediaDirection.SendRecv or MediaDirection.SendOnly } && _sendStreams[0].Reports.HasSent;
                var wallclock = DateTime.UtcNow;
                long at = RtpClock.Now;
                int n = sending
                    ? RtcpWriter.WriteSenderReport(buffer, _sendStreams[0].Reports.Report(wallclock, at), blocks.AsSpan(0, blockCount))
                    : RtcpWriter.WriteReceiverReport(buffer, _ssrc, blocks.AsSpan(0, blockCount));
                for (int i = 1; sending && i < _sendStreams.Length; i++)
                {
                    if (_sendStreams[i].Reports.HasSent)
                    {
                        n += RtcpWriter.WriteSenderReport(buffer.AsSpan(n), _sendStreams[i].Reports.Report(wallclock, at), []); // one per layer
                    }
                }

                n += RtcpWriter.WriteSdesCname(buffer.AsSpan(n), _ssrc, "decart"u8);
                if (_options.ReceiveBitrateEstimate is { } estimate && firstRemote != 0)
                {
                    n += RtcpWriter.WriteRemb(buffer.AsSpan(n), _ssrc, estimate, firstRemote);
                }

                SendRtcp(buffer, n);
            }
        }
    }

    /// <summary>
    /// Every 100 ms: the frames each stream holds behind a gap go out once they have waited their bound, even when no
    /// packet arrives to trigger it (a sender that paused); and the bound follows the round trip — 250 ms, or 2.5 round
    /// trips on a slow path, so a NACK and its retransmission (twice) still fit before a gap is given up on.
    /// </summary>
    private void ReleaseStalledFrames()
    {
        var bound = TimeSpan.FromMilliseconds(Math.Max(FrameAssembler.DefaultMaxGapWait.TotalMilliseconds, 2.5 * (Stats.RoundTripTime?.TotalMilliseconds ?? 0)));
        lock (_receiveLock)
        {
            for (int i = 0; i < _streamCount; i++)
            {
                var stream = _streams[i]!;
                stream.Assembler.MaxGapWait = bound;
                if (stream.OnFrame is { } onFrame)
                {
                    long dropped = stream.Assembler.FramesDropped;
                    stream.Assembler.ReleaseExpired(onFrame);
                    if (stream.Assembler.FramesDropped != dropped)
                    {
                        Stats.FramesDropped = stream.Assembler.FramesDropped; // as a packet of this stream would have
                    }
                }
            }
        }
    }

    private void OnIceState(IceState state)
    {
        if (state == IceState.Failed)
        {
            SetState(PeerConnectionState.Failed);
            _connected.TrySetException(new IOException("ICE failed"));
        }
    }

    private void SetState(PeerConnectionState state)
    {
        if (_state.TryMove(state))
        {
            StateChanged?.Invoke(state);
        }
    }
}
