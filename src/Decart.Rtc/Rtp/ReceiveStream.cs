using System.Diagnostics;
using Decart.Rtc.Codecs;

namespace Decart.Rtc.Rtp;

/// <summary>
/// The receive side of one remote RTP stream (one SSRC; one simulcast layer): its frame assembler, and what layer
/// selection needs to know of it. A <see cref="PeerConnection"/> keeps one per layer it receives; NACK generation and
/// the RFC 3550 statistics live in their interceptors, keyed by SSRC.
/// </summary>
internal sealed class ReceiveStream
{
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

    /// <summary>The handler the assembler calls (set once by the owner; one delegate for every packet).</summary>
    public AssembledFrameHandler? OnFrame { get; set; }

    /// <summary><see cref="Stopwatch"/> timestamp of the last packet.</summary>
    public long LastPacket { get; private set; }

    /// <summary>Keyframes assembled on this stream.</summary>
    public long Keyframes { get; set; }

    /// <summary>When a keyframe was last asked for on this stream (a <see cref="System.Diagnostics.Stopwatch"/> timestamp), to ask at most twice a second.</summary>
    internal long KeyframeAskedAt { get; set; }

    /// <summary>Whether an original media packet has arrived.</summary>
    public bool HasMedia { get; private set; }

    /// <summary>Notes an original media packet's arrival.</summary>
    public void OnMediaPacket()
    {
        LastPacket = Stopwatch.GetTimestamp();
        HasMedia = true;
    }
}
