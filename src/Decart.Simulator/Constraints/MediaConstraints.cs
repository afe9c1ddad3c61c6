using System.Diagnostics;
using System.Globalization;
using Decart.Rtc.Codecs;

namespace Decart.Simulator.Constraints;

/// <summary>
/// Checks received video against a model: the frame size read from each VP8 keyframe or H.264 SPS, and the frame
/// rate the sender captures at — from the RTP timestamps of the frames that arrived in the last two seconds (15 %
/// tolerance), so a burst of delayed frames (a retransmission, a layer switch, a jittery network) is not taken for a
/// faster camera. A jump in the timestamps (a new sender or layer clock) starts the measure over. Each distinct
/// violation is reported once. Not thread-safe: called from one receive loop.
/// </summary>
internal sealed class MediaConstraints
{
    private const double FpsTolerance = 1.15;
    private static readonly long Window = 2 * Stopwatch.Frequency;
    private readonly SimulatedModel _model;
    private const uint RtpClock = 90_000;
    private readonly Queue<(long Arrival, uint Rtp)> _arrivals = new();
    private readonly HashSet<string> _reported = new(StringComparer.Ordinal);
    private long _firstArrival = -1;
    private uint _lastRtp;

    public MediaConstraints(SimulatedModel model) => _model = model;

    /// <summary>The last size read from a keyframe.</summary>
    public (int Width, int Height)? FrameSize { get; private set; }

    /// <summary>The last measured frame rate (after two seconds of video).</summary>
    public double? MeasuredFps { get; private set; }

    /// <summary>Observes one received frame.</summary>
    /// <param name="frame">The frame.</param>
    /// <param name="codec"><c>VP8</c> or <c>H264</c>.</param>
    /// <param name="isKeyframe">Whether it is a keyframe.</param>
    /// <param name="arrival">Its <see cref="Stopwatch"/> timestamp.</param>
    /// <param name="rtpTimestamp">Its RTP timestamp (90 kHz).</param>
    /// <returns>A new violation to report, or null.</returns>
    public string? Observe(ReadOnlySpan<byte> frame, RtpCodec codec, bool isKeyframe, long arrival, uint rtpTimestamp)
    {
        string? violation = null;
        if (isKeyframe)
        {
            bool read = codec.TryReadKeyframeSize(frame, out int w, out int h);
            if (read)
            {
                FrameSize = (w, h);
                if (w != _model.Width || h != _model.Height)
                {
                    violation = Report(string.Create(CultureInfo.InvariantCulture, $"Frame size {w}x{h} does not match model {_model.Name} ({_model.Width}x{_model.Height})"));
                }
            }
        }

        if (_arrivals.Count > 0)
        {
            int step = unchecked((int)(rtpTimestamp - _lastRtp));
            if (step == 0)
            {
                return violation; // the same frame's timestamp: not a new frame
            }

            if (step < 0 || step > 5 * (int)RtpClock)
            {
                _arrivals.Clear(); // a new clock (sender restart, another layer's offset): measure from here
                _firstArrival = -1;
            }
        }

        _lastRtp = rtpTimestamp;
        if (_firstArrival < 0)
        {
            _firstArrival = arrival;
        }

        _arrivals.Enqueue((arrival, rtpTimestamp));
        while (_arrivals.Count > 0 && arrival - _arrivals.Peek().Arrival > Window)
        {
            _arrivals.Dequeue();
        }

        if (arrival - _firstArrival >= Window && _arrivals.Count >= 10)
        {
            uint span = unchecked(rtpTimestamp - _arrivals.Peek().Rtp);
            if (span > 0)
            {
                double fps = (_arrivals.Count - 1) * (double)RtpClock / span;
                MeasuredFps = fps;
                if (_model.MaxFps > 0 && fps > _model.MaxFps * FpsTolerance)
                {
                    violation ??= Report(string.Create(CultureInfo.InvariantCulture, $"Frame rate {fps:F1} fps exceeds model {_model.Name}'s maximum of {_model.MaxFps} fps"));
                }
            }
        }

        return violation;
    }

    private string? Report(string message)
    {
        // Report each kind once (a size per distinct size; the rate once).
        string key = message.StartsWith("Frame rate", StringComparison.Ordinal) ? "fps" : message;
        return _reported.Add(key) ? message : null;
    }
}
