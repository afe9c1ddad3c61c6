using System.Buffers;
using System.Globalization;
using System.Net.WebSockets;
using System.Text.Json;
using Decart.Rtc;
using Decart.Rtc.Codecs;
using Decart.Rtc.LiveKit;
using Decart.Rtc.LiveKit.Proto;
using Decart.Rtc.Sdp;
using Decart.Sdk.Realtime.Signaling;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using RtcSessionDescription = Decart.Rtc.Sdp.SessionDescription;
using SignalSessionDescription = Decart.Rtc.LiveKit.Proto.SessionDescription;
using Decart.Sdk.Logging;

namespace Decart.Sdk.Realtime.LiveKit;

/// <summary>Timeouts of a room join (livekit-client's defaults, which Decart's JS SDK uses).</summary>
internal sealed record LiveKitTimeouts
{
    /// <summary>The first signal message (the JoinResponse) must arrive this soon after the socket opened.</summary>
    public TimeSpan Join { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>An answer to an offer, and the peer connection reaching connected.</summary>
    public TimeSpan PeerConnection { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary><c>track_published</c> after <c>add_track</c>.</summary>
    public TimeSpan TrackPublished { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The model participant (<c>inference-server-…</c>) must be in the room this soon after the join.</summary>
    public TimeSpan ModelParticipant { get; init; } = TimeSpan.FromSeconds(15);
}

/// <summary>What the room connection publishes: the camera's codec, size and bitrate.</summary>
/// <param name="Codec"><c>VP8</c> or <c>H264</c>.</param>
/// <param name="Width">Frame width.</param>
/// <param name="Height">Frame height.</param>
/// <param name="MaxBitrate">Target bitrate in bit/s (Decart's JS SDK: 3.5 Mbit/s).</param>
/// <param name="FrameTiming">Every frame carries its capture time in a packet trailer (LKTS), announced to the room.</param>
internal sealed record LiveKitPublication(string Codec, int Width, int Height, int MaxBitrate = 3_500_000, bool FrameTiming = false)
{
    /// <summary>Simulcast layers, smallest first (empty: one layer of <see cref="Width"/>×<see cref="Height"/>).</summary>
    public IReadOnlyList<Decart.Sdk.Media.SimulcastLayer> Layers { get; init; } = [];
}

/// <summary>
/// Our side of a LiveKit room, signal protocol 17 in single peer-connection mode (<c>/rtc/v1</c>): the join with
/// the first publisher offer (a receive-only video section for the model's output), the JoinResponse and its
/// participants, trickle both ways, <c>add_track</c> → <c>track_published</c> and the renegotiation that adds the
/// camera's send section, pings, and leave. The model's output is the track of the participant whose identity starts
/// with <c>inference-server-</c>; a track of anyone else is not delivered. Every server message is parsed bounded;
/// malformed, stale or unknown ones are counted and ignored; every wait has a timeout.
/// </summary>
internal sealed class LiveKitRoomConnection : IAsyncDisposable
{
    /// <summary>Identities of the model's participants start with this.</summary>
    public const string ModelIdentityPrefix = "inference-server-";

    private const int MaxWarnings = 5;
    private readonly PeerConnection _pc;
    private readonly LiveKitTimeouts _timeouts;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Func<PeerConnection>? _publisherFactory;
    private readonly TaskCompletionSource _subscriberAnswered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private WebSocket _socket = new ClientWebSocket(); // unopened until OpenAsync replaces it
    private PeerConnection? _publisher;
    private bool _twoConnections;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly object _lock = new();
    private readonly Dictionary<uint, TaskCompletionSource<SignalSessionDescription>> _answers = [];
    private readonly Dictionary<string, TaskCompletionSource<TrackInfo>> _published = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ParticipantInfo> _participants = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource<JoinResponse> _join = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _modelKnown = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<DecartException> _lost = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Func<RtcSessionDescription, CancellationToken, ValueTask<RtcSessionDescription>>? _customizeOffer;
    private Task _receiveLoop = Task.CompletedTask;
    private Task _pingLoop = Task.CompletedTask;
    private uint _offerId;
    private long _lastMessageTicks;
    private long _malformed;
    private long _ignored;
    private long _stale;
    private string? _receiveTrackSid;
    private bool _foreignTrack;
    private bool _receiveTrailer;
    private int _disposed;

    /// <param name="pc">The peer connection that receives the model's track (and, on <c>/rtc/v1</c>, sends the camera).</param>
    /// <param name="timeouts">The join's timeouts.</param>
    /// <param name="time">The clock.</param>
    /// <param name="logger">Where to log.</param>
    /// <param name="customizeOffer">Rewrites each of our offers.</param>
    /// <param name="publisherFactory">On the two-connection path, makes the camera's own peer connection (the publisher);
    /// null where nothing is published (a viewer).</param>
    public LiveKitRoomConnection(PeerConnection pc, LiveKitTimeouts timeouts, TimeProvider time, ILogger logger, Func<RtcSessionDescription, CancellationToken, ValueTask<RtcSessionDescription>>? customizeOffer = null, Func<PeerConnection>? publisherFactory = null)
    {
        _publisherFactory = publisherFactory;
        _customizeOffer = customizeOffer;
        _pc = pc;
        _timeouts = timeouts;
        _time = time;
        _logger = logger;
    }

    /// <summary>Completes with the reason when the room connection ends without being asked to (socket closed, server <c>leave</c>, ping timeout).</summary>
    public Task<DecartException> Lost => _lost.Task;

    /// <summary>Signal messages that were not valid protobuf or too large to read.</summary>
    public long MalformedMessages => Interlocked.Read(ref _malformed);

    /// <summary>Signal messages of kinds this client does not act on.</summary>
    public long IgnoredMessages => Interlocked.Read(ref _ignored);

    /// <summary>Answers whose id matched no pending offer.</summary>
    public long StaleAnswers => Interlocked.Read(ref _stale);

    /// <summary>
    /// The room server has no <c>/rtc/v1</c> (it answered 404, as LiveKit before 1.9 does), so the join went through the
    /// older <c>/rtc</c>: the server offers the subscriber connection (the model's track) and the camera goes out on a
    /// publisher connection of its own.
    /// </summary>
    public bool TwoConnections => _twoConnections;

    /// <summary>The room's name (from the JoinResponse).</summary>
    public string? RoomName { get; private set; }

    /// <summary>The model participant's identity once known.</summary>
    public string? ModelIdentity { get; private set; }

    /// <summary>The track sid the server put on our receive section, once an answer did.</summary>
    public string? ReceiveTrackSid => Volatile.Read(ref _receiveTrackSid);

    /// <summary>
    /// Whether frames on our receive section may be delivered: false only when the server bound that section to a
    /// track of a participant that is not the model.
    /// </summary>
    public bool AcceptsFrames => !Volatile.Read(ref _foreignTrack);

    /// <summary>
    /// The model's track lists <c>packet_trailer_features</c>: its frames end in a packet trailer (LKTS) to strip,
    /// carrying the capture time of the input each was made from.
    /// </summary>
    public bool ReceiveHasTrailer => Volatile.Read(ref _receiveTrailer);

    /// <summary>Joins the room and publishes the camera: returns once the send section is negotiated and media flows.</summary>
    /// <param name="livekitUrl">The room server (<c>livekit_url</c> of <c>livekit_room_info</c>).</param>
    /// <param name="token">The room token (never logged).</param>
    /// <param name="publication">What the camera sends; null for a viewer, which only receives (it returns once the media
    /// connection is up and the model participant is known).</param>
    /// <param name="cancellationToken">Cancels the join.</param>
    /// <returns>A task that completes when joined and published.</returns>
    /// <exception cref="DecartException">What failed, typed: the room refused the token, a timeout, bad answers.</exception>
    public async Task ConnectAsync(Uri livekitUrl, string token, LiveKitPublication? publication, CancellationToken cancellationToken) =>
        await ConnectAsync(livekitUrl, token, publication, default, cancellationToken).ConfigureAwait(false);

    /// <summary>A span for one step of the join, under the session's <c>room-join</c>; none without a parent (a viewer's join).</summary>
    private static System.Diagnostics.Activity? Step(string name, System.Diagnostics.ActivityContext trace) =>
        trace == default ? null : Telemetry.DecartTelemetry.Start(name, trace);

    /// <summary>Joins as <see cref="ConnectAsync(Uri, string, LiveKitPublication?, CancellationToken)"/>, with a span per step under <paramref name="trace"/>.</summary>
    /// <param name="livekitUrl">The room's URL.</param>
    /// <param name="token">The room token.</param>
    /// <param name="publication">What to publish, or null.</param>
    /// <param name="trace">The parent span (the session's <c>room-join</c>).</param>
    /// <param name="cancellationToken">Cancels joining.</param>
    /// <returns>A task that completes when joined and published.</returns>
    public async Task ConnectAsync(Uri livekitUrl, string token, LiveKitPublication? publication, System.Diagnostics.ActivityContext trace, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(livekitUrl);
        // Decart's clients prefer H.264 in rooms; a publication's own codec goes first.
        string[] codecs = [.. new[] { publication?.Codec, RtpCodec.H264.Name, RtpCodec.Vp8.Name }.OfType<string>().Distinct()];

        // 1. The join: the first publisher offer has only the section the model's output will arrive on.
        var first = await CustomizeAsync(await _pc.CreateOfferAsync(new OfferOptions { Send = false, Receive = true, SeparateSections = true, CodecPreference = codecs }, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        uint firstId = NextOfferId();
        var firstAnswer = ExpectAnswer(firstId);
        var clientInfo = new ClientInfo { Sdk = ClientInfo.Types.SDK.Unknown, Version = typeof(LiveKitRoomConnection).Assembly.GetName().Version?.ToString(3) ?? "0.0.0", Protocol = LiveKitSignal.ProtocolVersion, ClientProtocol = 1, Os = Environment.OSVersion.Platform.ToString(), OtherSdks = "decart-dotnet" };
        clientInfo.Capabilities.Add(ClientInfo.Types.Capability.CapPacketTrailer); // we strip trailers on whatever we receive
        var join = new JoinRequest
        {
            ClientInfo = clientInfo,
            ConnectionSettings = new ConnectionSettings { AutoSubscribe = true, AdaptiveStream = false },
            PublisherOffer = new SignalSessionDescription { Type = "offer", Sdp = first.ToString(), Id = firstId },
        };
        JoinResponse response;
        using (Step("signal-join", trace))
        {
            await OpenAsync(livekitUrl, token, LiveKitSignal.EncodeJoinRequest(join), cancellationToken).ConfigureAwait(false);
            response = await WaitAsync(_join.Task, _timeouts.Join, "JoinResponse from the room", cancellationToken).ConfigureAwait(false);
        }

        RoomName = response.Room?.Name;
        if (response.PingInterval > 0 && response.PingTimeout > 0)
        {
            _pingLoop = Task.Run(() => PingLoopAsync(TimeSpan.FromSeconds(response.PingInterval), TimeSpan.FromSeconds(response.PingTimeout)), CancellationToken.None);
        }

        if (_twoConnections)
        {
            await ConnectTwoAsync(publication, cancellationToken).ConfigureAwait(false);
            return;
        }

        using (Step("media-connect", trace))
        {
            var answer = await WaitAsync(firstAnswer, _timeouts.PeerConnection, "answer to the join offer", cancellationToken).ConfigureAwait(false);
            await ApplyAnswerAsync(_pc, answer, cancellationToken).ConfigureAwait(false);
            await TrickleLocalCandidatesAsync(_pc, SignalTarget.Publisher, cancellationToken).ConfigureAwait(false);
            try
            {
                await WaitAsync(_pc.ConnectedAsync(cancellationToken), _timeouts.PeerConnection, "media connection to the room (ICE and DTLS)", cancellationToken).ConfigureAwait(false);
            }
            catch (IOException ex)
            {
                throw new DecartException(DecartErrorCode.WebRtcError, $"the room's media connection could not be established: {ex.Message}", ex) { Detail = WebRtcErrorDetail.Ice };
            }
        }

        using (Step("model-participant", trace))
        {
            await WaitAsync(_modelKnown.Task, _timeouts.ModelParticipant, $"participant '{ModelIdentityPrefix}…' (the model) in the room", cancellationToken).ConfigureAwait(false);
        }

        if (publication is null)
        {
            return;
        }

        // 2. Publish the camera: add_track, its track_published, then an offer with the send section added.
        using (Step("publish", trace))
        {
            await AddCameraTrackAsync(_pc.LocalTrackId, publication, cancellationToken).ConfigureAwait(false);
            var offer = await _pc.CreateOfferAsync(new OfferOptions { Send = true, Receive = true, SeparateSections = true, CodecPreference = codecs }, cancellationToken).ConfigureAwait(false);
            await PublishOfferAsync(_pc, offer, publication, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The two-connection path: the server's offer for the subscriber connection is answered as it arrives (see
    /// <see cref="AnswerServerOfferAsync"/>); once that connection is up and the model is known, the camera is added
    /// and offered on a publisher connection of its own.
    /// </summary>
    private async Task ConnectTwoAsync(LiveKitPublication? publication, CancellationToken cancellationToken)
    {
        await WaitAsync(_subscriberAnswered.Task, _timeouts.PeerConnection, "the room's offer for the subscriber connection", cancellationToken).ConfigureAwait(false);
        try
        {
            await WaitAsync(_pc.ConnectedAsync(cancellationToken), _timeouts.PeerConnection, "subscriber media connection to the room (ICE and DTLS)", cancellationToken).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            throw new DecartException(DecartErrorCode.WebRtcError, $"the room's subscriber connection could not be established: {ex.Message}", ex) { Detail = WebRtcErrorDetail.Ice };
        }

        await WaitAsync(_modelKnown.Task, _timeouts.ModelParticipant, $"participant '{ModelIdentityPrefix}…' (the model) in the room", cancellationToken).ConfigureAwait(false);
        if (publication is null)
        {
            return;
        }

        var publisher = _publisherFactory?.Invoke() ?? throw new InvalidOperationException("a publishing room connection needs a publisher factory");
        lock (_lock)
        {
            _publisher = publisher;
        }

        await AddCameraTrackAsync(publisher.LocalTrackId, publication, cancellationToken).ConfigureAwait(false);
        var offer = await publisher.CreateOfferAsync(new OfferOptions { Send = true, Receive = false, SeparateSections = true, CodecPreference = [publication.Codec] }, cancellationToken).ConfigureAwait(false);
        await PublishOfferAsync(publisher, offer, publication, cancellationToken).ConfigureAwait(false);
        await TrickleLocalCandidatesAsync(publisher, SignalTarget.Publisher, cancellationToken).ConfigureAwait(false);
        try
        {
            await WaitAsync(publisher.ConnectedAsync(cancellationToken), _timeouts.PeerConnection, "publisher media connection to the room (ICE and DTLS)", cancellationToken).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            throw new DecartException(DecartErrorCode.WebRtcError, $"the room's publisher connection could not be established: {ex.Message}", ex) { Detail = WebRtcErrorDetail.Ice };
        }
    }

    /// <summary><c>add_track</c> for the camera and its <c>track_published</c>.</summary>
    private async Task AddCameraTrackAsync(string cid, LiveKitPublication publication, CancellationToken cancellationToken)
    {
        var published = ExpectPublished(cid);
        // One layer, or the simulcast layers by their RIDs (q LOW, h MEDIUM, f HIGH, as livekit-client announces them).
        VideoLayer[] layers = publication.Layers.Count > 1
            ? [.. publication.Layers.Select(l => new VideoLayer
            {
                Quality = l.Rid switch { "q" => VideoQuality.Low, "h" => VideoQuality.Medium, _ => VideoQuality.High },
                Width = (uint)l.Width,
                Height = (uint)l.Height,
                Bitrate = (uint)l.BitrateKbps * 1000,
                Rid = l.Rid,
            })]
            : [new VideoLayer { Quality = VideoQuality.High, Width = (uint)publication.Width, Height = (uint)publication.Height, Bitrate = (uint)publication.MaxBitrate }];
        await SendAsync(new SignalRequest
        {
            AddTrack = new AddTrackRequest
            {
                Cid = cid,
                Name = "camera",
                Type = TrackType.Video,
                Source = TrackSource.Camera,
                Width = (uint)publication.Width,
                Height = (uint)publication.Height,
                Layers = { layers },
                SimulcastCodecs = { new SimulcastCodec { Codec = publication.Codec.ToLowerInvariant(), Cid = cid, Layers = { layers } } },
                PacketTrailerFeatures = { PublishedFeatures(publication) },
            },
        }, cancellationToken).ConfigureAwait(false);
        var track = await WaitAsync(published, _timeouts.TrackPublished, "track_published for the camera", cancellationToken).ConfigureAwait(false);
        _logger.LogDebug(DecartLog.CameraPublished, "Room camera published as {Track} ({Mime}).", Trim(track.Sid), Trim(track.MimeType));
    }

    /// <summary>Sends the offer with the camera's send section (only the source's codec in it) and applies the answer.</summary>
    private async Task PublishOfferAsync(PeerConnection pc, RtcSessionDescription offer, LiveKitPublication publication, CancellationToken cancellationToken)
    {
        foreach (var section in offer.Media.Where(m => m.Kind == "video" && m.Direction == MediaDirection.SendOnly))
        {
            // We send what the source encodes; the receive section keeps every codec the model may answer with.
            SdpNegotiation.KeepOnlyCodec(section, publication.Codec);
        }

        offer = await CustomizeAsync(offer, cancellationToken).ConfigureAwait(false);
        uint id = NextOfferId();
        var publishAnswer = ExpectAnswer(id);
        await SendAsync(new SignalRequest { Offer = new SignalSessionDescription { Type = "offer", Sdp = offer.ToString(), Id = id } }, cancellationToken).ConfigureAwait(false);
        var answer = await WaitAsync(publishAnswer, _timeouts.PeerConnection, "answer to the publish offer", cancellationToken).ConfigureAwait(false);
        await ApplyAnswerAsync(pc, answer, cancellationToken).ConfigureAwait(false);
        if (pc.Video is not { LocalDirection: MediaDirection.SendOnly or MediaDirection.SendRecv } sending)
        {
            throw new DecartException(DecartErrorCode.WebRtcError, "the room's answer did not accept the camera's section.") { Detail = WebRtcErrorDetail.Signaling };
        }

        if (!sending.CodecName.Equals(publication.Codec, StringComparison.OrdinalIgnoreCase))
        {
            throw new DecartException(DecartErrorCode.InvalidOptions, $"the room chose {sending.CodecName} for the camera but the source produces {publication.Codec} frames.");
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        if (_socket.State == WebSocketState.Open)
        {
            try
            {
                using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                await SendAsync(new SignalRequest { Leave = new LeaveRequest { Reason = DisconnectReason.ClientInitiated, Action = LeaveRequest.Types.Action.Disconnect } }, bound.Token).ConfigureAwait(false);
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "leave", bound.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is DecartException or WebSocketException or OperationCanceledException or IOException or ObjectDisposedException or InvalidOperationException)
            {
                // Best effort: the socket is aborted below either way.
            }
        }

        _stop.Cancel();
        _socket.Abort();
        _lost.TrySetResult(new DecartException(DecartErrorCode.WebRtcError, "the room connection was closed.") { Detail = WebRtcErrorDetail.WebSocket });
        await Quietly(_receiveLoop).ConfigureAwait(false);
        await Quietly(_pingLoop).ConfigureAwait(false);
        _socket.Dispose();
        _stop.Dispose();
        _sendLock.Dispose();
    }

    private async Task<RtcSessionDescription> CustomizeAsync(RtcSessionDescription offer, CancellationToken cancellationToken) =>
        _customizeOffer is null
            ? offer
            : await _customizeOffer(offer, cancellationToken).ConfigureAwait(false) ?? throw new DecartException(DecartErrorCode.InvalidOptions, "CustomizeOffer returned null.");

    private async Task OpenAsync(Uri livekitUrl, string token, string joinRequest, CancellationToken cancellationToken)
    {
        var signal = _twoConnections ? V0RoomUri(livekitUrl, "ws", token) : RoomUri(livekitUrl, "ws", token, joinRequest);
        try
        {
            var opened = await WebSocketConnector.ConnectAsync(signal, WebSocket.DefaultKeepAliveInterval, cancellationToken).ConfigureAwait(false);
            Interlocked.Exchange(ref _socket, opened).Dispose();
            if (Volatile.Read(ref _disposed) == 1)
            {
                // Disposed while the socket opened: DisposeAsync may have closed the placeholder, not this one.
                opened.Abort();
                opened.Dispose();
                throw new OperationCanceledException("the room connection was closed while its signal socket opened.");
            }
        }
        catch (WebSocketOpenException ex)
        {
            // Like livekit-client, ask /validate why the upgrade failed: it answers with the reason as text.
            int status = ex.StatusCode;
            string where = livekitUrl.GetLeftPart(UriPartial.Path);
            string? reason = await ValidateAsync(_twoConnections ? V0RoomUri(livekitUrl, "http", token) : RoomUri(livekitUrl, "http", token, joinRequest), cancellationToken).ConfigureAwait(false);
            if ((status == 404 || reason == "404") && !_twoConnections)
            {
                // A LiveKit server before 1.9: the older two-connection path, as livekit-client falls back to it.
                _logger.LogInformation(DecartLog.TwoConnectionFallback, "The room server at {Where} has no /rtc/v1 (HTTP 404); joining through /rtc with two peer connections.", where);
                _twoConnections = true;
                await OpenAsync(livekitUrl, token, joinRequest, cancellationToken).ConfigureAwait(false);
                return;
            }

            if (status == 404 || reason == "404")
            {
                throw new DecartException(DecartErrorCode.WebRtcError, $"the room server at {where} has neither /rtc/v1 nor /rtc (HTTP 404): not a LiveKit room server.", ex) { Detail = WebRtcErrorDetail.Signaling };
            }

            if (status is 401 or 403 || reason is not null && reason.Length > 0 && reason != "404")
            {
                // "not allowed" keeps Decart's retry rule: a refused room token is not retried.
                throw new DecartException(DecartErrorCode.WebRtcError, $"the room at {where} refused the join (not allowed, HTTP {(status == 0 ? "?" : status.ToString(CultureInfo.InvariantCulture))}): {SecretRedactor.Redact(reason ?? "no reason given")}.", ex) { Detail = WebRtcErrorDetail.Server };
            }

            throw new DecartException(DecartErrorCode.WebRtcError, $"the room's signal connection to {where} could not be opened: {SecretRedactor.Redact(ex.Message)}", ex) { Detail = WebRtcErrorDetail.WebSocket };
        }

        Volatile.Write(ref _lastMessageTicks, _time.GetTimestamp());
        _receiveLoop = Task.Run(ReceiveLoopAsync, CancellationToken.None);
    }

    private static Uri RoomUri(Uri livekitUrl, string kind, string token, string joinRequest)
    {
        var builder = new UriBuilder(livekitUrl);
        builder.Scheme = (kind, builder.Scheme) switch
        {
            ("ws", "http") => "ws",
            ("ws", "https") => "wss",
            ("http", "ws") => "http",
            ("http", "wss") => "https",
            (_, var s) => s,
        };
        builder.Port = livekitUrl.IsDefaultPort ? -1 : livekitUrl.Port;
        builder.Path = builder.Path.TrimEnd('/') + (kind == "ws" ? "/rtc/v1" : "/rtc/v1/validate");
        builder.Query = $"access_token={Uri.EscapeDataString(token)}&join_request={Uri.EscapeDataString(joinRequest)}";
        return builder.Uri;
    }

    /// <summary>The older path: <c>/rtc</c> (or its <c>/validate</c>) with the client's details as plain query parameters.</summary>
    private static Uri V0RoomUri(Uri livekitUrl, string kind, string token)
    {
        var builder = new UriBuilder(RoomUri(livekitUrl, kind, token, string.Empty));
        builder.Path = builder.Path.EndsWith("/rtc/v1/validate", StringComparison.Ordinal) ? builder.Path[..^"/v1/validate".Length] + "/validate" : builder.Path[..^"/v1".Length];
        string version = typeof(LiveKitRoomConnection).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
        builder.Query = string.Create(CultureInfo.InvariantCulture, $"access_token={Uri.EscapeDataString(token)}&auto_subscribe=1&sdk=dotnet&version={version}&protocol={LiveKitSignal.ProtocolVersion}&client_protocol=1&os={Uri.EscapeDataString(Environment.OSVersion.Platform.ToString())}");
        return builder.Uri;
    }

    /// <summary>GETs <c>/rtc/v1/validate</c>: the body on a refusal, "404" when the path does not exist, null when it could not tell.</summary>
    private async Task<string?> ValidateAsync(Uri validate, CancellationToken cancellationToken)
    {
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            using var response = await http.GetAsync(validate, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            if (response.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
                return "404";
            }

            if (response.IsSuccessStatusCode)
            {
                return null;
            }

            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            return body.Length > 200 ? body[..200] : body;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
        {
            return null;
        }
    }

    private uint NextOfferId()
    {
        lock (_lock)
        {
            return ++_offerId;
        }
    }

    private Task<SignalSessionDescription> ExpectAnswer(uint id)
    {
        var waiter = new TaskCompletionSource<SignalSessionDescription>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            _answers[id] = waiter;
        }

        return waiter.Task;
    }

    private Task<TrackInfo> ExpectPublished(string cid)
    {
        var waiter = new TaskCompletionSource<TrackInfo>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            _published[cid] = waiter;
        }

        return waiter.Task;
    }

    private async Task ApplyAnswerAsync(PeerConnection pc, SignalSessionDescription answer, CancellationToken cancellationToken)
    {
        if (!RtcSessionDescription.TryParse(answer.Sdp, SdpType.Answer, out var sdp, out var error, out int line))
        {
            throw new DecartException(DecartErrorCode.WebRtcError, $"the room's answer {answer.Id} is not valid SDP: {error} at line {line}.") { Detail = WebRtcErrorDetail.Signaling };
        }

        try
        {
            await pc.SetRemoteDescriptionAsync(sdp!, cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidOperationException ex)
        {
            throw new DecartException(DecartErrorCode.WebRtcError, $"the room's answer {answer.Id} cannot be applied: {ex.Message}", ex) { Detail = WebRtcErrorDetail.Signaling };
        }

        if (pc == _pc)
        {
            BindReceiveTrack(sdp!, answer.MidToTrackId);
        }
    }

    /// <summary>
    /// The two-connection path: the server's offer for the subscriber connection (the first, and any renegotiation)
    /// is answered receive-only; the track it puts on our section is the one whose frames are delivered.
    /// </summary>
    private async Task AnswerServerOfferAsync(SignalSessionDescription offer, CancellationToken cancellationToken)
    {
        if (!RtcSessionDescription.TryParse(offer.Sdp, SdpType.Offer, out var sdp, out var error, out int line))
        {
            Warn(ref _malformed, $"The room server's offer {offer.Id} is not valid SDP ({error} at line {line}); ignored.");
            return;
        }

        RtcSessionDescription answer;
        try
        {
            await _pc.SetRemoteDescriptionAsync(sdp!, cancellationToken).ConfigureAwait(false);
            answer = await _pc.CreateAnswerAsync(new AnswerOptions { Send = false, Receive = true }, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or SdpException)
        {
            Warn(ref _malformed, $"The room server's offer {offer.Id} cannot be answered: {ex.Message}");
            return;
        }

        await SendAsync(new SignalRequest { Answer = new SignalSessionDescription { Type = "answer", Sdp = answer.ToString(), Id = offer.Id } }, cancellationToken).ConfigureAwait(false);
        BindReceiveTrack(sdp!, offer.MidToTrackId);
        if (!_subscriberAnswered.Task.IsCompleted)
        {
            await TrickleLocalCandidatesAsync(_pc, SignalTarget.Subscriber, cancellationToken).ConfigureAwait(false);
            _subscriberAnswered.TrySetResult();
        }
    }

    private void BindReceiveTrack(RtcSessionDescription sdp, Google.Protobuf.Collections.MapField<string, string> midToTrackId)
    {
        if (_pc.ReceiveVideo is not { } receive)
        {
            return;
        }

        // Which track the server put on our receive section: mid_to_track_id, else the msid (stream "PA_…|TR_…", track "TR_…").
        string? trackSid = midToTrackId.TryGetValue(receive.Mid, out var mapped) ? mapped : null;
        string? streamId = null;
        var section = sdp.Media.FirstOrDefault(m => m.Mid == receive.Mid);
        if (section?.Attributes.FirstOrDefault(a => a.Name == "msid")?.Value is { } msid)
        {
            var parts = msid.Split(' ', 2);
            streamId = parts[0];
            if (trackSid is null && parts[0].Split('|') is [_, var fromStream] && fromStream.StartsWith("TR", StringComparison.Ordinal))
            {
                trackSid = fromStream;
            }

            trackSid ??= parts.Length > 1 ? parts[1] : null;
        }

        if (trackSid is null)
        {
            return;
        }

        Volatile.Write(ref _receiveTrackSid, trackSid);
        RefreshTrailer();
        string? ownerSid = streamId?.Split('|')[0];
        ParticipantInfo? owner;
        lock (_lock)
        {
            owner = _participants.Values.FirstOrDefault(p => p.Tracks.Any(t => t.Sid == trackSid))
                ?? (ownerSid is not null && _participants.TryGetValue(ownerSid, out var bySid) ? bySid : null);
        }

        bool foreign = owner is not null && !owner.Identity.StartsWith(ModelIdentityPrefix, StringComparison.Ordinal);
        Volatile.Write(ref _foreignTrack, foreign);
        if (foreign)
        {
            _logger.LogWarning(DecartLog.ForeignTrack, "The room put a track of participant {Identity} (not the model) on the receive section; its frames are not delivered.", Trim(owner!.Identity));
        }
    }

    private async Task TrickleLocalCandidatesAsync(PeerConnection pc, SignalTarget target, CancellationToken cancellationToken)
    {
        string mid = pc.LocalDescription?.Media.FirstOrDefault()?.Mid ?? "0";
        foreach (var candidate in pc.Ice.LocalCandidates)
        {
            var init = JsonSerializer.Serialize(new IceCandidateInit(candidate.ToString(), mid, 0), SignalingJsonContext.Default.IceCandidateInit);
            await SendAsync(new SignalRequest { Trickle = new TrickleRequest { CandidateInit = init, Target = target } }, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task SendAsync(SignalRequest request, CancellationToken cancellationToken)
    {
        var bytes = request.ToByteArray();
        await _sendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await _socket.SendAsync(bytes, WebSocketMessageType.Binary, true, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is WebSocketException or IOException or ObjectDisposedException)
        {
            throw new DecartException(DecartErrorCode.WebRtcError, $"the room's signal connection failed: {SecretRedactor.Redact(ex.Message)}", ex) { Detail = WebRtcErrorDetail.WebSocket };
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>Awaits a step, bounded by its timeout and by the room connection being lost.</summary>
    private async Task<T> WaitAsync<T>(Task<T> step, TimeSpan timeout, string what, CancellationToken cancellationToken)
    {
        await WaitAsync((Task)step, timeout, what, cancellationToken).ConfigureAwait(false);
        return await step.ConfigureAwait(false);
    }

    private async Task WaitAsync(Task step, TimeSpan timeout, string what, CancellationToken cancellationToken)
    {
        using var timer = new CancellationTokenSource(timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timer.Token, cancellationToken);
        Task done;
        try
        {
            done = await Task.WhenAny(step, _lost.Task).WaitAsync(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (timer.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new DecartException(DecartErrorCode.WebRtcError, $"no {what} within {timeout.TotalSeconds:0.#} s (timeout).") { Detail = WebRtcErrorDetail.Timeout };
        }

        if (done != step)
        {
            throw await _lost.Task.ConfigureAwait(false);
        }

        await step.ConfigureAwait(false);
    }

    private void Lose(DecartException reason)
    {
        if (Volatile.Read(ref _disposed) == 0)
        {
            _lost.TrySetResult(reason);
        }
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        var token = _stop.Token;
        try
        {
            while (!token.IsCancellationRequested)
            {
                int length = 0;
                ValueWebSocketReceiveResult result;
                do
                {
                    if (length == buffer.Length)
                    {
                        if (buffer.Length >= LiveKitSignal.MaxMessageBytes)
                        {
                            Interlocked.Increment(ref _malformed);
                            Lose(new DecartException(DecartErrorCode.WebRtcError, $"the room server sent a signal message over {LiveKitSignal.MaxMessageBytes / 1024} KiB; the room connection was closed.") { Detail = WebRtcErrorDetail.Signaling });
                            return;
                        }

                        var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, LiveKitSignal.MaxMessageBytes));
                        buffer.AsSpan(0, length).CopyTo(bigger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = bigger;
                    }

                    result = await _socket.ReceiveAsync(buffer.AsMemory(length), token).ConfigureAwait(false);
                    length += result.Count;
                }
                while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    Lose(new DecartException(DecartErrorCode.WebRtcError, $"the room server closed the signal connection ({_socket.CloseStatus?.ToString() ?? "no status"}).") { Detail = WebRtcErrorDetail.WebSocket });
                    return;
                }

                Volatile.Write(ref _lastMessageTicks, _time.GetTimestamp());
                if (LiveKitSignal.TryParse(SignalResponse.Parser, buffer.AsSpan(0, length), result.MessageType == WebSocketMessageType.Text, out var response) != LiveKitSignalError.None)
                {
                    Warn(ref _malformed, "The room server sent a malformed signal message; ignored.");
                    continue;
                }

                try
                {
                    await HandleAsync(response!, token).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    Warn(ref _malformed, $"A room signal message ({response!.MessageCase}) could not be handled: {SecretRedactor.Redact(ex.Message)}");
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            Lose(new DecartException(DecartErrorCode.WebRtcError, $"the room's signal connection failed: {SecretRedactor.Redact(ex.Message)}") { Detail = WebRtcErrorDetail.WebSocket });
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async Task HandleAsync(SignalResponse response, CancellationToken token)
    {
        switch (response.MessageCase)
        {
            case SignalResponse.MessageOneofCase.Join:
                foreach (var participant in response.Join.OtherParticipants)
                {
                    Track(participant);
                }

                if (!_join.TrySetResult(response.Join))
                {
                    Interlocked.Increment(ref _ignored);
                }

                break;
            case SignalResponse.MessageOneofCase.Answer:
                TaskCompletionSource<SignalSessionDescription>? waiter;
                lock (_lock)
                {
                    // An answer to an older offer than the latest is stale (livekit-client drops it too).
                    if (_answers.Remove(response.Answer.Id, out waiter) && response.Answer.Id != _offerId)
                    {
                        waiter = null;
                    }
                }

                if (waiter is null || !string.Equals(response.Answer.Type, "answer", StringComparison.Ordinal))
                {
                    Warn(ref _stale, $"The room server sent an answer with id {response.Answer.Id} that matches no pending offer; ignored.");
                    break;
                }

                waiter.TrySetResult(response.Answer);
                break;
            case SignalResponse.MessageOneofCase.Trickle:
                await HandleTrickleAsync(response.Trickle, token).ConfigureAwait(false);
                break;
            case SignalResponse.MessageOneofCase.Offer when _twoConnections:
                await AnswerServerOfferAsync(response.Offer, token).ConfigureAwait(false);
                break;
            case SignalResponse.MessageOneofCase.Update:
                foreach (var participant in response.Update.Participants)
                {
                    Track(participant);
                }

                break;
            case SignalResponse.MessageOneofCase.TrackPublished:
                TaskCompletionSource<TrackInfo>? published;
                lock (_lock)
                {
                    _published.Remove(response.TrackPublished.Cid, out published);
                }

                if (published is null || response.TrackPublished.Track is null)
                {
                    Warn(ref _ignored, "The room server sent track_published for a track we did not add; ignored.");
                    break;
                }

                published.TrySetResult(response.TrackPublished.Track);
                break;
            case SignalResponse.MessageOneofCase.Leave:
                var leave = response.Leave;
                _logger.LogInformation(DecartLog.ServerLeave, "The room server asked us to leave ({Action}, {Reason}).", leave.Action, leave.Reason);
                // RESUME and RECONNECT ask the client to come back; DISCONNECT ends the room. A Decart room belongs to one
                // session, so either way the whole session is reconnected (a new livekit_join restores the last
                // acknowledged state) unless the session itself ended; only DISCONNECT is worth an error if that fails.
                Lose(new DecartException(DecartErrorCode.WebRtcError, leave.Action is LeaveRequest.Types.Action.Resume or LeaveRequest.Types.Action.Reconnect
                    ? $"the room server asked the client to reconnect (leave: {leave.Action}, {leave.Reason})."
                    : $"the room server ended the room connection (leave: {leave.Action}, {leave.Reason}).") { Detail = WebRtcErrorDetail.Server });
                break;
            case SignalResponse.MessageOneofCase.Pong:
            case SignalResponse.MessageOneofCase.PongResp:
                break;
            default:
                Interlocked.Increment(ref _ignored);
                break;
        }
    }

    private void Track(ParticipantInfo participant)
    {
        if (string.IsNullOrEmpty(participant.Sid))
        {
            Interlocked.Increment(ref _ignored);
            return;
        }

        bool model = participant.Identity.StartsWith(ModelIdentityPrefix, StringComparison.Ordinal);
        lock (_lock)
        {
            if (_participants.TryGetValue(participant.Sid, out var known) && known.Version > participant.Version)
            {
                return; // an older update than the one we have
            }

            if (participant.State == ParticipantInfo.Types.State.Disconnected)
            {
                _participants.Remove(participant.Sid);
            }
            else if (_participants.Count < 64 || _participants.ContainsKey(participant.Sid))
            {
                _participants[participant.Sid] = participant;
            }
        }

        if (model && participant.State != ParticipantInfo.Types.State.Disconnected)
        {
            ModelIdentity = participant.Identity;
            RefreshTrailer();
            _modelKnown.TrySetResult();
        }
        else if (model && ModelIdentity == participant.Identity && _modelKnown.Task.IsCompleted)
        {
            Lose(new DecartException(DecartErrorCode.WebRtcError, "the model left the room.") { Detail = WebRtcErrorDetail.Server });
        }
    }

    private static PacketTrailerFeature[] PublishedFeatures(LiveKitPublication publication) =>
        publication.FrameTiming ? [PacketTrailerFeature.PtfUserTimestamp] : [];

    /// <summary>Whether the track on our receive section (else the model's first video track) lists a packet trailer.</summary>
    private void RefreshTrailer()
    {
        string? sid = Volatile.Read(ref _receiveTrackSid);
        bool trailer;
        lock (_lock)
        {
            var track = sid is null ? null : _participants.Values.SelectMany(p => p.Tracks).FirstOrDefault(t => t.Sid == sid);
            track ??= _participants.Values.FirstOrDefault(p => p.Identity.StartsWith(ModelIdentityPrefix, StringComparison.Ordinal))?.Tracks.FirstOrDefault(t => t.Type == TrackType.Video);
            trailer = track is not null && track.PacketTrailerFeatures.Contains(PacketTrailerFeature.PtfUserTimestamp);
        }

        Volatile.Write(ref _receiveTrailer, trailer);
    }

    private async Task HandleTrickleAsync(TrickleRequest trickle, CancellationToken token)
    {
        switch (LiveKitSignal.ReadTrickleCandidate(trickle.CandidateInit, out var candidate))
        {
            case TrickleCandidate.Candidate:
                // On the two-connection path the target names the connection; on /rtc/v1 there is only one.
                var pc = _twoConnections && trickle.Target == SignalTarget.Publisher ? Volatile.Read(ref _publisher) : _pc;
                if (pc is null || !await pc.AddRemoteCandidateAsync(candidate!, token).ConfigureAwait(false))
                {
                    Interlocked.Increment(ref _ignored);
                }

                break;
            case TrickleCandidate.NotJson:
                Warn(ref _malformed, "The room server trickled a candidate that is not JSON; ignored.");
                break;
            case TrickleCandidate.BadSize:
                Interlocked.Increment(ref _ignored);
                break;
        }
    }

    private async Task PingLoopAsync(TimeSpan interval, TimeSpan timeout)
    {
        var token = _stop.Token;
        try
        {
            while (!token.IsCancellationRequested)
            {
                await Task.Delay(interval, _time, token).ConfigureAwait(false);
                if (_time.GetElapsedTime(Volatile.Read(ref _lastMessageTicks)) > timeout)
                {
                    Lose(new DecartException(DecartErrorCode.WebRtcError, $"the room server sent nothing for {timeout.TotalSeconds:0} s (ping timeout).") { Detail = WebRtcErrorDetail.Timeout });
                    return;
                }

                long now = _time.GetUtcNow().ToUnixTimeMilliseconds();
                await SendAsync(new SignalRequest { Ping = now }, token).ConfigureAwait(false);
                await SendAsync(new SignalRequest { PingReq = new Ping { Timestamp = now } }, token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or DecartException or ObjectDisposedException)
        {
            // Stopped, or the socket went away (the receive loop reports that).
        }
    }

    private void Warn(ref long counter, string message)
    {
        if (Interlocked.Increment(ref counter) <= MaxWarnings)
        {
            _logger.LogWarning(DecartLog.RoomMessageIgnored, "{Message}", message);
        }
    }

    private static string Trim(string? value) => value is null ? "null" : value.Length > 64 ? value[..64] : value;

    private static async Task Quietly(Task task)
    {
        try
        {
            await task.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Reported through Lost.
        }
    }
}
