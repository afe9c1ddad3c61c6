using System.Net;
using Decart.Rtc.Dtls;
using Decart.Rtc.Rtp;
using Decart.Rtc.Srtp;
using Decart.Rtc.Transport;

namespace Decart.Rtc.Tests.Dtls;

/// <summary>A transport wrapper that drops DTLS datagrams it is asked to send (lost flights): the first N, or the first
/// one a predicate picks; it can also claim a small MTU and records the largest datagram sent.</summary>
internal sealed class LossyTransport(IDatagramTransport inner, int dropFirstDtls, Func<byte[], bool>? dropDatagram = null, int? mtu = null) : IDatagramTransport
{
    private int _toDrop = dropFirstDtls;
    private bool _droppedOne;

    public int MaxDatagramSize => mtu ?? inner.MaxDatagramSize;

    public int LargestSent { get; private set; }

    public int Dropped { get; private set; }

    public event DatagramHandler? DatagramReceived
    {
        add => inner.DatagramReceived += value;
        remove => inner.DatagramReceived -= value;
    }

    public bool Send(ReadOnlySpan<byte> datagram)
    {
        if (datagram.Length > 0 && datagram[0] is >= 20 and <= 63)
        {
            LargestSent = Math.Max(LargestSent, datagram.Length);
            bool pick = !_droppedOne && dropDatagram?.Invoke(datagram.ToArray()) == true;
            _droppedOne |= pick;
            if (Interlocked.Decrement(ref _toDrop) >= 0 || pick)
            {
                Dropped++;
                return true;
            }
        }

        return inner.Send(datagram);
    }

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}

/// <summary>
/// Rewrites one flight of the peer it wraps the way a network and a re-fragmenting sender can: the first time a
/// ServerKeyExchange goes out, it is sent first, followed by a datagram with a short fragment of the same message (as a
/// retransmission cut at a smaller MTU would be), and the ServerHello and Certificate sent before it follow after.
/// </summary>
internal sealed class RecuttingTransport(IDatagramTransport inner) : IDatagramTransport
{
    private readonly List<byte[]> _held = [];
    private bool _done;

    public int MaxDatagramSize => inner.MaxDatagramSize;

    public event DatagramHandler? DatagramReceived
    {
        add => inner.DatagramReceived += value;
        remove => inner.DatagramReceived -= value;
    }

    public bool Send(ReadOnlySpan<byte> datagram)
    {
        // A plain handshake record whose first message is a ServerHello (2), Certificate (11) or ServerKeyExchange (12).
        byte type = datagram.Length > 25 && datagram[0] == 22 && datagram[3] == 0 && datagram[4] == 0 ? datagram[13] : (byte)0;
        if (_done || type is not (2 or 11 or 12))
        {
            return inner.Send(datagram);
        }

        if (type != 12)
        {
            _held.Add(datagram.ToArray());
            return true;
        }

        _done = true;
        inner.Send(datagram);
        var partial = datagram[..(13 + 12 + 10)].ToArray();
        partial[11] = 0;
        partial[12] = 12 + 10;  // the record: one handshake fragment of 10 bytes
        partial[13 + 9] = 0;
        partial[13 + 10] = 0;
        partial[13 + 11] = 10;  // fragment_length 10 at fragment_offset 0 (copied: 0)
        inner.Send(partial);
        foreach (var held in _held)
        {
            inner.Send(held);
        }

        return true;
    }

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}

/// <summary>Sends a corrupted copy of every DTLS datagram (1–4 random bytes changed, anywhere), before the original or after it.</summary>
internal sealed class CorruptingTransport(IDatagramTransport inner, int seed, bool copyFirst) : IDatagramTransport
{
    private readonly Random _random = new(seed);

    public int Corrupted { get; private set; }

    public int MaxDatagramSize => inner.MaxDatagramSize;

    public event DatagramHandler? DatagramReceived
    {
        add => inner.DatagramReceived += value;
        remove => inner.DatagramReceived -= value;
    }

    public bool Send(ReadOnlySpan<byte> datagram)
    {
        if (datagram.Length > 0 && datagram[0] is >= 20 and <= 63)
        {
            var copy = datagram.ToArray();
            lock (_random)
            {
                for (int i = _random.Next(1, 5); i > 0; i--)
                {
                    copy[_random.Next(copy.Length)] = (byte)_random.Next(256);
                }
            }

            Corrupted++;
            if (copyFirst)
            {
                inner.Send(copy);
                return inner.Send(datagram);
            }

            bool sent = inner.Send(datagram);
            inner.Send(copy);
            return sent;
        }

        return inner.Send(datagram);
    }

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}

public sealed class DtlsTests : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private UdpDatagramTransport _a = null!;
    private UdpDatagramTransport _b = null!;

    public Task InitializeAsync()
    {
        _a = new UdpDatagramTransport(new IPEndPoint(IPAddress.Loopback, 0));
        _b = new UdpDatagramTransport(new IPEndPoint(IPAddress.Loopback, 0));
        _a.Connect(_b.LocalEndPoint);
        _b.Connect(_a.LocalEndPoint);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _a.DisposeAsync();
        await _b.DisposeAsync();
    }

    private static readonly DtlsCertificate CertA = DtlsCertificate.Generate();
    private static readonly DtlsCertificate CertB = DtlsCertificate.Generate();

    [Theory]
    [InlineData(DtlsRole.Client, SrtpProfile.AeadAes128Gcm)]
    [InlineData(DtlsRole.Server, SrtpProfile.AeadAes128Gcm)]
    [InlineData(DtlsRole.Client, SrtpProfile.Aes128CmHmacSha1_80)]
    [InlineData(DtlsRole.Server, SrtpProfile.Aes128CmHmacSha1_80)]
    public async Task Handshake_in_both_roles_exports_matching_keys_for_each_profile(DtlsRole roleOfA, SrtpProfile profile)
    {
        var roleOfB = roleOfA == DtlsRole.Client ? DtlsRole.Server : DtlsRole.Client;
        await using var a = new DtlsTransport(_a, roleOfA, CertB.Fingerprint, CertA, [profile]);
        using var demuxB = new PacketDemux(_b); // DTLS up to the handshake, media to SRTP
        await using var b = new DtlsTransport(demuxB.Dtls, roleOfB, CertA.Fingerprint, CertB, [SrtpProfile.AeadAes128Gcm, SrtpProfile.Aes128CmHmacSha1_80]);
        var keys = await Task.WhenAll(a.HandshakeAsync(), b.HandshakeAsync()).WaitAsync(Bound);
        Assert.Equal(profile, keys[0].Profile);
        Assert.Equal(profile, keys[1].Profile);
        Assert.Equal(keys[0].LocalMasterKey, keys[1].RemoteMasterKey);
        Assert.Equal(keys[0].LocalMasterSalt, keys[1].RemoteMasterSalt);
        Assert.Equal(keys[0].RemoteMasterKey, keys[1].LocalMasterKey);
        Assert.NotEqual(keys[0].LocalMasterKey, keys[0].RemoteMasterKey);
        Assert.Equal(DtlsState.Connected, a.State);

        // The exported keys protect real SRTP both ways over the same path.
        using var sa = new SrtpSession(keys[0]);
        using var sb = new SrtpSession(keys[1]);
        var received = new TaskCompletionSource<byte[]>();
        demuxB.MediaReceived += datagram =>
        {
            var copy = datagram.ToArray();
            if (sb.Inbound.UnprotectRtp(copy, copy.Length, out int n) == SrtpError.None)
            {
                received.TrySetResult(copy[..n]);
            }
        };
        var packet = new byte[200];
        int length = new RtpWriter(packet, 96, 1, 2, 3, true).WritePayload("hello srtp"u8);
        sa.Outbound.ProtectRtp(packet, length, out int protectedLength);
        _a.Send(packet.AsSpan(0, protectedLength));
        var got = await received.Task.WaitAsync(Bound);
        Assert.True(RtpHeader.TryParse(got, out var h, out _));
        Assert.Equal("hello srtp"u8.ToArray(), h.Payload(got).ToArray());
    }

    [Theory]
    [InlineData(DtlsRole.Client)]
    [InlineData(DtlsRole.Server)]
    public async Task A_fingerprint_mismatch_fails_clearly_and_exports_nothing(DtlsRole roleOfA)
    {
        var wrong = DtlsCertificate.Generate().Fingerprint; // A expects a certificate B does not have
        await using var a = new DtlsTransport(_a, roleOfA, wrong, CertA);
        await using var b = new DtlsTransport(_b, roleOfA == DtlsRole.Client ? DtlsRole.Server : DtlsRole.Client, CertA.Fingerprint, CertB) { HandshakeTimeout = TimeSpan.FromSeconds(5) };
        var ta = a.HandshakeAsync();
        var tb = b.HandshakeAsync();
        var ex = await Assert.ThrowsAsync<DtlsHandshakeException>(() => ta).WaitAsync(Bound);
        Assert.Contains("fingerprint does not match", ex.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<DtlsHandshakeException>(() => tb).WaitAsync(Bound); // the other side ends too
        Assert.Equal(DtlsState.Failed, a.State);
        Assert.Null(a.NegotiatedProfile);
    }

    [Fact]
    public async Task Lost_handshake_flights_are_retransmitted()
    {
        var lossy = new LossyTransport(_a, dropFirstDtls: 2);
        await using var a = new DtlsTransport(lossy, DtlsRole.Client, CertB.Fingerprint, CertA);
        await using var b = new DtlsTransport(_b, DtlsRole.Server, CertA.Fingerprint, CertB);
        var keys = await Task.WhenAll(a.HandshakeAsync(), b.HandshakeAsync()).WaitAsync(Bound);
        Assert.Equal(2, lossy.Dropped);
        Assert.Equal(keys[0].LocalMasterKey, keys[1].RemoteMasterKey);
    }

    [Fact]
    public async Task Garbage_and_rtp_during_the_handshake_do_not_break_it()
    {
        await using var a = new DtlsTransport(_a, DtlsRole.Client, CertB.Fingerprint, CertA);
        using var demuxB = new PacketDemux(_b);
        await using var b = new DtlsTransport(demuxB.Dtls, DtlsRole.Server, CertA.Fingerprint, CertB);
        int rtpSeen = 0;
        demuxB.MediaReceived += _ => Interlocked.Increment(ref rtpSeen);
        var handshake = Task.WhenAll(a.HandshakeAsync(), b.HandshakeAsync());
        var rng = new Random(1);
        for (int i = 0; i < 50; i++)
        {
            var junk = new byte[rng.Next(1, 300)];
            rng.NextBytes(junk);
            junk[0] = (byte)(i % 2 == 0 ? 22 : 0x80); // fake DTLS handshake records and RTP-looking packets
            _a.Send(junk);
        }

        await handshake.WaitAsync(Bound);

        // The RTP-looking datagrams went to media, not to DTLS (the handshake can finish before the last of them is
        // read: a clean-clone run saw 17 of 25 at that moment, so this waits for them, bounded).
        var deadline = DateTime.UtcNow + Bound;
        while (Volatile.Read(ref rtpSeen) < 20 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        Assert.True(rtpSeen >= 20, $"rtp seen {rtpSeen}");
    }

    [Fact]
    public async Task Close_notify_reaches_the_peer()
    {
        await using var a = new DtlsTransport(_a, DtlsRole.Client, CertB.Fingerprint, CertA);
        await using var b = new DtlsTransport(_b, DtlsRole.Server, CertA.Fingerprint, CertB);
        await Task.WhenAll(a.HandshakeAsync(), b.HandshakeAsync()).WaitAsync(Bound);
        var closed = new TaskCompletionSource();
        b.StateChanged += s =>
        {
            if (s == DtlsState.Closed)
            {
                closed.TrySetResult();
            }
        };
        await a.CloseAsync();
        await closed.Task.WaitAsync(Bound);
        Assert.Equal(DtlsState.Closed, b.State);
    }

    [Fact]
    public async Task Cancelling_a_handshake_with_a_silent_peer_ends_promptly()
    {
        await using var a = new DtlsTransport(_a, DtlsRole.Client, CertB.Fingerprint, CertA);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => a.HandshakeAsync(cts.Token)).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(DtlsState.Failed, a.State);
    }

    [Theory]
    [InlineData(SrtpProfile.AeadAes128Gcm, true)]
    [InlineData(SrtpProfile.Aes128CmHmacSha1_80, true)]
    [InlineData(SrtpProfile.AeadAes128Gcm, false)]
    public async Task Our_client_hand_shakes_with_an_independent_server_with_and_without_a_cookie_exchange(SrtpProfile profile, bool cookie)
    {
        // BouncyCastle's DTLS server (a second implementation) asks for a cookie first unless told not to.
        await using var ours = new DtlsTransport(_a, DtlsRole.Client, CertB.Fingerprint, CertA);
        await using var theirs = new BouncyCastleDtls(_b, DtlsRole.Server, CertA.Fingerprint, CertB, [profile]) { AskCookie = cookie };
        var keys = await Task.WhenAll(ours.HandshakeAsync(), theirs.HandshakeAsync()).WaitAsync(Bound);
        Assert.Equal(profile, keys[0].Profile);
        AssertMirrored(keys[0], keys[1]);
        await AssertSrtpFlowsAsync(keys[0], keys[1]);
        Assert.Equal(DtlsState.Connected, ours.State);
    }

    [Theory]
    [InlineData(SrtpProfile.AeadAes128Gcm)]
    [InlineData(SrtpProfile.Aes128CmHmacSha1_80)]
    public async Task Our_server_hand_shakes_with_an_independent_client(SrtpProfile profile)
    {
        await using var ours = new DtlsTransport(_a, DtlsRole.Server, CertB.Fingerprint, CertA, [profile]);
        await using var theirs = new BouncyCastleDtls(_b, DtlsRole.Client, CertA.Fingerprint, CertB);
        var keys = await Task.WhenAll(ours.HandshakeAsync(), theirs.HandshakeAsync()).WaitAsync(Bound);
        Assert.Equal(profile, keys[0].Profile);
        AssertMirrored(keys[0], keys[1]);
        await AssertSrtpFlowsAsync(keys[1], keys[0]);

        // Our close_notify is understood by the other implementation.
        var closed = new TaskCompletionSource();
        theirs.StateChanged += s =>
        {
            if (s == DtlsState.Closed)
            {
                closed.TrySetResult();
            }
        };
        await ours.CloseAsync();
        await closed.Task.WaitAsync(Bound);
    }

    [Fact]
    public async Task Our_server_answers_a_client_that_offers_an_mki_with_the_same_mki()
    {
        // RFC 5764 §4.1.3: a client aborts when the server's MKI differs from the one it offered.
        await using var ours = new DtlsTransport(_a, DtlsRole.Server, CertB.Fingerprint, CertA);
        await using var theirs = new BouncyCastleDtls(_b, DtlsRole.Client, CertA.Fingerprint, CertB) { Mki = [7, 8, 9] };
        var keys = await Task.WhenAll(ours.HandshakeAsync(), theirs.HandshakeAsync()).WaitAsync(Bound);
        AssertMirrored(keys[0], keys[1]);
        Assert.Equal([7, 8, 9], theirs.ServerMki);
    }

    [Fact]
    public void The_process_certificate_is_renewed_a_day_before_it_ends()
    {
        var now = DateTimeOffset.UtcNow;
        var current = DtlsCertificate.Default;
        Assert.InRange(current.Expires, now.AddDays(28), now.AddDays(31));
        Assert.False(DtlsCertificate.NeedsRenewal(current, now));
        Assert.True(DtlsCertificate.NeedsRenewal(current, current.Expires.AddHours(-12)));
        Assert.True(DtlsCertificate.NeedsRenewal(null, now));
    }

    [Fact]
    public async Task Messages_fragmented_to_a_small_mtu_are_reassembled_by_either_implementation()
    {
        // Our flights through a 300-byte path: the certificate (~400 bytes) and the server's flight are cut into
        // fragments an independent implementation must put back together; its own flights, cut at 300 bytes, ours.
        var small = new LossyTransport(_a, 0, mtu: 300);
        await using var ours = new DtlsTransport(small, DtlsRole.Server, CertB.Fingerprint, CertA);
        await using var theirs = new BouncyCastleDtls(_b, DtlsRole.Client, CertA.Fingerprint, CertB) { SendLimit = 300 };
        var keys = await Task.WhenAll(ours.HandshakeAsync(), theirs.HandshakeAsync()).WaitAsync(Bound);
        AssertMirrored(keys[0], keys[1]);
        Assert.InRange(small.LargestSent, 100, 300);

        // And ours against ours through the same small path.
        var (c, d) = (new UdpDatagramTransport(new IPEndPoint(IPAddress.Loopback, 0)), new UdpDatagramTransport(new IPEndPoint(IPAddress.Loopback, 0)));
        await using var disposeC = c;
        await using var disposeD = d;
        c.Connect(d.LocalEndPoint);
        d.Connect(c.LocalEndPoint);
        var smallC = new LossyTransport(c, 0, mtu: 256);
        var smallD = new LossyTransport(d, 0, mtu: 256);
        await using var client = new DtlsTransport(smallC, DtlsRole.Client, CertB.Fingerprint, CertA);
        await using var server = new DtlsTransport(smallD, DtlsRole.Server, CertA.Fingerprint, CertB);
        keys = await Task.WhenAll(client.HandshakeAsync(), server.HandshakeAsync()).WaitAsync(Bound);
        AssertMirrored(keys[0], keys[1]);
        Assert.InRange(smallC.LargestSent, 100, 256);
        Assert.InRange(smallD.LargestSent, 100, 256);
    }

    [Fact]
    public async Task A_lost_last_flight_is_sent_again_when_the_client_repeats_its_own()
    {
        // Our server's last flight (ChangeCipherSpec + Finished, the one datagram that starts with a change_cipher_spec
        // record) is lost: the client repeats its flight on its timer, and the server, already connected, answers it.
        var lossy = new LossyTransport(_b, 0, dropDatagram: d => d[0] == 20);
        await using var client = new DtlsTransport(_a, DtlsRole.Client, CertB.Fingerprint, CertA);
        await using var server = new DtlsTransport(lossy, DtlsRole.Server, CertA.Fingerprint, CertB);
        var keys = await Task.WhenAll(client.HandshakeAsync(), server.HandshakeAsync()).WaitAsync(Bound);
        Assert.Equal(1, lossy.Dropped);
        AssertMirrored(keys[0], keys[1]);
        Assert.Equal(DtlsState.Connected, client.State);
    }

    [Fact]
    public async Task No_common_srtp_profile_fails_both_sides_with_the_reason()
    {
        await using var ours = new DtlsTransport(_a, DtlsRole.Server, CertB.Fingerprint, CertA, [SrtpProfile.AeadAes128Gcm]);
        await using var theirs = new BouncyCastleDtls(_b, DtlsRole.Client, CertA.Fingerprint, CertB, [SrtpProfile.Aes128CmHmacSha1_80]) { HandshakeTimeout = TimeSpan.FromSeconds(5) };
        var server = ours.HandshakeAsync();
        var client = theirs.HandshakeAsync();
        var ex = await Assert.ThrowsAsync<DtlsHandshakeException>(() => server).WaitAsync(Bound);
        Assert.Contains("no SRTP profile we support", ex.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<DtlsHandshakeException>(() => client).WaitAsync(Bound);
        Assert.Equal(DtlsState.Failed, ours.State);
    }

    [Theory]
    [InlineData(DtlsRole.Server, true)]
    [InlineData(DtlsRole.Client, true)]
    [InlineData(DtlsRole.Server, false)]
    [InlineData(DtlsRole.Client, false)]
    public async Task Corrupted_copies_of_every_datagram_end_in_keys_or_a_typed_error_never_a_hang(DtlsRole ours, bool copyFirst)
    {
        // Bad input tried: beside each of the independent peer's datagrams, a copy with 1-4 random bytes changed
        // (record headers, handshake headers, lengths, bodies, ciphertext), 25 seeds per case. DTLS has no integrity
        // before the keys: a corrupted copy that arrives first and still parses takes the original's place and the
        // handshake fails at the Finished — with the typed error. Arriving second, it is a repeat or is dropped, and the
        // handshake goes through. Either way both ends finish and nothing escapes.
        int connected = 0, failed = 0;
        for (int seed = 0; seed < 25; seed++)
        {
            var (c, d) = (new UdpDatagramTransport(new IPEndPoint(IPAddress.Loopback, 0)), new UdpDatagramTransport(new IPEndPoint(IPAddress.Loopback, 0)));
            await using var disposeC = c;
            await using var disposeD = d;
            c.Connect(d.LocalEndPoint);
            d.Connect(c.LocalEndPoint);
            var corrupting = new CorruptingTransport(d, seed, copyFirst);
            await using var mine = new DtlsTransport(c, ours, CertB.Fingerprint, CertA) { HandshakeTimeout = TimeSpan.FromSeconds(5) };
            await using var theirs = new BouncyCastleDtls(corrupting, ours == DtlsRole.Server ? DtlsRole.Client : DtlsRole.Server, CertA.Fingerprint, CertB) { HandshakeTimeout = TimeSpan.FromSeconds(5) };
            var handshake = mine.HandshakeAsync();
            var other = theirs.HandshakeAsync();
            try
            {
                await handshake.WaitAsync(Bound);
                Assert.Equal(DtlsState.Connected, mine.State);
                connected++;
            }
            catch (DtlsHandshakeException ex)
            {
                Assert.StartsWith("DTLS ", ex.Message, StringComparison.Ordinal);
                Assert.DoesNotContain("timed out", ex.Message, StringComparison.Ordinal); // ended by what it read, not by waiting
                Assert.Equal(DtlsState.Failed, mine.State);
                failed++;
            }

            await Task.WhenAny(other, Task.Delay(Bound)); // the other side ends too (keys, its own error or its timeout)
            Assert.True(other.IsCompleted, $"seed {seed}: the independent peer is still hand-shaking");
            Assert.True(corrupting.Corrupted > 0);
        }

        Assert.Equal(25, connected + failed);
        if (!copyFirst)
        {
            Assert.True(connected >= 20, $"{connected} of 25 handshakes got through with the corrupted copies second");
        }
    }

    [Fact]
    public async Task A_malformed_client_hello_fails_the_handshake_with_a_decode_error_and_nothing_hangs()
    {
        // Bad input tried: a ClientHello whose cipher-suite vector runs past the message's end (a hand-made record on
        // the wire), after a record whose length runs past the datagram and a handshake fragment longer than its record
        // (both dropped without a word).
        await using var ours = new DtlsTransport(_a, DtlsRole.Server, CertB.Fingerprint, CertA) { HandshakeTimeout = TimeSpan.FromSeconds(10) };
        var handshake = ours.HandshakeAsync();
        _b.Send([22, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 0, 0x40, 0x00, 1, 2, 3]);
        _b.Send([22, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 1, 0, 12, 1, 0, 0, 50, 0, 0, 0, 0, 0, 0, 0, 50]);
        var body = new byte[2 + 32 + 1 + 1 + 2];
        body[0] = 0xFE;
        body[1] = 0xFD;
        body[^2] = 0x10; // a cipher-suite vector of 4,096 bytes, of which none follow
        var record = new byte[13 + 12 + body.Length];
        record[0] = 22;
        record[1] = 0xFE;
        record[2] = 0xFD;
        record[10] = 2;
        record[11] = 0;
        record[12] = (byte)(12 + body.Length);
        record[13] = 1; // ClientHello
        record[16] = (byte)body.Length;
        record[24] = (byte)body.Length;
        body.CopyTo(record, 25);
        _b.Send(record);
        var ex = await Assert.ThrowsAsync<DtlsHandshakeException>(() => handshake).WaitAsync(Bound);
        Assert.Contains("truncated", ex.Message, StringComparison.Ordinal);
        Assert.Equal(DtlsState.Failed, ours.State);
    }

    [Fact]
    public async Task A_whole_message_followed_by_a_fragment_of_it_still_counts_as_whole()
    {
        // Found by review: a message that arrived whole ahead of its turn, then a shorter fragment of it (a repeat cut
        // differently), used to count its bytes twice and never be complete again — the handshake waited until its
        // timeout. Here an independent server's flight arrives reordered, with such a fragment in between.
        var recut = new RecuttingTransport(_b);
        await using var ours = new DtlsTransport(_a, DtlsRole.Client, CertB.Fingerprint, CertA) { HandshakeTimeout = TimeSpan.FromSeconds(20) };
        await using var theirs = new BouncyCastleDtls(recut, DtlsRole.Server, CertA.Fingerprint, CertB) { AskCookie = false };
        var keys = await Task.WhenAll(ours.HandshakeAsync(), theirs.HandshakeAsync()).WaitAsync(Bound); // stuck, it timed out
        AssertMirrored(keys[0], keys[1]);
    }

    [Fact]
    public async Task A_state_handler_that_throws_does_not_keep_the_handshake_from_returning()
    {
        await using var a = new DtlsTransport(_a, DtlsRole.Client, CertB.Fingerprint, CertA);
        await using var b = new DtlsTransport(_b, DtlsRole.Server, CertA.Fingerprint, CertB);
        a.StateChanged += s => throw new InvalidOperationException($"a handler's bug on {s}");
        var keys = await Task.WhenAll(a.HandshakeAsync(), b.HandshakeAsync()).WaitAsync(Bound);
        AssertMirrored(keys[0], keys[1]);
        Assert.Equal(DtlsState.Connected, a.State);
    }

    private static void AssertMirrored(SrtpKeyingMaterial one, SrtpKeyingMaterial other)
    {
        Assert.Equal(one.Profile, other.Profile);
        Assert.Equal(one.LocalMasterKey, other.RemoteMasterKey);
        Assert.Equal(one.LocalMasterSalt, other.RemoteMasterSalt);
        Assert.Equal(one.RemoteMasterKey, other.LocalMasterKey);
        Assert.Equal(one.RemoteMasterSalt, other.LocalMasterSalt);
        Assert.NotEqual(one.LocalMasterKey, one.RemoteMasterKey);
    }

    /// <summary>A packet protected with <paramref name="sender"/>'s keys opens with <paramref name="receiver"/>'s.</summary>
    private static async Task AssertSrtpFlowsAsync(SrtpKeyingMaterial sender, SrtpKeyingMaterial receiver)
    {
        using var s = new SrtpSession(sender);
        using var r = new SrtpSession(receiver);
        var packet = new byte[200];
        int length = new RtpWriter(packet, 96, 7, 8, 9, true).WritePayload("both ways"u8);
        Assert.Equal(SrtpError.None, s.Outbound.ProtectRtp(packet, length, out int protectedLength));
        Assert.Equal(SrtpError.None, r.Inbound.UnprotectRtp(packet, protectedLength, out int n));
        Assert.True(RtpHeader.TryParse(packet.AsSpan(0, n), out var h, out _));
        Assert.Equal("both ways"u8.ToArray(), h.Payload(packet.AsSpan(0, n)).ToArray());
        await Task.CompletedTask;
    }

    [Fact]
    public void Fingerprints_have_the_rfc_8122_form_and_parse_back()
    {
        Assert.Matches("^sha-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}$", CertA.Fingerprint);
        Assert.True(DtlsCertificate.TryParseFingerprint(CertA.Fingerprint.ToLowerInvariant(), out var algorithm, out var digest));
        Assert.Equal(("sha-256", 32), (algorithm, digest.Length));
        Assert.True(DtlsCertificate.Matches(CertA.Der, CertA.Fingerprint.ToLowerInvariant()));
        Assert.False(DtlsCertificate.Matches(CertA.Der, CertB.Fingerprint));
        Assert.False(DtlsCertificate.Matches(CertA.Der, "sha-256 zz:11"));
        Assert.False(DtlsCertificate.Matches(CertA.Der, "md5 " + CertA.Fingerprint[8..]));
        Assert.False(DtlsCertificate.Matches(CertA.Der, null));
        Assert.Same(DtlsCertificate.Default, DtlsCertificate.Default);
        Assert.Equal(DtlsCertificate.Default.Fingerprint, DtlsCertificate.Default.Fingerprint);
    }
}
