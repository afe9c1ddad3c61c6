using System.Net;
using Decart.Rtc.Dtls;
using Decart.Rtc.Rtp;
using Decart.Rtc.Srtp;
using Decart.Rtc.Transport;

namespace Decart.Rtc.Tests.Dtls;

/// <summary>A transport wrapper that drops the first N DTLS datagrams it is asked to send (lost flights).</summary>
internal sealed class LossyTransport(IDatagramTransport inner, int dropFirstDtls) : IDatagramTransport
{
    private int _toDrop = dropFirstDtls;

    public int MaxDatagramSize => inner.MaxDatagramSize;

    public int Dropped { get; private set; }

    public event DatagramHandler? DatagramReceived
    {
        add => inner.DatagramReceived += value;
        remove => inner.DatagramReceived -= value;
    }

    public bool Send(ReadOnlySpan<byte> datagram)
    {
        if (datagram.Length > 0 && datagram[0] is >= 20 and <= 63 && Interlocked.Decrement(ref _toDrop) >= 0)
        {
            Dropped++;
            return true;
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
