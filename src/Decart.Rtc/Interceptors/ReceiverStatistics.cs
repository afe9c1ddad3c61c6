using Decart.Rtc.Rtcp;
using Decart.Rtc.Rtp;

namespace Decart.Rtc.Interceptors;

/// <summary>
/// The receive side of RFC 3550 per media source (SSRC): extended highest sequence number, packets lost (A.3),
/// interarrival jitter (A.8, 90 kHz) and the last sender report with its arrival, from which the reception report
/// blocks we send are built — the fraction lost over the interval since the previous report, not the whole stream.
/// Retransmissions are not counted (a packet that came late on RTX was lost on its own stream). At most
/// <see cref="MaxSources"/> sources are tracked; more are refused and counted.
/// </summary>
internal sealed class ReceiverStatistics : IRtpInterceptor
{
    /// <summary>Sources tracked at once.</summary>
    public const int MaxSources = 16;

    private static readonly long Forgotten = (long)TimeSpan.FromSeconds(5).TotalMicroseconds;
    private readonly object _gate = new();
    private readonly Source[] _sources = new Source[MaxSources];
    private int _count;
    private long _refused;

    /// <summary>Sources not tracked because <see cref="MaxSources"/> were.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    /// <inheritdoc />
    public void OnMediaReceived(in RtpHeader header, bool repaired, long now)
    {
        if (repaired)
        {
            return;
        }

        lock (_gate)
        {
            (Find(header.Ssrc) ?? Add(header.Ssrc, now))?.OnPacket(header, now);
        }
    }

    /// <inheritdoc />
    public void OnRtcpReceived(in RtcpPacket packet, long now)
    {
        if (packet.TryGetSenderReport(out var report))
        {
            lock (_gate)
            {
                Find(report.Ssrc)?.OnSenderReport(report.CompactNtp, now);
            }
        }
    }

    /// <summary>Packets lost and jitter of one source, if tracked.</summary>
    /// <param name="ssrc">The source.</param>
    /// <returns>Its counters.</returns>
    public (long Lost, TimeSpan Jitter)? Of(uint ssrc)
    {
        lock (_gate)
        {
            return Find(ssrc) is { } source ? (source.Lost, TimeSpan.FromSeconds(source.Jitter / 90_000.0)) : null;
        }
    }

    /// <summary>
    /// The report blocks for every source heard from in the last 5 s (each call starts a new fraction-lost interval);
    /// sources silent for longer are forgotten.
    /// </summary>
    /// <param name="destination">Where the blocks go (at most 31 fit an RTCP report).</param>
    /// <param name="now">Now, <see cref="RtpClock"/> µs.</param>
    /// <returns>Blocks written.</returns>
    public int ReportBlocks(Span<ReceptionReport> destination, long now)
    {
        lock (_gate)
        {
            int n = 0;
            for (int i = 0; i < _count;)
            {
                var source = _sources[i];
                if (now - source.LastArrival > Forgotten)
                {
                    _sources[i] = _sources[--_count];
                    _sources[_count] = null!;
                    continue;
                }

                if (n < destination.Length)
                {
                    destination[n++] = source.ReportBlock(now);
                }

                i++;
            }

            return n;
        }
    }

    private Source? Find(uint ssrc)
    {
        for (int i = 0; i < _count; i++)
        {
            if (_sources[i].Ssrc == ssrc)
            {
                return _sources[i];
            }
        }

        return null;
    }

    private Source? Add(uint ssrc, long now)
    {
        if (_count == MaxSources)
        {
            _refused++;
            return null;
        }

        var source = new Source(ssrc) { LastArrival = now };
        _sources[_count++] = source;
        return source;
    }

    private sealed class Source(uint ssrc)
    {
        private SequenceUnwrapper _unwrapper;
        private long _base = -1;
        private long _highest;
        private long _received;
        private long _expectedPrior;
        private long _receivedPrior;
        private long _lastTransit;
        private bool _haveTransit;
        private uint _lastSrCompact;
        private long _lastSrArrival = -1;

        public uint Ssrc { get; } = ssrc;

        public long LastArrival { get; set; }

        public double Jitter { get; private set; }

        public long Lost => _base < 0 ? 0 : Math.Max(0, _highest - _base + 1 - _received);

        public void OnPacket(in RtpHeader header, long now)
        {
            LastArrival = now;
            long extended = _unwrapper.Unwrap(header.SequenceNumber);
            if (_base < 0)
            {
                _base = extended;
                _highest = extended;
            }

            _highest = Math.Max(_highest, extended);
            _received++;
            // The difference in 32-bit RTP time, so the timestamp wrapping (every 13 h at 90 kHz) is no jump.
            long transit = unchecked((int)((uint)(now * 90 / 1000) - header.Timestamp));
            if (_haveTransit)
            {
                long d = Math.Abs(transit - _lastTransit);
                Jitter += (d - Jitter) / 16.0;
            }

            _lastTransit = transit;
            _haveTransit = true;
        }

        public void OnSenderReport(uint compactNtp, long now)
        {
            _lastSrCompact = compactNtp;
            _lastSrArrival = now;
        }

        public ReceptionReport ReportBlock(long now)
        {
            uint dlsr = _lastSrArrival >= 0 ? (uint)((now - _lastSrArrival) * 65_536 / 1_000_000) : 0;
            long expected = _base < 0 ? 0 : _highest - _base + 1;
            long expectedInterval = expected - _expectedPrior;
            long lostInterval = expectedInterval - (_received - _receivedPrior);
            _expectedPrior = expected;
            _receivedPrior = _received;
            byte fraction = expectedInterval > 0 && lostInterval > 0 ? (byte)Math.Clamp(lostInterval * 256 / expectedInterval, 0, 255) : (byte)0;
            return new ReceptionReport(Ssrc, fraction, (int)Math.Min(Lost, 0x7FFFFF), (uint)_highest, (uint)Jitter, _lastSrCompact, dlsr);
        }
    }
}
