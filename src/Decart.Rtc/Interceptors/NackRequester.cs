using Decart.Rtc.Rtcp;
using Decart.Rtc.Rtp;

namespace Decart.Rtc.Interceptors;

/// <summary>
/// The receive side of NACK (RFC 4585): a <see cref="NackGenerator"/> per media source notes the gaps in what arrives
/// (retransmissions fill them) and on every RTCP tick the missing sequence numbers go out as generic NACKs, each asked
/// for a bounded number of times. At most <see cref="ReceiverStatistics.MaxSources"/> sources; the NACKs of one tick
/// fit one datagram.
/// </summary>
internal sealed class NackRequester : IRtpInterceptor
{
    private readonly object _gate = new();
    private readonly uint _senderSsrc;
    private readonly PeerConnectionStats _stats;
    private readonly (uint Ssrc, NackGenerator Generator)[] _sources = new (uint, NackGenerator)[ReceiverStatistics.MaxSources];
    private readonly ushort[] _lost = new ushort[128];
    private int _count;

    /// <summary>Creates the requester.</summary>
    /// <param name="senderSsrc">Our SSRC, the NACKs' sender.</param>
    /// <param name="stats">Where sent NACKs are counted.</param>
    public NackRequester(uint senderSsrc, PeerConnectionStats stats)
    {
        _senderSsrc = senderSsrc;
        _stats = stats;
    }

    /// <summary>Sequence numbers missing right now, over every source.</summary>
    public int Pending
    {
        get
        {
            lock (_gate)
            {
                int n = 0;
                for (int i = 0; i < _count; i++)
                {
                    n += _sources[i].Generator.PendingCount;
                }

                return n;
            }
        }
    }

    /// <inheritdoc />
    public void OnMediaReceived(in RtpHeader header, bool repaired, long now)
    {
        lock (_gate)
        {
            for (int i = 0; i < _count; i++)
            {
                if (_sources[i].Ssrc == header.Ssrc)
                {
                    _sources[i].Generator.OnReceived(header.SequenceNumber);
                    return;
                }
            }

            if (repaired)
            {
                return; // a retransmission of a source we never saw: nothing to track
            }

            // A new source; the oldest is replaced when the table is full (a sender restarting its streams).
            var generator = new NackGenerator();
            generator.OnReceived(header.SequenceNumber);
            if (_count < _sources.Length)
            {
                _sources[_count++] = (header.Ssrc, generator);
            }
            else
            {
                Array.Copy(_sources, 1, _sources, 0, _sources.Length - 1);
                _sources[^1] = (header.Ssrc, generator);
            }
        }
    }

    /// <inheritdoc />
    public int WriteRtcp(Span<byte> destination, long now)
    {
        lock (_gate)
        {
            int total = 0;
            for (int i = 0; i < _count; i++)
            {
                // A NACK of 128 numbers takes at most 12 + 4 × 128 bytes.
                if (destination.Length - total < 12 + (4 * _lost.Length))
                {
                    break;
                }

                int count = _sources[i].Generator.CollectNacks(_lost);
                if (count > 0)
                {
                    total += RtcpWriter.WriteNack(destination[total..], _senderSsrc, _sources[i].Ssrc, _lost.AsSpan(0, count));
                    _stats.NackSent(count);
                }
            }

            return total;
        }
    }
}
