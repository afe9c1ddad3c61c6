using System.Net;
using System.Net.Sockets;

namespace Decart.Rtc.Transport;

/// <summary>
/// An <see cref="IDatagramTransport"/> over a UDP socket bound locally and talking to one remote endpoint: a direct
/// link for tests and for C#↔C# media without ICE. Datagrams from other addresses are dropped and counted.
/// </summary>
public sealed class UdpDatagramTransport : IDatagramTransport
{
    private readonly Socket _socket;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private Peer _remote; // swapped whole by Connect: the endpoint and its serialized form always agree
    private int _disposed;

    /// <summary>Binds a socket and starts receiving.</summary>
    /// <param name="local">Where to bind (port 0 picks one).</param>
    /// <param name="remote">The only peer accepted; may be set later with <see cref="Connect"/>.</param>
    public UdpDatagramTransport(IPEndPoint local, IPEndPoint? remote = null)
    {
        ArgumentNullException.ThrowIfNull(local);
        _socket = new Socket(local.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        _socket.Bind(local);
        _remote = new Peer(remote ?? new IPEndPoint(local.AddressFamily == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, 0));
        _loop = Task.Run(ReceiveLoopAsync);
    }

    /// <inheritdoc />
    public event DatagramHandler? DatagramReceived;

    /// <summary>The bound local endpoint.</summary>
    public IPEndPoint LocalEndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    /// <inheritdoc />
    public int MaxDatagramSize => 1500;

    /// <summary>Datagrams dropped because they came from another address or a handler threw.</summary>
    public long DroppedDatagrams => Interlocked.Read(ref _dropped);

    private long _dropped;

    /// <summary>Sets the peer.</summary>
    /// <param name="remote">The peer's endpoint.</param>
    public void Connect(IPEndPoint remote)
    {
        ArgumentNullException.ThrowIfNull(remote);
        Volatile.Write(ref _remote, new Peer(remote));
    }

    /// <inheritdoc />
    public bool Send(ReadOnlySpan<byte> datagram)
    {
        var remote = Volatile.Read(ref _remote);
        if (remote.Endpoint.Port == 0 || _disposed != 0 || datagram.Length > MaxDatagramSize)
        {
            return false;
        }

        try
        {
            _socket.SendTo(datagram, SocketFlags.None, remote.Address);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _stop.Cancel();
        _socket.Dispose();
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = GC.AllocateUninitializedArray<byte>(65536, pinned: true);
        var address = new SocketAddress(_socket.AddressFamily);
        while (!_stop.IsCancellationRequested)
        {
            int received;
            try
            {
                // One reused SocketAddress: no allocation per datagram.
                received = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, address, _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException)
            {
                // ICMP port unreachable and the like: keep receiving.
                continue;
            }

            var remote = Volatile.Read(ref _remote);
            if (remote.Endpoint.Port != 0 && !address.Equals(remote.Address))
            {
                Interlocked.Increment(ref _dropped);
                continue;
            }

            try
            {
                DatagramReceived?.Invoke(buffer.AsSpan(0, received));
            }
            catch (Exception)
            {
                // A handler must not throw; if it does, that datagram is lost and the loop carries on.
                Interlocked.Increment(ref _dropped);
            }
        }
    }

    /// <summary>The peer and its serialized address, for the allocation-free send and the receive-side comparison.</summary>
    private sealed class Peer(IPEndPoint endpoint)
    {
        public IPEndPoint Endpoint { get; } = endpoint;

        public SocketAddress Address { get; } = endpoint.Serialize();
    }
}
