using Decart.Rtc.Codecs;
using System.Buffers;
using System.Net.WebSockets;
using Decart.Rtc;
using Decart.Rtc.LiveKit;
using Decart.Rtc.LiveKit.Proto;
using Decart.Rtc.Sdp;
using Decart.Simulator.Hosting;
using Google.Protobuf;
using Microsoft.Extensions.Logging;

namespace Decart.Simulator.Rooms;

/// <summary>
/// The room server's side of one participant's signal connection (LiveKit protocol 17, single peer connection): the
/// JoinResponse with the model participant, an answer for every publisher offer (the join's and each later one),
/// trickle, <c>add_track</c> → <c>track_published</c>, pings and leave. The model's output track is put on the first
/// of the client's receive-only video sections once the camera is published, in the codec the camera uses; the
/// camera's highest simulcast layer feeds the session's model.
/// </summary>
internal sealed class RoomParticipant
{
    private const int MaxMessagesLogged = 5;
    private readonly Constraints.ModelCatalog _models;
    private readonly Room _room;
    private readonly WebSocket _ws;
    private readonly JoinRequest _join;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly CancellationTokenSource _life = new();
    private readonly string _participantSid;
    private readonly string _identity;
    private readonly ViewerGrant? _viewer;
    private readonly bool _twoConnections;
    private PeerConnection? _pc;
    private PeerConnection? _subscriber;
    private uint _serverOfferId;
    private string? _publishCodec;
    private uint _version = 1;
    private int _left;
    private long _ignored;
    private long _malformed;
    private long _sectionRequests;

    /// <param name="models">The model catalog (the model participant's track size).</param>
    /// <param name="logger">Where to log.</param>
    /// <param name="room">The room joined.</param>
    /// <param name="ws">The signal connection.</param>
    /// <param name="join">The join request.</param>
    /// <param name="viewer">For a viewer (<c>/watch-stream</c>): its grant; it may not publish, gets the model's track at
    /// once, and leaving ends only its own connection. Null for the session's publisher.</param>
    /// <param name="twoConnections">LiveKit's older two-connection path (<c>/rtc</c>): the JoinResponse says
    /// <c>subscriber_primary</c>, we offer the subscriber connection (the model's track) and answer the publisher
    /// connection's offers (the camera).</param>
    public RoomParticipant(Constraints.ModelCatalog models, ILogger logger, Room room, WebSocket ws, JoinRequest join, ViewerGrant? viewer = null, bool twoConnections = false)
    {
        _twoConnections = twoConnections;
        _models = models;
        _room = room;
        _ws = ws;
        _join = join;
        _logger = logger;
        _viewer = viewer;
        _participantSid = viewer is null ? "PA_client" + room.Session.Id[..12] : "PA_" + viewer.Identity.Replace("-", string.Empty, StringComparison.Ordinal);
        _identity = viewer?.Identity ?? "client-" + room.Session.Id[..12];
    }

    /// <summary>Joined on the two-connection path (<c>/rtc</c>): a publisher and a subscriber peer connection.</summary>
    public bool TwoConnections => _twoConnections;

    /// <summary>Whether this participant is a receive-only viewer.</summary>
    public bool IsViewer => _viewer is not null;

    /// <summary>Signal messages that were not valid protobuf.</summary>
    public long MalformedMessages => Interlocked.Read(ref _malformed);

    /// <summary><c>media_sections_requirement</c> messages sent: offers that had no receive section for the model's track.</summary>
    public long SectionRequests => Interlocked.Read(ref _sectionRequests);

    /// <summary>Signal messages of kinds this server does not act on.</summary>
    public long IgnoredMessages => Interlocked.Read(ref _ignored);

    public async Task RunAsync(CancellationToken aborted)
    {
        using var link = aborted.Register(() => _life.Cancel());
        string reason = "room left";
        try
        {
            await SendAsync(new SignalResponse { Join = JoinResponse() }).ConfigureAwait(false);
            if (_twoConnections)
            {
                await OfferSubscriberAsync().ConfigureAwait(false);
            }
            else if (_join.PublisherOffer is { } offer)
            {
                await HandleOfferAsync(offer).ConfigureAwait(false);
            }

            await ReceiveLoopAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            reason = "room connection lost";
        }
        finally
        {
            _life.Cancel();
            if (_viewer is null)
            {
                await _room.Session.OnRoomLeftAsync(reason).ConfigureAwait(false);
            }
            else
            {
                // A viewer leaving ends its own connection only; the session goes on.
                _room.RemoveViewer(this);
                if ((_pc ?? _subscriber) is { } pc)
                {
                    await _room.Session.RemoveViewerAsync(pc).ConfigureAwait(false);
                }

                _logger.LogInformation("session {Session}: viewer {Viewer} left ({Reason})", _room.Session.Id, _identity, reason);
            }
        }
    }

    /// <summary>Sends <c>leave</c> (DISCONNECT) and closes the signal connection: the client's room disconnects at once.</summary>
    public async Task LeaveAsync(LeaveRequest.Types.Action action = LeaveRequest.Types.Action.Disconnect, DisconnectReason reason = DisconnectReason.ServerShutdown)
    {
        if (Interlocked.Exchange(ref _left, 1) == 1)
        {
            return;
        }

        try
        {
            await SendAsync(new SignalResponse { Leave = new LeaveRequest { CanReconnect = action != LeaveRequest.Types.Action.Disconnect, Reason = reason, Action = action } }).ConfigureAwait(false);
            using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await _ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "leave", bound.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException or InvalidOperationException)
        {
        }
        finally
        {
            _life.Cancel();
        }
    }

    private JoinResponse JoinResponse()
    {
        var response = new JoinResponse
        {
            Room = new Decart.Rtc.LiveKit.Proto.Room { Sid = _room.Sid, Name = _room.Name, NumParticipants = (uint)(2 + _room.Viewers.Count), NumPublishers = 2 },
            Participant = new ParticipantInfo
            {
                Sid = _participantSid,
                Identity = _identity,
                State = ParticipantInfo.Types.State.Active,
                Version = 1,
                Permission = new ParticipantPermission { CanPublish = _viewer is null, CanSubscribe = true, CanPublishData = _viewer is null },
            },
            ServerInfo = new ServerInfo { Edition = ServerInfo.Types.Edition.Standard, Version = "1.9.0", Protocol = 16, NodeId = "decart-simulator" },
            ServerVersion = "1.9.0",
            PingInterval = 5,
            PingTimeout = 15,
            SubscriberPrimary = _twoConnections,
        };
        response.OtherParticipants.Add(ModelParticipant());
        return response;
    }

    private ParticipantInfo ModelParticipant()
    {
        var model = _models.Find(Constraints.ModelKind.Realtime, _room.Session.Model);
        var info = new ParticipantInfo
        {
            Sid = _room.ModelParticipantSid,
            Identity = _room.ModelIdentity,
            Name = "Decart model",
            State = ParticipantInfo.Types.State.Active,
            IsPublisher = true,
            Kind = ParticipantInfo.Types.Kind.Agent,
            Version = _version,
            Permission = new ParticipantPermission { CanPublish = true, CanSubscribe = true },
        };
        var track = new TrackInfo
        {
            Sid = _room.ModelTrackSid,
            Type = TrackType.Video,
            Name = "output",
            Source = TrackSource.Camera,
            Width = (uint)(model?.Width ?? 0),
            Height = (uint)(model?.Height ?? 0),
            MimeType = (_pc?.Video?.Codec ?? (RtpCodec.TryParse(_publishCodec ?? _room.Session.OutputCodec, out var codec) ? codec : RtpCodec.H264)).MimeType,
        };
        if (_room.Session.FrameTiming)
        {
            // The output carries the capture time in a packet trailer: subscribers strip it (livekit-client installs
            // its frame-metadata transform only for tracks that list the feature).
            track.PacketTrailerFeatures.Add(PacketTrailerFeature.PtfUserTimestamp);
        }

        info.Tracks.Add(track);
        return info;
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            while (_ws.State == WebSocketState.Open && !_life.IsCancellationRequested)
            {
                WebSocketMessages.Shrink(ref buffer, 64 * 1024); // a big message's buffer is not kept for the next one
                var message = await WebSocketMessages.ReceiveAsync(_ws, buffer, LiveKitSignal.MaxMessageBytes, _life.Token).ConfigureAwait(false);
                buffer = message.Buffer;
                if (message.Type == WebSocketMessageType.Close)
                {
                    return;
                }

                if (message.TooLarge)
                {
                    // Read the rest of the message away and go on: one bad message does not end the room. Bounded: a
                    // message that goes on past 16 times the cap ends the connection (1009) instead of being read forever.
                    ValueWebSocketReceiveResult rest;
                    long drained = 0;
                    do
                    {
                        rest = await _ws.ReceiveAsync(buffer.AsMemory(), _life.Token).ConfigureAwait(false);
                        drained += rest.Count;
                        if (rest.MessageType == WebSocketMessageType.Close)
                        {
                            return;
                        }

                        if (drained > 16L * LiveKitSignal.MaxMessageBytes)
                        {
                            Count(ref _malformed, "signal message far over the limit; closing");
                            using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                            await _ws.CloseOutputAsync(WebSocketCloseStatus.MessageTooBig, "message too big", bound.Token).ConfigureAwait(false);
                            return;
                        }
                    }
                    while (!rest.EndOfMessage);
                }

                if (message.TooLarge || LiveKitSignal.TryParse(SignalRequest.Parser, buffer.AsSpan(0, message.Length), message.Type == WebSocketMessageType.Text, out var request) != LiveKitSignalError.None)
                {
                    Count(ref _malformed, "malformed signal message ignored");
                    continue;
                }

                // A signalling latency fault delays the room's signal messages as it delays the control socket's.
                var delay = _room.Session.RoomSignalingLatency(toClient: false);
                if (delay > TimeSpan.Zero)
                {
                    await Task.Delay(delay, _room.Session.Time, _life.Token).ConfigureAwait(false);
                }

                await HandleAsync(request!).ConfigureAwait(false);
            }
        }
        finally
        {
            WebSocketMessages.Return(buffer);
        }
    }

    private async Task HandleAsync(SignalRequest request)
    {
        switch (request.MessageCase)
        {
            case SignalRequest.MessageOneofCase.Offer:
                await HandleOfferAsync(request.Offer).ConfigureAwait(false);
                break;
            case SignalRequest.MessageOneofCase.Trickle:
                await HandleTrickleAsync(request.Trickle).ConfigureAwait(false);
                break;
            case SignalRequest.MessageOneofCase.AddTrack:
                await HandleAddTrackAsync(request.AddTrack).ConfigureAwait(false);
                break;
            case SignalRequest.MessageOneofCase.Ping:
                await SendAsync(new SignalResponse { Pong = request.Ping }).ConfigureAwait(false);
                break;
            case SignalRequest.MessageOneofCase.PingReq:
                await SendAsync(new SignalResponse { PongResp = new Pong { LastPingTimestamp = request.PingReq.Timestamp, Timestamp = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() } }).ConfigureAwait(false);
                break;
            case SignalRequest.MessageOneofCase.Leave:
                _logger.LogInformation("session {Session}: the participant left the room", _room.Session.Id);
                _life.Cancel();
                break;
            case SignalRequest.MessageOneofCase.Answer:
                await HandleAnswerAsync(request.Answer).ConfigureAwait(false);
                break;
            default:
                Interlocked.Increment(ref _ignored);
                break;
        }
    }

    private async Task HandleAddTrackAsync(AddTrackRequest request)
    {
        if (_viewer is not null)
        {
            Count(ref _ignored, "add_track from a viewer ignored (viewers may not publish)");
            return;
        }

        if (request.Type != TrackType.Video)
        {
            // Audio is accepted and published but not fed to the model.
            await SendAsync(new SignalResponse { TrackPublished = new TrackPublishedResponse { Cid = request.Cid, Track = new TrackInfo { Sid = "TR_audio" + Guid.NewGuid().ToString("N")[..10], Type = request.Type, Name = request.Name, Source = request.Source, MimeType = "audio/opus" } } }).ConfigureAwait(false);
            return;
        }

        // The codec the client will publish; one we do not speak (or none) means Decart's default, H.264.
        _publishCodec = (RtpCodec.TryParse(request.SimulcastCodecs.Select(c => c.Codec).FirstOrDefault(c => !string.IsNullOrEmpty(c)), out var codec) ? codec : RtpCodec.H264).Name;
        var track = new TrackInfo
        {
            Sid = "TR_cam" + Guid.NewGuid().ToString("N")[..10],
            Type = TrackType.Video,
            Name = request.Name,
            Source = request.Source,
            Width = request.Width,
            Height = request.Height,
            Simulcast = request.Layers.Count > 1,
            MimeType = "video/" + _publishCodec,
        };
        track.Layers.Add(request.Layers);
        track.PacketTrailerFeatures.Add(request.PacketTrailerFeatures); // as an SFU does: subscribers of the camera strip its trailer
        track.Codecs.Add(new SimulcastCodecInfo { MimeType = "video/" + _publishCodec, Cid = request.Cid, Layers = { request.Layers } });
        _logger.LogInformation("session {Session}: camera published ({Codec}, {Width}x{Height}, {Layers} layers)", _room.Session.Id, _publishCodec, request.Width, request.Height, request.Layers.Count);
        await SendAsync(new SignalResponse { TrackPublished = new TrackPublishedResponse { Cid = request.Cid, Track = track } }).ConfigureAwait(false);
    }

    private async Task HandleOfferAsync(Decart.Rtc.LiveKit.Proto.SessionDescription offer)
    {
        if (!Rtc.Sdp.SessionDescription.TryParse(offer.Sdp, SdpType.Offer, out var sdp, out var error, out int line))
        {
            Count(ref _malformed, $"offer {offer.Id} is not valid SDP ({error}, line {line}); ignored");
            return;
        }

        if (_viewer is null)
        {
            _room.Session.RecordRoomOffer(offer.Sdp);
        }

        if (_twoConnections && _viewer is not null)
        {
            Count(ref _ignored, $"offer {offer.Id} from a viewer on the two-connection path ignored (viewers publish nothing)");
            return;
        }

        try
        {
            string[] codecs;
            if (_viewer is null)
            {
                codecs = [.. new[] { _publishCodec, RtpCodec.H264.Name, RtpCodec.Vp8.Name }.OfType<string>().Distinct()];
                _pc ??= _room.Session.CreateRoomPeerConnection($"{_room.ModelParticipantSid}|{_room.ModelTrackSid}", _room.ModelTrackSid, codecs);
            }
            else
            {
                codecs = [_room.Session.OutputCodec ?? RtpCodec.H264.Name];
                if (_pc is null)
                {
                    _pc = _room.Session.AddViewerPeerConnection($"{_room.ModelParticipantSid}|{_room.ModelTrackSid}", _room.ModelTrackSid);
                    if (_pc is null)
                    {
                        _logger.LogWarning("session {Session}: viewer {Viewer} refused: the session has {Max} viewers already", _room.Session.Id, _identity, Realtime.SessionMedia.MaxViewers);
                        await LeaveAsync(LeaveRequest.Types.Action.Disconnect, DisconnectReason.JoinFailure).ConfigureAwait(false);
                        return;
                    }
                }
            }

            await _pc.SetRemoteDescriptionAsync(sdp!, _life.Token).ConfigureAwait(false);
            // The model's track goes out once the camera's codec is known: the answer to the offer with the camera.
            // A viewer gets it at once, in the codec the session already sends.
            // On the two-connection path the model's track goes out on the subscriber connection, never here.
            bool camera = !_twoConnections && (_viewer is not null || sdp!.Media.Exists(m => m.Kind == "video" && !m.IsRejected && m.Direction is MediaDirection.SendOnly or MediaDirection.SendRecv));
            bool wasSending = SendingVideo is not null;
            var answer = await _pc.CreateAnswerAsync(new AnswerOptions { Send = camera, CodecPreference = codecs, SendCodecPreference = _pc.ReceiveVideo is { } r ? [r.CodecName] : codecs }, _life.Token).ConfigureAwait(false);
            foreach (var warning in _pc.NegotiationWarnings)
            {
                _logger.LogWarning("session {Session}: {Warning}", _room.Session.Id, warning);
            }

            var response = new Decart.Rtc.LiveKit.Proto.SessionDescription { Type = "answer", Sdp = answer.ToString(), Id = offer.Id };
            if (SendingVideo is { } sending)
            {
                response.MidToTrackId[sending.Mid] = _room.ModelTrackSid;
            }

            await SendAsync(new SignalResponse { Answer = response }).ConfigureAwait(false);
            if (camera && SendingVideo is null && _viewer is null)
            {
                // The offer had no section the model's track could go out on (a client that does not pre-add receive
                // sections): ask for one, as LiveKit does; the client adds it and offers again.
                Interlocked.Increment(ref _sectionRequests);
                await SendAsync(new SignalResponse { MediaSectionsRequirement = new MediaSectionsRequirement { NumVideos = 1 } }).ConfigureAwait(false);
            }

            if (!wasSending && SendingVideo is not null)
            {
                _version++;
                await SendAsync(new SignalResponse { Update = new ParticipantUpdate { Participants = { ModelParticipant() } } }).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or SdpException)
        {
            Count(ref _malformed, $"offer {offer.Id} cannot be answered: {ex.Message}");
        }
    }

    /// <summary>
    /// The two-connection path: our offer for the subscriber connection, with the model's track in a send-only section
    /// (H.264 first, as Decart's clients prefer; a viewer gets the session's codec). ICE-lite, so the client controls.
    /// </summary>
    private async Task OfferSubscriberAsync()
    {
        try
        {
            string[] codecs;
            if (_viewer is null)
            {
                codecs = [RtpCodec.H264.Name, RtpCodec.Vp8.Name];
                _subscriber = _room.Session.CreateRoomSubscriber($"{_room.ModelParticipantSid}|{_room.ModelTrackSid}", _room.ModelTrackSid, codecs);
            }
            else
            {
                codecs = [_room.Session.OutputCodec ?? RtpCodec.H264.Name];
                _subscriber = _room.Session.AddViewerPeerConnection($"{_room.ModelParticipantSid}|{_room.ModelTrackSid}", _room.ModelTrackSid);
                if (_subscriber is null)
                {
                    _logger.LogWarning("session {Session}: viewer {Viewer} refused: the session has {Max} viewers already", _room.Session.Id, _identity, Realtime.SessionMedia.MaxViewers);
                    await LeaveAsync(LeaveRequest.Types.Action.Disconnect, DisconnectReason.JoinFailure).ConfigureAwait(false);
                    return;
                }
            }

            var offer = await _subscriber.CreateOfferAsync(new OfferOptions { Send = true, Receive = false, SeparateSections = true, CodecPreference = codecs }, _life.Token).ConfigureAwait(false);
            var description = new Decart.Rtc.LiveKit.Proto.SessionDescription { Type = "offer", Sdp = offer.ToString(), Id = ++_serverOfferId };
            foreach (var section in offer.Media.Where(m => m.Kind == "video" && m.Mid is not null))
            {
                description.MidToTrackId[section.Mid!] = _room.ModelTrackSid;
            }

            await SendAsync(new SignalResponse { Offer = description }).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or SdpException)
        {
            Count(ref _malformed, $"the subscriber offer could not be made: {ex.Message}");
        }
    }

    /// <summary>The client's answer to our subscriber offer (two-connection path); anything else is counted and ignored.</summary>
    private async Task HandleAnswerAsync(Decart.Rtc.LiveKit.Proto.SessionDescription answer)
    {
        if (_subscriber is not { } subscriber || _subscriber.LocalDescription is null)
        {
            Count(ref _ignored, "answer ignored (this server offers only on the two-connection path)");
            return;
        }

        if (answer.Id != 0 && answer.Id != _serverOfferId)
        {
            Count(ref _ignored, $"answer {answer.Id} to an offer we did not make (latest {_serverOfferId}); ignored");
            return;
        }

        if (!Rtc.Sdp.SessionDescription.TryParse(answer.Sdp, SdpType.Answer, out var sdp, out var error, out int line))
        {
            Count(ref _malformed, $"answer is not valid SDP ({error}, line {line}); ignored");
            return;
        }

        try
        {
            await subscriber.SetRemoteDescriptionAsync(sdp!, _life.Token).ConfigureAwait(false);
            _logger.LogInformation("session {Session}: subscriber connection negotiated ({Codec})", _room.Session.Id, subscriber.Video?.CodecName);
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or SdpException)
        {
            Count(ref _malformed, $"answer cannot be applied: {ex.Message}");
        }
    }

    /// <summary>The section the model's track goes out on, once an answer attached it.</summary>
    private NegotiatedVideo? SendingVideo => _pc?.Video is { LocalDirection: MediaDirection.SendOnly or MediaDirection.SendRecv } v ? v : null;

    private async Task HandleTrickleAsync(TrickleRequest trickle)
    {
        string? candidate = null;
        var pc = trickle.Target == SignalTarget.Subscriber ? _subscriber : _pc;
        var read = pc is null ? TrickleCandidate.BadSize : LiveKitSignal.ReadTrickleCandidate(trickle.CandidateInit, out candidate);
        if (read == TrickleCandidate.NotJson)
        {
            Count(ref _malformed, "trickle candidate is not JSON; ignored");
        }
        else if (read == TrickleCandidate.BadSize || (read == TrickleCandidate.Candidate && !await pc!.AddRemoteCandidateAsync(candidate!, _life.Token).ConfigureAwait(false)))
        {
            Interlocked.Increment(ref _ignored); // no media connection yet, empty/oversized, or unusable
        }
    }

    private void Count(ref long counter, string message)
    {
        // The first few per connection are logged; the rest only counted (bad input must not flood the log).
        if (Interlocked.Increment(ref counter) <= MaxMessagesLogged)
        {
            _logger.LogWarning("session {Session}: {Message}", _room.Session.Id, message);
        }
    }

    private async Task SendAsync(SignalResponse response)
    {
        var bytes = response.ToByteArray();
        var time = _room.Session.Time;
        var delay = _room.Session.RoomSignalingLatency(toClient: true);
        long due = time.GetTimestamp() + (long)(delay.TotalSeconds * time.TimestampFrequency);
        await _sendLock.WaitAsync(_life.Token).ConfigureAwait(false);
        try
        {
            // Held in order, each until its own due time (computed when it was sent, so delays do not add up).
            var wait = time.GetElapsedTime(time.GetTimestamp(), due);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, time, _life.Token).ConfigureAwait(false);
            }

            if (_ws.State == WebSocketState.Open)
            {
                await _ws.SendAsync(bytes, WebSocketMessageType.Binary, true, _life.Token).ConfigureAwait(false);
            }
        }
        finally
        {
            _sendLock.Release();
        }
    }
}
