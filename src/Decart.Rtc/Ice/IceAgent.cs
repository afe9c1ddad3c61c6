using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Decart.Rtc.Stun;
using Decart.Rtc.Transport;

namespace Decart.Rtc.Ice;

/// <summary>ICE connection state.</summary>
public enum IceState
{
    /// <summary>Gathering; no checks yet.</summary>
    New,

    /// <summary>Connectivity checks in progress.</summary>
    Checking,

    /// <summary>A pair is selected; data flows.</summary>
    Connected,

    /// <summary>No pair worked, or consent expired.</summary>
    Failed,

    /// <summary>Closed by <see cref="IceAgent.DisposeAsync"/>.</summary>
    Closed,
}

/// <summary>Settings of an <see cref="IceAgent"/>.</summary>
public sealed record IceOptions
{
    /// <summary>Whether the agent starts as the controlling agent (the offerer, in WebRTC).</summary>
    public bool Controlling { get; init; }

    /// <summary>ICE-lite: answers checks, sends none (the simulator's server side).</summary>
    public bool Lite { get; init; }

    /// <summary>Gather host candidates on loopback too (needed for local use). Default true.</summary>
    public bool IncludeLoopback { get; init; } = true;

    /// <summary>Only these addresses (default: every usable interface).</summary>
    public IReadOnlyList<IPAddress>? Addresses { get; init; }

    /// <summary>Time between connectivity checks (pacing). Default 20 ms.</summary>
    public TimeSpan Pacing { get; init; } = TimeSpan.FromMilliseconds(20);

    /// <summary>Give up when no pair succeeds within this. Default 15 s.</summary>
    public TimeSpan CheckTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Consent check interval (RFC 7675; randomized ×0.8–1.2), at most a quarter of <see cref="ConsentTimeout"/>. Default 5 s.</summary>
    public TimeSpan ConsentInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>No consent for this long → <see cref="IceState.Failed"/>. Default 30 s; tests use ~2 s.</summary>
    public TimeSpan ConsentTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Clock for checks and consent.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>
    /// The receive buffer asked for on each socket (<c>SO_RCVBUF</c>), bytes. Default 4 MiB: a keyframe leaves the
    /// sender as one burst of a hundred datagrams or more, which the system's default (208 KiB on Linux, about 90
    /// loopback datagrams of 1,200 bytes) drops whenever the receive loop is a moment late. The system caps it (Linux:
    /// <c>net.core.rmem_max</c>, doubled); a socket that already has more keeps it; zero or less leaves the system's default.
    /// </summary>
    public int ReceiveBufferSize { get; init; } = DefaultReceiveBufferSize;

    /// <summary>The default <see cref="ReceiveBufferSize"/>, 4 MiB.</summary>
    public const int DefaultReceiveBufferSize = 4 * 1024 * 1024;

    /// <summary>
    /// The impairment hook, below ICE: it sees every datagram the agent's sockets send or receive — STUN checks and
    /// consent, DTLS, SRTP — and may drop or delay it. Dropping everything is a black hole: consent freshness fails.
    /// </summary>
    public IPacketInterceptor? Interceptor { get; init; }
}

/// <summary>
/// An ICE agent over real UDP sockets (RFC 8445 with aggressive nomination, RFC 7675 consent freshness, trickle,
/// peer-reflexive discovery, role conflicts). Full ICE for the client side, ICE-lite for the server side. Once
/// connected it is the <see cref="IDatagramTransport"/> DTLS and SRTP run over: non-STUN datagrams from validated
/// peers are raised on <see cref="DatagramReceived"/>, and <see cref="Send(ReadOnlySpan{byte})"/> goes to the selected pair.
/// </summary>
public sealed class IceAgent : IDatagramTransport
{
    private readonly IceOptions _options;
    private readonly List<LocalSocket> _sockets = [];
    private readonly List<IceCandidate> _localCandidates = [];
    private readonly List<IPEndPoint> _remoteEndpoints = [];
    private readonly List<Pair> _pairs = [];
    private readonly ConcurrentDictionary<UInt128, Pair> _transactions = new();
    private readonly ConcurrentDictionary<IPEndPoint, byte> _validated = new();

    // The validated remotes again, serialized: the media path compares the receive's SocketAddress with these, so a
    // packet from a known peer allocates nothing (no IPEndPoint per datagram).
    private readonly ConcurrentDictionary<SocketAddress, byte> _validatedAddresses = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly object _gate = new();
    private readonly ulong _tieBreaker = BinaryPrimitives.ReadUInt64BigEndian(RandomNumberGenerator.GetBytes(8));
    private string? _remoteUfrag;
    private byte[]? _remotePassword;
    private Selected? _selected;
    private Task? _timer;
    private long _checkStartTicks;
    private long _lastConsentTicks;
    private long _nextConsentTicks;
    private readonly StateMachine<IceState> _state = new(IceState.New, IceState.Failed, IceState.Closed);
    private bool _controlling;

    /// <summary>Creates an agent with fresh credentials; call <see cref="StartAsync"/> to gather.</summary>
    /// <param name="options">Settings.</param>
    public IceAgent(IceOptions? options = null)
    {
        _options = options ?? new IceOptions();
        _controlling = _options.Controlling && !_options.Lite;
        LocalUfrag = RandomToken(8);
        LocalPassword = RandomToken(24);
    }

    /// <inheritdoc />
    public event DatagramHandler? DatagramReceived;

    /// <summary>Raised on every state change.</summary>
    public event Action<IceState>? StateChanged;

    /// <summary>Raised for each gathered local candidate (trickle it to the peer).</summary>
    public event Action<IceCandidate>? LocalCandidateGathered;

    /// <summary>Our username fragment.</summary>
    public string LocalUfrag { get; }

    /// <summary>Our password.</summary>
    public string LocalPassword { get; }

    /// <summary>The state.</summary>
    public IceState State => _state.Current;

    /// <summary>Whether the agent is controlling now (after any role conflict).</summary>
    public bool IsControlling => _controlling;

    /// <summary>Gathered host candidates.</summary>
    public IReadOnlyList<IceCandidate> LocalCandidates
    {
        get
        {
            lock (_gate)
            {
                return _localCandidates.ToArray();
            }
        }
    }

    /// <summary>The selected remote endpoint, once connected.</summary>
    public IPEndPoint? SelectedRemote => _selected?.Remote;

    /// <summary>Datagrams dropped: from unknown addresses, failing integrity, or malformed STUN; and any the impairment hook threw on, either way.</summary>
    public long DroppedDatagrams => Interlocked.Read(ref _dropped);

    /// <summary>Authenticated checks refused because they replayed an earlier check's transaction from another address.</summary>
    public long ReplayedChecks => Interlocked.Read(ref _replays);

    private const int MaxRememberedRequests = 512;
    private readonly Dictionary<UInt128, IPEndPoint> _requests = [];
    private readonly Queue<UInt128> _requestOrder = new();
    private long _replays;

    private enum RequestHistory
    {
        New,
        Retransmission,
        Replayed,
    }

    private long _dropped;

    /// <inheritdoc />
    public int MaxDatagramSize => 1500;

    /// <summary>The receive buffer each bound socket got (what the system granted), for tests and diagnostics.</summary>
    internal int[] ReceiveBufferSizes()
    {
        lock (_gate)
        {
            return _sockets.Select(s => s.Socket.ReceiveBufferSize).ToArray();
        }
    }

    /// <summary>
    /// Asks for a receive buffer unless the socket already has at least that much (a host tuned higher keeps its
    /// default); a system that refuses keeps its default too (the size is a request, not a need).
    /// </summary>
    private static void TrySetReceiveBuffer(Socket socket, int bytes)
    {
        try
        {
            if (socket.ReceiveBufferSize < bytes)
            {
                socket.ReceiveBufferSize = bytes;
            }
        }
        catch (SocketException)
        {
        }
    }

    /// <summary>Binds a UDP socket per usable address, creates host candidates and starts the receive loops.</summary>
    /// <param name="cancellationToken">Cancels gathering.</param>
    /// <returns>A task that completes when gathering is done.</returns>
    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var addresses = _options.Addresses ?? IceCandidate.UsableAddresses(_options.IncludeLoopback);
        int index = 0;
        foreach (var address in addresses)
        {
            Socket socket;
            try
            {
                socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
                if (_options.ReceiveBufferSize > 0)
                {
                    TrySetReceiveBuffer(socket, _options.ReceiveBufferSize);
                }

                socket.Bind(new IPEndPoint(address, 0));
            }
            catch (SocketException)
            {
                continue;
            }

            var local = (IPEndPoint)socket.LocalEndPoint!;
            int preference = 65535 - (index * 256) - (address.AddressFamily == AddressFamily.InterNetworkV6 ? 128 : 0) - (IPAddress.IsLoopback(address) ? 64 : 0);
            var candidate = new IceCandidate
            {
                Foundation = (index + 1).ToString(System.Globalization.CultureInfo.InvariantCulture),
                Priority = IceCandidate.ComputePriority(IceCandidateType.Host, Math.Max(0, preference)),
                Address = address.ToString(),
                Port = local.Port,
            };
            var ls = new LocalSocket(socket, local, candidate.Priority);
            lock (_gate)
            {
                _sockets.Add(ls);
                _localCandidates.Add(candidate);
            }

            ls.Loop = Task.Run(() => ReceiveLoopAsync(ls));
            LocalCandidateGathered?.Invoke(candidate);
            index++;
        }

        if (_sockets.Count == 0)
        {
            throw new SocketException((int)SocketError.AddressNotAvailable);
        }

        _timer = Task.Run(TimerLoopAsync);
        return Task.CompletedTask;
    }

    /// <summary>Sets the initial role before checks start (the offerer controls, RFC 8445 §6.1.1). Ignored for ICE-lite.</summary>
    /// <param name="controlling">Whether to control.</param>
    public void SetRole(bool controlling) => _controlling = controlling && !_options.Lite;

    /// <summary>Sets the peer's ICE credentials (from its SDP).</summary>
    /// <param name="ufrag">Remote username fragment.</param>
    /// <param name="password">Remote password.</param>
    public void SetRemoteCredentials(string ufrag, string password)
    {
        _remoteUfrag = ufrag ?? throw new ArgumentNullException(nameof(ufrag));
        _remotePassword = Encoding.UTF8.GetBytes(password ?? throw new ArgumentNullException(nameof(password)));
    }

    /// <summary>Adds a trickled or SDP candidate; mDNS names are resolved (briefly), TCP and unresolvable ones ignored.</summary>
    /// <param name="candidate">The candidate.</param>
    /// <param name="cancellationToken">Cancels the mDNS lookup.</param>
    /// <returns>Whether it was added.</returns>
    public async Task<bool> AddRemoteCandidateAsync(IceCandidate candidate, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        var endpoint = candidate.EndPoint;
        if (endpoint is null && candidate.IsMdns)
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(TimeSpan.FromMilliseconds(500));
                var addresses = await Dns.GetHostAddressesAsync(candidate.Address, timeout.Token).ConfigureAwait(false);
                endpoint = addresses.Length > 0 ? new IPEndPoint(addresses[0], candidate.Port) : null;
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException or ArgumentException)
            {
                endpoint = null; // peer-reflexive discovery still connects
            }
        }

        if (endpoint is null)
        {
            return false;
        }

        AddRemoteEndpoint(endpoint);
        return true;
    }

    /// <summary>Waits until connected.</summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>A task that completes when a pair is selected.</returns>
    /// <exception cref="IOException">When ICE fails.</exception>
    public Task ConnectedAsync(CancellationToken cancellationToken = default) => _connected.Task.WaitAsync(cancellationToken);

    /// <inheritdoc />
    public bool Send(ReadOnlySpan<byte> datagram)
    {
        var selected = _selected;
        if (selected is null || State != IceState.Connected)
        {
            return false;
        }

        return Transmit(selected.Socket.Socket, datagram, selected.RemoteAddress);
    }

    /// <summary>
    /// Sends every datagram of <paramref name="batch"/> to the selected pair — one system call where the platform has
    /// one, each through the impairment hook when there is one — and clears it.
    /// </summary>
    internal bool Send(DatagramBatch batch)
    {
        var selected = _selected;
        if (selected is null || State != IceState.Connected)
        {
            batch.Clear();
            return false;
        }

        if (_options.Interceptor is not null)
        {
            try
            {
                for (int i = 0; i < batch.Count; i++)
                {
                    Transmit(selected.Socket.Socket, batch[i], selected.RemoteAddress);
                }
            }
            finally
            {
                batch.Clear(); // also when the hook threw: what passed it must not go out again with the next batch
            }

            return true;
        }

        batch.Send(selected.Socket.Socket, selected.RemoteAddress);
        return true;
    }

    /// <summary>Every datagram the sockets send passes here: the impairment hook, then the socket.</summary>
    private bool Transmit(Socket socket, ReadOnlySpan<byte> datagram, SocketAddress to)
    {
        if (_options.Interceptor is { } interceptor)
        {
            InterceptDecision decision;
            try
            {
                decision = interceptor.Intercept(PacketDirection.Outbound, datagram);
            }
            catch (Exception)
            {
                // A hook that throws loses that datagram, as on the way in: the sender (a frame, an ICE check) carries on.
                Interlocked.Increment(ref _dropped);
                return true;
            }

            if (decision.Drop)
            {
                return true;
            }

            if (decision.Delay > TimeSpan.Zero)
            {
                TransmitLater(socket, datagram.ToArray(), to, decision.Delay);
                return true;
            }
        }

        try
        {
            socket.SendTo(datagram, SocketFlags.None, to);
            return true;
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            return false;
        }
    }

    private bool Transmit(Socket socket, ReadOnlySpan<byte> datagram, IPEndPoint to) => Transmit(socket, datagram, to.Serialize());

    // The delayed paths live in their own methods: a lambda in the per-datagram methods would make the compiler
    // allocate its closure on every datagram, delayed or not.
    private void TransmitLater(Socket socket, byte[] copy, SocketAddress to, TimeSpan delay) =>
        _ = Task.Delay(delay, StopToken()).ContinueWith(
            _ =>
            {
                try
                {
                    socket.SendTo(copy, SocketFlags.None, to);
                }
                catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
                {
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.OnlyOnRanToCompletion,
            TaskScheduler.Default);

    private CancellationToken StopToken()
    {
        try
        {
            return _stop.Token;
        }
        catch (ObjectDisposedException)
        {
            return new CancellationToken(canceled: true); // disposed: the delayed datagram is dropped
        }
    }

    private void ReceiveLater(LocalSocket local, IPEndPoint from, byte[] copy, TimeSpan delay) =>
        _ = Task.Delay(delay, StopToken()).ContinueWith(
            _ =>
            {
                try
                {
                    Deliver(local, from.Serialize(), copy, from);
                }
                catch (Exception)
                {
                    Interlocked.Increment(ref _dropped);
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.OnlyOnRanToCompletion,
            TaskScheduler.Default);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        SetState(IceState.Closed);
        _stop.Cancel();
        foreach (var s in _sockets)
        {
            s.Socket.Dispose();
        }

        foreach (var s in _sockets)
        {
            if (s.Loop is not null)
            {
                await s.Loop.ConfigureAwait(false);
            }
        }

        if (_timer is not null)
        {
            try
            {
                await _timer.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        _connected.TrySetException(new IOException("ICE agent closed"));
        _stop.Dispose();
    }

    private void AddRemoteEndpoint(IPEndPoint endpoint)
    {
        lock (_gate)
        {
            if (_remoteEndpoints.Contains(endpoint))
            {
                return;
            }

            _remoteEndpoints.Add(endpoint);
            foreach (var s in _sockets.Where(s => s.Local.AddressFamily == endpoint.AddressFamily))
            {
                if (IPAddress.IsLoopback(s.Local.Address) != IPAddress.IsLoopback(endpoint.Address))
                {
                    continue; // loopback only pairs with loopback
                }

                _pairs.Add(new Pair(s, endpoint));
            }

            _pairs.Sort((a, b) => b.Socket.Priority.CompareTo(a.Socket.Priority));
        }

        // The first check goes out now rather than at the next pacing tick (up to 20 ms later): pacing spaces checks
        // apart, it does not delay the first (RFC 8445 §6.1.4.2). Later pairs wait their turn as before.
        if (Interlocked.CompareExchange(ref _firstCheckSent, 1, 0) == 0)
        {
            if (_options.Lite || _remoteUfrag is null || State is not IceState.New || Volatile.Read(ref _checkStartTicks) == 0)
            {
                Volatile.Write(ref _firstCheckSent, 0);
                return;
            }

            TickOnce(_options.TimeProvider.GetTimestamp());
        }
    }

    /// <summary>One tick, from the timer loop or the first pair's immediate check: serialized; a socket gone away is left to the next tick or Dispose.</summary>
    private void TickOnce(long now)
    {
        try
        {
            lock (_tickLock)
            {
                Tick(now);
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // the next tick or Dispose handles it
        }
    }

    private int _firstCheckSent;
    private readonly object _tickLock = new();

    private void EnsurePair(LocalSocket local, IPEndPoint remote)
    {
        lock (_gate)
        {
            if (!_pairs.Exists(p => ReferenceEquals(p.Socket, local) && p.Remote.Equals(remote)))
            {
                _pairs.Add(new Pair(local, remote));
            }
        }
    }

    private async Task ReceiveLoopAsync(LocalSocket local)
    {
        var buffer = GC.AllocateUninitializedArray<byte>(2048, pinned: true);
        var family = local.Local.AddressFamily;
        var any = new IPEndPoint(family == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, 0);
        var address = new SocketAddress(family);

        // After each awaited datagram, whatever else already waits (more of a frame) is taken with one call.
        using var drain = DatagramBatch.IsNative ? new DatagramBatch(32) : null;
        while (!_stop.IsCancellationRequested)
        {
            int received;
            try
            {
                // The SocketAddress overload reuses one address and one awaitable: no allocation per datagram.
                received = await local.Socket.ReceiveFromAsync(buffer, SocketFlags.None, address, _stop.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException)
            {
                continue;
            }

            Receive(local, address, buffer.AsSpan(0, received), any);
            while (drain is not null && drain.Drain(local.Socket) is int n and > 0)
            {
                for (int i = 0; i < n; i++)
                {
                    if (drain.CopySenderTo(i, address))
                    {
                        Receive(local, address, drain[i], any);
                    }
                }

                if (n < drain.Capacity)
                {
                    break;
                }
            }
        }
    }

    /// <summary>One datagram off a socket: the impairment hook, then <see cref="Deliver"/>; nothing a peer sends may end the loop.</summary>
    private void Receive(LocalSocket local, SocketAddress address, ReadOnlySpan<byte> datagram, IPEndPoint any)
    {
        try
        {
            if (_options.Interceptor is { } interceptor)
            {
                var decision = interceptor.Intercept(PacketDirection.Inbound, datagram);
                if (decision.Drop)
                {
                    return;
                }

                if (decision.Delay > TimeSpan.Zero)
                {
                    ReceiveLater(local, (IPEndPoint)any.Create(address), datagram.ToArray(), decision.Delay);
                    return;
                }
            }

            Deliver(local, address, datagram, any);
        }
        catch (Exception)
        {
            Interlocked.Increment(ref _dropped);
        }
    }

    /// <summary>One received datagram, past the impairment hook: media from a validated peer, or STUN and the rest.</summary>
    private void Deliver(LocalSocket local, SocketAddress address, ReadOnlySpan<byte> datagram, IPEndPoint endpointFactory)
    {
        if (!StunMessage.IsStun(datagram) && _validatedAddresses.ContainsKey(address))
        {
            DatagramReceived?.Invoke(datagram); // media from a validated peer: the hot path
        }
        else
        {
            Handle(local, (IPEndPoint)endpointFactory.Create(address), datagram);
        }
    }

    private void Validate(IPEndPoint from)
    {
        if (_validated.TryAdd(from, 0))
        {
            _validatedAddresses.TryAdd(from.Serialize(), 0);
        }
    }

    private void Handle(LocalSocket local, IPEndPoint from, ReadOnlySpan<byte> datagram)
    {
        if (!StunMessage.IsStun(datagram))
        {
            if (_validated.ContainsKey(from))
            {
                DatagramReceived?.Invoke(datagram);
            }
            else
            {
                Interlocked.Increment(ref _dropped);
            }

            return;
        }

        if (!StunMessage.TryParse(datagram, out var message, out _) || (message.HasFingerprint && !message.VerifyFingerprint()))
        {
            Interlocked.Increment(ref _dropped);
            return;
        }

        switch (message.Type)
        {
            case StunMessageType.BindingRequest:
                HandleRequest(local, from, message);
                break;
            case StunMessageType.BindingSuccess:
            case StunMessageType.BindingError:
                HandleResponse(from, message);
                break;
            default:
                break; // indications: keepalive
        }
    }

    private void HandleRequest(LocalSocket local, IPEndPoint from, StunMessage request)
    {
        var localPassword = Encoding.UTF8.GetBytes(LocalPassword);
        if (!request.TryGetAttribute(StunAttributeType.Username, out var username) || !request.VerifyIntegrity(localPassword))
        {
            Interlocked.Increment(ref _dropped);
            return;
        }

        var name = Encoding.UTF8.GetString(username);
        int colon = name.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0 || name[..colon] != LocalUfrag)
        {
            Interlocked.Increment(ref _dropped);
            return;
        }

        // A request seen before: from the same address it is a retransmission (answered again, changes nothing);
        // from another it is a replay — somebody sniffed a valid check — and is neither answered nor trusted.
        var seen = SeenRequest(request.TransactionId, from);
        if (seen == RequestHistory.Replayed)
        {
            Interlocked.Increment(ref _replays);
            Interlocked.Increment(ref _dropped);
            return;
        }

        Span<byte> response = stackalloc byte[256];
        // Role conflict (RFC 8445 §7.3.1.1).
        bool theyControl = request.TryGetTieBreaker(StunAttributeType.IceControlling, out ulong theirs);
        bool theyAreControlled = request.TryGetTieBreaker(StunAttributeType.IceControlled, out ulong theirsControlled);
        if (_controlling && theyControl)
        {
            if (_tieBreaker >= theirs)
            {
                SendRoleConflict(local, from, request.TransactionId, localPassword);
                return;
            }

            _controlling = false;
        }
        else if (!_controlling && theyAreControlled && !_options.Lite)
        {
            if (_tieBreaker >= theirsControlled)
            {
                _controlling = true;
            }
            else
            {
                SendRoleConflict(local, from, request.TransactionId, localPassword);
                return;
            }
        }

        var writer = new StunWriter(response, StunMessageType.BindingSuccess, request.TransactionId);
        writer.AddXorMappedAddress(from);
        writer.AddMessageIntegrity(localPassword);
        writer.AddFingerprint();
        try
        {
            Transmit(local.Socket, writer.Written, from);
        }
        catch (SocketException)
        {
            return; // not remembered: the peer's retransmission is handled as new
        }

        if (seen == RequestHistory.Retransmission)
        {
            return;
        }

        RememberRequest(request.TransactionId, from);

        // Peer-reflexive learning: an address we did not know about becomes a remote candidate, paired at least with
        // the socket the check arrived on (that path demonstrably works).
        AddRemoteEndpoint(from);
        EnsurePair(local, from);
        Validate(from);
        if (_options.Lite)
        {
            // A lite agent sends no checks of its own: the peer's authenticated checks are its only sign of life. A full
            // agent obtains consent from authenticated responses to its own checks only (RFC 7675 §5.1).
            Interlocked.Exchange(ref _lastConsentTicks, _options.TimeProvider.GetTimestamp());
        }
        SetState(IceState.New, IceState.Checking); // only from New: a Connected set meanwhile by another thread stays

        if (!_controlling && request.Has(StunAttributeType.UseCandidate) && _selected is null)
        {
            Select(local, from);
        }
    }

    /// <summary>Whether a request's transaction was answered before, and from where (the last 512 are remembered).</summary>
    private RequestHistory SeenRequest(ReadOnlySpan<byte> transactionId, IPEndPoint from)
    {
        lock (_requests)
        {
            return !_requests.TryGetValue(Key(transactionId), out var first) ? RequestHistory.New
                : first.Equals(from) ? RequestHistory.Retransmission : RequestHistory.Replayed;
        }
    }

    /// <summary>Remembers an answered request's transaction and its address, so a replay from elsewhere is known.</summary>
    private void RememberRequest(ReadOnlySpan<byte> transactionId, IPEndPoint from)
    {
        var key = Key(transactionId);
        lock (_requests)
        {
            if (!_requests.TryAdd(key, from))
            {
                return;
            }

            _requestOrder.Enqueue(key);
            if (_requestOrder.Count > MaxRememberedRequests)
            {
                _requests.Remove(_requestOrder.Dequeue());
            }
        }
    }

    private void SendRoleConflict(LocalSocket local, IPEndPoint to, ReadOnlySpan<byte> transactionId, byte[] localPassword)
    {
        Span<byte> buffer = stackalloc byte[256];
        var error = new StunWriter(buffer, StunMessageType.BindingError, transactionId);
        error.AddErrorCode(487, "Role Conflict"u8);
        error.AddMessageIntegrity(localPassword);
        error.AddFingerprint();
        Transmit(local.Socket, error.Written, to);
    }

    private void HandleResponse(IPEndPoint from, StunMessage response)
    {
        var key = Key(response.TransactionId);
        if (!_transactions.TryRemove(key, out var pair) || _remotePassword is null || !response.VerifyIntegrity(_remotePassword))
        {
            Interlocked.Increment(ref _dropped);
            return;
        }

        if (response.Type == StunMessageType.BindingError)
        {
            if (response.TryGetErrorCode(out int code) && code == 487)
            {
                _controlling = !pair.SentControlling; // switch away from the role that conflicted
                pair.NextCheckTicks = 0; // retry with the new role
            }

            return;
        }

        if (!from.Equals(pair.Remote))
        {
            return; // asymmetric response: ignore
        }

        pair.Succeeded = true;
        Validate(from);
        Interlocked.Exchange(ref _lastConsentTicks, _options.TimeProvider.GetTimestamp());
        if (_controlling && _selected is null && pair.Nominating)
        {
            Select(pair.Socket, pair.Remote);
        }
    }

    private void Select(LocalSocket socket, IPEndPoint remote)
    {
        lock (_gate)
        {
            if (_selected is not null)
            {
                return;
            }

            _selected = new Selected(socket, remote);
        }

        var now = _options.TimeProvider.GetTimestamp();
        Interlocked.Exchange(ref _lastConsentTicks, now);
        ScheduleConsent(now);
        SetState(IceState.Connected);
        _connected.TrySetResult();
    }

    private async Task TimerLoopAsync()
    {
        var time = _options.TimeProvider;
        _checkStartTicks = time.GetTimestamp();
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_options.Pacing, time, _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            TickOnce(time.GetTimestamp());
        }
    }

    private void Tick(long now)
    {
        var time = _options.TimeProvider;
        var state = State;
        if (state == IceState.Connected)
        {
            if (time.GetElapsedTime(Interlocked.Read(ref _lastConsentTicks), now) > _options.ConsentTimeout)
            {
                Fail();
                return;
            }

            if (_controlling && !_options.Lite && now >= _nextConsentTicks && _selected is { } s && _remoteUfrag is not null)
            {
                SendCheck(new Pair(s.Socket, s.Remote) { Nominating = true });
                ScheduleConsent(now);
            }

            return;
        }

        if (state is IceState.Failed or IceState.Closed)
        {
            return;
        }

        if (time.GetElapsedTime(_checkStartTicks, now) > _options.CheckTimeout && _remoteUfrag is not null)
        {
            Fail();
            return;
        }

        if (_options.Lite || _remoteUfrag is null || _remotePassword is null)
        {
            return;
        }

        // One check per tick (pacing): the first pair that is due.
        Pair? due = null;
        lock (_gate)
        {
            foreach (var p in _pairs)
            {
                if (!p.Succeeded && now >= p.NextCheckTicks && p.Attempts < 20)
                {
                    due = p;
                    break;
                }

                if (p.Succeeded && _controlling && _selected is null && !p.Nominating)
                {
                    due = p; // regular nomination of a pair that succeeded without USE-CANDIDATE
                    break;
                }
            }
        }

        if (due is null)
        {
            return;
        }

        SetState(IceState.New, IceState.Checking); // only from New: a Connected set meanwhile by another thread stays

        due.Nominating = _controlling;
        due.Attempts++;
        due.NextCheckTicks = now + (long)(time.TimestampFrequency * Math.Min(1.6, 0.1 * (1 << Math.Min(due.Attempts, 4))));
        SendCheck(due);
    }

    private void SendCheck(Pair pair)
    {
        Span<byte> buffer = stackalloc byte[256];
        Span<byte> transaction = stackalloc byte[12];
        RandomNumberGenerator.Fill(transaction);
        var writer = new StunWriter(buffer, StunMessageType.BindingRequest, transaction);
        writer.AddUsername(Encoding.UTF8.GetBytes($"{_remoteUfrag}:{LocalUfrag}"));
        writer.AddPriority(IceCandidate.ComputePriority(IceCandidateType.PeerReflexive, (int)((pair.Socket.Priority >> 8) & 0xFFFF)));
        bool controlling = _controlling;
        pair.SentControlling = controlling;
        writer.AddIceRole(controlling, _tieBreaker);
        if (controlling && pair.Nominating)
        {
            writer.AddUseCandidate();
        }

        writer.AddMessageIntegrity(_remotePassword);
        writer.AddFingerprint();
        _transactions[Key(transaction)] = pair;
        if (_transactions.Count > 1024)
        {
            _transactions.Clear(); // bounded: stale transactions of unanswered checks
            _transactions[Key(transaction)] = pair;
        }

        Transmit(pair.Socket.Socket, writer.Written, pair.Remote);
    }

    private void ScheduleConsent(long now)
    {
        double factor = 0.8 + (Random.Shared.NextDouble() * 0.4);
        // Every ConsentInterval (RFC 7675: 5 s), but at least four checks per ConsentTimeout, so a short timeout
        // (tests use ~2 s) never expires between two checks.
        double interval = Math.Min(_options.ConsentInterval.TotalSeconds, _options.ConsentTimeout.TotalSeconds / 4);
        _nextConsentTicks = now + (long)(interval * factor * _options.TimeProvider.TimestampFrequency);
    }

    private void Fail()
    {
        SetState(IceState.Failed);
        _connected.TrySetException(new IOException(_selected is null ? "ICE failed: no candidate pair succeeded" : "ICE failed: consent expired"));
    }

    private void SetState(IceState state)
    {
        if (_state.TryMove(state))
        {
            StateChanged?.Invoke(state);
        }
    }

    private void SetState(IceState from, IceState to)
    {
        if (_state.TryMove(from, to))
        {
            StateChanged?.Invoke(to);
        }
    }

    private static UInt128 Key(ReadOnlySpan<byte> transactionId) =>
        new(BinaryPrimitives.ReadUInt32BigEndian(transactionId), BinaryPrimitives.ReadUInt64BigEndian(transactionId[4..]));

    private static string RandomToken(int length)
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        Span<byte> bytes = stackalloc byte[length];
        RandomNumberGenerator.Fill(bytes);
        var chars = new char[length];
        for (int i = 0; i < length; i++)
        {
            chars[i] = alphabet[bytes[i] & 63];
        }

        return new string(chars);
    }

    private sealed class LocalSocket(Socket socket, IPEndPoint local, uint priority)
    {
        public Socket Socket { get; } = socket;

        public IPEndPoint Local { get; } = local;

        public uint Priority { get; } = priority;

        public Task? Loop { get; set; }
    }

    private sealed class Pair(LocalSocket socket, IPEndPoint remote)
    {
        public LocalSocket Socket { get; } = socket;

        public IPEndPoint Remote { get; } = remote;

        public bool Succeeded { get; set; }

        public bool Nominating { get; set; }

        public bool SentControlling { get; set; }

        public int Attempts { get; set; }

        public long NextCheckTicks { get; set; }
    }

    private sealed record Selected(LocalSocket Socket, IPEndPoint Remote)
    {
        /// <summary>The remote serialized once, for the allocation-free send overload.</summary>
        public SocketAddress RemoteAddress { get; } = Remote.Serialize();
    }
}
