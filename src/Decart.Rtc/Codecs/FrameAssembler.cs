using Decart.Rtc.Rtp;

namespace Decart.Rtc.Codecs;

/// <summary>Receives one assembled frame; <paramref name="frame"/> is only valid during the call.</summary>
/// <param name="frame">The encoded frame (VP8 frame, or H.264 access unit in Annex B).</param>
/// <param name="rtpTimestamp">Its RTP timestamp.</param>
/// <param name="isKeyframe">Whether it can be decoded on its own.</param>
public delegate void AssembledFrameHandler(ReadOnlySpan<byte> frame, uint rtpTimestamp, bool isKeyframe);

/// <summary>
/// Rebuilds encoded frames from RTP payloads arriving in any order, with duplicates and loss. Frames are
/// delivered in sequence order; a frame whose packets do not all arrive is dropped and counted, and
/// <see cref="KeyframeNeeded"/> asks the caller to send a PLI. Memory is bounded (a fixed ring of packet slots
/// allocated up front): nothing is allocated per packet.
/// </summary>
public sealed class FrameAssembler
{
    private readonly RtpCodec _codec;
    private readonly int _mask;
    private readonly byte[][] _payloads;
    private readonly int[] _lengths;
    private readonly int[] _sequences;
    private readonly uint[] _timestamps;
    private readonly bool[] _markers;
    private readonly byte[] _frame;
    private readonly int _reorderWindow;
    private bool _haveLast;
    private ushort _lastEnd;
    private ushort _newest;
    private bool _haveNewest;
    private bool _haveRun; // _runEnd is valid for the head _runHead: packets _runHead.._runEnd are present, one frame, no marker before _runEnd
    private ushort _runHead;
    private ushort _runEnd;
    private long _waitingSince; // since when the head has waited with packets beyond it (0: the clock is off)

    /// <summary>Creates an assembler.</summary>
    /// <param name="codec">The payload format.</param>
    /// <param name="capacity">Packet slots (a power of two; bounds memory and the reordering window).</param>
    /// <param name="maxPayloadSize">Largest RTP payload accepted.</param>
    /// <param name="maxFrameSize">Largest frame assembled.</param>
    /// <param name="reorderWindow">How many packets may arrive beyond a gap before the gap is declared lost
    /// (room for reordering and NACK retransmissions). Default 128; at most half the capacity.</param>
    public FrameAssembler(RtpCodec codec, int capacity = 1024, int maxPayloadSize = 1500, int maxFrameSize = 4 * 1024 * 1024, int reorderWindow = 128)
    {
        if (capacity < 16 || (capacity & (capacity - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(capacity), "capacity must be a power of two >= 16");
        }

        _codec = codec ?? throw new ArgumentNullException(nameof(codec));
        _mask = capacity - 1;
        _payloads = new byte[capacity][];
        _lengths = new int[capacity];
        _sequences = new int[capacity];
        _timestamps = new uint[capacity];
        _markers = new bool[capacity];
        for (int i = 0; i < capacity; i++)
        {
            _payloads[i] = new byte[maxPayloadSize];
            _sequences[i] = -1;
        }

        _frame = new byte[maxFrameSize];
        _reorderWindow = Math.Clamp(reorderWindow, 1, capacity / 2);
    }

    /// <summary>
    /// How long complete frames may wait behind a missing packet (for a retransmission) before the gap is declared
    /// lost and they are delivered; default 250 ms. The reorder window bounds the wait in packets, this bounds it in
    /// time: at a low packet rate 128 packets are seconds of video, which would reach the receiver that late. Checked
    /// as packets arrive (and by <c>ReleaseExpired</c>, which a <see cref="PeerConnection"/> calls on its RTCP tick,
    /// so a sender that pauses does not hold them either; it also raises the bound to 2.5 round trips on a slow
    /// path, so retransmissions keep their chance). Zero or less: only the reorder window.
    /// </summary>
    public TimeSpan MaxGapWait { get; set; } = DefaultMaxGapWait;

    /// <summary>The default <see cref="MaxGapWait"/>, 250 ms; a <see cref="PeerConnection"/> never goes below it.</summary>
    internal static readonly TimeSpan DefaultMaxGapWait = TimeSpan.FromMilliseconds(250);

    /// <summary>The clock <see cref="MaxGapWait"/> is measured by; the system's unless a test sets another.</summary>
    internal TimeProvider Time { get; set; } = TimeProvider.System;

    /// <summary>Gaps given up on because complete frames behind them waited longer than <see cref="MaxGapWait"/>.</summary>
    public long GapsTimedOut { get; private set; }

    /// <summary>Raised when a frame was lost: the caller should request a keyframe (RTCP PLI).</summary>
    public event Action? KeyframeNeeded;

    /// <summary>Frames delivered.</summary>
    public long FramesAssembled { get; private set; }

    /// <summary>Frames given up on because packets were missing (or the frame was unparseable or too large).</summary>
    public long FramesDropped { get; private set; }

    /// <summary>Packets ignored: duplicates, packets of frames already delivered or dropped, oversized or empty ones.</summary>
    public long PacketsDiscarded { get; private set; }

    /// <summary>Keyframe requests raised.</summary>
    public long KeyframeRequests { get; private set; }

    /// <summary>Adds one packet; delivers every frame it completes.</summary>
    /// <param name="sequenceNumber">RTP sequence number.</param>
    /// <param name="timestamp">RTP timestamp.</param>
    /// <param name="marker">RTP marker bit (last packet of a frame).</param>
    /// <param name="payload">RTP payload.</param>
    /// <param name="onFrame">Receives completed frames.</param>
    public void Push(ushort sequenceNumber, uint timestamp, bool marker, ReadOnlySpan<byte> payload, AssembledFrameHandler onFrame)
    {
        ArgumentNullException.ThrowIfNull(onFrame);
        if (payload.IsEmpty || payload.Length > _payloads[0].Length || (_haveLast && !SequenceNumber.IsNewer(sequenceNumber, _lastEnd)))
        {
            PacketsDiscarded++;
            return;
        }

        int slot = sequenceNumber & _mask;
        if (_sequences[slot] == sequenceNumber)
        {
            PacketsDiscarded++;
            return;
        }

        if (_sequences[slot] >= 0 && _haveLast && SequenceNumber.IsNewer((ushort)_sequences[slot], _lastEnd))
        {
            // The ring wrapped onto a pending packet: everything that old is lost.
            SkipTo(NextFrameStartAfter((ushort)(sequenceNumber - _mask)), onFrame);
        }

        if (_sequences[slot] >= 0)
        {
            _haveRun = false; // the slot's packet may be part of the head frame's checked run (a jump of the ring's size)
        }

        payload.CopyTo(_payloads[slot]);
        _lengths[slot] = payload.Length;
        _sequences[slot] = sequenceNumber;
        _timestamps[slot] = timestamp;
        _markers[slot] = marker;
        if (!_haveNewest || SequenceNumber.IsNewer(sequenceNumber, _newest))
        {
            _newest = sequenceNumber;
            _haveNewest = true;
        }

        if (EmitInOrder(onFrame))
        {
            return;
        }

        if (!_haveLast)
        {
            // Nothing delivered yet: start at the first complete keyframe; a complete delta frame means we joined mid-stream.
            if (TryFindFrame(sequenceNumber, out ushort begin, out _))
            {
                if (IsKeyframeStart(begin))
                {
                    Purge(begin);
                    _haveLast = true;
                    _lastEnd = (ushort)(begin - 1);
                    _haveRun = false;
                    EmitInOrder(onFrame);
                }
                else
                {
                    RequestKeyframe();
                }
            }

            return;
        }

        if (_waitingSince == 0)
        {
            // A frame completed by its last packet while the next one to deliver is incomplete: a gap holds it back.
            // Checked at frame ends only, so in-order arrival costs nothing here.
            if (marker && MaxGapWait > TimeSpan.Zero && TryFindFrame(sequenceNumber, out ushort done, out _) && done != (ushort)(_lastEnd + 1))
            {
                _waitingSince = Time.GetTimestamp();
            }
        }
        else if (ReleaseIfExpired(onFrame))
        {
            return;
        }

        if (SequenceNumber.Distance(_lastEnd, _newest) > _reorderWindow)
        {
            var next = NextFrameStartAfter(_lastEnd);
            if (next != (ushort)(_lastEnd + 1))
            {
                SkipTo(next, onFrame);
            }
        }
    }

    /// <summary>
    /// Releases the complete frames that have waited behind a gap for longer than <see cref="MaxGapWait"/> without a
    /// packet arriving to do it (a sender that paused); <see cref="Push"/> makes the same check on every packet.
    /// </summary>
    /// <param name="onFrame">Receives the frames.</param>
    internal void ReleaseExpired(AssembledFrameHandler onFrame)
    {
        if (_waitingSince != 0 && _haveLast)
        {
            ReleaseIfExpired(onFrame);
        }
    }

    /// <summary>When the clock has run past <see cref="MaxGapWait"/>: skips to the first complete frame beyond the head, if there is one.</summary>
    private bool ReleaseIfExpired(AssembledFrameHandler onFrame)
    {
        if (MaxGapWait <= TimeSpan.Zero || Time.GetElapsedTime(_waitingSince) <= MaxGapWait)
        {
            return false;
        }

        _waitingSince = 0;
        var next = NextFrameStartAfter(_lastEnd);
        if (next == (ushort)(_lastEnd + 1) || !Present(next))
        {
            return false; // nothing complete waits: the head is only slow, not stuck behind a gap
        }

        GapsTimedOut++;
        SkipTo(next, onFrame);
        return true;
    }

    /// <summary>
    /// Declares every gap lost and delivers the complete frames that were waiting behind them (call at the end of a
    /// stream, or when a keyframe is known to be coming).
    /// </summary>
    /// <param name="onFrame">Receives the frames.</param>
    public void Flush(AssembledFrameHandler onFrame)
    {
        ArgumentNullException.ThrowIfNull(onFrame);
        int guard = 0;
        while (_haveLast && guard++ <= _mask)
        {
            EmitInOrder(onFrame);
            var next = NextFrameStartAfter(_lastEnd);
            if (!Present(next) || next == (ushort)(_lastEnd + 1))
            {
                break;
            }

            SkipTo(next, onFrame);
        }

        int remaining = 0;
        uint lastTs = 0;
        for (int i = 0; i <= _mask; i++)
        {
            if (_sequences[i] >= 0)
            {
                if (remaining == 0 || _timestamps[i] != lastTs)
                {
                    remaining++;
                    lastTs = _timestamps[i];
                }

                _sequences[i] = -1;
            }
        }

        FramesDropped += remaining;
        _waitingSince = 0;
        _haveRun = false; // the slots it walked are empty now
    }

    /// <summary>The begin of the first complete frame after <paramref name="after"/> (up to the newest packet), or the newest packet + 1.</summary>
    private ushort NextFrameStartAfter(ushort after)
    {
        for (ushort s = (ushort)(after + 1); s != (ushort)(_newest + 1); s++)
        {
            if (Present(s) && IsFrameStart(s) && TryFindFrame(s, out ushort begin, out _) && begin == s)
            {
                return s;
            }
        }

        return (ushort)(_newest + 1);
    }

    /// <summary>Clears packets older than <paramref name="begin"/>, counting their frames as dropped.</summary>
    private int Purge(ushort begin)
    {
        int dropped = 0;
        uint lastTs = 0;
        for (int i = 0; i <= _mask; i++)
        {
            if (_sequences[i] >= 0 && SequenceNumber.IsNewer(begin, (ushort)_sequences[i]))
            {
                if (dropped == 0 || _timestamps[i] != lastTs)
                {
                    dropped++;
                    lastTs = _timestamps[i];
                }

                _sequences[i] = -1;
            }
        }

        FramesDropped += dropped;
        return dropped;
    }

    /// <summary>Declares everything before <paramref name="begin"/> lost and delivers what follows in order.</summary>
    private void SkipTo(ushort begin, AssembledFrameHandler onFrame)
    {
        _waitingSince = 0;
        if (Purge(begin) == 0)
        {
            FramesDropped++; // the lost frame had no packet left at all
        }

        _haveLast = true;
        _lastEnd = (ushort)(begin - 1);
        _haveRun = false;
        RequestKeyframe();
        EmitInOrder(onFrame);
    }

    private bool EmitInOrder(AssembledFrameHandler onFrame)
    {
        bool emitted = false;
        while (_haveLast)
        {
            ushort next = (ushort)(_lastEnd + 1);
            if (!Present(next) || !TryFindHeadFrame(next, out ushort end))
            {
                break;
            }

            Deliver(next, end, onFrame);
            emitted = true;
        }

        if (emitted)
        {
            // The head moved. With packets already beyond it, the clock restarts now (if a gap is among them, its
            // frames wait at most MaxGapWait from here); with none, it stops until a frame completes behind a gap.
            _waitingSince = _haveNewest && SequenceNumber.IsNewer(_newest, _lastEnd) && MaxGapWait > TimeSpan.Zero ? Time.GetTimestamp() : 0;
        }

        return emitted;
    }

    private void Deliver(ushort begin, ushort end, AssembledFrameHandler onFrame)
    {
        int length = 0;
        bool ok = true;
        uint timestamp = _timestamps[begin & _mask];
        bool keyframe = IsKeyframeStart(begin);
        for (ushort s = begin; ; s++)
        {
            int slot = s & _mask;
            var payload = _payloads[slot].AsSpan(0, _lengths[slot]);
            if (ok)
            {
                if (_codec == RtpCodec.Vp8)
                {
                    if (Vp8Descriptor.TryParse(payload, out var d) && length + payload.Length - d.HeaderSize <= _frame.Length)
                    {
                        payload[d.HeaderSize..].CopyTo(_frame.AsSpan(length));
                        length += payload.Length - d.HeaderSize;
                    }
                    else
                    {
                        ok = false;
                    }
                }
                else if (H264Depacketizer.TryAppend(payload, _frame.AsSpan(length), out int written))
                {
                    length += written;
                }
                else
                {
                    ok = false;
                }
            }

            _sequences[slot] = -1;
            if (s == end)
            {
                break;
            }
        }

        _haveLast = true;
        _lastEnd = end;
        _haveRun = false;
        if (ok && length > 0)
        {
            FramesAssembled++;
            onFrame(_frame.AsSpan(0, length), timestamp, keyframe);
        }
        else
        {
            FramesDropped++;
            RequestKeyframe();
        }
    }

    private void RequestKeyframe()
    {
        KeyframeRequests++;
        KeyframeNeeded?.Invoke();
    }

    private bool Present(ushort seq) => _sequences[seq & _mask] == seq;

    /// <summary>
    /// Whether the frame at the head (<paramref name="head"/> = the last delivered + 1, present) is complete, and its
    /// end. The same answer as <see cref="TryFindFrame"/> from the head, but the walk resumes where the last call for
    /// this head stopped, so a frame arriving in order costs one step per packet instead of a walk over all of it.
    /// </summary>
    private bool TryFindHeadFrame(ushort head, out ushort end)
    {
        if (!_haveRun || _runHead != head)
        {
            if (!IsFrameStart(head))
            {
                end = head;
                return false;
            }

            _haveRun = true;
            _runHead = head;
            _runEnd = head;
        }

        uint ts = _timestamps[head & _mask];
        end = _runEnd;
        int guard = 0;
        while (!_markers[end & _mask])
        {
            ushort next = (ushort)(end + 1);
            if (!Present(next) || _timestamps[next & _mask] != ts || ++guard > _mask)
            {
                _runEnd = end;
                return false;
            }

            end = next;
        }

        _runEnd = end;
        return true;
    }

    /// <summary>Finds the complete frame containing <paramref name="seq"/>: contiguous packets of one timestamp from a frame start to a marker.</summary>
    private bool TryFindFrame(ushort seq, out ushort begin, out ushort end)
    {
        begin = end = seq;
        uint ts = _timestamps[seq & _mask];
        int guard = 0;
        while (!IsFrameStart(begin))
        {
            ushort prev = (ushort)(begin - 1);
            if (!Present(prev) || _timestamps[prev & _mask] != ts || ++guard > _mask)
            {
                return false;
            }

            begin = prev;
        }

        guard = 0;
        while (!_markers[end & _mask])
        {
            ushort next = (ushort)(end + 1);
            if (!Present(next) || _timestamps[next & _mask] != ts || ++guard > _mask)
            {
                return false;
            }

            end = next;
        }

        return true;
    }

    private bool IsFrameStart(ushort seq)
    {
        int slot = seq & _mask;
        var payload = _payloads[slot].AsSpan(0, _lengths[slot]);
        if (_codec == RtpCodec.Vp8)
        {
            return Vp8Descriptor.TryParse(payload, out var d) && d.StartsFrame;
        }

        ushort prev = (ushort)(seq - 1);
        if (_haveLast && prev == _lastEnd)
        {
            return true;
        }

        if (Present(prev))
        {
            int p = prev & _mask;
            return _markers[p] || _timestamps[p] != _timestamps[slot];
        }

        return !_haveLast && H264Depacketizer.StartsKeyframe(payload);
    }

    private bool IsKeyframeStart(ushort begin)
    {
        int slot = begin & _mask;
        var payload = _payloads[slot].AsSpan(0, _lengths[slot]);
        if (_codec == RtpCodec.Vp8)
        {
            return Vp8Descriptor.TryParse(payload, out var d) && d.StartsFrame && payload.Length > d.HeaderSize && (payload[d.HeaderSize] & 1) == 0;
        }

        return H264Depacketizer.StartsKeyframe(payload);
    }
}
