using Decart.Rtc;
using Decart.Sdk.Media;

namespace Decart.Sdk.Realtime;

/// <summary>
/// One stats sample of a realtime session (<see cref="RealtimeClient.Stats"/>, <see cref="RealtimeClient.StatsUpdated"/>),
/// taken once a second from the SDK's own RTP/RTCP counters, the same for both transports. Rates are over the interval
/// since the previous sample; a value the peer has not reported yet is null.
/// </summary>
/// <param name="Timestamp">When it was taken.</param>
/// <param name="Interval">The time it covers.</param>
/// <param name="RoundTripTime">From the peer's reception reports on our stream.</param>
/// <param name="UpstreamLoss">The fraction of our packets the peer reported lost (0–1).</param>
/// <param name="UpstreamJitter">The jitter the peer reported on our stream.</param>
/// <param name="DownstreamLoss">The fraction of the model's packets lost in this interval (0–1).</param>
/// <param name="DownstreamJitter">Interarrival jitter of the model's stream.</param>
/// <param name="SendBitrate">Bits per second sent.</param>
/// <param name="ReceiveBitrate">Bits per second received.</param>
/// <param name="FramesPerSecondSent">Camera frames sent per second.</param>
/// <param name="FramesPerSecondReceived">Model frames received per second.</param>
/// <param name="FramesDropped">Received frames dropped incomplete, so far.</param>
/// <param name="NacksSent">Sequence numbers we NACKed, so far.</param>
/// <param name="NacksReceived">Sequence numbers the peer NACKed, so far.</param>
/// <param name="PlisSent">Keyframe requests we sent, so far.</param>
/// <param name="PlisReceived">Keyframe requests the peer sent, so far.</param>
/// <param name="AvailableUpstreamBitrate">What the peer lets us send (its REMB estimate), bits per second.</param>
/// <param name="Codec">The camera's codec.</param>
/// <param name="Transport">The transport (<see cref="RealtimeTransport"/>).</param>
/// <param name="PeerConnections">Peer connections of the session (2 on LiveKit's older two-connection path).</param>
/// <param name="GlassToGlass">Glass-to-glass latency (see <see cref="RealtimeClient.GlassToGlass"/>).</param>
/// <param name="TargetBitrateKbps">The camera encoder's target (adaptive sender), kbit/s; null for a source that is not encoded by the SDK.</param>
public sealed record RealtimeStats(
    DateTimeOffset Timestamp,
    TimeSpan Interval,
    TimeSpan? RoundTripTime,
    double? UpstreamLoss,
    TimeSpan? UpstreamJitter,
    double DownstreamLoss,
    TimeSpan DownstreamJitter,
    double SendBitrate,
    double ReceiveBitrate,
    double FramesPerSecondSent,
    double FramesPerSecondReceived,
    long FramesDropped,
    long NacksSent,
    long NacksReceived,
    long PlisSent,
    long PlisReceived,
    long? AvailableUpstreamBitrate,
    VideoCodec Codec,
    RealtimeTransport Transport,
    int PeerConnections,
    GlassToGlassStats GlassToGlass,
    int? TargetBitrateKbps = null)
{
    /// <summary>Bandwidth probes the sender ran so far (padding on the RTX stream that asks the path for room; see docs/observability.md).</summary>
    public long ProbesSent { get; init; }
}

/// <summary>Turns the counters of a session's peer connections into samples (rates from the difference to the previous one).</summary>
internal sealed class StatsSampler
{
    private Totals _previous;
    private long _previousAt;
    private object? _previousSession;

    /// <summary>Takes a sample; null when there is no connection to read, or when less than <paramref name="minInterval"/>
    /// passed since the previous one (a timer tick that came late and then at once: rates over a few milliseconds are noise).</summary>
    public RealtimeStats? Sample(object session, IReadOnlyList<PeerConnection> connections, PeerConnection? sender, long framesSent, long framesReceived, TimeProvider time, VideoCodec codec, RealtimeTransport transport, GlassToGlassStats g2g, TimeSpan minInterval)
    {
        if (connections.Count == 0)
        {
            return null;
        }

        var now = time.GetTimestamp();
        if (ReferenceEquals(session, _previousSession) && _previousAt != 0 && time.GetElapsedTime(_previousAt, now) < minInterval)
        {
            return null;
        }

        var totals = default(Totals);
        TimeSpan? rtt = null;
        TimeSpan jitter = TimeSpan.Zero;
        foreach (var pc in connections)
        {
            var s = pc.Stats;
            totals = totals with
            {
                BytesSent = totals.BytesSent + s.BytesSent,
                BytesReceived = totals.BytesReceived + s.BytesReceived,
                PacketsReceived = totals.PacketsReceived + s.PacketsReceived,
                PacketsLost = totals.PacketsLost + Math.Max(0, s.PacketsLost),
                FramesDropped = totals.FramesDropped + s.FramesDropped,
                NacksSent = totals.NacksSent + s.NacksSent,
                NacksReceived = totals.NacksReceived + s.NacksReceived,
                PlisSent = totals.PlisSent + s.PlisSent,
                PlisReceived = totals.PlisReceived + s.PlisReceived,
            };
            if (s.RoundTripTime is { } r && (rtt is null || r > rtt))
            {
                rtt = r;
            }

            if (s.Jitter > jitter)
            {
                jitter = s.Jitter;
            }
        }

        totals = totals with { FramesSent = framesSent, FramesReceived = framesReceived };
        bool fresh = !ReferenceEquals(session, _previousSession) || _previousAt == 0;
        var interval = fresh ? TimeSpan.Zero : time.GetElapsedTime(_previousAt, now);
        double seconds = interval.TotalSeconds;
        var delta = fresh ? default : totals.Minus(_previous);
        _previous = totals;
        _previousAt = now;
        _previousSession = session;
        long expected = delta.PacketsReceived + delta.PacketsLost;
        var upstream = sender?.Stats;
        return new RealtimeStats(
            time.GetUtcNow(),
            interval,
            rtt,
            upstream?.RemoteFractionLost,
            upstream?.RemoteJitter,
            expected > 0 ? Math.Clamp((double)delta.PacketsLost / expected, 0, 1) : 0,
            jitter,
            seconds > 0 ? Math.Max(0, delta.BytesSent) * 8 / seconds : 0,
            seconds > 0 ? Math.Max(0, delta.BytesReceived) * 8 / seconds : 0,
            seconds > 0 ? Math.Max(0, delta.FramesSent) / seconds : 0,
            seconds > 0 ? Math.Max(0, delta.FramesReceived) / seconds : 0,
            totals.FramesDropped,
            totals.NacksSent,
            totals.NacksReceived,
            totals.PlisSent,
            totals.PlisReceived,
            upstream?.RemoteEstimate,
            codec,
            transport,
            connections.Count,
            g2g)
        {
            ProbesSent = upstream?.ProbesSent ?? 0,
        };
    }

    private readonly record struct Totals(long BytesSent, long BytesReceived, long PacketsReceived, long PacketsLost, long FramesSent, long FramesReceived, long FramesDropped, long NacksSent, long NacksReceived, long PlisSent, long PlisReceived)
    {
        public Totals Minus(Totals o) => new(BytesSent - o.BytesSent, BytesReceived - o.BytesReceived, PacketsReceived - o.PacketsReceived, PacketsLost - o.PacketsLost, FramesSent - o.FramesSent, FramesReceived - o.FramesReceived, FramesDropped - o.FramesDropped, NacksSent - o.NacksSent, NacksReceived - o.NacksReceived, PlisSent - o.PlisSent, PlisReceived - o.PlisReceived);
    }
}
