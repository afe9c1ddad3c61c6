using System.Diagnostics;
using Decart.Rtc.Codecs;
using Decart.Rtc.Rtcp;

namespace Decart.Rtc.Rtp;

/// <summary>
/// The receive side of one remote RTP stream (one SSRC; one simulcast layer): its frame assembler, NACK generator
/// and RFC 3550 receive statistics. A <see cref="PeerConnection"/> keeps one per layer it receives.
/// </summary>
internal sealed class ReceiveStream
{
    private SequenceUnwrapper _unwrapper;
    private long _baseSequence = -1;
    private long _highestSequence;
    private long _receivedCount;
    private long _expectedPrior;
    private long _receivedPrior;
    private double _jitter;
    private long _lastTransit;
    private bool _haveTransit;
    private uint _lastSrCompact;
    private long _lastSrArrival;

    public ReceiveStream(uint ssrc, string? rid, int layer, RtpCodec codec, Action<ReceiveStream> keyframeNeeded)
    {
        Ssrc = ssrc;
        Rid = rid;
        Layer = layer;
        Assembler = new FrameAssembler(codec);
        Assembler.KeyframeNeeded += () => keyframeNeeded(this);
    }

    /// <summary>The media SSRC.</summary>
    public uint Ssrc { get; set; }

    /// <summary>Its RTX SSRC once known (0: none).</summary>
    public uint RtxSsrc { get; set; }

    /// <summary>The simulcast RID, or null without simulcast.</summary>
    public string? Rid { get; }

    /// <summary>Position of the RID in the negotiated simulcast list (higher = larger); 0 without simulcast.</summary>
    public int Layer { get; }

    public FrameAssembler Assembler { get; }

    public NackGenerator Nacks { get; } = new();

    /// <summary>The handler the assembler calls (set once by the owner; one delegate for every packet).</summary>
    public AssembledFrameHandler? OnFrame { get; set; }

    /// <summary><see cref="Stopwatch"/> timestamp of the last packet.</summary>
    public long LastPacket { get; private set; }

    /// <summary>Keyframes assembled on this stream.</summary>
    public long Keyframes { get; set; }

    /// <summary>When a keyframe was last asked for on this stream (a <see cref="System.Diagnostics.Stopwatch"/> timestamp), to ask at most twice a second.</summary>
    internal long KeyframeAskedAt { get; set; }

    public long PacketsLost => Math.Max(0, _highestSequence - _baseSequence + 1 - _receivedCount);

    public TimeSpan Jitter => TimeSpan.FromSeconds(_jitter / 90000.0);

    public long PacketsReceived => _receivedCount;

    public bool HasMedia => _baseSequence >= 0;

    /// <summary>RFC 3550 A.3 (lost) and A.8 (jitter, in 90 kHz units) on an original media packet.</summary>
    public void OnMediaPacket(in RtpHeader header)
    {
        long now = Stopwatch.GetTimestamp();
        LastPacket = now;
        long extended = _unwrapper.Unwrap(header.SequenceNumber);
        if (_baseSequence < 0)
        {
            _baseSequence = extended;
            _highestSequence = extended;
        }

        _highestSequence = Math.Max(_highestSequence, extended);
        _receivedCount++;
        long arrival = now * 90000 / Stopwatch.Frequency;
        long transit = arrival - header.Timestamp;
        if (_haveTransit)
        {
            long d = Math.Abs(transit - _lastTransit);
            _jitter += (d - _jitter) / 16.0;
        }

        _lastTransit = transit;
        _haveTransit = true;
    }

    public void OnSenderReport(uint compactNtp)
    {
        _lastSrCompact = compactNtp;
        _lastSrArrival = Stopwatch.GetTimestamp();
    }

    /// <summary>The reception report block for this stream.</summary>
    /// <remarks>Call once per report sent: the fraction lost covers the packets since the previous call.</remarks>
    public ReceptionReport ReportBlock()
    {
        uint dlsr = _lastSrArrival != 0 ? (uint)(Stopwatch.GetElapsedTime(_lastSrArrival).TotalSeconds * 65536) : 0;
        long expected = _highestSequence - _baseSequence + 1;
        long lost = PacketsLost;
        // The fraction lost is over the interval since the previous report (RFC 3550 A.3), not the whole stream: a loss
        // that stopped must stop showing.
        long expectedInterval = expected - _expectedPrior;
        long lostInterval = expectedInterval - (_receivedCount - _receivedPrior);
        _expectedPrior = expected;
        _receivedPrior = _receivedCount;
        byte fraction = expectedInterval > 0 && lostInterval > 0 ? (byte)Math.Clamp(lostInterval * 256 / expectedInterval, 0, 255) : (byte)0;
        return new ReceptionReport(Ssrc, fraction, (int)Math.Min(lost, 0x7FFFFF), (uint)_highestSequence, (uint)_jitter, _lastSrCompact, dlsr);
    }
}
