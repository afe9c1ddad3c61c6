using System.Buffers.Binary;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Channels;
using Decart.Rtc.Srtp;
using Decart.Rtc.Transport;

namespace Decart.Rtc.Dtls;

/// <summary>Which side of the DTLS handshake we are (from SDP <c>a=setup</c>: active = client, passive = server).</summary>
public enum DtlsRole
{
    /// <summary>DTLS client (<c>a=setup:active</c>).</summary>
    Client,

    /// <summary>DTLS server (<c>a=setup:passive</c>).</summary>
    Server,
}

/// <summary>State of a DTLS association.</summary>
public enum DtlsState
{
    /// <summary>Not started.</summary>
    New,

    /// <summary>Handshaking.</summary>
    Connecting,

    /// <summary>Keys exported; media can flow.</summary>
    Connected,

    /// <summary>Closed by either side (close_notify) or by us.</summary>
    Closed,

    /// <summary>Handshake or connection failed (fatal alert, fingerprint mismatch, timeout).</summary>
    Failed,
}

/// <summary>A DTLS handshake or connection failure.</summary>
public sealed class DtlsHandshakeException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="inner">The underlying failure.</param>
    public DtlsHandshakeException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}

/// <summary>
/// DTLS 1.2 with <c>use_srtp</c> over an <see cref="IDatagramTransport"/> (RFC 6347, RFC 5764), written for WebRTC on
/// the platform's cryptography: ECDHE on P-256, ECDSA certificates checked against the peer's SDP fingerprint on
/// both sides, AES-128-GCM records, the extended master secret (RFC 7627), SRTP keys exported after the handshake.
/// Flights are retransmitted on a doubling timer and when the peer repeats its own; a server answers without a
/// cookie exchange (ICE has already proven the path), a client follows one. It reads DTLS records only (RFC 7983
/// first byte 20–63) and ignores anything else: on a shared path a <see cref="Transport.PacketDemux"/> below it hands
/// media to SRTP.
/// </summary>
public sealed class DtlsTransport : IAsyncDisposable
{
    private const int MaxMessageLength = 32 * 1024;
    private const int MaxMessagesAhead = 16;
    private const int MaxDeferredRecords = 16;
    private static readonly TimeSpan FirstRetransmit = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan LastRetransmit = TimeSpan.FromSeconds(8);
    private static readonly TimeSpan RepeatAnswerGap = TimeSpan.FromMilliseconds(100);

    private readonly IDatagramTransport _path;
    private readonly DtlsRole _role;
    private readonly DtlsCertificate _certificate;
    private readonly string _remoteFingerprint;
    private readonly SrtpProfile[] _profiles;
    private readonly int _mtu;
    private readonly Channel<byte[]> _incoming = Channel.CreateBounded<byte[]>(
        new BoundedChannelOptions(256) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });

    private readonly StateMachine<DtlsState> _state = new(DtlsState.New, DtlsState.Failed, DtlsState.Closed);
    private readonly Lock _send = new();
    private readonly Dictionary<int, Reassembly> _messages = [];
    private readonly List<byte[]> _deferred = [];
    private readonly MemoryStream _transcript = new();
    private Task? _loop;
    private Task<bool>? _waiting;
    private string? _failure;
    private volatile bool _handshakeDone;
    private bool _disposed;

    // The record layer: one write and one read cipher for epoch 1, a sequence number per epoch, a replay window.
    private DtlsRecordCipher? _writeCipher;
    private DtlsRecordCipher? _readCipher;
    private ulong _writeSequence0;
    private ulong _writeSequence1;
    private bool _readAny;
    private ulong _readTop;
    private ulong _readWindow;

    // The handshake: message sequence numbers, the last flight sent, its retransmission timer.
    private int _nextReceive;
    private int _nextSend;
    private List<Outgoing> _flight = [];
    private TimeSpan _retransmitAfter = FirstRetransmit;
    private long _retransmitAt;
    private bool _peerRepeated;
    private long _lastRepeatAnswer;
    private byte[] _clientRandom = [];
    private byte[] _serverRandom = [];
    private byte[] _master = [];

    /// <summary>Creates the transport; nothing is sent until <see cref="HandshakeAsync"/>.</summary>
    /// <param name="path">The selected ICE pair or a direct UDP link.</param>
    /// <param name="role">Our DTLS role.</param>
    /// <param name="remoteFingerprint">The peer's SDP <c>a=fingerprint</c>.</param>
    /// <param name="certificate">Our certificate (default: the process-wide one).</param>
    /// <param name="profiles">SRTP profiles in our order of preference (default GCM, then AES-CM).</param>
    public DtlsTransport(IDatagramTransport path, DtlsRole role, string remoteFingerprint, DtlsCertificate? certificate = null, IReadOnlyList<SrtpProfile>? profiles = null)
    {
        _path = path ?? throw new ArgumentNullException(nameof(path));
        _role = role;
        _remoteFingerprint = remoteFingerprint ?? throw new ArgumentNullException(nameof(remoteFingerprint));
        _certificate = certificate ?? DtlsCertificate.Default;
        _profiles = (profiles ?? [SrtpProfile.AeadAes128Gcm, SrtpProfile.Aes128CmHmacSha1_80]).ToArray();
        _mtu = Math.Clamp(path.MaxDatagramSize, 256, 1200);
        _path.DatagramReceived += OnDatagram;
    }

    /// <summary>Raised on every state change.</summary>
    public event Action<DtlsState>? StateChanged;

    /// <summary>The current state.</summary>
    public DtlsState State => _state.Current;

    /// <summary>Why the transport failed, when it did.</summary>
    public string? FailureReason => _failure;

    /// <summary>The negotiated profile after the handshake.</summary>
    public SrtpProfile? NegotiatedProfile { get; private set; }

    /// <summary>How long the whole handshake may take. Default 15 s.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>The handshake's messages so far, as both sides hash and sign them.</summary>
    private ReadOnlySpan<byte> Transcript => _transcript.GetBuffer().AsSpan(0, (int)_transcript.Length);

    /// <summary>Runs the handshake and returns the SRTP keys, oriented local/remote by our role.</summary>
    /// <param name="cancellationToken">Cancels the handshake (the transport then fails).</param>
    /// <returns>The keying material.</returns>
    /// <exception cref="DtlsHandshakeException">On a fingerprint mismatch, a fatal alert, a timeout, or no common SRTP profile.</exception>
    public async Task<SrtpKeyingMaterial> HandshakeAsync(CancellationToken cancellationToken = default)
    {
        if (!_state.TryMove(DtlsState.New, DtlsState.Connecting))
        {
            throw new InvalidOperationException("the handshake has already run");
        }

        Notify(DtlsState.Connecting);
        var done = new TaskCompletionSource<SrtpKeyingMaterial>(TaskCreationOptions.RunContinuationsAsynchronously);
        using (ExecutionContext.SuppressFlow())
        {
            _loop = Task.Run(() => RunAsync(done));
        }

        using var registration = cancellationToken.Register(() => Abort("handshake cancelled"));
        using var timeout = new CancellationTokenSource(HandshakeTimeout);
        using var timeoutRegistration = timeout.Token.Register(() => Abort("handshake timed out"));
        try
        {
            return await done.Task.ConfigureAwait(false);
        }
        catch (DtlsHandshakeException) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException("DTLS handshake cancelled", cancellationToken);
        }
    }

    /// <summary>Sends close_notify and stops.</summary>
    /// <returns>A completed task.</returns>
    public Task CloseAsync()
    {
        if (State == DtlsState.Connected)
        {
            SendAlert(DtlsWire.AlertWarning, DtlsWire.CloseNotify);
        }

        SetState(DtlsState.Closed);
        Shutdown();
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await CloseAsync().ConfigureAwait(false);
        _path.DatagramReceived -= OnDatagram;
        if (_loop is { } loop)
        {
            await loop.WaitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        lock (_send)
        {
            _disposed = true;
            _writeCipher?.Dispose();
        }

        if (_loop is null || _loop.IsCompleted)
        {
            _readCipher?.Dispose();
        }
    }

    private async Task RunAsync(TaskCompletionSource<SrtpKeyingMaterial> done)
    {
        try
        {
            var keys = _role == DtlsRole.Client ? await ClientHandshakeAsync().ConfigureAwait(false) : await ServerHandshakeAsync().ConfigureAwait(false);
            CryptographicOperations.ZeroMemory(_master);
            _handshakeDone = true;

            // Closed or timed out while the last message was on its way: no keys for a transport that is gone.
            if (_incoming.Reader.Completion.IsCompleted || !_state.TryMove(DtlsState.Connecting, DtlsState.Connected))
            {
                throw new DtlsFailure(byte.MaxValue, _failure ?? "the transport was closed during the handshake");
            }

            NegotiatedProfile = keys.Profile;
            done.TrySetResult(keys); // first: a state handler that throws must not leave the caller waiting
            Notify(DtlsState.Connected);
        }
        catch (Exception ex)
        {
            string reason = _failure ?? (ex is DtlsFailure ? ex.Message : $"handshake failed: {ex.Message}");
            _failure ??= reason;
            byte alert = ex switch
            {
                DtlsFailure failure => failure.Alert,
                CryptographicException => DtlsWire.HandshakeFailure,
                _ => DtlsWire.InternalError,
            };
            if (alert != byte.MaxValue)
            {
                SendAlert(DtlsWire.AlertFatal, alert);
            }

            bool failed = _state.TryMove(DtlsState.Failed);
            Shutdown();
            done.TrySetException(new DtlsHandshakeException($"DTLS {reason}.", ex));
            if (failed)
            {
                Notify(DtlsState.Failed);
            }

            return;
        }

        // Connected: what still comes is a close_notify or a fatal alert, or (to a server) the client's last flight
        // again because our answer to it was lost.
        var reader = _incoming.Reader;
        while (true)
        {
            var waiting = _waiting ?? reader.WaitToReadAsync().AsTask();
            _waiting = null;
            if (!await waiting.ConfigureAwait(false))
            {
                break;
            }

            while (reader.TryRead(out var datagram))
            {
                Process(datagram);
                if (_peerRepeated)
                {
                    _peerRepeated = false;
                    if (_role == DtlsRole.Server)
                    {
                        AnswerRepeat();
                    }
                }
            }
        }

        // The queue was closed: by CloseAsync (already Closed), a fatal alert (stays Failed) or the peer's close_notify.
        if (_state.TryMove(DtlsState.Connected, DtlsState.Closed))
        {
            Notify(DtlsState.Closed);
        }
    }

    private async Task<SrtpKeyingMaterial> ClientHandshakeAsync()
    {
        _clientRandom = RandomNumberGenerator.GetBytes(32);
        byte[] hello = Message(DtlsWire.ClientHello, ClientHelloBody([]));
        SendFlight([Handshake(hello)]);
        var message = await NextMessageAsync().ConfigureAwait(false);
        if (message.Type == DtlsWire.HelloVerifyRequest)
        {
            // The server asks us to prove the address with its cookie: the same hello again, with it. The first hello
            // and the request are not part of the handshake's transcript (RFC 6347 §4.2.1).
            var request = new WireReader(message.Body);
            request.U16();
            byte[] cookie = request.Vector8().ToArray();
            request.End("HelloVerifyRequest");
            hello = Message(DtlsWire.ClientHello, ClientHelloBody(cookie));
            SendFlight([Handshake(hello)]);
            message = await NextMessageAsync().ConfigureAwait(false);
        }

        _transcript.Write(hello);
        Expect(message, DtlsWire.ServerHello);
        var (profile, extendedMaster) = ReadServerHello(message.Body);
        Record(message);
        message = await NextAsync(DtlsWire.Certificate).ConfigureAwait(false);
        using var peerKey = ReadCertificate(message.Body);
        message = await NextAsync(DtlsWire.ServerKeyExchange).ConfigureAwait(false);
        byte[] serverShare = ReadServerKeyExchange(message.Body, peerKey);
        message = await NextMessageAsync().ConfigureAwait(false);
        bool certificateAsked = message.Type == DtlsWire.CertificateRequest;
        if (certificateAsked)
        {
            Record(message);
            ReadCertificateRequest(message.Body);
            message = await NextMessageAsync().ConfigureAwait(false);
        }

        Expect(message, DtlsWire.ServerHelloDone);
        if (message.Body.Length != 0)
        {
            throw new DtlsFailure(DtlsWire.DecodeError, "the server's hello-done is not empty");
        }

        Record(message);

        using var ecdh = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        byte[] premaster = Agree(ecdh, serverShare);
        var flight = new List<Outgoing>();
        if (certificateAsked)
        {
            flight.Add(Handshake(Own(Message(DtlsWire.Certificate, CertificateBody()))));
        }

        var share = new WireWriter();
        int mark = share.Begin(1);
        share.Bytes(PublicPoint(ecdh));
        share.End(mark);
        flight.Add(Handshake(Own(Message(DtlsWire.ClientKeyExchange, share.ToArray()))));
        byte[] sessionHash = SHA256.HashData(Transcript); // through the ClientKeyExchange: the master secret's and our signature's
        DeriveMaster(premaster, extendedMaster, sessionHash);
        if (certificateAsked)
        {
            flight.Add(Handshake(Own(Message(DtlsWire.CertificateVerify, SignedBody(sessionHash)))));
        }

        var (clientKey, serverKey, clientSalt, serverSalt) = KeyBlock();
        InstallRead(serverKey, serverSalt);
        flight.Add(new Outgoing(DtlsWire.ChangeCipherSpec, false, [1]));
        flight.Add(new Outgoing(DtlsWire.Handshake, true, Own(Message(DtlsWire.Finished, VerifyData("client finished")))));
        lock (_send)
        {
            _writeCipher = new DtlsRecordCipher(clientKey, clientSalt);
        }

        SendFlight(flight);
        message = await NextMessageAsync().ConfigureAwait(false);
        CheckFinished(message, "server finished");
        return Export(profile);
    }

    private async Task<SrtpKeyingMaterial> ServerHandshakeAsync()
    {
        var message = await NextMessageAsync().ConfigureAwait(false);
        Expect(message, DtlsWire.ClientHello);
        var offer = ReadClientHello(message.Body);
        Record(message);
        _serverRandom = RandomNumberGenerator.GetBytes(32);
        using var ecdh = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        SendFlight(
        [
            Handshake(Own(Message(DtlsWire.ServerHello, ServerHelloBody(offer)))),
            Handshake(Own(Message(DtlsWire.Certificate, CertificateBody()))),
            Handshake(Own(Message(DtlsWire.ServerKeyExchange, ServerKeyExchangeBody(ecdh)))),
            Handshake(Own(Message(DtlsWire.CertificateRequest, CertificateRequestBody()))),
            Handshake(Own(Message(DtlsWire.ServerHelloDone, []))),
        ]);

        message = await NextAsync(DtlsWire.Certificate).ConfigureAwait(false);
        using var peerKey = ReadCertificate(message.Body);
        message = await NextAsync(DtlsWire.ClientKeyExchange).ConfigureAwait(false);
        var exchange = new WireReader(message.Body);
        byte[] clientShare = exchange.Vector8().ToArray();
        exchange.End("ClientKeyExchange");
        DeriveMaster(Agree(ecdh, clientShare), offer.ExtendedMaster, SHA256.HashData(Transcript));
        message = await NextMessageAsync().ConfigureAwait(false);
        Expect(message, DtlsWire.CertificateVerify);
        var verify = new WireReader(message.Body);
        ushort scheme = verify.U16();
        var signature = verify.Vector16();
        verify.End("CertificateVerify");
        if (!Verifies(peerKey, scheme, Transcript, signature))
        {
            throw new DtlsFailure(DtlsWire.DecryptError, "the client's certificate-verify signature does not verify");
        }

        Record(message);
        var (clientKey, serverKey, clientSalt, serverSalt) = KeyBlock();
        InstallRead(clientKey, clientSalt);
        message = await NextMessageAsync().ConfigureAwait(false);
        CheckFinished(message, "client finished");
        lock (_send)
        {
            _writeCipher = new DtlsRecordCipher(serverKey, serverSalt);
        }

        SendFlight(
        [
            new Outgoing(DtlsWire.ChangeCipherSpec, false, [1]),
            new Outgoing(DtlsWire.Handshake, true, Own(Message(DtlsWire.Finished, VerifyData("server finished")))),
        ]);
        return Export(offer.Profile);
    }

    // ---- Messages ----

    private byte[] ClientHelloBody(byte[] cookie)
    {
        var w = new WireWriter();
        w.U16(DtlsWire.Version12);
        w.Bytes(_clientRandom);
        w.U8(0); // no session to resume
        int at = w.Begin(1);
        w.Bytes(cookie);
        w.End(at);
        at = w.Begin(2);
        w.U16(DtlsWire.EcdheEcdsaAes128GcmSha256);
        w.End(at);
        w.U8(1);
        w.U8(0); // null compression
        int extensions = w.Begin(2);
        Extension(w, DtlsWire.ExtRenegotiationInfo, [0]);
        Extension(w, DtlsWire.ExtExtendedMasterSecret, []);
        Extension(w, DtlsWire.ExtSupportedGroups, [0, 2, 0, (byte)DtlsWire.Secp256r1]);
        Extension(w, DtlsWire.ExtEcPointFormats, [1, 0]);
        Extension(w, DtlsWire.ExtSignatureAlgorithms, [0, 4, 4, 3, 5, 3]);
        Extension(w, DtlsWire.ExtUseSrtp, UseSrtp(_profiles));
        w.End(extensions);
        return w.ToArray();
    }

    private (SrtpProfile Profile, bool ExtendedMaster) ReadServerHello(byte[] body)
    {
        var r = new WireReader(body);
        if (r.U16() != DtlsWire.Version12)
        {
            throw new DtlsFailure(DtlsWire.ProtocolVersion, "the server chose a version other than DTLS 1.2");
        }

        _serverRandom = r.Bytes(32).ToArray();
        r.Vector8();
        if (r.U16() != DtlsWire.EcdheEcdsaAes128GcmSha256 || r.U8() != 0)
        {
            throw new DtlsFailure(DtlsWire.IllegalParameter, "the server chose a cipher suite or compression we did not offer");
        }

        SrtpProfile? profile = null;
        bool extendedMaster = false;
        var extensions = r.Remaining > 0 ? r.Vector16() : default;
        r.End("ServerHello");
        var list = new WireReader(extensions);
        while (list.Remaining > 0)
        {
            ushort type = list.U16();
            var data = list.Vector16();
            if (type == DtlsWire.ExtUseSrtp)
            {
                var srtp = new WireReader(data);
                var chosen = srtp.Vector16();
                var mki = srtp.Vector8();
                srtp.End("use_srtp");
                if (chosen.Length == 2 && mki.IsEmpty && _profiles.Contains((SrtpProfile)BinaryPrimitives.ReadUInt16BigEndian(chosen)))
                {
                    profile = (SrtpProfile)BinaryPrimitives.ReadUInt16BigEndian(chosen);
                }
            }
            else if (type == DtlsWire.ExtExtendedMasterSecret)
            {
                extendedMaster = true;
            }
            else if (type == DtlsWire.ExtRenegotiationInfo && !data.SequenceEqual((ReadOnlySpan<byte>)[0]))
            {
                throw new DtlsFailure(DtlsWire.HandshakeFailure, "the server's renegotiation_info is not empty on a first handshake");
            }
        }

        if (profile is not { } chosenProfile)
        {
            throw new DtlsFailure(DtlsWire.IllegalParameter, "the server chose no SRTP profile we offered");
        }

        return (chosenProfile, extendedMaster);
    }

    private ClientOffer ReadClientHello(byte[] body)
    {
        var r = new WireReader(body);
        if (r.U16() > DtlsWire.Version12)
        {
            throw new DtlsFailure(DtlsWire.ProtocolVersion, "the client does not offer DTLS 1.2");
        }

        _clientRandom = r.Bytes(32).ToArray();
        if (r.Vector8().Length > 32)
        {
            throw new DtlsFailure(DtlsWire.DecodeError, "the client's session id is longer than 32 bytes");
        }

        r.Vector8(); // a cookie: we never ask for one
        var suites = r.Vector16();
        var compression = r.Vector8();
        var extensions = r.Remaining > 0 ? r.Vector16() : default;
        r.End("ClientHello");
        bool ourSuite = false, renegotiation = false;
        for (int i = 0; i + 1 < suites.Length; i += 2)
        {
            ushort suite = BinaryPrimitives.ReadUInt16BigEndian(suites[i..]);
            ourSuite |= suite == DtlsWire.EcdheEcdsaAes128GcmSha256;
            renegotiation |= suite == DtlsWire.RenegotiationScsv;
        }

        if (!ourSuite)
        {
            throw new DtlsFailure(DtlsWire.HandshakeFailure, "the client offered no cipher suite we support (TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)");
        }

        if (!compression.Contains((byte)0))
        {
            throw new DtlsFailure(DtlsWire.IllegalParameter, "the client does not offer null compression");
        }

        SrtpProfile? profile = null;
        byte[] mki = [];
        bool extendedMaster = false, pointFormats = false;
        var list = new WireReader(extensions);
        while (list.Remaining > 0)
        {
            ushort type = list.U16();
            var data = list.Vector16();
            switch (type)
            {
                case DtlsWire.ExtUseSrtp:
                    var srtp = new WireReader(data);
                    var offered = srtp.Vector16();
                    mki = srtp.Vector8().ToArray(); // echoed: a client aborts on an MKI other than its own (RFC 5764 §4.1.3)
                    foreach (var ours in _profiles)
                    {
                        if (profile is null && Lists(offered, (ushort)ours))
                        {
                            profile = ours;
                        }
                    }

                    break;
                case DtlsWire.ExtSupportedGroups:
                    var groups = new WireReader(data).Vector16();
                    if (!Lists(groups, DtlsWire.Secp256r1))
                    {
                        throw new DtlsFailure(DtlsWire.HandshakeFailure, "the client supports no curve we do (P-256)");
                    }

                    break;
                case DtlsWire.ExtExtendedMasterSecret:
                    extendedMaster = true;
                    break;
                case DtlsWire.ExtRenegotiationInfo:
                    renegotiation = true;
                    break;
                case DtlsWire.ExtEcPointFormats:
                    pointFormats = true;
                    break;
            }
        }

        if (profile is not { } chosen)
        {
            throw new DtlsFailure(DtlsWire.HandshakeFailure, "the client offered no SRTP profile we support");
        }

        return new ClientOffer(chosen, extendedMaster, renegotiation, pointFormats, mki);
    }

    private byte[] ServerHelloBody(ClientOffer offer)
    {
        var w = new WireWriter();
        w.U16(DtlsWire.Version12);
        w.Bytes(_serverRandom);
        w.U8(0); // no session id: sessions are never resumed
        w.U16(DtlsWire.EcdheEcdsaAes128GcmSha256);
        w.U8(0);
        int extensions = w.Begin(2);
        if (offer.Renegotiation)
        {
            Extension(w, DtlsWire.ExtRenegotiationInfo, [0]);
        }

        if (offer.ExtendedMaster)
        {
            Extension(w, DtlsWire.ExtExtendedMasterSecret, []);
        }

        if (offer.PointFormats)
        {
            Extension(w, DtlsWire.ExtEcPointFormats, [1, 0]);
        }

        Extension(w, DtlsWire.ExtUseSrtp, UseSrtp([offer.Profile], offer.Mki));
        w.End(extensions);
        return w.ToArray();
    }

    private byte[] CertificateBody()
    {
        var w = new WireWriter();
        int list = w.Begin(3);
        int one = w.Begin(3);
        w.Bytes(_certificate.Der);
        w.End(one);
        w.End(list);
        return w.ToArray();
    }

    private ECDsa ReadCertificate(byte[] body)
    {
        var r = new WireReader(body);
        var list = new WireReader(r.Vector24());
        r.End("Certificate");
        if (list.Remaining == 0)
        {
            throw new DtlsFailure(DtlsWire.HandshakeFailure, "the peer sent no certificate");
        }

        var der = list.Vector24();
        if (!DtlsCertificate.Matches(der, _remoteFingerprint))
        {
            throw new DtlsFailure(DtlsWire.BadCertificate, "remote certificate fingerprint does not match the SDP");
        }

        X509Certificate2 certificate;
        try
        {
            certificate = X509CertificateLoader.LoadCertificate(der);
        }
        catch (CryptographicException)
        {
            throw new DtlsFailure(DtlsWire.BadCertificate, "the peer's certificate does not parse");
        }

        using (certificate)
        {
            return certificate.GetECDsaPublicKey()
                ?? throw new DtlsFailure(DtlsWire.UnsupportedCertificate, "the peer's certificate has no ECDSA key (only ECDSA certificates are supported)");
        }
    }

    private byte[] ServerKeyExchangeBody(ECDiffieHellman ecdh)
    {
        var w = new WireWriter();
        w.U8(3); // named_curve
        w.U16(DtlsWire.Secp256r1);
        int at = w.Begin(1);
        w.Bytes(PublicPoint(ecdh));
        w.End(at);
        byte[] parameters = w.ToArray();
        w.U16(DtlsWire.EcdsaSecp256r1Sha256);
        at = w.Begin(2);
        w.Bytes(_certificate.SignDigest(SHA256.HashData(Concat(_clientRandom, _serverRandom, parameters))));
        w.End(at);
        return w.ToArray();
    }

    private byte[] ReadServerKeyExchange(byte[] body, ECDsa peerKey)
    {
        var r = new WireReader(body);
        if (r.U8() != 3 || r.U16() != DtlsWire.Secp256r1)
        {
            throw new DtlsFailure(DtlsWire.IllegalParameter, "the server's key exchange is not on P-256");
        }

        byte[] share = r.Vector8().ToArray();
        int parametersLength = 4 + share.Length;
        ushort scheme = r.U16();
        var signature = r.Vector16();
        r.End("ServerKeyExchange");
        if (!Verifies(peerKey, scheme, Concat(_clientRandom, _serverRandom, body.AsSpan(0, parametersLength)), signature))
        {
            throw new DtlsFailure(DtlsWire.DecryptError, "the server's key exchange signature does not verify");
        }

        return share;
    }

    private static byte[] CertificateRequestBody()
    {
        var w = new WireWriter();
        w.U8(1);
        w.U8(DtlsWire.EcdsaSignCertificateType);
        w.U16(2);
        w.U16(DtlsWire.EcdsaSecp256r1Sha256);
        w.U16(0); // any authority: the SDP fingerprint is the identity
        return w.ToArray();
    }

    private static void ReadCertificateRequest(byte[] body)
    {
        var r = new WireReader(body);
        var types = r.Vector8();
        var schemes = r.Vector16();
        r.Vector16();
        r.End("CertificateRequest");
        if (!types.Contains(DtlsWire.EcdsaSignCertificateType) || !Lists(schemes, DtlsWire.EcdsaSecp256r1Sha256))
        {
            throw new DtlsFailure(DtlsWire.HandshakeFailure, "the server does not accept an ECDSA P-256 certificate signed with SHA-256");
        }
    }

    private byte[] SignedBody(byte[] digest)
    {
        var w = new WireWriter();
        w.U16(DtlsWire.EcdsaSecp256r1Sha256);
        int at = w.Begin(2);
        w.Bytes(_certificate.SignDigest(digest));
        w.End(at);
        return w.ToArray();
    }

    private static bool Verifies(ECDsa key, ushort scheme, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        var hash = scheme switch
        {
            DtlsWire.EcdsaSecp256r1Sha256 => HashAlgorithmName.SHA256,
            DtlsWire.EcdsaSecp384r1Sha384 => HashAlgorithmName.SHA384,
            _ => throw new DtlsFailure(DtlsWire.IllegalParameter, $"the peer signed with a scheme we did not offer (0x{scheme:X4})"),
        };
        try
        {
            return key.VerifyData(data, signature, hash, DSASignatureFormat.Rfc3279DerSequence);
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    private static byte[] Agree(ECDiffieHellman ecdh, byte[] share)
    {
        if (share.Length != 65 || share[0] != 4)
        {
            throw new DtlsFailure(DtlsWire.IllegalParameter, "the peer's key share is not an uncompressed P-256 point");
        }

        try
        {
            using var peer = ECDiffieHellman.Create(new ECParameters
            {
                Curve = ECCurve.NamedCurves.nistP256,
                Q = new ECPoint { X = share[1..33], Y = share[33..] },
            });
            return ecdh.DeriveRawSecretAgreement(peer.PublicKey);
        }
        catch (CryptographicException)
        {
            throw new DtlsFailure(DtlsWire.IllegalParameter, "the peer's key share is not a point on P-256");
        }
    }

    private static byte[] PublicPoint(ECDiffieHellman ecdh)
    {
        var q = ecdh.ExportParameters(includePrivateParameters: false).Q;
        return [4, .. q.X!, .. q.Y!];
    }

    // ---- Keys ----

    private void DeriveMaster(byte[] premaster, bool extended, byte[] sessionHash)
    {
        // RFC 7627: the master secret bound to the whole handshake so far (through the ClientKeyExchange).
        _master = extended
            ? TlsPrf.Compute(premaster, "extended master secret", sessionHash, 48)
            : TlsPrf.Compute(premaster, "master secret", Concat(_clientRandom, _serverRandom, []), 48);
        CryptographicOperations.ZeroMemory(premaster);
    }

    private (byte[] ClientKey, byte[] ServerKey, byte[] ClientSalt, byte[] ServerSalt) KeyBlock()
    {
        byte[] block = TlsPrf.Compute(_master, "key expansion", Concat(_serverRandom, _clientRandom, []), 40);
        var keys = (block[..16], block[16..32], block[32..36], block[36..40]);
        CryptographicOperations.ZeroMemory(block);
        return keys;
    }

    private byte[] VerifyData(string label) =>
        TlsPrf.Compute(_master, label, SHA256.HashData(Transcript), 12);

    private void CheckFinished(Received message, string label)
    {
        Expect(message, DtlsWire.Finished);
        if (message.Epoch != 1)
        {
            throw new DtlsFailure(DtlsWire.UnexpectedMessage, "the peer's Finished came unprotected");
        }

        if (!CryptographicOperations.FixedTimeEquals(message.Body, VerifyData(label)))
        {
            throw new DtlsFailure(DtlsWire.DecryptError, "the peer's Finished does not match the handshake");
        }

        Record(message);
    }

    private SrtpKeyingMaterial Export(SrtpProfile profile)
    {
        int keyLength = profile.KeyLength(), saltLength = profile.SaltLength();
        byte[] material = TlsPrf.Compute(_master, "EXTRACTOR-dtls_srtp", Concat(_clientRandom, _serverRandom, []), 2 * (keyLength + saltLength));
        var clientKey = material[..keyLength];
        var serverKey = material[keyLength..(2 * keyLength)];
        var clientSalt = material[(2 * keyLength)..((2 * keyLength) + saltLength)];
        var serverSalt = material[((2 * keyLength) + saltLength)..];
        CryptographicOperations.ZeroMemory(material);
        return _role == DtlsRole.Client
            ? new SrtpKeyingMaterial(profile, clientKey, clientSalt, serverKey, serverSalt)
            : new SrtpKeyingMaterial(profile, serverKey, serverSalt, clientKey, clientSalt);
    }

    private void InstallRead(byte[] key, byte[] salt)
    {
        _readCipher = new DtlsRecordCipher(key, salt);
        CryptographicOperations.ZeroMemory(key);

        // Whatever is still pending came unprotected where only protected messages belong (a forgery, or garbage):
        // it must not stand in the way of the real message with the same sequence number.
        foreach (int sequence in _messages.Keys.ToArray())
        {
            if (_messages[sequence].Epoch == 0)
            {
                _messages.Remove(sequence);
            }
        }

        foreach (var record in _deferred)
        {
            Process(record);
        }

        _deferred.Clear();
    }

    // ---- Handshake message flow ----

    private byte[] Message(byte type, byte[] body)
    {
        var message = new byte[DtlsWire.HandshakeHeaderLength + body.Length];
        message[0] = type;
        WriteU24(message.AsSpan(1), body.Length);
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(4), (ushort)_nextSend++);
        WriteU24(message.AsSpan(6), 0);
        WriteU24(message.AsSpan(9), body.Length);
        body.CopyTo(message, DtlsWire.HandshakeHeaderLength);
        return message;
    }

    /// <summary>Adds one of our messages to the transcript (as sent: whole, with its DTLS header).</summary>
    private byte[] Own(byte[] message)
    {
        _transcript.Write(message);
        return message;
    }

    /// <summary>Adds a received message to the transcript, with the header it would have had unfragmented (RFC 6347 §4.2.6).</summary>
    private void Record(Received message)
    {
        Span<byte> header = stackalloc byte[DtlsWire.HandshakeHeaderLength];
        header[0] = message.Type;
        WriteU24(header[1..], message.Body.Length);
        BinaryPrimitives.WriteUInt16BigEndian(header[4..], (ushort)message.Sequence);
        WriteU24(header[6..], 0);
        WriteU24(header[9..], message.Body.Length);
        _transcript.Write(header);
        _transcript.Write(message.Body);
    }

    private static void Expect(Received message, byte type)
    {
        if (message.Type != type)
        {
            throw new DtlsFailure(DtlsWire.UnexpectedMessage, $"the peer sent handshake message {message.Type} where {type} belongs");
        }
    }

    private async Task<Received> NextAsync(byte type)
    {
        var message = await NextMessageAsync().ConfigureAwait(false);
        Expect(message, type);
        Record(message);
        return message;
    }

    /// <summary>The peer's next handshake message in order, retransmitting our last flight while it does not come.</summary>
    private async Task<Received> NextMessageAsync()
    {
        while (true)
        {
            if (_messages.TryGetValue(_nextReceive, out var pending) && pending.Complete)
            {
                _messages.Remove(_nextReceive);
                return new Received(pending.Type, pending.Body, pending.Epoch, _nextReceive++);
            }

            var datagram = await ReceiveAsync().ConfigureAwait(false);
            if (datagram is null)
            {
                _retransmitAfter = TimeSpan.FromTicks(Math.Min(_retransmitAfter.Ticks * 2, LastRetransmit.Ticks));
                _retransmitAt = Stopwatch.GetTimestamp() + (long)(_retransmitAfter.TotalSeconds * Stopwatch.Frequency);
                _lastRepeatAnswer = Stopwatch.GetTimestamp(); // a repeat from the peer right after this is already answered
                Transmit(_flight);
                continue;
            }

            Process(datagram);
            if (_peerRepeated)
            {
                _peerRepeated = false;
                AnswerRepeat();
            }
        }
    }

    /// <summary>The next DTLS datagram, or null when the retransmission timer fires first.</summary>
    private async Task<byte[]?> ReceiveAsync()
    {
        var reader = _incoming.Reader;
        while (true)
        {
            if (reader.TryRead(out var datagram))
            {
                return datagram;
            }

            long left = _retransmitAt - Stopwatch.GetTimestamp();
            if (left <= 0)
            {
                return null;
            }

            var waiting = _waiting ??= reader.WaitToReadAsync().AsTask();
            using (var timer = new CancellationTokenSource())
            {
                var delay = Task.Delay(TimeSpan.FromSeconds((double)left / Stopwatch.Frequency), timer.Token);
                if (await Task.WhenAny(waiting, delay).ConfigureAwait(false) != waiting)
                {
                    continue;
                }

                timer.Cancel(); // the timer goes now, not when it would have fired
            }

            _waiting = null;
            if (!await waiting.ConfigureAwait(false))
            {
                throw new DtlsFailure(byte.MaxValue, _failure ?? "the transport closed");
            }
        }
    }

    private void SendFlight(List<Outgoing> flight)
    {
        _flight = flight;
        _retransmitAfter = FirstRetransmit;
        _retransmitAt = Stopwatch.GetTimestamp() + (long)(FirstRetransmit.TotalSeconds * Stopwatch.Frequency);
        Transmit(flight);
    }

    private void AnswerRepeat()
    {
        // The peer sent its previous flight again: ours was lost. Answered at most every 100 ms (a flight is several
        // records, each of them a repeat).
        if (_flight.Count > 0 && Stopwatch.GetElapsedTime(_lastRepeatAnswer) >= RepeatAnswerGap)
        {
            _lastRepeatAnswer = Stopwatch.GetTimestamp();
            Transmit(_flight);
        }
    }

    /// <summary>Sends a flight: its records packed into datagrams of at most the path's MTU, messages fragmented to fit.</summary>
    private void Transmit(List<Outgoing> flight)
    {
        lock (_send)
        {
            if (_disposed)
            {
                return;
            }

            var datagram = new byte[_mtu];
            var fragment = new byte[_mtu];
            int used = 0;
            foreach (var message in flight)
            {
                int overhead = DtlsWire.RecordHeaderLength + (message.Protected ? DtlsWire.AeadOverhead : 0);
                if (message.Type != DtlsWire.Handshake)
                {
                    if (used + overhead + message.Payload.Length > _mtu)
                    {
                        Flush(datagram, ref used);
                    }

                    used += WriteRecord(datagram.AsSpan(used), message.Type, message.Protected, message.Payload);
                    continue;
                }

                var body = message.Payload.AsSpan(DtlsWire.HandshakeHeaderLength);
                int offset = 0;
                while (true)
                {
                    int room = _mtu - used - overhead - DtlsWire.HandshakeHeaderLength;
                    int left = body.Length - offset;
                    if (room < Math.Min(left, 64) && used > 0)
                    {
                        Flush(datagram, ref used);
                        continue;
                    }

                    int take = Math.Min(room, left);
                    message.Payload.AsSpan(0, DtlsWire.HandshakeHeaderLength).CopyTo(fragment);
                    WriteU24(fragment.AsSpan(6), offset);
                    WriteU24(fragment.AsSpan(9), take);
                    body.Slice(offset, take).CopyTo(fragment.AsSpan(DtlsWire.HandshakeHeaderLength));
                    used += WriteRecord(datagram.AsSpan(used), DtlsWire.Handshake, message.Protected, fragment.AsSpan(0, DtlsWire.HandshakeHeaderLength + take));
                    offset += take;
                    if (offset >= body.Length)
                    {
                        break;
                    }
                }
            }

            Flush(datagram, ref used);
        }
    }

    private void Flush(byte[] datagram, ref int used)
    {
        if (used > 0)
        {
            _path.Send(datagram.AsSpan(0, used));
            used = 0;
        }
    }

    private int WriteRecord(Span<byte> destination, byte type, bool protect, ReadOnlySpan<byte> payload)
    {
        if (protect)
        {
            return _writeCipher!.Seal(type, 1, _writeSequence1++, payload, destination);
        }

        DtlsRecordCipher.WriteHeader(destination, type, 0, _writeSequence0++, payload.Length);
        payload.CopyTo(destination[DtlsWire.RecordHeaderLength..]);
        return DtlsWire.RecordHeaderLength + payload.Length;
    }

    private void SendAlert(byte level, byte description)
    {
        lock (_send)
        {
            if (_disposed)
            {
                return;
            }

            Span<byte> datagram = stackalloc byte[DtlsWire.RecordHeaderLength + DtlsWire.AeadOverhead + 2];
            int length = WriteRecord(datagram, DtlsWire.Alert, _writeCipher is not null, [level, description]);
            _path.Send(datagram[..length]);
        }
    }

    // ---- Records in ----

    private void OnDatagram(ReadOnlySpan<byte> datagram)
    {
        if (!datagram.IsEmpty && Rfc7983.Classify(datagram) == DatagramKind.Dtls)
        {
            _incoming.Writer.TryWrite(datagram.ToArray());
        }
    }

    /// <summary>Every record of a datagram; malformed ones, unknown epochs and records that do not authenticate are dropped.</summary>
    private void Process(ReadOnlySpan<byte> datagram)
    {
        while (datagram.Length >= DtlsWire.RecordHeaderLength)
        {
            int length = BinaryPrimitives.ReadUInt16BigEndian(datagram[11..]);
            if (DtlsWire.RecordHeaderLength + length > datagram.Length)
            {
                return;
            }

            var record = datagram[..(DtlsWire.RecordHeaderLength + length)];
            datagram = datagram[record.Length..];
            byte type = record[0];
            if (type is < DtlsWire.ChangeCipherSpec or > DtlsWire.ApplicationData || record[1] != 0xFE)
            {
                continue;
            }

            ulong epochAndSequence = BinaryPrimitives.ReadUInt64BigEndian(record[3..]);
            ushort epoch = (ushort)(epochAndSequence >> 48);
            ulong sequence = epochAndSequence & 0xFFFF_FFFF_FFFF;
            var fragment = record[DtlsWire.RecordHeaderLength..];
            if (epoch == 0)
            {
                Handle(type, 0, fragment);
            }
            else if (epoch == 1)
            {
                if (_readCipher is null)
                {
                    // The peer's protected records can overtake the message that gives us their key.
                    // The newest are kept: garbage or early repeats must not push out the message that matters.
                    if (_deferred.Count == MaxDeferredRecords)
                    {
                        _deferred.RemoveAt(0);
                    }

                    _deferred.Add(record.ToArray());

                    continue;
                }

                if (!Fresh(sequence))
                {
                    continue;
                }

                var plaintext = new byte[fragment.Length];
                if (_readCipher.Open(record, fragment, plaintext, out int plainLength))
                {
                    Accept(sequence);
                    Handle(type, 1, plaintext.AsSpan(0, plainLength));
                }
            }
        }
    }

    private void Handle(byte type, ushort epoch, ReadOnlySpan<byte> body)
    {
        if (type == DtlsWire.Handshake)
        {
            HandleHandshake(epoch, body);
        }
        else if (type == DtlsWire.Alert && body.Length >= 2)
        {
            HandleAlert(epoch, body[0], body[1]);
        }

        // A change_cipher_spec is implied by the epoch of the records after it; no application data is expected.
    }

    private void HandleHandshake(ushort epoch, ReadOnlySpan<byte> body)
    {
        while (body.Length >= DtlsWire.HandshakeHeaderLength)
        {
            byte type = body[0];
            int length = ReadU24(body[1..]);
            int sequence = BinaryPrimitives.ReadUInt16BigEndian(body[4..]);
            int offset = ReadU24(body[6..]);
            int fragmentLength = ReadU24(body[9..]);
            if (fragmentLength > body.Length - DtlsWire.HandshakeHeaderLength || length > MaxMessageLength || offset + fragmentLength > length)
            {
                return; // malformed: the record is dropped
            }

            var data = body.Slice(DtlsWire.HandshakeHeaderLength, fragmentLength);
            body = body[(DtlsWire.HandshakeHeaderLength + fragmentLength)..];
            if (_handshakeDone)
            {
                // Only a protected record (the client's Finished again) makes a connected server answer: anyone can
                // forge an unprotected one.
                _peerRepeated |= epoch == 1;
                continue;
            }

            if (sequence < _nextReceive)
            {
                _peerRepeated = true;
                continue;
            }

            if (epoch == 0 && _readCipher is not null)
            {
                continue; // every message still to come from the peer is protected
            }

            if (sequence >= _nextReceive + MaxMessagesAhead)
            {
                continue;
            }

            if (!_messages.TryGetValue(sequence, out var message))
            {
                message = new Reassembly(type, length, epoch);
                _messages[sequence] = message;
            }
            else if (message.Type != type || message.Body.Length != length)
            {
                if (message.Complete)
                {
                    continue; // it is read in its turn (and fails the handshake there if it was not the peer's)
                }

                // Two versions of one message, neither whole: the newer wins (a forged or garbled fragment must not
                // hold the place of the peer's real message until the handshake times out).
                message = new Reassembly(type, length, epoch);
                _messages[sequence] = message;
            }

            message.Add(offset, data, epoch);
        }
    }

    private void HandleAlert(ushort epoch, byte level, byte description)
    {
        if (_handshakeDone)
        {
            if (epoch == 0)
            {
                return; // an unprotected alert cannot end a protected association
            }

            if (description == DtlsWire.CloseNotify)
            {
                SetState(DtlsState.Closed);
                Shutdown();
            }
            else if (level == DtlsWire.AlertFatal)
            {
                _failure ??= $"the peer sent a fatal alert ({DtlsWire.AlertName(description)})";
                SetState(DtlsState.Failed);
                Shutdown();
            }

            return;
        }

        if (description == DtlsWire.CloseNotify)
        {
            throw new DtlsFailure(byte.MaxValue, "the peer closed the connection during the handshake");
        }

        if (level == DtlsWire.AlertFatal)
        {
            throw new DtlsFailure(byte.MaxValue, $"the peer sent a fatal alert ({DtlsWire.AlertName(description)})");
        }
    }

    private bool Fresh(ulong sequence)
    {
        if (!_readAny || sequence > _readTop)
        {
            return true;
        }

        ulong behind = _readTop - sequence;
        return behind < 64 && (_readWindow & (1UL << (int)behind)) == 0;
    }

    private void Accept(ulong sequence)
    {
        if (!_readAny)
        {
            (_readAny, _readTop, _readWindow) = (true, sequence, 1);
        }
        else if (sequence > _readTop)
        {
            ulong shift = sequence - _readTop;
            _readWindow = shift >= 64 ? 1 : (_readWindow << (int)shift) | 1;
            _readTop = sequence;
        }
        else
        {
            _readWindow |= 1UL << (int)(_readTop - sequence);
        }
    }

    // ---- State ----

    private void Abort(string reason)
    {
        if (State is DtlsState.Connecting or DtlsState.New)
        {
            _failure ??= reason;
            Shutdown();
        }
    }

    private void Shutdown() => _incoming.Writer.TryComplete();

    private void SetState(DtlsState state)
    {
        if (_state.TryMove(state))
        {
            Notify(state);
        }
    }

    /// <summary>Tells the handlers; one that throws is not allowed to stop the transport's own work.</summary>
    private void Notify(DtlsState state)
    {
        try
        {
            StateChanged?.Invoke(state);
        }
        catch (Exception)
        {
            // A handler's own failure: the state has changed all the same.
        }
    }

    private static Outgoing Handshake(byte[] message) => new(DtlsWire.Handshake, false, message);

    private static void Extension(WireWriter w, ushort type, ReadOnlySpan<byte> data)
    {
        w.U16(type);
        int at = w.Begin(2);
        w.Bytes(data);
        w.End(at);
    }

    private static byte[] UseSrtp(IReadOnlyList<SrtpProfile> profiles, byte[]? mki = null)
    {
        var w = new WireWriter();
        int at = w.Begin(2);
        foreach (var profile in profiles)
        {
            w.U16((ushort)profile);
        }

        w.End(at);
        at = w.Begin(1);
        w.Bytes(mki ?? []); // ours: none (SRTP here never uses an MKI)
        w.End(at);
        return w.ToArray();
    }

    private static bool Lists(ReadOnlySpan<byte> list, ushort value)
    {
        for (int i = 0; i + 1 < list.Length; i += 2)
        {
            if (BinaryPrimitives.ReadUInt16BigEndian(list[i..]) == value)
            {
                return true;
            }
        }

        return false;
    }

    private static byte[] Concat(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, ReadOnlySpan<byte> c) => [.. a, .. b, .. c];

    private static int ReadU24(ReadOnlySpan<byte> b) => (b[0] << 16) | (b[1] << 8) | b[2];

    private static void WriteU24(Span<byte> b, int value)
    {
        b[0] = (byte)(value >> 16);
        b[1] = (byte)(value >> 8);
        b[2] = (byte)value;
    }

    /// <summary>A message of ours in a flight: a whole handshake message (header and body), or a change_cipher_spec.</summary>
    private readonly record struct Outgoing(byte Type, bool Protected, byte[] Payload);

    /// <summary>A whole handshake message from the peer, with the epoch it came in and its sequence number.</summary>
    private readonly record struct Received(byte Type, byte[] Body, ushort Epoch, int Sequence = 0);

    private readonly record struct ClientOffer(SrtpProfile Profile, bool ExtendedMaster, bool Renegotiation, bool PointFormats, byte[] Mki);

    /// <summary>A handshake message being put together from its fragments (which may come in any order, and twice).</summary>
    private sealed class Reassembly(byte type, int length, ushort epoch)
    {
        private bool[]? _have;
        private int _filled;

        public byte Type { get; } = type;

        public byte[] Body { get; } = new byte[length];

        public ushort Epoch { get; private set; } = epoch;

        public bool Complete => _filled == Body.Length;

        public void Add(int offset, ReadOnlySpan<byte> data, ushort epoch)
        {
            if (Complete)
            {
                return; // a repeat, perhaps cut differently: what we have is whole
            }

            Epoch = Math.Min(Epoch, epoch);
            if (offset == 0 && data.Length == Body.Length && _have is null)
            {
                data.CopyTo(Body);
                _filled = Body.Length;
                return;
            }

            _have ??= new bool[Body.Length];
            for (int i = 0; i < data.Length; i++)
            {
                if (!_have[offset + i])
                {
                    _have[offset + i] = true;
                    Body[offset + i] = data[i];
                    _filled++;
                }
            }
        }
    }
}
