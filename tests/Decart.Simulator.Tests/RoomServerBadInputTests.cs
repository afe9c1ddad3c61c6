using System.Net;
using System.Net.WebSockets;
using System.Text.Json.Nodes;
using Decart.Rtc.LiveKit;
using Decart.Rtc.LiveKit.Proto;
using Decart.Simulator.Hosting;
using Google.Protobuf;

namespace Decart.Simulator.Tests;

/// <summary>
/// The built-in room server (<c>/lk/rtc/v1</c>) against a hostile client over a real socket. Bad input tried: garbage
/// and truncated protobuf, a text frame, an unknown signal message, an offer that is not SDP, a 900 KB offer, a trickle
/// that is not JSON, an answer the server never asked for, a join_request that is not base64/gzip/protobuf. Each is
/// counted or refused with a reason; the room keeps answering and a neighbour session is untouched.
/// </summary>
public sealed class RoomServerBadInputTests
{
    private static async Task<(RawRealtimeClient Control, string Url, string Token)> JoinAsync(DecartSimulator sim)
    {
        var raw = await RawRealtimeClient.OpenAsync(sim);
        await raw.SendAsync(new JsonObject { ["type"] = "livekit_join", ["passthrough"] = true });
        var info = await raw.ExpectAsync("livekit_room_info");
        return (raw, (string)info["livekit_url"]!, (string)info["token"]!);
    }

    private static string Join() => LiveKitSignal.EncodeJoinRequest(new JoinRequest { ClientInfo = new ClientInfo { Protocol = LiveKitSignal.ProtocolVersion } });

    private static Task SendAsync(ClientWebSocket ws, SignalRequest request) => ws.SendAsync(request.ToByteArray(), WebSocketMessageType.Binary, true, CancellationToken.None);

    private static async Task<SignalResponse> ReceiveUntilAsync(ClientWebSocket ws, SignalResponse.MessageOneofCase want)
    {
        var buffer = new byte[1 << 20];
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        while (true)
        {
            int n = 0;
            ValueWebSocketReceiveResult result;
            do
            {
                result = await ws.ReceiveAsync(buffer.AsMemory(n), bound.Token);
                n += result.Count;
            }
            while (!result.EndOfMessage);
            Assert.NotEqual(WebSocketMessageType.Close, result.MessageType);
            var response = SignalResponse.Parser.ParseFrom(buffer, 0, n);
            if (response.MessageCase == want)
            {
                return response;
            }
        }
    }

    [Fact]
    public async Task Hostile_signal_messages_are_counted_and_the_room_keeps_answering()
    {
        await using var sim = await DecartSimulator.StartAsync(new SimulatorOptions());
        var (neighbour, _, _) = await JoinAsync(sim);
        await using var _n = neighbour;
        var (control, url, token) = await JoinAsync(sim);
        await using var _c = control;
        var session = sim.Sessions.Open.Single(s => s.Room!.Token == token);

        using var ws = new ClientWebSocket();
        await ws.ConnectAsync(new Uri($"{url}/rtc/v1?access_token={Uri.EscapeDataString(token)}&join_request={Uri.EscapeDataString(Join())}"), CancellationToken.None);
        var join = await ReceiveUntilAsync(ws, SignalResponse.MessageOneofCase.Join);
        Assert.StartsWith("inference-server-", join.Join.OtherParticipants.Single().Identity, StringComparison.Ordinal);

        await ws.SendAsync(new byte[] { 0xFF, 0xFF, 0xFF, 0x01 }, WebSocketMessageType.Binary, true, CancellationToken.None); // garbage
        var ping = new SignalRequest { PingReq = new Ping { Timestamp = 42 } }.ToByteArray();
        await ws.SendAsync(ping.AsMemory(0, ping.Length - 1), WebSocketMessageType.Binary, true, CancellationToken.None); // truncated
        await ws.SendAsync("{\"not\":\"protobuf\"}"u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
        await SendAsync(ws, new SignalRequest { SyncState = new SyncState() }); // a message this server does not handle
        await SendAsync(ws, new SignalRequest { Offer = new Decart.Rtc.LiveKit.Proto.SessionDescription { Type = "offer", Sdp = "not sdp at all", Id = 7 } });
        await SendAsync(ws, new SignalRequest { Offer = new Decart.Rtc.LiveKit.Proto.SessionDescription { Type = "offer", Sdp = "v=0\r\n" + new string('a', 900_000), Id = 8 } });
        await SendAsync(ws, new SignalRequest { Trickle = new TrickleRequest { CandidateInit = "{not json", Target = SignalTarget.Publisher } });
        await SendAsync(ws, new SignalRequest { Answer = new Decart.Rtc.LiveKit.Proto.SessionDescription { Type = "answer", Sdp = "v=0", Id = 9 } });

        // Still answering: a ping gets its pong, after all of the above.
        await SendAsync(ws, new SignalRequest { PingReq = new Ping { Timestamp = 4242 } });
        var pong = await ReceiveUntilAsync(ws, SignalResponse.MessageOneofCase.PongResp);
        Assert.Equal(4242, pong.PongResp.LastPingTimestamp);
        var publisher = session.Room!.Publisher!;
        Assert.True(publisher.MalformedMessages >= 5, $"malformed {publisher.MalformedMessages}");
        Assert.True(publisher.IgnoredMessages >= 2, $"ignored {publisher.IgnoredMessages}");
        Assert.Equal(2, sim.OpenRooms);
        Assert.All(sim.Sessions.Open, s => Assert.NotEqual(Decart.Simulator.Realtime.SessionPhase.Ended, s.State));
    }

    [Theory]
    [InlineData("!!!not base64!!!", "NotBase64")]
    [InlineData("AAAA", "BadProtobuf")]
    [InlineData("", "BadSize")]
    public async Task A_join_request_that_cannot_be_read_is_refused_with_the_reason(string joinRequest, string reason)
    {
        await using var sim = await DecartSimulator.StartAsync(new SimulatorOptions());
        var (control, url, token) = await JoinAsync(sim);
        await using var _c = control;
        using var http = new HttpClient();
        var validate = new Uri(url.Replace("ws://", "http://", StringComparison.Ordinal) + $"/rtc/v1/validate?access_token={Uri.EscapeDataString(token)}&join_request={Uri.EscapeDataString(joinRequest)}");
        using var response = await http.GetAsync(validate);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        string body = await response.Content.ReadAsStringAsync();
        Assert.Contains("invalid join_request", body, StringComparison.Ordinal);
        Assert.Contains(reason, body, StringComparison.Ordinal);
        Assert.DoesNotContain(token, body, StringComparison.Ordinal);

        using var ws = new ClientWebSocket();
        ws.Options.CollectHttpResponseDetails = true;
        await Assert.ThrowsAsync<WebSocketException>(() => ws.ConnectAsync(new Uri($"{url}/rtc/v1?access_token={Uri.EscapeDataString(token)}&join_request={Uri.EscapeDataString(joinRequest)}"), CancellationToken.None));
        Assert.Equal(HttpStatusCode.Unauthorized, ws.HttpStatusCode);
        Assert.Equal(1, sim.OpenRooms); // the room is still there for a good join
    }

    [Fact]
    public async Task A_signalling_latency_fault_delays_the_rooms_signal_messages_too()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var sim = await DecartSimulator.StartAsync(new SimulatorOptions { TimeProvider = clock, NegotiationTimeout = TimeSpan.Zero });
        var (control, url, token) = await JoinAsync(sim);
        await using var _c = control;
        using var ws = new ClientWebSocket();
        await ws.ConnectAsync(new Uri($"{url}/rtc/v1?access_token={Uri.EscapeDataString(token)}&join_request={Uri.EscapeDataString(Join())}"), CancellationToken.None);
        await ReceiveUntilAsync(ws, SignalResponse.MessageOneofCase.Join);

        // 400 ms each way on signalling (not media), from now on.
        sim.Faults.Add(new Decart.Simulator.Faults.Fault { Type = Decart.Simulator.Faults.FaultType.Latency, Target = Decart.Simulator.Faults.FaultTarget.Signaling, LatencyMs = 400 });
        await SendAsync(ws, new SignalRequest { PingReq = new Ping { Timestamp = 7 } });
        var pong = ReceiveUntilAsync(ws, SignalResponse.MessageOneofCase.PongResp);
        await Task.Delay(300); // real time passes; the fake clock does not: the ping waits on the way in
        Assert.False(pong.IsCompleted, "the pong came back before the latency elapsed");
        // At most 4 s of fake time (in 400 ms, out 400 ms, and room to spare), each step given up to 1 s of real time for
        // the server to arm its next delay (a busy machine arms it late; 100 ms per step once risked missing it).
        for (int i = 0; i < 10 && !pong.IsCompleted; i++)
        {
            clock.Advance(TimeSpan.FromMilliseconds(400));
            for (int j = 0; j < 50 && !pong.IsCompleted; j++)
            {
                await Task.Delay(20);
            }
        }

        Assert.Equal(7, (await pong.WaitAsync(TimeSpan.FromSeconds(10))).PongResp.LastPingTimestamp);
    }

    [Fact]
    public async Task Without_the_single_connection_path_v1_is_404_and_rtc_offers_the_subscriber_connection_and_drops_bad_answers()
    {
        await using var sim = await DecartSimulator.StartAsync(new SimulatorOptions { RoomSingleConnection = false });
        var (control, url, token) = await JoinAsync(sim);
        await using var _c = control;
        var session = sim.Sessions.Open.Single(s => s.Room!.Token == token);
        using var http = new HttpClient();
        var httpBase = url.Replace("ws://", "http://", StringComparison.Ordinal);
        string query = $"access_token={Uri.EscapeDataString(token)}";

        // What makes livekit-client fall back: 404 on /rtc/v1/validate (and on the upgrade); /rtc/validate checks the token.
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"{httpBase}/rtc/v1/validate?{query}&join_request={Uri.EscapeDataString(Join())}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"{httpBase}/rtc/validate?{query}")).StatusCode);
        var refused = await http.GetAsync($"{httpBase}/rtc/validate?access_token=not-a-token");
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.DoesNotContain("not-a-token", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var ws = new ClientWebSocket();
        await ws.ConnectAsync(new Uri($"{url}/rtc?{query}&auto_subscribe=1&sdk=js&version=2.20.2&protocol=16"), CancellationToken.None);
        var join = await ReceiveUntilAsync(ws, SignalResponse.MessageOneofCase.Join);
        Assert.True(join.Join.SubscriberPrimary);
        var offer = await ReceiveUntilAsync(ws, SignalResponse.MessageOneofCase.Offer);
        Assert.True(Decart.Rtc.Sdp.SessionDescription.TryParse(offer.Offer.Sdp, Decart.Rtc.Sdp.SdpType.Offer, out var sdp, out _, out _));
        Assert.True(sdp!.IceLite);
        var video = Assert.Single(sdp.Media, m => m.Kind == "video");
        Assert.Equal(Decart.Rtc.Sdp.MediaDirection.SendOnly, video.Direction);
        Assert.Equal(session.Room!.ModelTrackSid, offer.Offer.MidToTrackId[video.Mid!]);
        Assert.Equal(2, session.RoomPeerConnections);

        // Bad answers: one to an offer never made, one that is not SDP; both counted, the room keeps answering.
        var publisher = session.Room.Publisher!;
        await SendAsync(ws, new SignalRequest { Answer = new Decart.Rtc.LiveKit.Proto.SessionDescription { Type = "answer", Sdp = "v=0", Id = offer.Offer.Id + 5 } });
        await SendAsync(ws, new SignalRequest { Answer = new Decart.Rtc.LiveKit.Proto.SessionDescription { Type = "answer", Sdp = "not sdp", Id = offer.Offer.Id } });
        await SendAsync(ws, new SignalRequest { Trickle = new TrickleRequest { CandidateInit = "{not json", Target = SignalTarget.Subscriber } });
        await SendAsync(ws, new SignalRequest { PingReq = new Ping { Timestamp = 77 } });
        var pong = await ReceiveUntilAsync(ws, SignalResponse.MessageOneofCase.PongResp);
        Assert.Equal(77, pong.PongResp.LastPingTimestamp);
        Assert.True(publisher.IgnoredMessages >= 1 && publisher.MalformedMessages >= 2, $"ignored {publisher.IgnoredMessages}, malformed {publisher.MalformedMessages}");
    }

    [Fact]
    public async Task An_offer_without_a_receive_section_gets_a_media_sections_requirement_and_the_next_offer_gets_the_models_track()
    {
        await using var sim = await DecartSimulator.StartAsync(new SimulatorOptions());
        var (control, url, token) = await JoinAsync(sim);
        await using var _c = control;
        var session = sim.Sessions.Open.Single(s => s.Room!.Token == token);
        await using var pc = new Decart.Rtc.PeerConnection(new Decart.Rtc.PeerConnectionOptions { TrackId = "TR_camera" });

        // A client that offers only its camera (no receive-only section pre-added, unlike livekit-client).
        var offer = await pc.CreateOfferAsync(new Decart.Rtc.Sdp.OfferOptions { Send = true, Receive = false, SeparateSections = true, CodecPreference = ["VP8"] });
        var join = LiveKitSignal.EncodeJoinRequest(new JoinRequest { ClientInfo = new ClientInfo { Protocol = LiveKitSignal.ProtocolVersion }, PublisherOffer = new Decart.Rtc.LiveKit.Proto.SessionDescription { Type = "offer", Sdp = offer.ToString(), Id = 1 } });
        using var ws = new ClientWebSocket();
        await ws.ConnectAsync(new Uri($"{url}/rtc/v1?access_token={Uri.EscapeDataString(token)}&join_request={Uri.EscapeDataString(join)}"), CancellationToken.None);
        var first = await ReceiveUntilAsync(ws, SignalResponse.MessageOneofCase.Answer);
        Assert.Empty(first.Answer.MidToTrackId);
        var requirement = await ReceiveUntilAsync(ws, SignalResponse.MessageOneofCase.MediaSectionsRequirement);
        Assert.Equal((0u, 1u), (requirement.MediaSectionsRequirement.NumAudios, requirement.MediaSectionsRequirement.NumVideos));
        Assert.Equal(1, session.Room!.Publisher!.SectionRequests);

        // The client adds a receive section and offers again: the model's track goes out on it.
        await pc.SetRemoteDescriptionAsync(Decart.Rtc.Sdp.SessionDescription.Parse(first.Answer.Sdp, Decart.Rtc.Sdp.SdpType.Answer));
        var second = await pc.CreateOfferAsync(new Decart.Rtc.Sdp.OfferOptions { Send = true, Receive = true, SeparateSections = true, CodecPreference = ["VP8"] });
        await SendAsync(ws, new SignalRequest { Offer = new Decart.Rtc.LiveKit.Proto.SessionDescription { Type = "offer", Sdp = second.ToString(), Id = 2 } });
        var answer = await ReceiveUntilAsync(ws, SignalResponse.MessageOneofCase.Answer);
        Assert.Equal(2u, answer.Answer.Id);
        Assert.Equal(session.Room.ModelTrackSid, Assert.Single(answer.Answer.MidToTrackId).Value);
        Assert.Equal(1, session.Room.Publisher.SectionRequests);
    }
}
