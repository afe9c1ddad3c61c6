namespace Decart.Rtc.Transport;

/// <summary>Which way a datagram travels through a peer connection.</summary>
public enum PacketDirection
{
    /// <summary>Leaving this peer.</summary>
    Outbound,

    /// <summary>Arriving at this peer.</summary>
    Inbound,
}

/// <summary>What an interceptor decided for one datagram.</summary>
/// <param name="Drop">Discard it.</param>
/// <param name="Delay">Deliver it this much later (zero: now).</param>
public readonly record struct InterceptDecision(bool Drop, TimeSpan Delay)
{
    /// <summary>Deliver now.</summary>
    public static InterceptDecision Pass => default;

    /// <summary>Discard.</summary>
    public static InterceptDecision Discard => new(true, TimeSpan.Zero);
}

/// <summary>
/// The impairment hook of a peer connection, below ICE: sees every datagram its sockets send or receive — STUN checks
/// and consent, DTLS records, SRTP/SRTCP (protected) — and may drop or delay it: loss, latency, jitter, bandwidth caps
/// and black holes without touching the protocol layers. <see cref="Rfc7983.Classify"/> tells the kinds apart. The
/// simulator plugs its faults in here.
/// </summary>
public interface IPacketInterceptor
{
    /// <summary>
    /// Decides the fate of one datagram. Called on the send path and the receive loop: keep it fast and non-blocking. If
    /// it throws, that datagram is dropped (and counted) and the connection carries on.
    /// </summary>
    /// <param name="direction">Which way it travels.</param>
    /// <param name="datagram">The bytes (read-only; valid during the call).</param>
    /// <returns>The decision.</returns>
    InterceptDecision Intercept(PacketDirection direction, ReadOnlySpan<byte> datagram);
}
