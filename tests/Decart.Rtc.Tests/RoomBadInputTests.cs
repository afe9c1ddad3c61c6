using System.Net;
using Decart.Rtc.Sdp;

namespace Decart.Rtc.Tests;

/// <summary>
/// Bad room input, each a named error or ignored and counted: offers with 50 sections, duplicate mids, RIDs that were
/// never declared, simulcast without the RID extension, and RTP whose RID or MID no section claims.
/// </summary>
public sealed class RoomBadInputTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    private static string Section(string kind, string mid, string extra = "") =>
        $"m={kind} 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n" +
        $"a=fingerprint:sha-256 {string.Join(':', Enumerable.Repeat("AB", 32))}\r\na=setup:actpass\r\na=mid:{mid}\r\na=rtcp-mux\r\n" +
        $"a=rtpmap:96 VP8/90000\r\n{extra}";

    private static SessionDescription Offer(params string[] sections) =>
        SessionDescription.Parse("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" + string.Concat(sections), SdpType.Offer);

    private static async Task<SessionDescription> AnswerAsync(SessionDescription offer, AnswerOptions? options = null)
    {
        await using var pc = new PeerConnection(new PeerConnectionOptions { IceLite = true, Addresses = [IPAddress.Loopback] });
        await pc.SetRemoteDescriptionAsync(offer);
        return await pc.CreateAnswerAsync(options ?? new AnswerOptions());
    }

    [Fact]
    public async Task Fifty_sections_are_answered_one_by_one_in_order()
    {
        var sections = Enumerable.Range(0, 50).Select(i => Section(i % 3 == 0 ? "audio" : "video", "m" + i, "a=recvonly\r\n")).ToArray();
        var answer = await AnswerAsync(Offer(sections));
        Assert.Equal(50, answer.Media.Count);
        Assert.Equal(Enumerable.Range(0, 50).Select(i => "m" + i), answer.Media.Select(m => m.Mid));
        Assert.Single(answer.Media, m => m.Direction == MediaDirection.SendOnly); // our track on the first receive section only
        Assert.Equal("m1", answer.Media.Single(m => m.Direction == MediaDirection.SendOnly).Mid);
    }

    [Fact]
    public async Task Duplicate_mids_are_a_named_error()
    {
        await using var pc = new PeerConnection(new PeerConnectionOptions { IceLite = true, Addresses = [IPAddress.Loopback] });
        await pc.SetRemoteDescriptionAsync(Offer(Section("video", "v"), Section("video", "v")));
        var ex = await Assert.ThrowsAsync<NegotiationException>(() => pc.CreateAnswerAsync(new AnswerOptions()));
        Assert.Equal(NegotiationError.DuplicateMid, ex.Error);
    }

    [Fact]
    public async Task Undeclared_rids_are_dropped_and_simulcast_without_the_rid_extension_is_answered_without_simulcast()
    {
        const string ridExtension = "a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id\r\n";
        var undeclared = await AnswerAsync(
            Offer(Section("video", "0", ridExtension + "a=sendonly\r\na=rid:q send\r\na=rid:f send\r\na=simulcast:send q;zz;f\r\n")),
            new AnswerOptions { Send = false });
        Assert.Equal("recv q;f", undeclared.Media[0].Attributes.Single(a => a.Name == "simulcast").Value);

        await using var pc = new PeerConnection(new PeerConnectionOptions { IceLite = true, Addresses = [IPAddress.Loopback] });
        await pc.SetRemoteDescriptionAsync(Offer(Section("video", "0", "a=sendonly\r\na=rid:q send\r\na=rid:f send\r\na=simulcast:send q;f\r\n")));
        var plain = await pc.CreateAnswerAsync(new AnswerOptions { Send = false });
        Assert.DoesNotContain(plain.Media[0].Attributes, a => a.Name is "simulcast" or "rid");
        Assert.Contains(pc.NegotiationWarnings, w => w.Contains("without the rtp-stream-id extension", StringComparison.Ordinal));
        Assert.Empty(pc.ReceiveVideo!.Rids);
    }

    [Fact]
    public async Task A_simulcast_sender_whose_answer_takes_no_simulcast_falls_back_to_one_stream()
    {
        // The answerer never sees the RID extension, so it answers without simulcast (RFC 8853 §5.3): the sender must
        // still send — its largest layer, as one stream without RIDs.
        await using var client = new PeerConnection(new PeerConnectionOptions { Addresses = [IPAddress.Loopback], SendLayers = ["q", "h", "f"] });
        await using var server = new PeerConnection(new PeerConnectionOptions { IceLite = true, Addresses = [IPAddress.Loopback] });
        var offer = await client.CreateOfferAsync(new OfferOptions { SeparateSections = true, Receive = false });
        var stripped = string.Join("\r\n", offer.ToString().Split("\r\n").Where(l => !l.Contains("rtp-stream-id", StringComparison.Ordinal)));
        await server.SetRemoteDescriptionAsync(SessionDescription.Parse(stripped, SdpType.Offer));
        var answer = await server.CreateAnswerAsync(new AnswerOptions { Send = false });
        Assert.Empty(server.ReceiveVideo!.Rids);
        await client.SetRemoteDescriptionAsync(SessionDescription.Parse(answer.ToString(), SdpType.Answer));
        await Task.WhenAll(client.ConnectedAsync(), server.ConnectedAsync()).WaitAsync(Bound);
        Assert.Empty(client.SendLayers);

        int delivered = 0;
        server.FrameReceived += (_, _, _) => Interlocked.Increment(ref delivered);
        var frame = new byte[4000];
        frame[0] = 0x10;
        Assert.False(client.SendFrame(frame, 0, "q")); // a smaller layer has nowhere to go
        for (int i = 0; i < 10; i++)
        {
            Assert.True(client.SendFrame(frame, (uint)(i * 3000), i % 2 == 0 ? null : "f"));
            await Task.Delay(5);
        }

        for (int i = 0; i < 500 && Volatile.Read(ref delivered) < 10; i++) // up to 10 s
        {
            await Task.Delay(20);
        }

        Assert.Equal(10, delivered);
        Assert.Equal(0, server.Stats.PacketsUnroutable);
    }

    [Fact]
    public async Task Rtp_with_a_rid_or_mid_no_section_claims_is_counted_and_never_delivered()
    {
        // The client believes the server accepted a layer "x" and that its send section is mid "9"; the server knows
        // only q and mid 1. Every packet the client sends is then unroutable at the server: counted, not delivered.
        await using var client = new PeerConnection(new PeerConnectionOptions { Addresses = [IPAddress.Loopback], SendLayers = ["q", "x"] });
        await using var server = new PeerConnection(new PeerConnectionOptions { IceLite = true, Addresses = [IPAddress.Loopback] });
        var offer = await client.CreateOfferAsync(new OfferOptions { SeparateSections = true, Receive = false });
        var seen = SessionDescription.Parse(offer.ToString().Replace("a=rid:x send\r\n", string.Empty, StringComparison.Ordinal).Replace("send q;x", "send q", StringComparison.Ordinal), SdpType.Offer);
        await server.SetRemoteDescriptionAsync(seen);
        var answer = await server.CreateAnswerAsync(new AnswerOptions { Send = false });
        Assert.Equal(["q"], server.ReceiveVideo!.Rids);
        var told = answer.ToString().Replace("recv q", "recv q;x", StringComparison.Ordinal).Replace("a=rid:q recv\r\n", "a=rid:q recv\r\na=rid:x recv\r\n", StringComparison.Ordinal);
        await client.SetRemoteDescriptionAsync(SessionDescription.Parse(told, SdpType.Answer));
        await Task.WhenAll(client.ConnectedAsync(), server.ConnectedAsync()).WaitAsync(Bound);
        Assert.Equal(["q", "x"], client.SendLayers);

        int delivered = 0;
        server.FrameReceived += (_, _, _) => Interlocked.Increment(ref delivered);
        var frame = new byte[3000];
        frame[0] = 0x10;
        for (int i = 0; i < 20; i++)
        {
            Assert.True(client.SendFrame(frame, (uint)(i * 3000), "x"));
            await Task.Delay(5);
        }

        for (int i = 0; i < 500 && server.Stats.PacketsUnroutable < 20; i++) // up to 10 s
        {
            await Task.Delay(20);
        }

        Assert.True(server.Stats.PacketsUnroutable >= 20, $"{server.Stats.PacketsUnroutable} unroutable");
        Assert.Equal(0, delivered);
        Assert.Empty(server.ReceivedLayers);

        // A known layer on a mid the server does not know: the client's answer now says its send section is mid 9.
        long before = server.Stats.PacketsUnroutable;
        var renamed = told.Replace("a=mid:1\r\n", "a=mid:9\r\n", StringComparison.Ordinal).Replace("BUNDLE 1", "BUNDLE 9", StringComparison.Ordinal);
        await client.SetRemoteDescriptionAsync(SessionDescription.Parse(renamed, SdpType.Answer));
        for (int i = 0; i < 20; i++)
        {
            Assert.True(client.SendFrame(frame, (uint)((i + 100) * 3000), "q"));
            await Task.Delay(5);
        }

        for (int i = 0; i < 50 && server.Stats.PacketsUnroutable < before + 20; i++)
        {
            await Task.Delay(20);
        }

        Assert.True(server.Stats.PacketsUnroutable >= before + 20, $"{server.Stats.PacketsUnroutable - before} unroutable on mid 9");
        Assert.Equal(0, delivered);
        Assert.Equal(PeerConnectionState.Connected, server.State); // nothing escaped the receive loop
    }
}
