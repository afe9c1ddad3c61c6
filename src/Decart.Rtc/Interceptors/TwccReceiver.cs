using System.Buffers.Binary;
using Decart.Rtc.Rtcp;
using Decart.Rtc.Rtp;

namespace Decart.Rtc.Interceptors;

/// <summary>
/// The receive side of transport-wide congestion control: notes when each packet carrying the <c>transport-cc</c>
/// header extension arrived, and on the RTCP tick (every <see cref="Interval"/>) reports every sequence number since the
/// last report — arrived with its time, or lost — in transport-wide feedback packets, so the sender can run its
/// delay-based estimate. Bounded: it remembers the last <see cref="Window"/> sequence numbers; a later jump reports the
/// skipped ones lost and a packet older than what was reported counts as late.
/// </summary>
internal sealed class TwccReceiver : IRtpInterceptor
{
    /// <summary>How many sequence numbers are remembered between reports.</summary>
    public const int Window = 4096;

    private const int Mask = Window - 1;
    private readonly object _gate = new();
    private readonly long[] _arrivals = new long[Window];
    private readonly uint _senderSsrc;
    private SequenceUnwrapper _unwrapper;
    private long _next = -1;
    private long _highest = -1;
    private long _lastReport;
    private uint _mediaSsrc;
    private byte _feedbackCount;
    private long _late;
    private long _reports;
    private long _skipped;

    /// <summary>Creates the receive side.</summary>
    /// <param name="senderSsrc">Our SSRC, the feedback's sender.</param>
    public TwccReceiver(uint senderSsrc)
    {
        _senderSsrc = senderSsrc;
        Array.Fill(_arrivals, -1);
    }

    /// <summary>The negotiated id of the <c>transport-cc</c> extension on what we receive (0: off).</summary>
    public int ExtensionId { get; set; }

    /// <summary>Time between reports while packets arrive. Default 50 ms.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Feedback packets written.</summary>
    public long Reports => Interlocked.Read(ref _reports);

    /// <summary>Packets that arrived after their sequence number was reported (lost) already.</summary>
    public long Late => Interlocked.Read(ref _late);

    /// <summary>Sequence numbers given up unreported because a jump moved past the window.</summary>
    public long Skipped => Interlocked.Read(ref _skipped);

    /// <inheritdoc />
    public void OnRtpReceived(ReadOnlySpan<byte> packet, in RtpHeader header, long now)
    {
        int id = ExtensionId;
        if (id == 0 || !header.TryGetExtension(packet, id, out var value) || value.Length < 2)
        {
            return;
        }

        ushort sequence = BinaryPrimitives.ReadUInt16BigEndian(value);
        lock (_gate)
        {
            long extended = _unwrapper.Unwrap(sequence);
            _mediaSsrc = header.Ssrc;
            if (_next < 0)
            {
                _next = extended;
                _highest = extended - 1;
            }

            if (extended < _next || extended <= _highest - Window)
            {
                _late++;
                return;
            }

            if (extended > _highest)
            {
                if (extended - _next >= Window)
                {
                    // Too far ahead to keep everything since the last report: give up the oldest.
                    long keepFrom = extended - Window + 1;
                    _skipped += keepFrom - _next;
                    for (long s = _next; s < Math.Min(keepFrom, _highest + 1); s++)
                    {
                        _arrivals[s & Mask] = -1;
                    }

                    _next = keepFrom;
                }

                for (long s = Math.Max(_highest + 1, _next); s < extended; s++)
                {
                    _arrivals[s & Mask] = -1; // not (yet) arrived
                }

                _highest = extended;
            }

            _arrivals[extended & Mask] = Math.Max(0, now);
        }
    }

    /// <inheritdoc />
    public int WriteRtcp(Span<byte> destination, long now)
    {
        lock (_gate)
        {
            if (_next < 0 || _highest < _next || now - _lastReport < (long)Interval.TotalMicroseconds)
            {
                return 0;
            }

            _lastReport = now;
            int total = 0;
            Span<long> run = stackalloc long[TransportFeedback.MaxStatusesPerPacket];
            while (_highest >= _next)
            {
                // The run ends at the highest packet, which arrived; packets missing before it are reported lost.
                int count = (int)Math.Min(_highest - _next + 1, run.Length);
                for (int i = 0; i < count; i++)
                {
                    run[i] = _arrivals[(_next + i) & Mask];
                }

                int n = TransportFeedback.Write(destination[total..], _senderSsrc, _mediaSsrc, (ushort)_next, run[..count], _feedbackCount, out int written);
                if (n == 0 || written == 0)
                {
                    if (count == run.Length && n == 0 && !run[..count].ContainsAnyExcept(-1L))
                    {
                        // A whole run lost (a burst longer than a packet reports): nothing to report it with.
                        _skipped += count;
                        Clear(_next, count);
                        _next += count;
                        continue;
                    }

                    break; // no room left this tick: the rest goes next time
                }

                _feedbackCount++;
                _reports++;
                total += n;
                Clear(_next, written);
                _next += written;
            }

            return total;
        }
    }

    private void Clear(long from, int count)
    {
        for (long s = from; s < from + count; s++)
        {
            _arrivals[s & Mask] = -1;
        }
    }
}
