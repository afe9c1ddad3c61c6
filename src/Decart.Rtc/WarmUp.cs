using Decart.Rtc.Dtls;
using Decart.Rtc.Srtp;
using Decart.Rtc.Transport;

namespace Decart.Rtc;

/// <summary>
/// What a process's first connection would otherwise pay on its critical path: the DTLS certificate (an ECDSA P-256
/// key and a signature) and the first compilation of the DTLS handshake, its elliptic-curve arithmetic and the SRTP
/// key schedule. <see cref="RunAsync"/> does both once per process, off the caller's path — a DTLS handshake between
/// two endpoints in memory, then one SRTP packet each way with the keys it produced.
/// </summary>
public static class RtcWarmUp
{
    private static readonly Lazy<Task> Once = new(Start, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>
    /// Warms the process up for its first connection, once (later calls return the same task). Connects start it
    /// themselves in the background; calling it at app start takes it off the first connect entirely. Never throws:
    /// a warm-up that fails only means the first connect pays as before.
    /// </summary>
    /// <param name="cancellationToken">Stops waiting for it (the warm-up itself carries on).</param>
    /// <returns>A task that completes when the warm-up is done.</returns>
    public static Task RunAsync(CancellationToken cancellationToken = default) => Once.Value.WaitAsync(cancellationToken);

    /// <summary>Whether the warm-up has finished (its two in-memory endpoints are closed 5 s after their handshake).</summary>
    public static bool IsDone => Once.IsValueCreated && Once.Value.IsCompleted;

    /// <summary>Whether it got through the handshake and an SRTP packet each way (tests check it did the work).</summary>
    internal static bool Succeeded { get; private set; }

    private static Task Start()
    {
        // The first caller's execution context (its AsyncLocals, its Activity) is not carried into the warm-up.
        using (ExecutionContext.SuppressFlow())
        {
            return Task.Run(RunCoreAsync);
        }
    }

    private static async Task RunCoreAsync()
    {
        try
        {
            var certificate = DtlsCertificate.Default;
            var (a, b) = MemoryLink.CreatePair();
            var client = new DtlsTransport(a, DtlsRole.Client, certificate.Fingerprint, certificate) { HandshakeTimeout = TimeSpan.FromSeconds(10) };
            var server = new DtlsTransport(b, DtlsRole.Server, certificate.Fingerprint, certificate) { HandshakeTimeout = TimeSpan.FromSeconds(10) };
            try
            {
                var keys = await Task.WhenAll(client.HandshakeAsync(), server.HandshakeAsync()).ConfigureAwait(false);
                using var sender = new SrtpSession(keys[0]);
                using var receiver = new SrtpSession(keys[1]);
                var packet = new byte[256];
                var writer = new Rtp.RtpWriter(packet, 96, 1, 0, 1, true);
                writer.AddExtension(1, [0, 0]);
                int length = writer.WritePayload(new byte[100]);
                Succeeded = sender.Outbound.ProtectRtp(packet, length, out int protectedLength) == SrtpError.None
                    && receiver.Inbound.UnprotectRtp(packet, protectedLength, out _) == SrtpError.None;
            }
            finally
            {
                // Later, not now: closing a DTLS transport ends its reader with an exception, and a process's first
                // exceptions cost milliseconds of CPU — paid here, they would land on the connect this warms up for.
                await Task.Delay(TimeSpan.FromSeconds(5)).ConfigureAwait(false);

                // The link first: a close_notify still in flight is then dropped, not delivered into a transport
                // that is being disposed.
                await a.DisposeAsync().ConfigureAwait(false);
                await b.DisposeAsync().ConfigureAwait(false);
                await server.DisposeAsync().ConfigureAwait(false);
                await client.DisposeAsync().ConfigureAwait(false);
            }
        }
        catch (Exception)
        {
            // Whatever went wrong, nothing is lost: the first real connect compiles what it needs itself.
        }
    }

    /// <summary>
    /// Two ends of an in-memory datagram link: what one sends, the other receives in order on one reader (as a socket's
    /// receive loop delivers). Delivered as separate thread-pool items instead, a flight's datagrams could reach the DTLS
    /// transport concurrently and out of order on a busy pool, and the handshake then waited on retransmission timers
    /// (one full-suite run timed the warm-up out at 10 s).
    /// </summary>
    private sealed class MemoryLink : IDatagramTransport
    {
        private readonly System.Threading.Channels.Channel<byte[]> _inbox = System.Threading.Channels.Channel.CreateUnbounded<byte[]>(
            new System.Threading.Channels.UnboundedChannelOptions { SingleReader = true });

        private MemoryLink? _peer;
        private int _closed;

        private MemoryLink() => _ = Task.Run(ReadAsync);

        public int MaxDatagramSize => 1500;

        public event DatagramHandler? DatagramReceived;

        public static (MemoryLink A, MemoryLink B) CreatePair()
        {
            var a = new MemoryLink();
            var b = new MemoryLink();
            a._peer = b;
            b._peer = a;
            return (a, b);
        }

        public bool Send(ReadOnlySpan<byte> datagram)
        {
            var peer = _peer;
            if (peer is null || Volatile.Read(ref _closed) == 1 || Volatile.Read(ref peer._closed) == 1)
            {
                return false;
            }

            return peer._inbox.Writer.TryWrite(datagram.ToArray());
        }

        private async Task ReadAsync()
        {
            await foreach (var datagram in _inbox.Reader.ReadAllAsync().ConfigureAwait(false))
            {
                if (Volatile.Read(ref _closed) == 1)
                {
                    return;
                }

                try
                {
                    DatagramReceived?.Invoke(datagram);
                }
                catch (Exception)
                {
                    // A handler racing its own disposal: the datagram is dropped, as a real link would lose it; the
                    // reader carries on.
                }
            }
        }

        public ValueTask DisposeAsync()
        {
            Volatile.Write(ref _closed, 1);
            _inbox.Writer.TryComplete();
            return ValueTask.CompletedTask;
        }
    }
}
