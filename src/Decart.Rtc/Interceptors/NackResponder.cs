using Decart.Rtc.Rtcp;
using Decart.Rtc.Rtp;

namespace Decart.Rtc.Interceptors;

/// <summary>Sends one retransmission (plain RTP: the connection stamps, protects and sends it).</summary>
/// <param name="buffer">A scratch buffer with room for SRTP's tag; the packet is its first <paramref name="length"/> bytes and may be rewritten in place.</param>
/// <param name="length">The packet's length.</param>
internal delegate void RetransmitHandler(Span<byte> buffer, int length);

/// <summary>
/// The send side of NACK (RFC 4585): keeps what we sent in an <see cref="RtpSendBuffer"/> and answers the peer's
/// generic NACKs — on the RTX stream when one was negotiated (RFC 4588), else as the original packet. Under congestion
/// retransmissions must not multiply the rate the path cannot carry, so each packet goes again at most once per round
/// trip, and all copies together stay within half of what the media itself sent in the last second (at least 16 KB).
/// Called on the connection's send lock (sends and NACKs are serialized there).
/// </summary>
internal sealed class NackResponder : IRtpInterceptor
{
    private readonly RtpSendBuffer _buffer = new();
    private readonly PeerConnectionStats _stats;
    private readonly RetransmitHandler _retransmit;
    private readonly Func<TimeSpan?> _roundTrip;
    private readonly byte[] _copy = new byte[1600];
    private readonly ushort[] _lost = new ushort[256];
    private ushort _rtxSequence = (ushort)Random.Shared.Next(0, 30000);

    // The budget's one-second windows: media bytes sent, and copies sent.
    private long _windowStart;
    private long _mediaBytesThisWindow;
    private long _mediaBytesLastWindow;
    private long _retransmitBytes;

    /// <summary>Creates the responder.</summary>
    /// <param name="stats">Where NACKs, retransmissions and suppressions are counted.</param>
    /// <param name="roundTrip">The latest round-trip time, if known.</param>
    /// <param name="retransmit">Sends a copy.</param>
    public NackResponder(PeerConnectionStats stats, Func<TimeSpan?> roundTrip, RetransmitHandler retransmit)
    {
        _stats = stats;
        _roundTrip = roundTrip;
        _retransmit = retransmit;
    }

    /// <summary>The RTX payload type (null: resend the original).</summary>
    public int? RtxPayloadType { get; set; }

    /// <summary>The RTX stream's SSRC.</summary>
    public uint RtxSsrc { get; set; }

    /// <summary>Takes the RTX stream's next sequence number (for a padding packet sent on it).</summary>
    /// <returns>The number.</returns>
    public ushort NextRtxSequence() => _rtxSequence++;

    /// <inheritdoc />
    public void OnRtpSending(Span<byte> packet, in RtpHeader header, long now)
    {
        _buffer.Store(header.SequenceNumber, packet);
        Roll(now / 1000);
        _mediaBytesThisWindow += packet.Length;
    }

    /// <inheritdoc />
    public void OnRtcpReceived(in RtcpPacket packet, long now)
    {
        if (!packet.IsNack)
        {
            return;
        }

        int count = packet.GetNackedSequences(_lost);
        _stats.NackReceived(count);
        long nowMs = now / 1000;
        // A copy needs a round trip to arrive before a NACK for it can stop coming; without an RTT yet, 20 ms (the
        // receiver's NACK cadence here), so nothing is withheld that a real loss needs.
        long minInterval = Math.Clamp((long)(_roundTrip()?.TotalMilliseconds ?? 20), 10, 500);
        Roll(nowMs);
        for (int i = 0; i < count; i++)
        {
            if (_retransmitBytes >= Math.Max(16_384, Math.Max(_mediaBytesLastWindow, _mediaBytesThisWindow) / 2))
            {
                _stats.RetransmissionsSuppressed += count - i;
                break;
            }

            if (!_buffer.TryGetForResend(_lost[i], nowMs, minInterval, out var original))
            {
                if (_buffer.TryGet(_lost[i], out _))
                {
                    _stats.RetransmissionsSuppressed++;
                }

                continue;
            }

            int length = RtxPayloadType is { } rtxPt
                ? Rtx.Wrap(_copy, original, (byte)rtxPt, _rtxSequence++, RtxSsrc)
                : Copy(original);
            if (length > 0)
            {
                _retransmit(_copy, length);
                _stats.Retransmitted();
                _retransmitBytes += length;
            }
        }
    }

    private int Copy(ReadOnlySpan<byte> original)
    {
        original.CopyTo(_copy);
        return original.Length;
    }

    private void Roll(long nowMs)
    {
        if (nowMs - _windowStart < 1000)
        {
            return;
        }

        _mediaBytesLastWindow = nowMs - _windowStart < 2000 ? _mediaBytesThisWindow : 0;
        _mediaBytesThisWindow = 0;
        _retransmitBytes = 0;
        _windowStart = nowMs;
    }
}
