namespace Decart.Sdk.Realtime;

/// <summary>
/// Glass-to-glass latency of a realtime session, as Decart's JS SDK measures it: the time to first frame of the
/// current connection attempt, and — with <see cref="RealtimeConnectOptions.MeasureGlassToGlass"/> on the LiveKit
/// transport — capture → receipt of each output frame, from the capture time the service copies from the input frame
/// onto the output made from it. The median and p90 are over the last 300 samples, leaving out the first 2 s after the
/// first frame (start-up), and restart with each connection attempt (a reconnect is a new room).
/// </summary>
/// <param name="TimeToFirstFrame">From the start of the connection attempt to the first received frame; null before it.</param>
/// <param name="Median">Median capture → receipt; null without samples.</param>
/// <param name="P90">90th percentile capture → receipt; null without samples.</param>
/// <param name="Last">The latest sample; null without samples.</param>
/// <param name="SampleCount">Samples in the window (at most 300).</param>
public sealed record GlassToGlassStats(TimeSpan? TimeToFirstFrame, TimeSpan? Median, TimeSpan? P90, TimeSpan? Last, int SampleCount)
{
    /// <summary>Nothing measured yet.</summary>
    public static GlassToGlassStats None { get; } = new(null, null, null, null, 0);
}

/// <summary>
/// Collects glass-to-glass samples: a fixed ring (nothing allocated per frame), samples outside 0–60 s dropped as
/// clock skew, statistics computed only when asked.
/// </summary>
internal sealed class GlassToGlassTracker(TimeProvider time)
{
    /// <summary>Samples kept (Decart's JS SDK: 300).</summary>
    public const int Window = 300;

    /// <summary>Samples in the first 2 s after the first frame are start-up, not steady state.</summary>
    public static readonly TimeSpan WarmUp = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan MaxSample = TimeSpan.FromSeconds(60);
    private readonly object _lock = new();
    private readonly double[] _samples = new double[Window];
    private long _attemptStart;
    private long _firstFrame;
    private int _count;
    private int _next;
    private double _last = double.NaN;
    private long _rejected;

    /// <summary>Samples dropped as implausible (negative or over 60 s: clock skew, a bogus trailer).</summary>
    public long Rejected => Interlocked.Read(ref _rejected);

    /// <summary>A connection attempt starts: the time to first frame and the window start over.</summary>
    public void BeginAttempt()
    {
        lock (_lock)
        {
            _attemptStart = time.GetTimestamp();
            _firstFrame = 0;
            _count = 0;
            _next = 0;
            _last = double.NaN;
        }
    }

    /// <summary>A frame arrived (the first one of the attempt sets the time to first frame).</summary>
    public void OnFrame()
    {
        if (Volatile.Read(ref _firstFrame) != 0)
        {
            return;
        }

        lock (_lock)
        {
            if (_firstFrame == 0 && _attemptStart != 0)
            {
                _firstFrame = Math.Max(1, time.GetTimestamp());
            }
        }
    }

    /// <summary>A received frame carried its input's capture time.</summary>
    /// <param name="captureMicros">The capture time, epoch microseconds.</param>
    /// <param name="nowMicros">Now, epoch microseconds (the same wall clock the sender stamped with).</param>
    public void OnCaptureTime(ulong captureMicros, ulong nowMicros)
    {
        double ms = ((double)nowMicros - captureMicros) / 1000.0;
        if (ms < 0 || ms > MaxSample.TotalMilliseconds)
        {
            Interlocked.Increment(ref _rejected);
            return;
        }

        lock (_lock)
        {
            if (_firstFrame == 0 || time.GetElapsedTime(_firstFrame) < WarmUp)
            {
                return;
            }

            _last = ms;
            _samples[_next] = ms;
            _next = (_next + 1) % Window;
            _count = Math.Min(Window, _count + 1);
        }
    }

    /// <summary>The statistics now.</summary>
    public GlassToGlassStats Snapshot()
    {
        double[] sorted;
        TimeSpan? ttff;
        double last;
        lock (_lock)
        {
            ttff = _firstFrame == 0 || _attemptStart == 0 ? null : time.GetElapsedTime(_attemptStart, _firstFrame);
            sorted = _samples.AsSpan(0, _count).ToArray();
            last = _last;
        }

        if (sorted.Length == 0)
        {
            return new GlassToGlassStats(ttff, null, null, null, 0);
        }

        Array.Sort(sorted);
        return new GlassToGlassStats(
            ttff,
            TimeSpan.FromMilliseconds(Percentile(sorted, 0.5)),
            TimeSpan.FromMilliseconds(Percentile(sorted, 0.9)),
            TimeSpan.FromMilliseconds(last),
            sorted.Length);
    }

    // Nearest rank on the sorted samples.
    private static double Percentile(double[] sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
}

/// <summary>
/// The direct transport's way to glass-to-glass: when each frame left (by its RTP timestamp, the last ~2 s of them),
/// so an output frame that carries the RTP timestamp of the input it was made from — as the simulator's model does, and
/// as the benchmarks match frames — gives capture → receipt. An output whose timestamp matches nothing recent is not a
/// sample. A fixed ring: nothing allocated per frame.
/// </summary>
internal sealed class RtpSendTimes
{
    private const int Capacity = 64;
    private readonly object _gate = new();
    private readonly uint[] _rtp = new uint[Capacity];
    private readonly ulong[] _sentMicros = new ulong[Capacity];
    private int _next;

    /// <summary>Notes that the frame with this RTP timestamp left now.</summary>
    /// <param name="rtpTimestamp">Its RTP timestamp.</param>
    /// <param name="nowMicros">Now, epoch µs.</param>
    public void Record(uint rtpTimestamp, ulong nowMicros)
    {
        lock (_gate)
        {
            _rtp[_next] = rtpTimestamp;
            _sentMicros[_next] = nowMicros;
            _next = (_next + 1) % Capacity;
        }
    }

    /// <summary>When the frame with this RTP timestamp left, if it did recently; each is found once.</summary>
    /// <param name="rtpTimestamp">The received frame's RTP timestamp.</param>
    /// <param name="sentMicros">When it left, epoch µs.</param>
    /// <returns>Whether it was found.</returns>
    public bool TryTake(uint rtpTimestamp, out ulong sentMicros)
    {
        lock (_gate)
        {
            for (int i = 0; i < Capacity; i++)
            {
                if (_sentMicros[i] != 0 && _rtp[i] == rtpTimestamp)
                {
                    sentMicros = _sentMicros[i];
                    _sentMicros[i] = 0;
                    return true;
                }
            }
        }

        sentMicros = 0;
        return false;
    }
}
