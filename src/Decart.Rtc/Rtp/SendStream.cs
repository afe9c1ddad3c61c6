using Decart.Rtc.Interceptors;

namespace Decart.Rtc.Rtp;

/// <summary>
/// One RTP stream we send: the whole video of a plain section, or one simulcast layer (its RID). Each has its own SSRC
/// and RTX SSRC, sequence numbers and VP8 picture ids, its NACK responder (a copy goes out on its own RTX stream) and
/// its sender reports; transport-wide numbering is shared by all. Used under the connection's send lock.
/// </summary>
internal sealed class SendStream
{
    public SendStream(string? rid, uint ssrc, uint rtxSsrc, PeerConnectionStats stats, Func<TimeSpan?> roundTrip, Action<SendStream, Span<byte>, int> retransmit, TwccSender twcc)
    {
        Rid = rid;
        RidBytes = rid is null ? null : System.Text.Encoding.ASCII.GetBytes(rid);
        Ssrc = ssrc;
        Nack = new NackResponder(stats, roundTrip, (buffer, length) => retransmit(this, buffer, length)) { RtxSsrc = rtxSsrc };
        Reports = new SenderReporter { Ssrc = ssrc };

        // In order: the transport-wide number is stamped first, so the NACK responder keeps the packet as it went out.
        Interceptors = [twcc, Nack, Reports];
    }

    /// <summary>The simulcast RID, or null for a plain section.</summary>
    public string? Rid { get; }

    /// <summary>The RID as the header extension carries it.</summary>
    public byte[]? RidBytes { get; }

    public uint Ssrc { get; }

    public ushort Sequence { get; set; } = (ushort)Random.Shared.Next(0, 30000);

    public ushort PictureId { get; set; }

    /// <summary>The RTP timestamp of the latest media packet (padding carries it).</summary>
    public uint LastTimestamp { get; set; }

    public NackResponder Nack { get; }

    public SenderReporter Reports { get; }

    public IRtpInterceptor[] Interceptors { get; }
}
