namespace Decart.Rtc.Transport;

/// <summary>
/// A bidirectional, unreliable, message-oriented path to one remote peer: the selected ICE candidate
/// pair, a plain UDP socket in tests, or an impaired link in the simulator. DTLS runs on top of it and
/// SRTP packets travel over it.
/// </summary>
/// <remarks>
/// Received datagrams are pushed to <see cref="DatagramReceived"/> on the transport's receive loop. The
/// span is only valid during the call: a handler that keeps the bytes must copy them. A handler must not
/// throw; if it does, the transport drops that datagram and carries on.
/// </remarks>
public interface IDatagramTransport : IAsyncDisposable
{
    /// <summary>Largest datagram <see cref="Send"/> accepts, in bytes.</summary>
    int MaxDatagramSize { get; }

    /// <summary>Sends one datagram to the remote peer. Never blocks on the network; drops when the path is down.</summary>
    /// <param name="datagram">The bytes to send.</param>
    /// <returns><see langword="true"/> when the datagram was handed to the network.</returns>
    bool Send(ReadOnlySpan<byte> datagram);

    /// <summary>Raised for every datagram that arrives from the remote peer.</summary>
    event DatagramHandler? DatagramReceived;
}

/// <summary>Receives one datagram; <paramref name="datagram"/> is only valid during the call.</summary>
/// <param name="datagram">The received bytes.</param>
public delegate void DatagramHandler(ReadOnlySpan<byte> datagram);
