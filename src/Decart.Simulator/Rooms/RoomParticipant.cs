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
    private PeerConnection? _pc;
    private string? _publishCodec;
    private uint _version = 1;
    private int _left;
    private long _ignored;
    private long _malformed;

    /// <param name="models">The model catalog (the model participant's track size).</param>
    /// <param name="logger">Where to log.</param>
    /// <param name="room">The room joined.</param>
    /// <param name="ws">The signal connection.</param>
    /// <param name="join">The join request.</param>
    /// <param name="viewer">For a viewer (<c>/watch-stream</c>): its grant; it may not publish, gets the model's track at
    /// once, and leaving ends only its own connection. Null for the session's publisher.</param>
    public RoomParticipant(Constraints.ModelCatalog models, ILogger logger, Room room, WebSocket ws, JoinRequest join, ViewerGrant? viewer = null)
    {
        _models = models;
        _room = room;
        _ws = ws;
        _join = join;
        _logger = logger;
        _viewer = viewer;
        _participantSid = viewer is null ? "PA_client" + room.Session.Id[..12] : "PA_" + viewer.Identity.Replace("-", string.Empty, StringComparison.Ordinal);
        _identity = viewer?.Identity ?? "client-" + room.Session.Id[..12];
    }

    /// <summary>Whether this participant is a receive-only viewer.</summary>
    public bool IsViewer => _viewer is not null;

    /// <summary>Signal messages that were not valid protobuf.</summary>
    public long MalformedMessages => Interlocked.Read(ref _malformed);

    /// <summary>Signal messages of kinds this server does not act on.</summary>
    public long IgnoredMessages => Interlocked.Read(ref _ignored);

    public async Task RunAsync(CancellationToken aborted)
    {
        using var link = aborted.Register(() => _life.Cancel());
        string reason = "room left";
        try
        {
            await SendAsync(new SignalResponse { Join = JoinResponse() }).ConfigureAwait(false);
            if (_join.PublisherOffer is { } offer)
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
                if (_pc is { } pc)
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
            MimeType = "video/" + (_pc?.Video?.CodecName ?? _publishCodec ?? _room.Session.OutputCodec ?? "H264"),
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
                Count(ref _ignored, "answer ignored (this server never offers in single-PC mode)");
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

        string codec = request.SimulcastCodecs.Select(c => c.Codec).FirstOrDefault(c => !string.IsNullOrEmpty(c))?.ToUpperInvariant() ?? "H264";
        _publishCodec = codec is "VP8" or "H264" ? codec : "H264";
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

        try
        {
            string[] codecs;
            if (_viewer is null)
            {
                codecs = _publishCodec is null ? ["H264", "VP8"] : new[] { _publishCodec }.Concat(new[] { "H264", "VP8" }.Where(c => c != _publishCodec)).ToArray();
                _pc ??= _room.Session.CreateRoomPeerConnection($"{_room.ModelParticipantSid}|{_room.ModelTrackSid}", _room.ModelTrackSid, codecs);
            }
            else
            {
                codecs = [_room.Session.OutputCodec ?? "H264"];
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
            bool camera = _viewer is not null || sdp!.Media.Exists(m => m.Kind == "video" && !m.IsRejected && m.Direction is MediaDirection.SendOnly or MediaDirection.SendRecv);
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

    /// <summary>The section the model's track goes out on, once an answer attached it.</summary>
    private NegotiatedVideo? SendingVideo => _pc?.Video is { LocalDirection: MediaDirection.SendOnly or MediaDirection.SendRecv } v ? v : null;

    private async Task HandleTrickleAsync(TrickleRequest trickle)
    {
        string? candidate = null;
        var read = _pc is null ? TrickleCandidate.BadSize : LiveKitSignal.ReadTrickleCandidate(trickle.CandidateInit, out candidate);
        if (read == TrickleCandidate.NotJson)
        {
            Count(ref _malformed, "trickle candidate is not JSON; ignored");
        }
        else if (read == TrickleCandidate.BadSize || (read == TrickleCandidate.Candidate && !await _pc!.AddRemoteCandidateAsync(candidate!, _life.Token).ConfigureAwait(false)))
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
