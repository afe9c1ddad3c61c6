using Microsoft.Extensions.Logging;

namespace Decart.Sdk.Logging;

/// <summary>
/// The SDK's log events, each with a stable <see cref="EventId"/> (id and name) to filter or alert on: 10xx the realtime
/// client, 11xx a session's control messages, 12xx the control WebSocket, 13xx the LiveKit room, 14xx viewers, 20xx REST
/// calls. The ids never change meaning; new events get new ids. No event's message or arguments hold a key or token.
/// </summary>
public static class DecartLog
{
    /// <summary>1001: ConnectAttemptFailed.</summary>
    public static readonly EventId ConnectAttemptFailed = new(1001, nameof(ConnectAttemptFailed));

    /// <summary>1002: NewSourceKeyframeFailed.</summary>
    public static readonly EventId NewSourceKeyframeFailed = new(1002, nameof(NewSourceKeyframeFailed));

    /// <summary>1003: SourceReplaced.</summary>
    public static readonly EventId SourceReplaced = new(1003, nameof(SourceReplaced));

    /// <summary>1004: Disconnecting.</summary>
    public static readonly EventId Disconnecting = new(1004, nameof(Disconnecting));

    /// <summary>1005: GenerationEnded.</summary>
    public static readonly EventId GenerationEnded = new(1005, nameof(GenerationEnded));

    /// <summary>1006: FrameCallbackFailed.</summary>
    public static readonly EventId FrameCallbackFailed = new(1006, nameof(FrameCallbackFailed));

    /// <summary>1007: FrameNotDecoded.</summary>
    public static readonly EventId FrameNotDecoded = new(1007, nameof(FrameNotDecoded));

    /// <summary>1008: SinkFailed.</summary>
    public static readonly EventId SinkFailed = new(1008, nameof(SinkFailed));

    /// <summary>1009: KeyframeRequestFailed.</summary>
    public static readonly EventId KeyframeRequestFailed = new(1009, nameof(KeyframeRequestFailed));

    /// <summary>1010: Queued.</summary>
    public static readonly EventId Queued = new(1010, nameof(Queued));

    /// <summary>1011: Warning.</summary>
    public static readonly EventId Warning = new(1011, nameof(Warning));

    /// <summary>1012: WarningCallbackFailed.</summary>
    public static readonly EventId WarningCallbackFailed = new(1012, nameof(WarningCallbackFailed));

    /// <summary>1013: Connected.</summary>
    public static readonly EventId Connected = new(1013, nameof(Connected));

    /// <summary>1014: ConnectionLost.</summary>
    public static readonly EventId ConnectionLost = new(1014, nameof(ConnectionLost));

    /// <summary>1015: Reconnecting.</summary>
    public static readonly EventId Reconnecting = new(1015, nameof(Reconnecting));

    /// <summary>1016: ReconnectGaveUp.</summary>
    public static readonly EventId ReconnectGaveUp = new(1016, nameof(ReconnectGaveUp));

    /// <summary>1017: StateChanged.</summary>
    public static readonly EventId StateChanged = new(1017, nameof(StateChanged));

    /// <summary>1018: BitrateChanged.</summary>
    public static readonly EventId BitrateChanged = new(1018, nameof(BitrateChanged));

    /// <summary>1019: QualityChanged.</summary>
    public static readonly EventId QualityChanged = new(1019, nameof(QualityChanged));

    /// <summary>1020: EventHandlerFailed.</summary>
    public static readonly EventId EventHandlerFailed = new(1020, nameof(EventHandlerFailed));

    /// <summary>1021: SourceSlowToStop.</summary>
    public static readonly EventId SourceSlowToStop = new(1021, nameof(SourceSlowToStop));

    /// <summary>1022: ReplacedSourceDisposeFailed.</summary>
    public static readonly EventId ReplacedSourceDisposeFailed = new(1022, nameof(ReplacedSourceDisposeFailed));

    /// <summary>1101: InitialStateNotAcknowledged.</summary>
    public static readonly EventId InitialStateNotAcknowledged = new(1101, nameof(InitialStateNotAcknowledged));

    /// <summary>1102: MessageNotHandled.</summary>
    public static readonly EventId MessageNotHandled = new(1102, nameof(MessageNotHandled));

    /// <summary>1103: ServerError.</summary>
    public static readonly EventId ServerError = new(1103, nameof(ServerError));

    /// <summary>1104: UnexpectedRoomInfo.</summary>
    public static readonly EventId UnexpectedRoomInfo = new(1104, nameof(UnexpectedRoomInfo));

    /// <summary>1105: SecondAnswer.</summary>
    public static readonly EventId SecondAnswer = new(1105, nameof(SecondAnswer));

    /// <summary>1106: LateServerOffer.</summary>
    public static readonly EventId LateServerOffer = new(1106, nameof(LateServerOffer));

    /// <summary>1107: UnusableCandidate.</summary>
    public static readonly EventId UnusableCandidate = new(1107, nameof(UnusableCandidate));

    /// <summary>1108: UnexpectedAck.</summary>
    public static readonly EventId UnexpectedAck = new(1108, nameof(UnexpectedAck));

    /// <summary>1201: WebSocketOpen.</summary>
    public static readonly EventId WebSocketOpen = new(1201, nameof(WebSocketOpen));

    /// <summary>1202: CloseHandshakeIncomplete.</summary>
    public static readonly EventId CloseHandshakeIncomplete = new(1202, nameof(CloseHandshakeIncomplete));

    /// <summary>1203: MessageTooLarge.</summary>
    public static readonly EventId MessageTooLarge = new(1203, nameof(MessageTooLarge));

    /// <summary>1204: BinaryMessageIgnored.</summary>
    public static readonly EventId BinaryMessageIgnored = new(1204, nameof(BinaryMessageIgnored));

    /// <summary>1205: ReceiveEnded.</summary>
    public static readonly EventId ReceiveEnded = new(1205, nameof(ReceiveEnded));

    /// <summary>1206: CloseNotAnswered.</summary>
    public static readonly EventId CloseNotAnswered = new(1206, nameof(CloseNotAnswered));

    /// <summary>1207: UnknownMessageType.</summary>
    public static readonly EventId UnknownMessageType = new(1207, nameof(UnknownMessageType));

    /// <summary>1208: MessageIgnored.</summary>
    public static readonly EventId MessageIgnored = new(1208, nameof(MessageIgnored));

    /// <summary>1301: CameraPublished.</summary>
    public static readonly EventId CameraPublished = new(1301, nameof(CameraPublished));

    /// <summary>1302: TwoConnectionFallback.</summary>
    public static readonly EventId TwoConnectionFallback = new(1302, nameof(TwoConnectionFallback));

    /// <summary>1303: ForeignTrack.</summary>
    public static readonly EventId ForeignTrack = new(1303, nameof(ForeignTrack));

    /// <summary>1304: ServerLeave.</summary>
    public static readonly EventId ServerLeave = new(1304, nameof(ServerLeave));

    /// <summary>1305: RoomMessageIgnored.</summary>
    public static readonly EventId RoomMessageIgnored = new(1305, nameof(RoomMessageIgnored));

    /// <summary>1401: Watching.</summary>
    public static readonly EventId Watching = new(1401, nameof(Watching));

    /// <summary>1402: ViewerFrameCallbackFailed.</summary>
    public static readonly EventId ViewerFrameCallbackFailed = new(1402, nameof(ViewerFrameCallbackFailed));

    /// <summary>1403: ViewerLost.</summary>
    public static readonly EventId ViewerLost = new(1403, nameof(ViewerLost));

    /// <summary>1404: ViewerEventHandlerFailed.</summary>
    public static readonly EventId ViewerEventHandlerFailed = new(1404, nameof(ViewerEventHandlerFailed));

    /// <summary>2001: ModelDeprecated.</summary>
    public static readonly EventId ModelDeprecated = new(2001, nameof(ModelDeprecated));

    /// <summary>2002: Request.</summary>
    public static readonly EventId Request = new(2002, nameof(Request));

    /// <summary>2003: RequestTimedOut.</summary>
    public static readonly EventId RequestTimedOut = new(2003, nameof(RequestTimedOut));

    /// <summary>2004: RequestFailed.</summary>
    public static readonly EventId RequestFailed = new(2004, nameof(RequestFailed));

    /// <summary>2005: HttpError.</summary>
    public static readonly EventId HttpError = new(2005, nameof(HttpError));
}
