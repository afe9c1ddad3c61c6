using System.Collections.Concurrent;
using Decart.Rtc.Dtls;
using Decart.Rtc.Srtp;
using Decart.Rtc.Transport;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Math;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;

namespace Decart.Rtc.Tests.Dtls;

/// <summary>
/// An independent DTLS 1.2 + use_srtp endpoint on BouncyCastle's TLS stack (the stack's own implementation until it
/// was replaced by <see cref="DtlsTransport"/>), kept as a peer the tests can hand-shake ours against: a second
/// implementation, with a server that asks for a cookie (HelloVerifyRequest) as BouncyCastle does by default.
/// </summary>
internal sealed class BouncyCastleDtls : IAsyncDisposable
{
    private readonly IDatagramTransport _path;
    private readonly DtlsRole _role;
    private readonly DtlsCertificate _certificate;
    private readonly string _remoteFingerprint;
    private readonly SrtpProfile[] _profiles;
    private readonly BlockingCollection<byte[]> _incoming = new(new ConcurrentQueue<byte[]>(), 256);
    private readonly CancellationTokenSource _closed = new();
    private Org.BouncyCastle.Tls.DtlsTransport? _dtls;
    private Thread? _reader;
    private string? _failure;
    private readonly StateMachine<DtlsState> _state = new(DtlsState.New, DtlsState.Failed, DtlsState.Closed);

    /// <summary>Creates the transport; nothing is sent until <see cref="HandshakeAsync"/>.</summary>
    /// <param name="path">The selected ICE pair or a direct UDP link.</param>
    /// <param name="role">Our DTLS role.</param>
    /// <param name="remoteFingerprint">The peer's SDP <c>a=fingerprint</c>.</param>
    /// <param name="certificate">Our certificate (default: the process-wide one).</param>
    /// <param name="profiles">SRTP profiles in our order of preference (default GCM, then AES-CM).</param>
    public BouncyCastleDtls(IDatagramTransport path, DtlsRole role, string remoteFingerprint, DtlsCertificate? certificate = null, IReadOnlyList<SrtpProfile>? profiles = null)
    {
        _path = path ?? throw new ArgumentNullException(nameof(path));
        _role = role;
        _remoteFingerprint = remoteFingerprint ?? throw new ArgumentNullException(nameof(remoteFingerprint));
        _certificate = certificate ?? DtlsCertificate.Default;
        _profiles = (profiles ?? [SrtpProfile.AeadAes128Gcm, SrtpProfile.Aes128CmHmacSha1_80]).ToArray();
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

    /// <summary>The largest datagram it sends (smaller fragments its handshake messages). Default 1200.</summary>
    public int SendLimit { get; init; } = 1200;

    /// <summary>As a client, the MKI it offers in use_srtp. Default none.</summary>
    public byte[] Mki { get; init; } = [];

    /// <summary>As a client, the MKI the server's use_srtp answered with.</summary>
    public byte[]? ServerMki { get; private set; }

    /// <summary>As a server, whether to ask the client for a cookie first (HelloVerifyRequest). Default true.</summary>
    public bool AskCookie { get; init; } = true;

    /// <summary>How long the whole handshake may take. Default 15 s.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(15);

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

        StateChanged?.Invoke(DtlsState.Connecting);
        var done = new TaskCompletionSource<SrtpKeyingMaterial>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() => RunHandshake(done)) { IsBackground = true, Name = $"dtls-{_role}" };
        thread.Start();
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
            try
            {
                _dtls?.Close();
            }
            catch (IOException)
            {
            }
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
        _reader?.Join(TimeSpan.FromSeconds(2));
        _incoming.Dispose();
        _closed.Dispose();
    }

    private void RunHandshake(TaskCompletionSource<SrtpKeyingMaterial> done)
    {
        var crypto = new BcTlsCrypto(new SecureRandom());
        var adapter = new PathAdapter(this);
        try
        {
            SrtpKeyingMaterial keys;
            if (_role == DtlsRole.Client)
            {
                var client = new Client(crypto, this);
                _dtls = new DtlsClientProtocol().Connect(client, adapter);
                keys = client.Keys ?? throw new DtlsHandshakeException("the handshake finished without SRTP keys");
            }
            else
            {
                var server = new Server(crypto, this);
                _dtls = new DtlsServerProtocol { VerifyRequests = AskCookie }.Accept(server, adapter);
                keys = server.Keys ?? throw new DtlsHandshakeException("the handshake finished without SRTP keys");
            }

            NegotiatedProfile = keys.Profile;
            SetState(DtlsState.Connected);
            _reader = new Thread(ReadLoop) { IsBackground = true, Name = $"dtls-read-{_role}" };
            _reader.Start();
            done.TrySetResult(keys);
        }
        catch (Exception ex)
        {
            string reason = _failure ?? ex switch
            {
                TlsFatalAlertReceived received => $"the peer sent a fatal alert ({AlertDescription.GetText(received.AlertDescription)})",
                TlsFatalAlert alert => $"handshake failed ({AlertDescription.GetText(alert.AlertDescription)})",
                _ => $"handshake failed: {ex.Message}",
            };
            _failure ??= reason;
            SetState(DtlsState.Failed);
            Shutdown();
            done.TrySetException(new DtlsHandshakeException($"DTLS {reason}.", ex));
        }
    }

    private void ReadLoop()
    {
        var buffer = new byte[2048];
        try
        {
            while (!_closed.IsCancellationRequested)
            {
                int n = _dtls!.Receive(buffer, 0, buffer.Length, 200);
                if (n < 0 && _incoming.IsAddingCompleted)
                {
                    break;
                }
            }

            SetState(DtlsState.Closed);
        }
        catch (TlsFatalAlertReceived ex) when (ex.AlertDescription == AlertDescription.close_notify)
        {
            SetState(DtlsState.Closed);
        }
        catch (Exception ex) when (ex is IOException or TlsFatalAlert or ObjectDisposedException or InvalidOperationException)
        {
            if (State == DtlsState.Connected)
            {
                _failure ??= ex.Message;
                SetState(ex is TlsFatalAlertReceived { AlertDescription: AlertDescription.close_notify } or TlsNoCloseNotifyException ? DtlsState.Closed : DtlsState.Failed);
            }
        }
    }

    private void OnDatagram(ReadOnlySpan<byte> datagram)
    {
        if (datagram.IsEmpty)
        {
            return;
        }

        if (Rfc7983.Classify(datagram) == DatagramKind.Dtls && !_incoming.IsAddingCompleted)
        {
            _incoming.TryAdd(datagram.ToArray());
        }
    }

    private void Abort(string reason)
    {
        if (State is DtlsState.Connecting or DtlsState.New)
        {
            _failure ??= reason;
            Shutdown();
        }
    }

    private void Shutdown()
    {
        try
        {
            _incoming.CompleteAdding();
        }
        catch (ObjectDisposedException)
        {
        }

        if (!_closed.IsCancellationRequested)
        {
            try
            {
                _closed.Cancel();
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }

    private void SetState(DtlsState state)
    {
        if (_state.TryMove(state))
        {
            StateChanged?.Invoke(state);
        }
    }

    private SrtpKeyingMaterial Export(TlsContext context, int profileId, bool isClient)
    {
        var profile = (SrtpProfile)profileId;
        int keyLength = profile.KeyLength(), saltLength = profile.SaltLength();
        var material = context.ExportKeyingMaterial("EXTRACTOR-dtls_srtp", null, 2 * (keyLength + saltLength));
        var clientKey = material[..keyLength];
        var serverKey = material[keyLength..(2 * keyLength)];
        var clientSalt = material[(2 * keyLength)..((2 * keyLength) + saltLength)];
        var serverSalt = material[((2 * keyLength) + saltLength)..];
        return isClient
            ? new SrtpKeyingMaterial(profile, clientKey, clientSalt, serverKey, serverSalt)
            : new SrtpKeyingMaterial(profile, serverKey, serverSalt, clientKey, clientSalt);
    }

    private void CheckPeer(Certificate? certificate)
    {
        if (certificate is null || certificate.IsEmpty)
        {
            _failure = "the peer sent no certificate";
            throw new TlsFatalAlert(AlertDescription.handshake_failure);
        }

        if (!DtlsCertificate.Matches(certificate.GetCertificateAt(0).GetEncoded(), _remoteFingerprint))
        {
            _failure = "remote certificate fingerprint does not match the SDP";
            throw new TlsFatalAlert(AlertDescription.bad_certificate);
        }
    }

    private static ECPrivateKeyParameters PrivateKey(DtlsCertificate certificate)
    {
        var key = certificate.ExportKey();
        return new ECPrivateKeyParameters("EC", new BigInteger(1, key.D), Org.BouncyCastle.Asn1.X9.ECNamedCurveTable.GetOid("P-256"));
    }

    private TlsCredentialedSigner Signer(TlsContext context, BcTlsCrypto crypto) =>
        new BcDefaultTlsCredentialedSigner(
            new TlsCryptoParameters(context),
            crypto,
            PrivateKey(_certificate),
            new Certificate([crypto.CreateCertificate(_certificate.Der)]),
            new SignatureAndHashAlgorithm(HashAlgorithm.sha256, SignatureAlgorithm.ecdsa));

    private static readonly int[] CipherSuites =
    [
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    ];

    private sealed class Client(BcTlsCrypto crypto, BouncyCastleDtls owner) : DefaultTlsClient(crypto)
    {
        public SrtpKeyingMaterial? Keys { get; private set; }

        private int _profile;

        protected override ProtocolVersion[] GetSupportedVersions() => ProtocolVersion.DTLSv12.Only();

        protected override int[] GetSupportedCipherSuites() => CipherSuites;

        public override int GetHandshakeTimeoutMillis() => (int)owner.HandshakeTimeout.TotalMilliseconds;

        public override IDictionary<int, byte[]> GetClientExtensions()
        {
            var extensions = base.GetClientExtensions() ?? new Dictionary<int, byte[]>();
            TlsSrtpUtilities.AddUseSrtpExtension(extensions, new UseSrtpData(owner._profiles.Select(p => (int)p).ToArray(), owner.Mki));
            return extensions;
        }

        public override void ProcessServerExtensions(IDictionary<int, byte[]> serverExtensions)
        {
            base.ProcessServerExtensions(serverExtensions);
            var data = TlsSrtpUtilities.GetUseSrtpExtension(serverExtensions);
            if (data is null || data.ProtectionProfiles.Length != 1 || !owner._profiles.Contains((SrtpProfile)data.ProtectionProfiles[0]))
            {
                owner._failure = "the server chose no SRTP profile we offered";
                throw new TlsFatalAlert(AlertDescription.illegal_parameter);
            }

            _profile = data.ProtectionProfiles[0];
            owner.ServerMki = data.Mki;
        }

        public override TlsAuthentication GetAuthentication() => new Authentication(this, owner);

        public override void NotifyHandshakeComplete()
        {
            base.NotifyHandshakeComplete();
            Keys = owner.Export(m_context, _profile, isClient: true);
        }

        internal TlsCredentials Credentials() => owner.Signer(m_context, (BcTlsCrypto)Crypto);

        private sealed class Authentication(Client client, BouncyCastleDtls owner) : TlsAuthentication
        {
            public void NotifyServerCertificate(TlsServerCertificate serverCertificate) => owner.CheckPeer(serverCertificate?.Certificate);

            public TlsCredentials GetClientCredentials(CertificateRequest certificateRequest) => client.Credentials();
        }
    }

    private sealed class Server(BcTlsCrypto crypto, BouncyCastleDtls owner) : DefaultTlsServer(crypto)
    {
        public SrtpKeyingMaterial? Keys { get; private set; }

        private int _profile;

        protected override ProtocolVersion[] GetSupportedVersions() => ProtocolVersion.DTLSv12.Only();

        protected override int[] GetSupportedCipherSuites() => CipherSuites;

        public override int GetHandshakeTimeoutMillis() => (int)owner.HandshakeTimeout.TotalMilliseconds;

        public override void ProcessClientExtensions(IDictionary<int, byte[]> clientExtensions)
        {
            base.ProcessClientExtensions(clientExtensions);
            var offered = TlsSrtpUtilities.GetUseSrtpExtension(clientExtensions)?.ProtectionProfiles ?? [];
            var common = owner._profiles.Where(p => offered.Contains((int)p)).ToArray();
            if (common.Length == 0)
            {
                owner._failure = "the client offered no SRTP profile we support";
                throw new TlsFatalAlert(AlertDescription.handshake_failure);
            }

            _profile = (int)common[0];
        }

        public override IDictionary<int, byte[]> GetServerExtensions()
        {
            var extensions = base.GetServerExtensions() ?? new Dictionary<int, byte[]>();
            TlsSrtpUtilities.AddUseSrtpExtension(extensions, new UseSrtpData([_profile], []));
            return extensions;
        }

        protected override TlsCredentialedSigner GetECDsaSignerCredentials() => owner.Signer(m_context, (BcTlsCrypto)Crypto);

        public override CertificateRequest GetCertificateRequest() =>
            new([ClientCertificateType.ecdsa_sign], [new SignatureAndHashAlgorithm(HashAlgorithm.sha256, SignatureAlgorithm.ecdsa)], null);

        public override void NotifyClientCertificate(Certificate clientCertificate) => owner.CheckPeer(clientCertificate);

        public override void NotifyHandshakeComplete()
        {
            base.NotifyHandshakeComplete();
            Keys = owner.Export(m_context, _profile, isClient: false);
        }
    }

    /// <summary>BouncyCastle's view of the path: blocking receive with a timeout from the DTLS queue.</summary>
    private sealed class PathAdapter(BouncyCastleDtls owner) : DatagramTransport
    {
        public int GetReceiveLimit() => 1500;

        public int GetSendLimit() => owner.SendLimit;

        public int Receive(byte[] buf, int off, int len, int waitMillis) => Receive(buf.AsSpan(off, len), waitMillis);

        public int Receive(Span<byte> buffer, int waitMillis)
        {
            try
            {
                if (owner._incoming.TryTake(out var datagram, Math.Max(0, waitMillis), owner._closed.Token))
                {
                    int n = Math.Min(buffer.Length, datagram.Length);
                    datagram.AsSpan(0, n).CopyTo(buffer);
                    return n;
                }

                return -1;
            }
            catch (OperationCanceledException)
            {
                throw new TlsTimeoutException(owner._failure ?? "DTLS transport closed");
            }
            catch (ObjectDisposedException)
            {
                throw new TlsTimeoutException("DTLS transport closed");
            }
        }

        public void Send(byte[] buf, int off, int len) => Send(buf.AsSpan(off, len));

        public void Send(ReadOnlySpan<byte> buffer)
        {
            if (owner._closed.IsCancellationRequested)
            {
                throw new TlsTimeoutException("DTLS transport closed");
            }

            owner._path.Send(buffer);
        }

        public void Close() => owner.Shutdown();
    }
}
