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
/// What a bandwidth probe measured (<see cref="PeerConnection.ProbeAsync"/>): every packet sent while it ran — media
/// and padding — is one cluster, and the peer's transport-wide feedback says when each arrived. The path carried at
/// least <see cref="Bitrate"/>: the lower of the rate the cluster left at and the rate it arrived at (a path slower
/// than the probe spreads its arrivals out).
/// </summary>
/// <param name="PacketsSent">Packets in the cluster.</param>
/// <param name="PacketsReceived">Of them, reported received.</param>
/// <param name="SendBitrate">The rate the cluster left at, bits/s.</param>
/// <param name="ReceiveBitrate">The rate it arrived at, bits/s.</param>
public readonly record struct BandwidthProbeResult(int PacketsSent, int PacketsReceived, long SendBitrate, long ReceiveBitrate)
{
    /// <summary>What the path carried: the lower of the two rates, bits/s.</summary>
    public long Bitrate => Math.Min(SendBitrate, ReceiveBitrate);
}

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

    // Which probe cluster each slot's packet belonged to (0: none), and the one cluster being measured.
    private readonly int[] _clusterOf = new int[History];
    private ProbeCluster? _probe;
    private int _nextCluster;
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
            var probe = _probe;
            if (probe is { Sending: true })
            {
                _clusterOf[slot] = probe.Id;
                probe.OnSent(packet.Length, now);
            }
            else
            {
                _clusterOf[slot] = 0;
            }
        }
    }

    /// <summary>Starts a probe cluster: every packet stamped from now until <see cref="EndProbeSending"/> belongs to it. Null while another is measured.</summary>
    /// <returns>The cluster, or null.</returns>
    public ProbeCluster? BeginProbe()
    {
        lock (_gate)
        {
            if (_probe is not null)
            {
                return null;
            }

            _nextCluster = _nextCluster == int.MaxValue ? 1 : _nextCluster + 1;
            _probe = new ProbeCluster(_nextCluster);
            return _probe;
        }
    }

    /// <summary>The probe's packets are all sent: it completes once feedback has reported each of them.</summary>
    /// <param name="probe">The cluster.</param>
    public void EndProbeSending(ProbeCluster probe)
    {
        lock (_gate)
        {
            probe.Sending = false;
            probe.CompleteIfReported();
        }
    }

    /// <summary>Stops measuring <paramref name="probe"/> (done, timed out or cancelled); a new one may begin.</summary>
    /// <param name="probe">The cluster.</param>
    /// <returns>What it measured from the feedback read so far, or null when too little came back.</returns>
    public BandwidthProbeResult? FinishProbe(ProbeCluster probe)
    {
        lock (_gate)
        {
            if (ReferenceEquals(_probe, probe))
            {
                _probe = null;
            }

            probe.Sending = false;
            return probe.Result();
        }
    }

    /// <summary>The bytes sent in <paramref name="probe"/> so far.</summary>
    /// <param name="probe">The cluster.</param>
    /// <returns>Bytes (RTP, before SRTP).</returns>
    public long ProbeBytesSent(ProbeCluster probe)
    {
        lock (_gate)
        {
            return probe.SentBytes;
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
                if (_probe is { } cluster && _clusterOf[slot] == cluster.Id)
                {
                    cluster.OnReported(before == 0, status.Received, _sizes[slot], status.ArrivalMicroseconds + _arrivalOffset);
                }

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
            _probe?.CompleteIfReported();
        }

        FeedbackReceived?.Invoke(summary);
    }
}

/// <summary>
/// One probe's packets (<see cref="TwccSender.BeginProbe"/>): what left when, and what the feedback said of each. Its
/// rates follow the probe estimator of Google Congestion Control: the send rate leaves out the last packet sent (its
/// bytes left after the span ended), the receive rate the first packet to arrive.
/// </summary>
internal sealed class ProbeCluster(int id)
{
    private readonly TaskCompletionSource _reported = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _firstSend = -1;
    private long _lastSend;
    private int _lastSendSize;
    private long _receivedBytes;
    private long _firstArrival = long.MaxValue;
    private int _firstArrivalSize;
    private long _lastArrival = long.MinValue;

    public int Id { get; } = id;

    /// <summary>Still sending: packets stamped now join it.</summary>
    public bool Sending { get; set; } = true;

    public int Sent { get; private set; }

    public long SentBytes { get; private set; }

    public int Reported { get; private set; }

    public int Received { get; private set; }

    /// <summary>Completes once sending ended and feedback reported every packet.</summary>
    public Task AllReported => _reported.Task;

    public void OnSent(int size, long now)
    {
        if (_firstSend < 0)
        {
            _firstSend = now;
        }

        _lastSend = now;
        _lastSendSize = size;
        Sent++;
        SentBytes += size;
    }

    public void OnReported(bool first, bool received, int size, long arrival)
    {
        if (first)
        {
            Reported++;
        }

        if (!received)
        {
            return;
        }

        Received++;
        _receivedBytes += size;
        if (arrival < _firstArrival)
        {
            _firstArrival = arrival;
            _firstArrivalSize = size;
        }

        _lastArrival = Math.Max(_lastArrival, arrival);
    }

    public void CompleteIfReported()
    {
        if (!Sending && Reported >= Sent)
        {
            _reported.TrySetResult();
        }
    }

    /// <summary>The rates, once at least 5 packets arrived over a measurable span; else null.</summary>
    public BandwidthProbeResult? Result()
    {
        long sendSpan = _lastSend - _firstSend;
        long arrivalSpan = _lastArrival - _firstArrival;
        if (Received < 5 || sendSpan <= 0 || arrivalSpan <= 0)
        {
            return null;
        }

        long sendRate = (SentBytes - _lastSendSize) * 8 * 1_000_000 / sendSpan;
        long receiveRate = (_receivedBytes - _firstArrivalSize) * 8 * 1_000_000 / arrivalSpan;
        return new BandwidthProbeResult(Sent, Received, sendRate, receiveRate);
    }
}
