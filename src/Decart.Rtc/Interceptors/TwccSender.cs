using System.Buffers.Binary;
using Decart.Rtc.Rtcp;
using Decart.Rtc.Rtp;

namespace Decart.Rtc.Interceptors;

/// <summary>What the latest transport-wide feedback said about our packets.</summary>
/// <param name="Feedbacks">Feedback packets read so far.</param>
/// <param name="LossFraction">Share of the packets reported in the latest feedback window (at least 50 packets or 1 s) that were lost, 0–1.</param>
/// <param name="QueueDelay">How much longer our packets now take than the fastest of the last 10 s (one-way delay growth: a queue building on the path).</param>
/// <param name="AckedBitrate">What the peer received, bits/s, over the latest feedback window (0 until known).</param>
public readonly record struct TransportFeedbackSummary(long Feedbacks, double LossFraction, TimeSpan QueueDelay, long AckedBitrate);

/// <summary>
/// The send side of transport-wide congestion control: stamps every packet we send (retransmissions included) with the
/// next transport-wide sequence number in the <c>transport-cc</c> header extension, remembers when it left and its
/// size, and reads the peer's feedback: which packets arrived and when. From that it keeps the loss over the latest
/// window, the acknowledged bitrate and the queueing delay (one-way delay above its 10 s minimum) — the inputs of a
/// delay-based sender. Malformed or absurd feedback is counted and ignored; memory is fixed.
/// </summary>
internal sealed class TwccSender : IRtpInterceptor
{
    private const int History = 8192;
    private const int Mask = History - 1;
    private const int MaxStatuses = 4096;
    private static readonly long BaselineWindow = (long)TimeSpan.FromSeconds(10).TotalMicroseconds;
    private readonly object _gate = new();
    private readonly long[] _sentAt = new long[History];
    private readonly int[] _sizes = new int[History];
    private readonly ushort[] _sequences = new ushort[History];

    // What feedback said of each slot so far: 0 nothing, 1 lost, 2 received. A receiver may report a packet again (its
    // window moved back for a late packet); each counts once, and a lost one that arrived after all counts as received.
    private readonly byte[] _reported = new byte[History];
    private readonly TransportPacketStatus[] _statuses = new TransportPacketStatus[MaxStatuses];
    private ushort _next = (ushort)Random.Shared.Next(0, 0x10000);
    private long _feedbacks;
    private long _malformed;
    private long _unknown;

    // The loss and acked-rate window, and the one-way delay baseline (minimum over two alternating half-windows).
    private int _windowPackets;
    private int _windowLost;
    private long _windowBytes;
    private long _windowFirstArrival = -1;
    private long _windowLastArrival;
    private long _windowStart;
    private double _lossFraction;
    private long _ackedBitrate;
    private long _minCurrent = long.MaxValue;
    private long _minPrevious = long.MaxValue;
    private long _minSince;
    private long _queueDelay;
    private long _lastArrivalReference = -1;
    private long _arrivalOffset;

    /// <summary>The negotiated id of the <c>transport-cc</c> extension on what we send (0: off).</summary>
    public int ExtensionId { get; set; }

    /// <summary>Feedback packets that could not be read (truncated, reserved symbols, absurd counts).</summary>
    public long Malformed => Interlocked.Read(ref _malformed);

    /// <summary>Reported sequence numbers we have no record of (never sent, or too long ago).</summary>
    public long Unknown => Interlocked.Read(ref _unknown);

    /// <summary>The latest summary.</summary>
    public TransportFeedbackSummary Summary
    {
        get
        {
            lock (_gate)
            {
                return new TransportFeedbackSummary(_feedbacks, _lossFraction, TimeSpan.FromMicroseconds(_queueDelay), _ackedBitrate);
            }
        }
    }

    /// <summary>Raised after each feedback packet is read.</summary>
    public event Action<TransportFeedbackSummary>? FeedbackReceived;

    /// <summary>Stamps <paramref name="packet"/> (its <c>transport-cc</c> element, reserved by the writer) and records it.</summary>
    /// <inheritdoc />
    public void OnRtpSending(Span<byte> packet, in RtpHeader header, long now)
    {
        int id = ExtensionId;
        if (id == 0 || !header.TryFindExtension(packet, id, out int offset, out int length) || length < 2)
        {
            return;
        }

        lock (_gate)
        {
            ushort sequence = _next++;
            BinaryPrimitives.WriteUInt16BigEndian(packet[offset..], sequence);
            int slot = sequence & Mask;
            _sentAt[slot] = now;
            _sizes[slot] = packet.Length;
            _sequences[slot] = sequence;
            _reported[slot] = 0;
        }
    }

    /// <inheritdoc />
    public void OnRtcpReceived(in RtcpPacket packet, long now)
    {
        if (!TransportFeedback.Is(packet))
        {
            return;
        }

        TransportFeedbackSummary summary;
        lock (_gate)
        {
            if (!TransportFeedback.TryRead(packet, out var header, _statuses, out _))
            {
                _malformed++;
                return;
            }

            _feedbacks++;
            // The reference time is 24 bits of 64 ms and wraps; arrival times are made continuous across feedbacks.
            long reference = header.ReferenceTime;
            if (_lastArrivalReference >= 0 && reference < _lastArrivalReference && _lastArrivalReference - reference > 1 << 23)
            {
                _arrivalOffset += (1L << 24) * TransportFeedback.ReferenceMicroseconds;
            }

            _lastArrivalReference = reference;
            for (int i = 0; i < header.StatusCount; i++)
            {
                var status = _statuses[i];
                int slot = status.Sequence & Mask;
                if (_sequences[slot] != status.Sequence || _sentAt[slot] == 0)
                {
                    _unknown++;
                    continue;
                }

                byte before = _reported[slot];
                if (before == 2 || (before == 1 && !status.Received))
                {
                    continue; // said before
                }

                _reported[slot] = status.Received ? (byte)2 : (byte)1;
                if (before == 0)
                {
                    _windowPackets++;
                }
                else
                {
                    _windowLost = Math.Max(0, _windowLost - 1); // lost after all arrived
                }

                if (!status.Received)
                {
                    _windowLost++;
                    continue;
                }

                long arrival = status.ArrivalMicroseconds + _arrivalOffset;
                _windowBytes += _sizes[slot];
                if (_windowFirstArrival < 0)
                {
                    _windowFirstArrival = arrival;
                }

                _windowLastArrival = Math.Max(_windowLastArrival, arrival);
                long oneWay = arrival - _sentAt[slot]; // plus an unknown clock offset, constant: only its growth matters
                if (now - _minSince > BaselineWindow / 2)
                {
                    _minPrevious = _minCurrent;
                    _minCurrent = long.MaxValue;
                    _minSince = now;
                }

                _minCurrent = Math.Min(_minCurrent, oneWay);
                _queueDelay = Math.Max(0, oneWay - Math.Min(_minCurrent, _minPrevious));
            }

            if (_windowStart == 0)
            {
                _windowStart = now;
            }

            if (_windowPackets >= 50 || now - _windowStart >= 1_000_000)
            {
                _lossFraction = _windowPackets == 0 ? 0 : (double)_windowLost / _windowPackets;
                long span = _windowLastArrival - _windowFirstArrival;
                if (span >= 20_000)
                {
                    _ackedBitrate = _windowBytes * 8 * 1_000_000 / span;
                }

                _windowPackets = 0;
                _windowLost = 0;
                _windowBytes = 0;
                _windowFirstArrival = -1;
                _windowLastArrival = 0;
                _windowStart = now;
            }

            summary = new TransportFeedbackSummary(_feedbacks, _lossFraction, TimeSpan.FromMicroseconds(_queueDelay), _ackedBitrate);
        }

        FeedbackReceived?.Invoke(summary);
    }
}
