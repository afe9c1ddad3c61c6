namespace Decart.Rtc.Transport;

/// <summary>What a datagram on a WebRTC 5-tuple is, by its first byte (RFC 7983 §7).</summary>
internal enum DatagramKind
{
    /// <summary>None of the ranges below (ZRTP, TURN channels, garbage).</summary>
    Unknown,

    /// <summary>STUN (first byte 0–3).</summary>
    Stun,

    /// <summary>A DTLS record (first byte 20–63).</summary>
    Dtls,

    /// <summary>RTP or RTCP, protected (first byte 128–191).</summary>
    Media,
}

/// <summary>The RFC 7983 demultiplexing rule.</summary>
internal static class Rfc7983
{
    /// <summary>Classifies a datagram by its first byte.</summary>
    /// <param name="datagram">The datagram.</param>
    /// <returns>Its kind; <see cref="DatagramKind.Unknown"/> when empty.</returns>
    public static DatagramKind Classify(ReadOnlySpan<byte> datagram) => datagram.IsEmpty ? DatagramKind.Unknown : datagram[0] switch
    {
        <= 3 => DatagramKind.Stun,
        >= 20 and <= 63 => DatagramKind.Dtls,
        >= 128 and <= 191 => DatagramKind.Media,
        _ => DatagramKind.Unknown,
    };
}

/// <summary>
/// The one place a received datagram is classified (RFC 7983), below DTLS and SRTP: DTLS records go up the
/// <see cref="Dtls"/> path to the handshake, SRTP/SRTCP to <see cref="MediaReceived"/>, anything else is counted and
/// dropped. Sends pass straight down. A peer connection's receive path is one way: socket → ICE (impairment, STUN) →
/// this → DTLS or SRTP → interceptors → streams.
/// </summary>
internal sealed class PacketDemux : IDisposable
{
    private readonly IDatagramTransport _lower;
    private readonly DtlsPath _dtls;
    private long _unknown;

    /// <summary>Demultiplexes <paramref name="lower"/>.</summary>
    /// <param name="lower">The path below (the ICE agent, or a UDP socket in tests).</param>
    public PacketDemux(IDatagramTransport lower)
    {
        _lower = lower ?? throw new ArgumentNullException(nameof(lower));
        _dtls = new DtlsPath(lower);
        _lower.DatagramReceived += OnDatagram;
    }

    /// <summary>The path DTLS runs over: it receives DTLS records only.</summary>
    public IDatagramTransport Dtls => _dtls;

    /// <summary>Raised for SRTP and SRTCP datagrams; the span is only valid during the call.</summary>
    public event DatagramHandler? MediaReceived;

    /// <summary>Datagrams that were neither DTLS nor media (STUN reaching this far, ZRTP, TURN channel data, garbage).</summary>
    public long Unclassified => Interlocked.Read(ref _unknown);

    /// <summary>Stops listening to the lower path.</summary>
    public void Dispose() => _lower.DatagramReceived -= OnDatagram;

    private void OnDatagram(ReadOnlySpan<byte> datagram)
    {
        switch (Rfc7983.Classify(datagram))
        {
            case DatagramKind.Media:
                MediaReceived?.Invoke(datagram);
                break;
            case DatagramKind.Dtls:
                _dtls.Raise(datagram);
                break;
            default:
                Interlocked.Increment(ref _unknown);
                break;
        }
    }

    private sealed class DtlsPath(IDatagramTransport lower) : IDatagramTransport
    {
        public event DatagramHandler? DatagramReceived;

        public int MaxDatagramSize => lower.MaxDatagramSize;

        public bool Send(ReadOnlySpan<byte> datagram) => lower.Send(datagram);

        public void Raise(ReadOnlySpan<byte> datagram) => DatagramReceived?.Invoke(datagram);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
